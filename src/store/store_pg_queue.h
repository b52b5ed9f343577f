/* store_pg_queue.h - what the PostgreSQL queue files share (private):
 * store_pg_outbound.c and store_pg_webhook.c read rows; store_pg_outq.c
 * and store_pg_whq.c change their state.  store_sqlite.h declares the
 * SQLite side of the same helpers (sq_outbound_row, sq_webhook_row...).
 */
#ifndef PR_STORE_PG_QUEUE_H
#define PR_STORE_PG_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "store/store_pg.h"

struct arena;
struct store_outbound;
struct store_webhook_delivery;

/* One outbound row (no recipients) by id: 0 found, 1 none, -1.  With
 * lock, the row is locked FOR UPDATE until the caller's transaction
 * ends, so a claimer on another node cannot take it meanwhile. */
int pg_outbound_row(struct store *st, struct arena *a, int64_t id, bool lock,
                    struct store_outbound *out, struct pr_why *why);
/* The recipients of o, in the order they were queued; only those still
 * queued when queued_only. */
int pg_outbound_rcpts(struct store *st, struct arena *a, struct store_outbound *o, bool queued_only,
                      struct pr_why *why);

/* A claim's transaction, the same for both queues (store_pg_outq.c):
 * before (may be NULL) runs first; then the ids due selects ($1 now,
 * $2 max; FOR UPDATE SKIP LOCKED, so rows another node is claiming are
 * passed over, never shared) are each stamped as ours by take, which
 * reads the row into the next elem-sized element of *out. */
struct pg_claim {
	const char *due;
	const char *what;           /* for messages: "finding due mail" */
	size_t elem;
	int (*before)(struct store *st, time_t now, struct pr_why *why);
	int (*take)(struct store *st, struct arena *a, int64_t id, const char *owner, time_t now,
	            int lease_seconds, void *row, struct pr_why *why);
};
int pg_claim_rows(struct store *st, struct arena *a, const struct pg_claim *c, const char *owner,
                  time_t now, int lease_seconds, size_t max, void *out, size_t *n, struct pr_why *why);

/* A remote server's words as text PostgreSQL takes: as they are when
 * valid UTF-8 (what SQLite keeps), else text_clean()ed -- a reply with
 * invalid bytes must not make the result fail, or the row would be sent
 * again when its lease runs out. */
const char *pg_reply_text(struct arena *a, const char *s);

/* $1 a row's id, $2 a lease owner, $3 a number (lease_until when
 * stamping a claim, the lease when checking a result's). */
void pg_p_lease(struct pg_params *p, int64_t id, const char *owner, int64_t n);

/* One webhook delivery by id (lock as above): 0 found, 1 none, -1. */
int pg_webhook_row(struct store *st, struct arena *a, int64_t id, bool lock,
                   struct store_webhook_delivery *out, struct pr_why *why);
/* Take the transaction's lock on the (webhook, project) queue of delivery
 * id: placing into a queue, ending its head and retrying in it run one
 * at a time across nodes, so a queue has one head and its seq numbers
 * never collide. */
int pg_webhook_queue_lock(struct store *st, int64_t id, struct pr_why *why);

#endif
