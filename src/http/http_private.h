/* http_private.h - what the files of src/http/ share (private). */
#ifndef PR_HTTP_PRIVATE_H
#define PR_HTTP_PRIVATE_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>

#include "http/http_route.h"

struct api_settings_watch;

/* One worker thread (http_server.c). */
struct http_worker {
	struct http_server *srv;
	struct event_base *base;
	struct evhttp *http;
	struct pr_api *api;                 /* this thread's store connection */
	struct api_settings_watch *watch;   /* refreshes api's settings */
	bool tls;
};

#define HTTP_MAX_PARAMS 4

/* One request in progress: lives on the dispatcher's stack. */
struct http_req {
	struct evhttp_request *ev;
	struct http_worker *w;
	const struct http_route *route;
	struct http_principal who;
	const char *path;                      /* decoded path */
	char *pnames[HTTP_MAX_PARAMS], *pvals[HTTP_MAX_PARAMS];
	int nparams;
	struct evkeyvalq query;
	bool query_parsed;
	char *body;                            /* NUL-terminated copy, once read */
	size_t body_len;
	char peer[64];
	bool replied;
	int status;
};

/* Route tables, each ending with {0}: one per routes_<area>.c. */
extern const struct http_route http_routes_core[];
extern const struct http_route http_routes_console[];
extern const struct http_route http_routes_metrics[];
extern const struct http_route http_routes_webhook[];
extern const struct http_route http_routes_dir[];        /* routes_dir.c */
extern const struct http_route http_routes_settings[];   /* routes_settings.c */
extern const struct http_route http_routes_check[];      /* routes_check.c */
extern const struct http_route http_routes_msg[];
extern const struct http_route http_routes_send[];      /* routes_send.c */
extern const struct http_route http_routes_why[];       /* routes_why.c */
extern const struct http_route http_routes_session[];

/* Find the route for a method and decoded path (http_routes.c): 0 with
 * r->route and the params set; 404 no path matches; 405 the path matches
 * for other methods (allow gets them, "GET, POST"). */
int http_route_find(struct http_req *r, const char *method, char *allow, size_t allow_len);
/* Authenticate the request and check r->route->need (http_auth.c): true
 * to go on; false after replying (401, 403, 503). */
bool http_authorize(struct http_req *r);
/* The value of cookie name in a Cookie header, copied into out; false if
 * absent or too long (http_auth.c). */
bool http_cookie_value(const char *header, const char *name, char *out, size_t cap);
/* The console session a cookie names (http_session.c): 0 signed in
 * (r->who set), 1 no live session, 2 a change without the session's
 * X-CSRF-Token (refuse it), -1 with why (store). */
int http_session_principal(struct http_req *r, const char *cookie, struct pr_why *why);
/* Default headers every answer carries (http_req.c). */
void http_common_headers(struct http_req *r);
/* Free what the request allocated (params, query, body). */
void http_req_release(struct http_req *r);
const char *http_method_name(enum evhttp_cmd_type t);

#endif
