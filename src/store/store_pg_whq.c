/* store_pg_whq.c - webhook deliveries' state changes on PostgreSQL
 * (mirrors store_sqlite_whq.c): claim with a lease, record an attempt,
 * retry (the state machine is in store.h).
 *
 * Order per (webhook, project): only a queue's head is ever "queued" or
 * "delivering"; the rest wait.  When the head ends (delivered, or failed
 * for good) the same transaction promotes the next one, so a crash can
 * never leave a queue with two heads or none.
 *
 * Several nodes share the queues (see store_pg_outq.c for the outbound
 * side of the same reasoning):
 * - a claim takes due heads FOR UPDATE SKIP LOCKED and stamps them in one
 *   transaction: no head is taken by two nodes;
 * - a result locks its row before checking (owner, lease), then the
 *   queue (pg_webhook_queue_lock) before promoting, as a placement locks
 *   the queue before reading its end and a retry before judging it: so a
 *   delivery placed while the head ends is either seen by the promotion
 *   or sees the promoted head, never neither (a queue with no head).
 * Locks are always taken row first, then queue.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_queue.h"

/* The statements below take $1 = a delivery's id. */
static int
run_id(struct store *st, const char *sql, int64_t id, const char *what, struct pr_why *why)
{
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_do(st, sql, &p, what, why) < 0 ? -1 : 0;
}

/* Stamp one row (locked by the claim) as ours and read it back with its
 * webhook's secret. */
static int
take_row(struct store *st, struct arena *a, int64_t id, const char *owner, time_t now,
         int lease_seconds, void *row, struct pr_why *why)
{
	struct store_webhook_delivery *out = row;
	static const char sql[] = "UPDATE webhook_deliveries SET state = 'delivering', lease_owner = $2,"
		" lease_until = $3, lease = lease + 1, attempts = attempts + 1 WHERE id = $1";
	static const char secret[] = "SELECT w.secret FROM webhooks w JOIN webhook_deliveries d"
		" ON d.webhook_id = w.id WHERE d.id = $1";
	struct pg_params p = {0};
	pg_p_lease(&p, id, owner, (int64_t)now + lease_seconds);
	if (pg_do(st, sql, &p, "claiming a webhook delivery", why) < 0 ||
	    pg_webhook_row(st, a, id, false, out, why) != 0)
		return -1;
	struct pg_params q = {0};
	pg_p_int(&q, id);
	PGresult *r = pg_run(st, secret, &q, "reading a webhook's secret", why);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) > 0;
	if (found)
		out->secret = pg_str(a, r, 0, 0);
	else
		pr_why_set(why, PR_E_STORE_FAILED, "reading a webhook's secret: the webhook is gone");
	PQclear(r);
	return found ? 0 : -1;
}

int
pg_store_webhook_claim(struct store *st, struct arena *a, const char *owner, time_t now,
                       int lease_seconds, size_t max, struct store_webhook_delivery **out, size_t *n,
                       struct pr_why *why)
{
	static const struct pg_claim claim = {
		.due = "SELECT id FROM webhook_deliveries WHERE state IN ('queued','delivering')"
		       " AND next_attempt_at <= $1 AND lease_until < $1 ORDER BY next_attempt_at, id LIMIT $2"
		       " FOR UPDATE SKIP LOCKED",
		.what = "finding due webhook deliveries", .elem = sizeof(**out), .take = take_row,
	};
	return pg_claim_rows(st, a, &claim, owner, now, lease_seconds, max, out, n, why);
}

/* The queue of delivery id has no head any more (it was delivered or
 * failed): its lowest waiting delivery becomes the head.  The caller
 * holds the queue's lock. */
static int
promote_next(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "UPDATE webhook_deliveries SET state = 'queued' WHERE id = (SELECT n.id"
		" FROM webhook_deliveries d JOIN webhook_deliveries n ON n.webhook_id = d.webhook_id"
		" AND n.project = d.project AND n.state IN ('queued','delivering','waiting')"
		" WHERE d.id = $1 ORDER BY n.seq LIMIT 1) AND state = 'waiting'";
	return run_id(st, sql, id, "promoting the next webhook delivery", why);
}

/* 1 if (owner, lease) still holds delivery id, 0 if not, -1.  The row
 * stays locked until the result commits. */
