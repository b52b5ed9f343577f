/* store_sqlite_bounce.c - a delivery report marks a message we sent failed
 * (intake/bounce.c).  See store.h, "outbound queue".
 *
 * A report comes after the relay's 250, so the row is usually "sent": it
 * becomes "failed" with the remote server's words, and so does the
 * recipient the report names (when it is one of ours; a forwarding address
 * may report another).  The lease is dropped, so a worker that still
 * holds the row (a report can overtake a slow result) has its result
 * refused rather than overwrite the failure.  Idempotent: the same report
 * twice writes the same values.  A cancelled message stays cancelled.
 */
#include "store/store.h"
#include "store/store_sqlite.h"

int
sqlite_store_outbound_bounced(struct store *st, int64_t id, const char *rcpt, const char *reply,
                       time_t now, struct pr_why *why)
{
	static const char r_sql[] = "UPDATE outbound_rcpts SET state = 'failed', reply = ?3"
	                            " WHERE outbound_id = ?1 AND address = lower(?2)";
	static const char m_sql[] = "UPDATE outbound SET state = 'failed', last_reply = ?3,"
	                            " done_at = COALESCE(done_at, ?2), lease_until = 0"
	                            " WHERE id = ?1 AND state != 'cancelled'";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = rcpt ? sq_prep(st, r_sql, why) : NULL;
	if (rcpt && s == NULL)
		goto fail;
	if (s) {
		sqlite3_bind_int64(s, 1, id);
		sq_bind_text(s, 2, rcpt);
		sq_bind_text(s, 3, reply);
		if (sq_step_done(st, s, "recording a bounce", why) < 0)
			goto fail;
	}
	if ((s = sq_prep(st, m_sql, why)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sq_bind_text(s, 3, reply);
	if (sq_step_done(st, s, "recording a bounce", why) < 0)
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}
