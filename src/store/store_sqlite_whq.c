/* store_sqlite_whq.c - webhook deliveries' state changes: claim with a
 * lease, record an attempt, retry (the state machine is in store.h).
 *
 * Order per (webhook, project): only a queue's head is ever "queued" or
 * "delivering"; the rest wait.  When the head ends (delivered, or failed
 * for good) the same transaction promotes the next one, so a crash can
 * never leave a queue with two heads or none.
 *
 * Atomicity as in store_sqlite_outq.c: every change is one BEGIN
 * IMMEDIATE transaction, so two claimers (threads, serves sharing the
 * file) never take the same row.  PostgreSQL: UPDATE ... WHERE id IN
 * (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* The statements below take ?1 = a delivery's id. */
static int
run_id(struct store *st, const char *sql, int64_t id, const char *what, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return sq_step_done(st, s, what, why);
}

/* Stamp one row as ours and read it back with its webhook's secret. */
static int
take_row(struct store *st, struct arena *a, int64_t id, const char *owner, time_t now,
         int lease_seconds, struct store_webhook_delivery *out, struct pr_why *why)
{
	static const char sql[] = "UPDATE webhook_deliveries SET state = 'delivering', lease_owner = ?2,"
		" lease_until = ?3, lease = lease + 1, attempts = attempts + 1 WHERE id = ?1";
	static const char secret[] = "SELECT w.secret FROM webhooks w JOIN webhook_deliveries d"
		" ON d.webhook_id = w.id WHERE d.id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sq_bind_text(s, 2, owner);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(now + lease_seconds));
	if (sq_step_done(st, s, "claiming a webhook delivery", why) < 0 ||
	    sq_webhook_row(st, a, id, out, why) != 0 || (s = sq_prep(st, secret, why)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		out->secret = sq_col_str(a, s, 0);
	sq_done(s);
	return rc == SQLITE_ROW ? 0 : sq_fail(st, rc, "reading a webhook's secret", why);
}

int
sqlite_store_webhook_claim(struct store *st, struct arena *a, const char *owner, time_t now,
                    int lease_seconds, size_t max, struct store_webhook_delivery **out, size_t *n,
                    struct pr_why *why)
{
	static const char due[] = "SELECT id FROM webhook_deliveries WHERE state IN ('queued','delivering')"
		" AND next_attempt_at <= ?1 AND lease_until < ?1 ORDER BY next_attempt_at, id LIMIT ?2";
	*out = NULL;
	*n = 0;
	if (sq_begin(st, why) < 0)
		return -1;
	int64_t *ids = NULL;
	size_t nids = 0;
	sqlite3_stmt *s = sq_prep(st, due, why);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(max ? max : 1));
	if (sq_collect(st, a, s, sizeof(*ids), sq_read_int64, &ids, &nids, "finding due webhook deliveries",
	               why) < 0)
		goto fail;
	struct store_webhook_delivery *rows = arena_alloc(a, (nids ? nids : 1) * sizeof(*rows));
	for (size_t i = 0; i < nids; i++)
		if (take_row(st, a, ids[i], owner, now, lease_seconds, &rows[i], why) < 0)
			goto fail;
	if (sq_commit(st, why) < 0)
		return -1;
	*out = rows;
	*n = nids;
	return 0;
fail:
	sq_rollback(st);
	return -1;
}

/* The queue of delivery id has no head any more (it was delivered or
 * failed): its lowest waiting delivery becomes the head. */
static int
promote_next(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "UPDATE webhook_deliveries SET state = 'queued' WHERE id = (SELECT n.id"
		" FROM webhook_deliveries d JOIN webhook_deliveries n ON n.webhook_id = d.webhook_id"
		" AND n.project = d.project AND n.state IN ('queued','delivering','waiting')"
		" WHERE d.id = ?1 ORDER BY n.seq LIMIT 1) AND state = 'waiting'";
	return run_id(st, sql, id, "promoting the next webhook delivery", why);
}

/* 1 if (owner, lease) still holds delivery id, 0 if not, -1. */
static int
holds_lease(struct store *st, int64_t id, const char *owner, int64_t lease, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM webhook_deliveries WHERE id = ?1 AND lease_owner = ?2"
	                          " AND lease = ?3 AND state = 'delivering'";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sq_bind_text(s, 2, owner);
	sqlite3_bind_int64(s, 3, lease);
	return sq_exists(st, s, "checking a webhook lease", why);
}

static int
record(struct store *st, int64_t id, time_t now, bool ok, int status, const char *error,
       time_t next_at, time_t retry_for, struct pr_why *why)
{
	static const char sql[] = "UPDATE webhook_deliveries SET lease_until = 0, last_status = nullif(?3, 0),"
		" last_error = ?4, state = CASE WHEN ?5 THEN 'delivered'"
		"  WHEN ?2 >= retry_from + ?7 THEN 'failed' ELSE 'queued' END,"
		" next_attempt_at = CASE WHEN ?5 THEN next_attempt_at ELSE ?6 END,"
		" delivered_at = CASE WHEN ?5 THEN ?2 END WHERE id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_int(s, 3, status);
	sq_bind_text(s, 4, ok ? NULL : error ? error : "no answer");
	sqlite3_bind_int(s, 5, ok);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)next_at);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)retry_for);
	return sq_step_done(st, s, "recording a webhook delivery", why);
}

int
sqlite_store_webhook_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now,
                     bool ok, int status, const char *error, time_t next_at, time_t retry_for,
                     struct pr_why *why)
{
	if (sq_begin(st, why) < 0)
		return -1;
	int held = holds_lease(st, id, owner, lease, why);
	if (held <= 0) {
		sq_rollback(st);
		return held < 0 ? -1 : 1;
	}
	if (record(st, id, now, ok, status, error, next_at, retry_for, why) < 0 ||
	    promote_next(st, id, why) < 0) {
		sq_rollback(st);
		return -1;
	}
	return sq_commit(st, why);
}

/* A retried delivery rejoins its queue: the head when the queue has none,
 * else it waits (promote_next gives the head to the lowest seq still to
 * send, which may be this one). */
int
sqlite_store_webhook_retry(struct store *st, int64_t id, time_t now, struct pr_why *why)
{
	static const char sql[] = "UPDATE webhook_deliveries SET state = CASE WHEN EXISTS (SELECT 1"
		" FROM webhook_deliveries o WHERE o.webhook_id = webhook_deliveries.webhook_id"
		" AND o.project = webhook_deliveries.project AND o.id <> ?1"
		" AND o.state IN ('queued','delivering','waiting') AND o.state <> 'waiting') THEN 'waiting' ELSE 'queued' END,"
		" next_attempt_at = ?2, retry_from = ?2, lease_until = 0, last_error = NULL WHERE id = ?1";
	struct arena *a = arena_new();
	struct store_webhook_delivery d;
	int rc = -1;
	if (sq_begin(st, why) < 0)
		goto out;
	int found = sq_webhook_row(st, a, id, &d, why);
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
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	if (sq_step_done(st, s, "retrying a webhook delivery", why) < 0)
		goto fail;
	rc = sq_commit(st, why);
	goto out;
fail:
	sq_rollback(st);
out:
	arena_free(&a);
	return rc;
}