static int
holds_lease(struct store *st, int64_t id, const char *owner, int64_t lease, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM webhook_deliveries WHERE id = $1 AND lease_owner = $2"
	                          " AND lease = $3 AND state = 'delivering' FOR UPDATE";
	struct pg_params p = {0};
	pg_p_lease(&p, id, owner, lease);
	return pg_exists(st, sql, &p, "checking a webhook lease", why);
}

static int
record(struct store *st, int64_t id, time_t now, bool ok, int status, const char *error,
       time_t next_at, time_t retry_for, struct pr_why *why)
{
	struct arena *a = arena_new();
	static const char sql[] = "UPDATE webhook_deliveries SET lease_until = 0, last_status = nullif($3::int, 0),"
		" last_error = $4, state = CASE WHEN $5::int <> 0 THEN 'delivered'"
		"  WHEN $2::bigint >= retry_from + $7::bigint THEN 'failed' ELSE 'queued' END,"
		" next_attempt_at = CASE WHEN $5::int <> 0 THEN next_attempt_at ELSE $6::bigint END,"
		" delivered_at = CASE WHEN $5::int <> 0 THEN $2::bigint END WHERE id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	pg_p_int(&p, (int64_t)now);
	pg_p_int(&p, status);
	pg_p_text(&p, ok ? NULL : error ? pg_reply_text(a, error) : "no answer");
	pg_p_bool(&p, ok);
	pg_p_int(&p, (int64_t)next_at);
	pg_p_int(&p, (int64_t)retry_for);
	int rc = pg_do(st, sql, &p, "recording a webhook delivery", why) < 0 ? -1 : 0;
	arena_free(&a);
	return rc;
}

int
pg_store_webhook_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now,
                        bool ok, int status, const char *error, time_t next_at, time_t retry_for,
                        struct pr_why *why)
{
	if (pg_begin(st, why) < 0)
		return -1;
	int held = holds_lease(st, id, owner, lease, why);
	if (held <= 0) {
		pg_rollback(st);
		return held < 0 ? -1 : 1;
	}
	if (pg_webhook_queue_lock(st, id, why) < 0 ||
	    record(st, id, now, ok, status, error, next_at, retry_for, why) < 0 ||
	    promote_next(st, id, why) < 0) {
		pg_rollback(st);
		return -1;
	}
	return pg_commit(st, why);
}

/* A retried delivery rejoins its queue: the head when the queue has none,
 * else it waits (promote_next gives the head to the lowest seq still to
 * send, which may be this one). */
int
pg_store_webhook_retry(struct store *st, int64_t id, time_t now, struct pr_why *why)
{
	static const char sql[] = "UPDATE webhook_deliveries SET state = CASE WHEN EXISTS (SELECT 1"
		" FROM webhook_deliveries o WHERE o.webhook_id = webhook_deliveries.webhook_id"
		" AND o.project = webhook_deliveries.project AND o.id <> $1"
		" AND o.state IN ('queued','delivering','waiting') AND o.state <> 'waiting') THEN 'waiting' ELSE 'queued' END,"
		" next_attempt_at = $2, retry_from = $2, lease_until = 0, last_error = NULL WHERE id = $1";
	struct arena *a = arena_new();
	struct store_webhook_delivery d;
	int rc = -1;
	if (pg_begin(st, why) < 0)
		goto out;
	int found = pg_webhook_row(st, a, id, true, &d, why);
	if (found != 0) {
		if (found == 1)
			pr_why_set(why, PR_E_NOT_FOUND, "no webhook delivery %lld", (long long)id);
		goto fail;
	}
	if (d.state == WEBHOOK_DELIVERED || (d.state == WEBHOOK_DELIVERING && d.lease_until >= now)) {
		pr_why_set(why, PR_E_INVALID, "webhook delivery %lld is %s: there is nothing to retry",
		           (long long)id, d.state == WEBHOOK_DELIVERED ? "delivered already" : "being delivered right now");
		goto fail;
	}
	struct pg_params p = {0};
	pg_p_int(&p, id);
	pg_p_int(&p, (int64_t)now);
	if (pg_webhook_queue_lock(st, id, why) < 0 || pg_do(st, sql, &p, "retrying a webhook delivery", why) < 0)
		goto fail;
	rc = pg_commit(st, why);
	goto out;
fail:
	pg_rollback(st);
out:
	arena_free(&a);
	return rc;
}
