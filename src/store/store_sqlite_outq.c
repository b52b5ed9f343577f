/* store_sqlite_outq.c - the outbound queue's state changes: claim with a
 * lease, record an attempt's result, retry, cancel (store.h has the state
 * machine and why a message is sent at most once after its 250 was
 * recorded).
 *
 * Atomicity: every change is one BEGIN IMMEDIATE transaction.  SQLite
 * has a single writer, so a claim's "select the due rows, stamp them"
 * runs with no other writer in between: two claimers -- threads of one
 * serve, or several serves sharing the file -- never get the same row.
 * A PostgreSQL backend does the same with UPDATE ... WHERE id IN (SELECT
 * ... FOR UPDATE SKIP LOCKED) RETURNING.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* Rows whose time ran out while they waited (or whose worker died past
 * expires_at) fail with the last answer they had. */
static int
expire_due(struct store *st, time_t now, struct pr_why *why)
{
	static const char rc_sql[] = "UPDATE outbound_rcpts SET state = 'failed', reply = coalesce(reply,"
		" 'gave up: no delivery before the retry time (smtp_retry_for) ran out') WHERE state = 'queued'"
		" AND outbound_id IN (SELECT id FROM outbound WHERE state IN ('queued','sending')"
		" AND expires_at <= ?1 AND lease_until < ?1)";
	static const char msg_sql[] = "UPDATE outbound SET state = 'failed', done_at = ?1, lease_until = 0,"
		" last_reply = 'gave up after ' || attempts || ' attempt(s): ' ||"
		" coalesce(last_reply, 'no answer') WHERE state IN ('queued','sending')"
		" AND expires_at <= ?1 AND lease_until < ?1";
	const char *sqls[] = {rc_sql, msg_sql};
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *s = sq_prep(st, sqls[i], why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
		if (sq_step_done(st, s, "expiring outbound mail", why) < 0)
			return -1;
	}
	return 0;
}

/* Stamp one row as ours and read it back with its queued recipients. */
static int
take_row(struct store *st, struct arena *a, int64_t id, const char *owner, time_t now,
         int lease_seconds, struct store_outbound *out, struct pr_why *why)
{
	static const char sql[] = "UPDATE outbound SET state = 'sending', lease_owner = ?2,"
		" lease_until = ?3, lease = lease + 1, attempts = attempts + 1 WHERE id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sq_bind_text(s, 2, owner);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)(now + lease_seconds));
	if (sq_step_done(st, s, "claiming outbound mail", why) < 0 ||
	    sq_outbound_row(st, a, id, out, why) != 0)
		return -1;
	return sq_outbound_rcpts(st, a, out, true, why);
}

int
sqlite_store_outbound_claim(struct store *st, struct arena *a, const char *owner, time_t now,
                     int lease_seconds, size_t max, struct store_outbound **out, size_t *n,
                     struct pr_why *why)
{
	static const char due[] = "SELECT id FROM outbound WHERE state IN ('queued','sending')"
		" AND next_attempt_at <= ?1 AND lease_until < ?1 ORDER BY next_attempt_at, id LIMIT ?2";
	*out = NULL;
	*n = 0;
	if (sq_begin(st, why) < 0)
		return -1;
	int64_t *ids = NULL;
	size_t nids = 0;
	sqlite3_stmt *s = NULL;
	if (expire_due(st, now, why) < 0 || (s = sq_prep(st, due, why)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)(max ? max : 1));
	if (sq_collect(st, a, s, sizeof(*ids), sq_read_int64, &ids, &nids, "finding due mail", why) < 0)
		goto fail;
	struct store_outbound *rows = arena_alloc(a, (nids ? nids : 1) * sizeof(*rows));
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

/* 1 if (owner, lease) still holds row id in state sending, 0 if not. */
static int
holds_lease(struct store *st, int64_t id, const char *owner, int64_t lease, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM outbound WHERE id = ?1 AND lease_owner = ?2"
	                          " AND lease = ?3 AND state = 'sending'";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sq_bind_text(s, 2, owner);
	sqlite3_bind_int64(s, 3, lease);
	return sq_exists(st, s, "checking an outbound lease", why);
}

static int
record_rcpts(struct store *st, int64_t id, const struct store_outbound_rcpt_result *r, size_t nr,
             struct pr_why *why)
{
	static const char sql[] = "UPDATE outbound_rcpts SET state = ?3, reply = ?4"
	                          " WHERE outbound_id = ?1 AND address = lower(?2) AND state = 'queued'";
	for (size_t i = 0; i < nr; i++) {
		if (r[i].outcome == OUTBOUND_TEMPFAIL && r[i].reply == NULL)
			continue;
		sqlite3_stmt *s = sq_prep(st, sql, why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, id);
		sq_bind_text(s, 2, r[i].address);
		sq_bind_text(s, 3, r[i].outcome == OUTBOUND_OK ? "sent" :
		                   r[i].outcome == OUTBOUND_PERMFAIL ? "failed" : "queued");
		sq_bind_text(s, 4, r[i].reply);
		if (sq_step_done(st, s, "recording a recipient's result", why) < 0)
			return -1;
	}
	return 0;
}

/* The message's state from its recipients: sent when all are sent,
 * failed when none is left to try and one failed (or time ran out),
 * else queued again for next_at. */
static int
settle(struct store *st, int64_t id, time_t now, time_t next_at, const char *reply,
       struct pr_why *why)
{
	static const char sql[] = "UPDATE outbound SET lease_until = 0, last_reply = coalesce(?4, last_reply),"
		" state = CASE"
		"  WHEN NOT EXISTS (SELECT 1 FROM outbound_rcpts WHERE outbound_id = ?1 AND state = 'queued')"
		"   THEN CASE WHEN EXISTS (SELECT 1 FROM outbound_rcpts WHERE outbound_id = ?1 AND state = 'failed')"
		"    THEN 'failed' ELSE 'sent' END"
		"  WHEN ?3 >= expires_at THEN 'failed' ELSE 'queued' END,"
		" next_attempt_at = ?3 WHERE id = ?1";
	static const char give_up[] = "UPDATE outbound_rcpts SET state = 'failed', reply = coalesce(reply,"
		" 'gave up: no delivery before the retry time (smtp_retry_for) ran out')"
		" WHERE outbound_id = ?1 AND state = 'queued'"
		" AND (SELECT state FROM outbound WHERE id = ?1) = 'failed'";
	static const char done[] = "UPDATE outbound SET done_at = ?2 WHERE id = ?1 AND state IN ('sent','failed')";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)next_at);
	sq_bind_text(s, 4, reply);
	if (sq_step_done(st, s, "recording an outbound result", why) < 0)
		return -1;
	const char *more[] = {give_up, done};
	for (int i = 0; i < 2; i++) {
		if ((s = sq_prep(st, more[i], why)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, id);
		if (i == 1)
			sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
		if (sq_step_done(st, s, "recording an outbound result", why) < 0)
			return -1;
	}
	return 0;
}

