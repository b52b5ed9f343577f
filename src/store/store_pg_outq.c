/* store_pg_outq.c - the outbound queue's state changes on PostgreSQL
 * (mirrors store_sqlite_outq.c): claim with a lease, record an attempt's
 * result, retry, cancel.  store.h has the state machine and why a message
 * is sent at most once after its 250 was recorded.
 *
 * Several nodes share the queue.  SQLite gets its atomicity from having
 * one writer; here every change is one transaction that LOCKS the rows it
 * decides about before deciding:
 * - a claim selects due rows FOR UPDATE SKIP LOCKED and stamps them in
 *   the same transaction: a row another node is claiming (or recording a
 *   result for) is skipped, never taken twice; once committed, its new
 *   lease_until keeps it from being due;
 * - a result locks its row FOR UPDATE before checking (owner, lease): if
 *   another node re-claimed the row meanwhile, the check runs on the
 *   re-claimed row (READ COMMITTED re-reads a row it waited for) and the
 *   stale worker's result is refused (1), as in SQLite;
 * - retry and cancel lock the row they judge, so a claim cannot slip in
 *   between "it is queued" and "it is cancelled".
 * The lease columns are exactly SQLite's.
 */
#include <string.h>

#include "core/arena.h"
#include "core/text.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_queue.h"

/* Rows whose time ran out while they waited (or whose worker died past
 * expires_at) fail with the last answer they had.  One statement, so
 * the recipients and their message fail together; rows another node has
 * locked (claiming or recording them) are left to it. */
static int
expire_due(struct store *st, time_t now, struct pr_why *why)
{
	static const char sql[] = "WITH due AS (SELECT id FROM outbound WHERE state IN ('queued','sending')"
		" AND expires_at <= $1 AND lease_until < $1 FOR UPDATE SKIP LOCKED),"
		" r AS (UPDATE outbound_rcpts SET state = 'failed', reply = coalesce(reply,"
		" 'gave up: no delivery before the retry time (smtp_retry_for) ran out') WHERE state = 'queued'"
		" AND outbound_id IN (SELECT id FROM due))"
		" UPDATE outbound SET state = 'failed', done_at = $1, lease_until = 0,"
		" last_reply = 'gave up after ' || attempts || ' attempt(s): ' ||"
		" coalesce(last_reply, 'no answer') WHERE id IN (SELECT id FROM due)";
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)now);
	return pg_do(st, sql, &p, "expiring outbound mail", why) < 0 ? -1 : 0;
}

/* Stamp one row (locked by the claim) as ours and read it back with its
 * queued recipients. */
static int
take_row(struct store *st, struct arena *a, int64_t id, const char *owner, time_t now,
         int lease_seconds, void *row, struct pr_why *why)
{
	struct store_outbound *out = row;
	static const char sql[] = "UPDATE outbound SET state = 'sending', lease_owner = $2,"
		" lease_until = $3, lease = lease + 1, attempts = attempts + 1 WHERE id = $1";
	struct pg_params p = {0};
	pg_p_lease(&p, id, owner, (int64_t)now + lease_seconds);
	if (pg_do(st, sql, &p, "claiming outbound mail", why) < 0 ||
	    pg_outbound_row(st, a, id, false, out, why) != 0)
		return -1;
	return pg_outbound_rcpts(st, a, out, true, why);
}

const char *
pg_reply_text(struct arena *a, const char *s)
{
	return pg_text_ok(s) ? s : text_clean(a, s);
}

void
pg_p_lease(struct pg_params *p, int64_t id, const char *owner, int64_t n)
{
	pg_p_int(p, id);
	pg_p_text(p, owner);
	pg_p_int(p, n);
}

static void
read_id(struct arena *a, PGresult *r, int row, void *p)
{
	(void)a;
	*(int64_t *)p = pg_int(r, row, 0);
}

int
pg_claim_rows(struct store *st, struct arena *a, const struct pg_claim *c, const char *owner,
              time_t now, int lease_seconds, size_t max, void *out, size_t *n, struct pr_why *why)
{
	*(void **)out = NULL;
	*n = 0;
	if (pg_begin(st, why) < 0)
		return -1;
	int64_t *ids = NULL;
	size_t nids = 0;
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)now);
	pg_p_int(&p, (int64_t)(max ? max : 1));
	if ((c->before && c->before(st, now, why) < 0) ||
	    pg_collect(st, a, c->due, &p, sizeof(*ids), read_id, &ids, &nids, c->what, why) < 0)
		goto fail;
	char *rows = arena_alloc(a, (nids ? nids : 1) * c->elem);
	for (size_t i = 0; i < nids; i++)
		if (c->take(st, a, ids[i], owner, now, lease_seconds, rows + i * c->elem, why) < 0)
			goto fail;
	if (pg_commit(st, why) < 0)
		return -1;
	*(void **)out = rows;
	*n = nids;
	return 0;
