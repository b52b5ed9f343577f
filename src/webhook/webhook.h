/* webhook.h - placements POSTed to the host application.
 *
 * The store writes a delivery row with every placement (store.h,
 * "webhooks"); serve runs one worker thread that claims due deliveries
 * with a lease and POSTs each as JSON:
 *
 *   POST <url>
 *   Content-Type: application/json
 *   X-Postroom-Delivery: <delivery id>       (the same at every attempt)
 *   X-Postroom-Event: message.placed
 *   X-Postroom-Timestamp: <Unix seconds of this attempt>
 *   X-Postroom-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 *
 *   {"event":"message.placed","delivery_id":N,"message":{"id","message_id",
 *    "subject","from","date"},"placement":{"kind","target"},"project"}
 *
 * A 2xx answer is success; anything else (another status, no answer in 15
 * s, no connection in 5 s) is tried again after webhook_backoff(), until
 * webhook_retry_for has passed: then the delivery is failed and the next
 * one of its (webhook, project) queue goes.  Only http and https URLs, no
 * redirects; at most WEBHOOK_ANSWER_KEEP bytes of an answer are kept (for
 * the deliveries log) and a longer answer is cut off after
 * WEBHOOK_ANSWER_MAX bytes.
 */
#ifndef PR_WEBHOOK_H
#define PR_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/err.h"

struct store;
struct store_webhook_delivery;

#define WEBHOOK_CONNECT_TIMEOUT_S 5
#define WEBHOOK_TIMEOUT_S 15
#define WEBHOOK_ANSWER_KEEP 200            /* bytes of an answer kept as last_error */
#define WEBHOOK_ANSWER_MAX (64 * 1024)     /* read no further than this */
#define WEBHOOK_LEASE_SECONDS 60
#define WEBHOOK_URL_MAX 2048

/* Seconds before attempt n+1 after n failed attempts: 1, 2, 4, ... 600. */
time_t webhook_backoff(int attempts);

/* 0 if url is an http:// or https:// URL with a host and no control
 * bytes or blanks, else -1 with why (PR_E_INVALID, saying what is wrong). */
int webhook_check_url(const char *url, struct pr_why *why);

/* hex (65 bytes) = lowercase hex HMAC-SHA256(secret, timestamp "." body). */
void webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len,
                  char hex[65]);

/* The JSON body POSTed for d (malloc'd, NUL-terminated), or NULL if its
 * stored event is not a JSON object. */
char *webhook_body(const struct store_webhook_delivery *d);

/* What one POST came to. */
struct webhook_answer {
	bool ok;                    /* a 2xx */
	int status;                 /* HTTP status, 0 when none came */
	char error[WEBHOOK_ANSWER_KEEP + 120];   /* why it failed: status and first bytes, or curl's words */
};
/* POST each of the n deliveries to its URL at once (webhook_http.c), its
 * body signed with its secret and now as the timestamp.  As each ends,
 * done(d + i, ans + i, arg) says how it went (so a quick answer is
 * recorded while a slow one is still open).  Returns when all have ended:
 * each within WEBHOOK_TIMEOUT_S after its receiver's name was looked up. */
typedef void webhook_done_fn(const struct store_webhook_delivery *d, const struct webhook_answer *ans,
                             void *arg);
void webhook_post_all(const struct store_webhook_delivery *d, size_t n, time_t now, struct webhook_answer *ans,
                      webhook_done_fn *done, void *arg);

/* ---- the worker (serve) ---- */
struct webhook_worker_options {
	const char *store_uri;
	const char *node_id;        /* lease owner; NULL: "<hostname>:<pid>" */
	int lease_seconds;          /* 0: WEBHOOK_LEASE_SECONDS */
	int poll_ms;                /* the nap while nothing is due; 0: 1000 */
};
/* One round: claim due deliveries and attempt each.  The number claimed,
 * or -1 with why (the store could not be read). */
int webhook_worker_round(struct store *st, const struct webhook_worker_options *opt, time_t now,
                         struct pr_why *why);
struct webhook_worker;
struct webhook_worker *webhook_worker_start(const struct webhook_worker_options *opt,
                                            struct pr_why *why);
/* Waits for an attempt in progress (at most WEBHOOK_TIMEOUT_S). */
void webhook_worker_stop(struct webhook_worker **w);
/* Rounds the thread has finished (tests wait on it). */
unsigned long webhook_worker_rounds(struct webhook_worker *w);
/* A commit in this process may have written deliveries: its webhook
 * thread, if it runs one, claims now instead of at its next poll.  Safe
 * from any thread; nothing without a running worker. */
void webhook_queue_poke(void);

#endif
