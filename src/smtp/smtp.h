/* smtp.h - the SMTP server (RFC 5321 with PIPELINING, SIZE, 8BITMIME,
 * ENHANCEDSTATUSCODES and STARTTLS), as the `serve` daemon sees it.
 *
 * One libevent loop thread runs every session; messages go to intake/ at
 * the final dot and the session answers only once intake reports the
 * durable commit (or the refusal).  The server knows the protocol, not
 * projects: recipients are judged by intake_judge_rcpt_async(), messages are
 * handed over with intake_submit().
 */
#ifndef PR_SMTP_H
#define PR_SMTP_H

#include <stddef.h>

#include "core/err.h"

struct event_base;
struct intake;
struct net_addr;
struct settings;
struct smtp_server;

/* spool_dir: where messages over 256 KiB spill (NULL: $TMPDIR). */
struct smtp_server *smtp_server_new(struct event_base *base, struct intake *in,
                                    const char *spool_dir);
/* Listen on one more address.  0 ok, -1 with why (address in use, ...). */
int smtp_server_listen(struct smtp_server *srv, const struct net_addr *addr, struct pr_why *why);
/* Accept on a socket already bound (net_bind) before privileges were
 * dropped; the server owns fd from now on, also on failure. */
int smtp_server_listen_fd(struct smtp_server *srv, int fd, const struct net_addr *addr,
                          struct pr_why *why);
/* Apply a settings snapshot's TLS part (tls_cert/tls_key): STARTTLS is
 * offered only while a context is loaded.  On error the old context stays
 * and -1 is returned with why.  Other settings are read per session. */
int smtp_server_configure(struct smtp_server *srv, const struct settings *set, struct pr_why *why);
/* Stop accepting; idle sessions get 421 now, sessions inside a transaction
 * finish it first.  on_empty(arg) runs (on the loop) once none is left. */
void smtp_server_drain(struct smtp_server *srv, void (*on_empty)(void *arg), void *arg);
size_t smtp_server_sessions(const struct smtp_server *srv);
/* Close every remaining session with 421 (end of the drain deadline). */
void smtp_server_close_all(struct smtp_server *srv);
/* After intake_free(): runs the last completions, frees what is left. */
void smtp_server_free(struct smtp_server **srv);

#endif
