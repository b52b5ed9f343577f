/* smtp_server.c - listeners, the TLS context, the session list and the
 * shutdown sequence of the SMTP server (see smtp.h).
 *
 * Everything here runs on the loop thread except intake's completions,
 * which arrive through srv->wake.  Shutdown: stop accepting, send 421 to
 * idle sessions, let transactions in flight finish (their 250 means
 * committed), and let the caller bound the wait with close_all().
 */
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "net/net.h"
#include "smtp/smtp_private.h"

/* The kernel's accept queue; SYNs beyond it wait, they are not refused. */
#define SMTP_BACKLOG 1024

struct smtp_server *
smtp_server_new(struct event_base *base, struct intake *in, const char *spool_dir)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->in = in;
	srv->spool_dir = spool_dir ? xstrdup(spool_dir) : NULL;
	srv->data_buf = xmalloc(SMTP_DATA_READ);
	srv->wake = net_wake_new(base);
	srv->anvil = smtp_anvil_new();
	return srv;
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	(void)lev, (void)len;
	/* Replies are whole lines written by the bufferevent, but under
	 * PIPELINING they leave at different times (MAIL at once, RCPT after
	 * its lookup thread answers): with Nagle on, the later reply waits for
	 * the ACK of the earlier one, which the client delays (40 ms on
	 * Linux) because it is itself waiting for that reply.  bench/abuse,
	 * 10 pipelining sessions: 262 msgs/s with Nagle, 2,141 without. */
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		int on = 1;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
			log_warn("smtp: TCP_NODELAY: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	smtp_session_accept(arg, fd);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)lev, (void)arg;
	/* EMFILE and friends: log and keep listening; libevent retries. */
	log_warn("smtp: accept failed: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

int
smtp_server_listen(struct smtp_server *srv, const struct net_addr *addr, struct pr_why *why)
{
	int fd = net_bind(addr, why);
	return fd < 0 ? -1 : smtp_server_listen_fd(srv, fd, addr, why);
}

int
smtp_server_listen_fd(struct smtp_server *srv, int fd, const struct net_addr *addr, struct pr_why *why)
{
	struct evconnlistener *lev = evconnlistener_new(
	    srv->base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, SMTP_BACKLOG, fd);
	if (lev == NULL) {
		pr_why_set(why, PR_E_CONFIG, "cannot listen on %s: %s", addr->text,
		           evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(lev, on_accept_error);
	struct smtp_listener *l = xcalloc(1, sizeof(*l));
	l->lev = lev;
	l->next = srv->listeners;
	srv->listeners = l;
	return 0;
}

int
smtp_server_configure(struct smtp_server *srv, const struct settings *set, struct pr_why *why)
{
	const char *cert = settings_str(set, SET_TLS_CERT), *key = settings_str(set, SET_TLS_KEY);
	SSL_CTX *ctx = NULL;
	if (*cert) {
		ctx = net_tls_server_ctx(cert, *key ? key : cert, why);
		if (ctx == NULL)
			return -1;
	}
	/* Sessions in TLS hold their own reference through their SSL. */
	SSL_CTX_free(srv->tls);
	srv->tls = ctx;
	return 0;
}

size_t
smtp_server_sessions(const struct smtp_server *srv)
{
	return srv->nsessions;
}

static void
close_listeners(struct smtp_server *srv)
{
	while (srv->listeners != NULL) {
		struct smtp_listener *l = srv->listeners;
		srv->listeners = l->next;
		evconnlistener_free(l->lev);
		free(l);
	}
}

void
smtp_server_drain(struct smtp_server *srv, void (*on_empty)(void *arg), void *arg)
{
	srv->draining = true;
	srv->on_empty = on_empty;
	srv->on_empty_arg = arg;
	close_listeners(srv);
	for (struct smtp_session *s = srv->sessions; s != NULL; s = s->next)
		if (s->msg == NULL && s->state < SMTP_DATA)
			smtp_close(s, 421, "4.3.2", "the server is shutting down; try again later");
	if (srv->nsessions == 0 && on_empty)
		on_empty(arg);
}

void
smtp_server_close_all(struct smtp_server *srv)
{
	struct smtp_session *s = srv->sessions;
	while (s != NULL) {
		struct smtp_session *next = s->next;
		if (s->bev != NULL)
			log_info("smtp %llu [%s]: closed at shutdown", (unsigned long long)s->id, s->peer_ip);
		smtp_session_free(s);   /* one waiting for intake stays until it reports */
		s = next;
	}
}

void
smtp_server_free(struct smtp_server **srvp)
{
	struct smtp_server *srv = *srvp;
	if (srv == NULL)
		return;
	close_listeners(srv);
	net_wake_run(srv->wake);      /* last completions: frees sessions that waited */
	srv->on_empty = NULL;
	srv->in = NULL;                /* freed before us (cli_serve): sessions tell it nothing now */
	while (srv->sessions != NULL) {
		srv->sessions->state = SMTP_CLOSING;   /* nothing can report any more */
		smtp_session_free(srv->sessions);
	}
	net_wake_free(&srv->wake);
	smtp_anvil_free(&srv->anvil);
	SSL_CTX_free(srv->tls);
	free(srv->spool_dir);
	free(srv->data_buf);
	free(srv);
	*srvp = NULL;
}
