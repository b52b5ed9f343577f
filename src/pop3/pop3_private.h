/* pop3_private.h - shared between the files of src/pop3 only.
 *
 * pop3_parse.c   pure functions: settings -> libcurl URL, UIDL listing,
 *                curl errors -> plain words (unit tested, no I/O)
 * pop3_conn.c    one POP3 session over one libcurl easy handle
 * pop3_oauth.c   XOAUTH2 access token from the refresh token
 * pop3_collect.c one round, `check pop`, and the serve thread
 */
#ifndef PR_POP3_PRIVATE_H
#define PR_POP3_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

struct arena;
struct settings;

/* A UIDL is 1..70 printable characters (RFC 1939 7); a longer listing
 * line is refused rather than truncated. */
#define POP3_UIDL_MAX 70
/* Mailbox listings larger than this are collected over several rounds. */
#define POP3_MAX_LIST 1000000

/* ---- pop3_parse.c ---- */
struct pop3_server {
	char url[512];             /* "pop3s://host:995" or "pop3://host:110" */
	char host[256];
	int port;
	bool implicit_tls;
};
/* "ssl://host:port" or "tcp://host:port" -> libcurl URL.  0 or -1 with why. */
int pop3_server_parse(const char *setting, struct pop3_server *out, struct pr_why *why);

struct pop3_item {
	unsigned long num;         /* message number on this session */
	char uidl[POP3_UIDL_MAX + 1];
};
/* Parse a UIDL listing ("1 abc\r\n2 def\r\n"), into an array allocated in
 * a.  Lines that break RFC 1939 make the whole listing invalid (-1). */
int pop3_uidl_parse(struct arena *a, const char *body, size_t len, struct pop3_item **out,
                    size_t *n, struct pr_why *why);

/* The words for a failed libcurl call.  code is a CURLcode; greeting is
 * the server's first line or ""; errbuf is libcurl's error buffer. */
void pop3_explain(int code, const char *host, int port, const char *user, const char *greeting,
                  const char *last_reply, const char *errbuf, struct pr_why *why);

/* ---- pop3_oauth.c ---- */
/* A fresh access token (cached until shortly before it expires).  NULL
 * with why if the token endpoint refused or could not be reached. */
const char *pop3_oauth_token(struct arena *a, const struct settings *set, struct pr_why *why);

/* ---- pop3_conn.c ---- */
struct pop3_conn;
/* Prepare (no I/O yet).  -1 with why on a bad setting or token failure. */
struct pop3_conn *pop3_conn_new(const struct settings *set, struct pr_why *why);
/* Connect, log in and list.  0 or -1 with why. */
int pop3_conn_uidl(struct pop3_conn *c, struct arena *a, struct pop3_item **items, size_t *n,
                   struct pr_why *why);
/* STAT: connect, log in, count. */
int pop3_conn_stat(struct pop3_conn *c, size_t *count, struct pr_why *why);
struct spool;
/* RETR num into a new spool in a (max bytes; more sets *too_big). */
int pop3_conn_retr(struct pop3_conn *c, struct arena *a, const char *spool_dir,
                   unsigned long num, uint64_t max,
                   struct spool **out, bool *too_big, struct pr_why *why);
/* DELE num, only on the session the listing came from. */
int pop3_conn_dele(struct pop3_conn *c, unsigned long num, struct pr_why *why);
/* True once the session cannot QUIT any more (connection lost or in doubt):
 * the server will forget every DELE of this session. */
bool pop3_conn_lost(const struct pop3_conn *c);
/* commit true: QUIT (the server applies the DELEs); false: drop the
 * connection without QUIT, so the server forgets every DELE. */
void pop3_conn_free(struct pop3_conn **c, bool commit);

/* ---- pop3_lease.c: one node collects a mailbox at a time ---- */
struct pop3_lease;
struct pop3_lease *pop3_lease_new(const char *store_uri);
/* Releases the lease if held (a clean stop). */
void pop3_lease_free(struct pop3_lease **l);
/* Seconds between tries to take (or renew) the lease, for pop_interval. */
int pop3_lease_tick(long long interval);
/* Take or renew the lease of mailbox ("server user") if a tick has
 * passed since the last try: true while this node holds it.  Cheap to
 * call often (between the messages of a round). */
bool pop3_lease_keep(struct pop3_lease *l, const char *mailbox, long long interval);
/* CLOCK_MONOTONIC in seconds (when the next round and try are due). */
double pop3_mono(void);

#endif
