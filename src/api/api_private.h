/* api_private.h - what the api/ files share. */
#ifndef PR_API_PRIVATE_H
#define PR_API_PRIVATE_H

#include <jansson.h>
#include <stddef.h>

struct settings;
struct store;

struct pr_api {
	struct store *store;
	struct settings *settings;   /* merged snapshot */
};

/* A JSON array of strings. */
json_t *api_strings(const char *const *v, size_t n);
/* One row of a store array as a JSON object. */
typedef json_t *(*api_row_fn)(const void *row);
/* {key: [row_json(row) for each of the n rows, elem bytes apart]}: the
 * shape of every list call (`user list --json`, `log --json`, ...). */
json_t *api_rows(const char *key, const void *rows, size_t n, size_t elem, api_row_fn row_json);

#endif