int
sqlite_store_outbound_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now,
                      const struct store_outbound_rcpt_result *r, size_t nr, time_t next_at,
                      const char *reply, struct pr_why *why)
{
	if (sq_begin(st, why) < 0)
		return -1;
	int held = holds_lease(st, id, owner, lease, why);
	if (held <= 0) {
		sq_rollback(st);
		return held < 0 ? -1 : 1;
	}
	if (record_rcpts(st, id, r, nr, why) < 0 || settle(st, id, now, next_at, reply, why) < 0) {
		sq_rollback(st);
		return -1;
	}
	return sq_commit(st, why);
}

/* Read a row's state for retry/cancel inside the transaction: 0 with
 * *o, or -1 (PR_E_NOT_FOUND when there is none). */
static int
row_for_change(struct store *st, struct arena *a, int64_t id, struct store_outbound *o,
               struct pr_why *why)
{
	int rc = sq_outbound_row(st, a, id, o, why);
	if (rc == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no outbound message %lld", (long long)id);
	return rc == 0 ? 0 : -1;
}

/* Run sql with ?1 = id and the times t1, t2 as ?2, ?3 (a statement
 * without ?3 ignores it: SQLite refuses the bind, nothing else). */
static int
change(struct store *st, int64_t id, const char *sql, time_t t1, time_t t2, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)t1);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)t2);
	return sq_step_done(st, s, "changing outbound mail", why);
}

int
sqlite_store_outbound_retry(struct store *st, int64_t id, time_t now, time_t retry_for, struct pr_why *why)
{
	static const char rcpts[] = "UPDATE outbound_rcpts SET state = 'queued', reply = NULL"
	                            " WHERE outbound_id = ?1 AND state = 'failed'";
	static const char msg[] = "UPDATE outbound SET state = 'queued', next_attempt_at = ?2,"
	                          " expires_at = ?3, done_at = NULL, lease_until = 0 WHERE id = ?1";
	struct arena *a = arena_new();
	struct store_outbound o;
	int rc = -1;
	if (sq_begin(st, why) < 0)
		goto out;
	if (row_for_change(st, a, id, &o, why) < 0)
		goto fail;
	if (o.state == OUTBOUND_SENT || (o.state == OUTBOUND_SENDING && o.lease_until >= now)) {
		pr_why_set(why, PR_E_INVALID, "outbound message %lld is %s: there is nothing to retry",
		           (long long)id, o.state == OUTBOUND_SENT ? "sent already" : "being sent right now");
		goto fail;
	}
	if (change(st, id, rcpts, now, now, why) < 0 || change(st, id, msg, now, now + retry_for, why) < 0)
		goto fail;
	rc = sq_commit(st, why);
	goto out;
fail:
	sq_rollback(st);
out:
	arena_free(&a);
	return rc;
}

int
sqlite_store_outbound_cancel(struct store *st, int64_t id, time_t now, struct pr_why *why)
{
	static const char msg[] = "UPDATE outbound SET state = 'cancelled', done_at = ?2,"
	                          " lease_until = 0 WHERE id = ?1";
	struct arena *a = arena_new();
	struct store_outbound o;
	int rc = -1;
	if (sq_begin(st, why) < 0)
		goto out;
	if (row_for_change(st, a, id, &o, why) < 0)
		goto fail;
	if (o.state == OUTBOUND_SENDING && o.lease_until >= now) {
		pr_why_set(why, PR_E_INVALID, "outbound message %lld is being sent right now: it cannot be "
		           "stopped halfway; look again in a moment", (long long)id);
		goto fail;
	}
	if (o.state == OUTBOUND_SENT || o.state == OUTBOUND_CANCELLED) {
		pr_why_set(why, PR_E_INVALID, "outbound message %lld is %s already", (long long)id,
		           store_outbound_state_name(o.state));
		goto fail;
	}
	if (change(st, id, msg, now, now, why) < 0)
		goto fail;
	rc = sq_commit(st, why);
	goto out;
fail:
	sq_rollback(st);
out:
	arena_free(&a);
	return rc;
}
