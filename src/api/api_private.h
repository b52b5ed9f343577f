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

#endif
