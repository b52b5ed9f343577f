/* net.h - what the network-facing daemons share: listen addresses, peer
 * addresses, TLS server contexts and the hop from worker threads back to
 * the event loop thread.  Built on libevent 2.1 and OpenSSL 3; the
 * protocols themselves live in smtp/ (and later pop3/, http/).
 */
#ifndef PR_NET_H
#define PR_NET_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/err.h"

struct event_base;
typedef struct ssl_ctx_st SSL_CTX;

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[80];               /* as printed: "127.0.0.1:2525", "[::1]:2525" */
};

/* "ADDR:PORT" with ADDR an IPv4 literal, "[v6]" or "*" (all IPv4).  No
 * names: a daemon must not depend on DNS to start.  0 ok, -1 with why. */
int net_parse_addr(const char *s, struct net_addr *out, struct pr_why *why);
/* A listening TCP socket on a (SO_REUSEADDR, non-blocking, close-on-exec).
 * The fd, or -1 with why. */
int net_bind(const struct net_addr *a, struct pr_why *why);
/* Become user for good (groups, gid, uid).  0, or -1 with why. */
int net_drop_privileges(const char *user, struct pr_why *why);
/* The peer's address as text (IPv4-mapped IPv6 shown as IPv4); "" if unknown. */
void net_peer_ip(int fd, char *out, size_t outsz);

/* A TLS 1.2+ server context from PEM files.  NULL with why (which file,
 * what OpenSSL said) on failure. */
SSL_CTX *net_tls_server_ctx(const char *cert_file, const char *key_file, struct pr_why *why);

/* Run fn(arg) on the loop thread of base; post() may be called from any
 * thread (a mutex-protected queue and one persistent event made active).
 * Needs evthread_use_pthreads() before the base was created. */
struct net_wake;
typedef void (*net_wake_fn)(void *arg);
struct net_wake *net_wake_new(struct event_base *base);
void net_wake_post(struct net_wake *w, net_wake_fn fn, void *arg);
/* Run what is queued now (also usable after the loop stopped). */
void net_wake_run(struct net_wake *w);
void net_wake_free(struct net_wake **w);

#endif