fail:
	pg_rollback(st);
	return -1;
}

int
pg_store_outbound_claim(struct store *st, struct arena *a, const char *owner, time_t now,
                        int lease_seconds, size_t max, struct store_outbound **out, size_t *n,
                        struct pr_why *why)
{
	static const struct pg_claim claim = {
		.due = "SELECT id FROM outbound WHERE state IN ('queued','sending')"
		       " AND next_attempt_at <= $1 AND lease_until < $1 ORDER BY next_attempt_at, id LIMIT $2"
		       " FOR UPDATE SKIP LOCKED",
		.what = "finding due mail", .elem = sizeof(**out), .before = expire_due, .take = take_row,
	};
	return pg_claim_rows(st, a, &claim, owner, now, lease_seconds, max, out, n, why);
}

/* 1 if (owner, lease) still holds row id in state sending, 0 if not.
 * The row stays locked until the result commits. */
static int
holds_lease(struct store *st, int64_t id, const char *owner, int64_t lease, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM outbound WHERE id = $1 AND lease_owner = $2"
	                          " AND lease = $3 AND state = 'sending' FOR UPDATE";
	struct pg_params p = {0};
	pg_p_lease(&p, id, owner, lease);
	return pg_exists(st, sql, &p, "checking an outbound lease", why);
}

static int
record_rcpts(struct store *st, struct arena *a, int64_t id, const struct store_outbound_rcpt_result *r,
             size_t nr, struct pr_why *why)
{
	static const char sql[] = "UPDATE outbound_rcpts SET state = $3, reply = $4"
	                          " WHERE outbound_id = $1 AND address = lower($2) AND state = 'queued'";
	for (size_t i = 0; i < nr; i++) {
		if (r[i].outcome == OUTBOUND_TEMPFAIL && r[i].reply == NULL)
			continue;
		struct pg_params p = {0};
		pg_p_int(&p, id);
		pg_p_text(&p, r[i].address);
		pg_p_text(&p, r[i].outcome == OUTBOUND_OK ? "sent" :
		              r[i].outcome == OUTBOUND_PERMFAIL ? "failed" : "queued");
		pg_p_text(&p, pg_reply_text(a, r[i].reply));
		if (pg_do(st, sql, &p, "recording a recipient's result", why) < 0)
			return -1;
	}
	return 0;
}

/* The message's state from its recipients: sent when all are sent,
 * failed when none is left to try and one failed (or time ran out),
 * else queued again for next_at. */
static int
settle(struct store *st, struct arena *a, int64_t id, time_t now, time_t next_at, const char *reply,
       struct pr_why *why)
{
	static const char sql[] = "UPDATE outbound SET lease_until = 0, last_reply = coalesce($3::text, last_reply),"
		" state = CASE"
		"  WHEN NOT EXISTS (SELECT 1 FROM outbound_rcpts WHERE outbound_id = $1 AND state = 'queued')"
		"   THEN CASE WHEN EXISTS (SELECT 1 FROM outbound_rcpts WHERE outbound_id = $1 AND state = 'failed')"
		"    THEN 'failed' ELSE 'sent' END"
		"  WHEN $2::bigint >= expires_at THEN 'failed' ELSE 'queued' END,"
		" next_attempt_at = $2 WHERE id = $1";
	static const char give_up[] = "UPDATE outbound_rcpts SET state = 'failed', reply = coalesce(reply,"
		" 'gave up: no delivery before the retry time (smtp_retry_for) ran out')"
		" WHERE outbound_id = $1 AND state = 'queued'"
		" AND (SELECT state FROM outbound WHERE id = $1) = 'failed'";
	static const char done[] = "UPDATE outbound SET done_at = $2 WHERE id = $1 AND state IN ('sent','failed')";
	struct pg_params p = {0}, g = {0}, d = {0};
	pg_p_int(&p, id);
	pg_p_int(&p, (int64_t)next_at);
	pg_p_text(&p, pg_reply_text(a, reply));
	pg_p_int(&g, id);
	pg_p_int(&d, id);
	pg_p_int(&d, (int64_t)now);
	if (pg_do(st, sql, &p, "recording an outbound result", why) < 0 ||
	    pg_do(st, give_up, &g, "recording an outbound result", why) < 0 ||
	    pg_do(st, done, &d, "recording an outbound result", why) < 0)
		return -1;
	return 0;
}

