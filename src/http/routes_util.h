/* routes_util.h - small helpers the route files share: answering an api/
 * document, and reading typed fields of a JSON body with the reason a
 * client can act on when a field is missing or of the wrong type. */
#ifndef PR_ROUTES_UTIL_H
#define PR_ROUTES_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct http_req;
struct pr_api;

/* The path parameter name as an id from 1 to max: true, or false after
 * answering 400 with what was wrong. */
bool routes_path_id(struct http_req *r, const char *name, int64_t max, int64_t *out);
/* The path's id given to act (an api_ call on one thing by id): 200
 * {"id": ID, done: true}, or the error act (or the id) gives. */
void routes_act_on_id(struct http_req *r, int (*act)(struct pr_api *, int64_t, struct pr_why *),
                      const char *done);
/* doc with status, or (doc NULL) the error document for why. */
void routes_reply_doc(struct http_req *r, int status, json_t *doc, const struct pr_why *why);
/* body[key] as a string (borrowed from body): absent is NULL, or
 * PR_E_INVALID when required; another type is PR_E_INVALID. */
int routes_str(json_t *body, const char *key, bool required, const char **out, struct pr_why *why);
/* body[key] as an array of at most max strings (absent: none); anything
 * else is PR_E_INVALID. */
int routes_strs(json_t *body, const char *key, const char **out, size_t max, size_t *n,
                struct pr_why *why);

#endif
