/* http.h - the HTTP API and web console server that `serve` runs (public
 * face for cli_serve.c).
 *
 * Why libevent's evhttp: serve already runs on libevent, evhttp parses and
 * bounds requests for us (no hand-written HTTP parser), and its bufferevent
 * hook gives TLS through the same OpenSSL bufferevents the SMTP server
 * uses.  libmicrohttpd would bring a second event model and thread pool.
 *
 * The server is http_threads worker threads, each with its own event_base,
 * its own evhttp accepting on the one listening socket, and its own
 * struct pr_api (store connection): handlers call api/ synchronously, so a
 * slow request (a POP3 check waits on a remote server) holds one worker,
 * never SMTP intake (which runs on serve's own loop) or the other workers.
 */
#ifndef PR_HTTP_H
#define PR_HTTP_H

#include <jansson.h>

#include "core/err.h"

struct http_server;

struct http_config {
	int listen_fd;              /* a bound listening socket (net_bind); taken over */
	const char *listen_text;    /* as printed: "127.0.0.1:8025" */
	int threads;                /* 1..64 */
	const char *tls_cert, *tls_key;   /* both or neither (plain HTTP) */
	const char *store_uri, *config_path;
};

/* Start the workers; NULL with why (TLS files unreadable, store). */
struct http_server *http_start(const struct http_config *cfg, struct pr_why *why);
/* Stop accepting, end every worker's loop (requests in progress are cut),
 * join them, free everything. */
void http_stop(struct http_server **srv);

/* The route table the binary serves, for `postroom http routes`:
 * {"routes": [{"method", "path", "access", "summary"}]}. */
json_t *http_routes_json(void);

#endif
