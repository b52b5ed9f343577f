/* http_server.c - the worker threads of the HTTP server.  See http.h.
 *
 * Every worker's evhttp accepts on its own dup() of the one listening
 * socket: the kernel hands each connection to one of them (the others see
 * EAGAIN, which libevent ignores).  Limits are evhttp's: header block
 * 64 KiB, body (see HTTP_MAX_BODY), 30 s to send a request or read an
 * answer.  A request's handler runs on the worker's thread from start to
 * reply; nothing is shared between workers but the settings snapshot, the
 * SSL_CTX (thread-safe in OpenSSL 3) and the store (each its own
 * connection).
 */
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/postroom.h"
#include "core/log.h"
#include "core/arena.h"
#include "http/http.h"
#include "http/http_private.h"

/* The largest request body: a message to send with its attachments in
 * base64 (the message limit is 20 MiB by default, base64 adds a third). */
#define HTTP_MAX_BODY (40u * 1024 * 1024)
#define HTTP_MAX_HEADERS (64u * 1024)
#define HTTP_TIMEOUT_S 30
#define HTTP_MAX_THREADS 64

struct http_server {
	struct http_worker workers[HTTP_MAX_THREADS];
	pthread_t tids[HTTP_MAX_THREADS];
	int nworkers;
	int listen_fd;
	SSL_CTX *ssl;
};

void http_dispatch(struct evhttp_request *ev, void *arg);   /* http_routes.c */

static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	struct http_server *srv = arg;
	SSL *ssl = SSL_new(srv->ssl);
	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

static SSL_CTX *
tls_context(const char *cert, const char *key, struct pr_why *why)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		pr_why_set(why, PR_E_TLS_FAILED, "cannot make a TLS context for HTTPS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char err[256];
		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		pr_why_set(why, PR_E_CONFIG, "http_tls_cert %s / http_tls_key %s: %s", cert, key, err);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
worker_init(struct http_server *srv, struct http_worker *w, const struct http_config *cfg,
            struct pr_why *why)
{
	w->srv = srv;
	w->tls = srv->ssl != NULL;
	w->api = api_open(cfg->store_uri, cfg->config_path, why);
	if (w->api == NULL)
		return -1;
	w->watch = api_settings_watch_new(cfg->store_uri, cfg->config_path, why);
	if (w->watch == NULL)
		return -1;
	if ((w->base = event_base_new()) == NULL || (w->http = evhttp_new(w->base)) == NULL)
		pr_panic("event_base_new/evhttp_new failed");
	evhttp_set_max_headers_size(w->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(w->http, HTTP_MAX_BODY);
	evhttp_set_timeout(w->http, HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                           EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
	evhttp_set_default_content_type(w->http, "application/json");
	if (srv->ssl)
		evhttp_set_bevcb(w->http, tls_bev, srv);
	evhttp_set_gencb(w->http, http_dispatch, w);
	int fd = dup(srv->listen_fd);
	if (fd < 0 || evhttp_accept_socket(w->http, fd) != 0) {
		if (fd >= 0)
			close(fd);
		pr_why_set(why, PR_E_IO, "cannot accept HTTP connections: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
worker_free(struct http_worker *w)
{
	if (w->http)
		evhttp_free(w->http);
	/* Let what evhttp_free left queued run once before the base goes: a
	 * connection's TLS bufferevent is destroyed by a callback of the base.
	 * Suspected (not proven) cause of a rare LeakSanitizer report in CI:
	 * one whole TLS session left unowned at exit, as if a queued callback
	 * still held it when the base was freed.  The loop was broken; this
	 * pass only drains the queue. */
	if (w->base)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	if (w->base)
		event_base_free(w->base);
	api_settings_watch_free(&w->watch);
	api_close(&w->api);
	memset(w, 0, sizeof(*w));
}

static void *
worker_main(void *arg)
{
	struct http_worker *w = arg;
	event_base_dispatch(w->base);
	return NULL;
}

struct http_server *
http_start(const struct http_config *cfg, struct pr_why *why)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	srv->listen_fd = cfg->listen_fd;
	int n = cfg->threads < 1 ? 1 : cfg->threads > HTTP_MAX_THREADS ? HTTP_MAX_THREADS : cfg->threads;
	if (cfg->tls_cert && *cfg->tls_cert &&
	    (srv->ssl = tls_context(cfg->tls_cert, cfg->tls_key, why)) == NULL)
		goto fail;
	for (; srv->nworkers < n; srv->nworkers++)
		if (worker_init(srv, &srv->workers[srv->nworkers], cfg, why) < 0) {
			worker_free(&srv->workers[srv->nworkers]);
			goto fail;
		}
	for (int i = 0; i < srv->nworkers; i++) {
		if (pthread_create(&srv->tids[i], NULL, worker_main, &srv->workers[i]) != 0)
			pr_panic("pthread_create failed for an HTTP worker");
		pthread_setname_np(srv->tids[i], "http");
	}
	log_info("listening for HTTP%s on %s (%d workers)", srv->ssl ? "S" : "", cfg->listen_text,
	         srv->nworkers);
	return srv;
fail:
	for (int i = 0; i < srv->nworkers; i++)
		worker_free(&srv->workers[i]);
	srv->nworkers = 0;
	if (srv->ssl)
		SSL_CTX_free(srv->ssl);
	close(srv->listen_fd);
	free(srv);
	return NULL;
}

void
http_stop(struct http_server **srvp)
{
	struct http_server *srv = *srvp;
	*srvp = NULL;
	if (srv == NULL)
		return;
	for (int i = 0; i < srv->nworkers; i++)
		event_base_loopbreak(srv->workers[i].base);
	for (int i = 0; i < srv->nworkers; i++) {
		pthread_join(srv->tids[i], NULL);
		worker_free(&srv->workers[i]);
	}
	if (srv->ssl)
		SSL_CTX_free(srv->ssl);
	close(srv->listen_fd);
	free(srv);
}
