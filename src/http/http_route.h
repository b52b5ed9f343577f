/* http_route.h - what an HTTP route handler sees: its request, who asks,
 * and how to answer.  Route files (routes_*.c) include this header only.
 *
 * A handler runs on one of the HTTP worker threads (http_server.c), each
 * with its own event loop and its own struct pr_api (store connection), so
 * it may call api/ synchronously: a slow check blocks that worker, never
 * SMTP intake or the other workers.  It must answer exactly once with one
 * of the http_reply_* calls.
 *
 * Errors leave as {"error": {"code": "<pr_err name>", "message": "..."}}
 * with a status from the code (http_reply_why): invalid 400, not_found
 * 404, exists 409, store_busy 503 (+ Retry-After), forbidden 403, ...
 */
#ifndef PR_HTTP_ROUTE_H
#define PR_HTTP_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct http_req;
struct pr_api;

/* Who may call a route. */
enum http_need {
	HTTP_PUBLIC,   /* anyone: /healthz, sign-in, the console's files */
	HTTP_READ,     /* any token or session; a member's session is narrowed
	                * by the handler (http_may_see_project) */
	HTTP_WRITE,    /* admin token or any session (the handler checks a
	                * member's rights: send from / file into their project) */
	HTTP_ADMIN,    /* admin token or an administrator's session */
};

/* What authenticated the request. */
enum http_scope {
	HTTP_SCOPE_NONE,     /* public route, nobody signed in */
	HTTP_SCOPE_READ,     /* a read-only API token */
	HTTP_SCOPE_ADMIN,    /* an admin API token or an administrator's session */
	HTTP_SCOPE_MEMBER,   /* a signed-in user who is not an administrator */
};

struct http_principal {
	enum http_scope scope;
	bool session;            /* signed in with a password (cookie), not a token */
	char name[128];          /* token name, or the user's name */
};

/* The health probe's path: the one route answered without the settings
 * refresh (a store read, which a stalled store makes wait) that comes
 * before every other, so it keeps its own deadline (api_health.c). */
#define HTTP_HEALTHZ_PATH "/healthz"

typedef void http_handler(struct http_req *r);

struct http_route {
	const char *method;      /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *path;        /* "/api/v1/users/{name}": {x} is one segment */
	enum http_need need;
	http_handler *fn;
	const char *summary;     /* one line, for `postroom http routes` */
};

/* ---- the request ---- */
/* Path parameter {name}, percent-decoded (never NULL for a name in the
 * route's pattern). */
const char *http_param(struct http_req *r, const char *name);
/* Query parameter, percent-decoded; NULL when absent. */
const char *http_query(struct http_req *r, const char *name);
/* Request header; NULL when absent. */
const char *http_header(struct http_req *r, const char *name);
/* The body parsed as a JSON object (the caller owns it); NULL with why
 * (PR_E_INVALID: not JSON, not an object, too large). */
json_t *http_body_json(struct http_req *r, struct pr_why *why);
/* The raw body: *len bytes (owned by the request). */
const char *http_body(struct http_req *r, size_t *len);
/* This worker's API handle; its settings snapshot is refreshed from the
 * store before each request. */
struct pr_api *http_api(struct http_req *r);
const struct http_principal *http_who(struct http_req *r);
/* The peer's address as text ("127.0.0.1"). */
const char *http_peer(struct http_req *r);
bool http_is_tls(struct http_req *r);
/* Integer query parameter: def when absent; -1 with why (PR_E_INVALID)
 * when present but not an integer in [min, max]. */
int http_query_int(struct http_req *r, const char *name, int64_t def, int64_t min, int64_t max,
                   int64_t *out, struct pr_why *why);

/* ---- the answer (exactly one per request) ---- */
/* Takes doc (json_decref'd after sending). */
void http_reply_json(struct http_req *r, int status, json_t *doc);
/* The error document for why, with the status its code maps to. */
void http_reply_why(struct http_req *r, const struct pr_why *why);
/* An error of our own: http_reply_error(r, 403, PR_E_INVALID, "..."). */
void http_reply_error(struct http_req *r, int status, enum pr_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Bytes from memory (copied). */
void http_reply_bytes(struct http_req *r, int status, const char *content_type, const void *data,
                      size_t len);
/* The whole of fd (a regular file, e.g. a tmpfile the handler wrote),
 * streamed without reading it into memory; the reply takes fd.
 * filename non-NULL: Content-Disposition: attachment (sanitised). */
void http_reply_fd(struct http_req *r, int status, const char *content_type, int fd,
                   const char *filename);
/* Add a response header before replying (e.g. Set-Cookie). */
void http_set_header(struct http_req *r, const char *name, const char *value);

/* ---- authorisation helpers for handlers ---- */
/* May the caller see this project's mail?  Tokens and administrators:
 * yes; a member: only projects they belong to. */
bool http_may_see_project(struct http_req *r, const char *project);
/* The signed-in member a request is narrowed to, or NULL (tokens and
 * administrators see everything). */
const char *http_member(struct http_req *r);

#endif
