/* pop3.h - collect every message from the external system mailbox.
 *
 * libcurl speaks POP3 (pop3:// with STLS, pop3s://, SASL incl. XOAUTH2).
 * Each round: UIDL, RETR each message not yet stored, hand it to intake,
 * wait for the durable commit, and only then DELE it.  The store records
 * each collected UIDL and content hash per mailbox, in the transaction
 * that stores the message, so a crash or cut costs a re-download or a
 * repeated DELE, never a loss or a duplicate.
 */
#ifndef PR_POP3_H
#define PR_POP3_H

#include <stddef.h>

#include "core/err.h"

struct intake;
struct settings;
struct event_base;

struct pop3_round {
	size_t listed;           /* messages in the mailbox */
	size_t collected;        /* stored now (or found already stored by intake) */
	size_t refused;          /* refused for good, logged, deleted */
	size_t skipped_known;    /* stored in an earlier round: deleted only */
	size_t failed;           /* left in the mailbox for the next round */
	size_t deleted;          /* DELE sent (applied by the server at QUIT) */
	struct pr_why why;       /* PR_OK, or what stopped the round */
};

/* curl_global_init, once per process (called by every entry point). */
void pop3_global_init(void);

/* One round with the settings given.  0 ok, -1 with r->why. */
int pop3_collect_once(struct intake *in, const char *store_uri, const struct settings *set,
                      struct pop3_round *r);

/* `check pop`: connect, log in, count.  0 ok (count in *n_r), -1 with why
 * saying exactly what failed (name, refused, TLS, login, IMAP port). */
int pop3_check(const struct settings *set, size_t *n_r, struct pr_why *why);

/* serve: run pop3_collect_once every pop_interval seconds on a thread of
 * its own while pop_server is set.  stop() waits for a round in progress. */
struct pop3_service;
struct pop3_service *pop3_service_start(struct intake *in, const char *store_uri);
void pop3_service_stop(struct pop3_service **svc);

#endif