int
pg_store_outbound_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now,
                         const struct store_outbound_rcpt_result *r, size_t nr, time_t next_at,
                         const char *reply, struct pr_why *why)
{
	if (pg_begin(st, why) < 0)
		return -1;
	int held = holds_lease(st, id, owner, lease, why);
	if (held <= 0) {
		pg_rollback(st);
		return held < 0 ? -1 : 1;
	}
	struct arena *a = arena_new();
	int rc = record_rcpts(st, a, id, r, nr, why) < 0 || settle(st, a, id, now, next_at, reply, why) < 0;
	arena_free(&a);
	if (rc) {
		pg_rollback(st);
		return -1;
	}
	return pg_commit(st, why);
}

/* Run sql with $1 = id and the nt times t as $2.. (PostgreSQL wants as
 * many values as the statement has parameters). */
static int
change(struct store *st, int64_t id, const char *sql, const time_t *t, int nt, struct pr_why *why)
{
	struct pg_params p = {0};
	pg_p_int(&p, id);
	for (int i = 0; i < nt; i++)
		pg_p_int(&p, (int64_t)t[i]);
	return pg_do(st, sql, &p, "changing outbound mail", why) < 0 ? -1 : 0;
}

/* What retry and cancel do to a row they may change: -1 with why when
 * they may not (or the store failed). */
typedef int (*act_fn)(struct store *st, const struct store_outbound *o, time_t now,
                      time_t retry_for, struct pr_why *why);

/* One retry or cancel: the row locked until the transaction ends (so a
 * claim cannot slip in between judging it and changing it), then act. */
static int
act_on_row(struct store *st, int64_t id, time_t now, time_t retry_for, act_fn act,
           struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_outbound o;
	int rc = -1;
	if (pg_begin(st, why) < 0)
		goto out;
	int found = pg_outbound_row(st, a, id, true, &o, why);
	if (found == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no outbound message %lld", (long long)id);
	if (found != 0 || act(st, &o, now, retry_for, why) < 0)
		pg_rollback(st);
	else
		rc = pg_commit(st, why);
out:
	arena_free(&a);
	return rc;
}

static int
retry_row(struct store *st, const struct store_outbound *o, time_t now, time_t retry_for,
          struct pr_why *why)
{
	static const char rcpts[] = "UPDATE outbound_rcpts SET state = 'queued', reply = NULL"
	                            " WHERE outbound_id = $1 AND state = 'failed'";
	static const char msg[] = "UPDATE outbound SET state = 'queued', next_attempt_at = $2,"
	                          " expires_at = $3, done_at = NULL, lease_until = 0 WHERE id = $1";
	time_t times[2] = {now, now + retry_for};
	if (o->state == OUTBOUND_SENT || (o->state == OUTBOUND_SENDING && o->lease_until >= now)) {
		pr_why_set(why, PR_E_INVALID, "outbound message %lld is %s: there is nothing to retry",
		           (long long)o->id, o->state == OUTBOUND_SENT ? "sent already" : "being sent right now");
		return -1;
	}
	if (change(st, o->id, rcpts, NULL, 0, why) < 0)
		return -1;
	return change(st, o->id, msg, times, 2, why);
}

int
pg_store_outbound_retry(struct store *st, int64_t id, time_t now, time_t retry_for, struct pr_why *why)
{
	return act_on_row(st, id, now, retry_for, retry_row, why);
}

static int
cancel_row(struct store *st, const struct store_outbound *o, time_t now, time_t retry_for,
           struct pr_why *why)
{
	static const char msg[] = "UPDATE outbound SET state = 'cancelled', done_at = $2,"
	                          " lease_until = 0 WHERE id = $1";
	(void)retry_for;
	if (o->state == OUTBOUND_SENDING && o->lease_until >= now) {
		pr_why_set(why, PR_E_INVALID, "outbound message %lld is being sent right now: it cannot be "
		           "stopped halfway; look again in a moment", (long long)o->id);
		return -1;
	}
	if (o->state == OUTBOUND_SENT || o->state == OUTBOUND_CANCELLED) {
		pr_why_set(why, PR_E_INVALID, "outbound message %lld is %s already", (long long)o->id,
		           store_outbound_state_name(o->state));
		return -1;
	}
	return change(st, o->id, msg, &now, 1, why);
}

int
pg_store_outbound_cancel(struct store *st, int64_t id, time_t now, struct pr_why *why)
{
	return act_on_row(st, id, now, 0, cancel_row, why);
}
