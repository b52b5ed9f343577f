/* store_pg_bounce.c - a delivery report marks a message we sent failed
 * (intake/bounce.c): the PostgreSQL side of store_sqlite_bounce.c (read
 * its header for why).  The lease is dropped (lease_until = 0), so a
 * worker on any node that still holds the row has its result refused
 * rather than overwrite the failure.  Idempotent; a cancelled message
 * stays cancelled.
 */
#include "store/store.h"
#include "store/store_pg.h"

int
pg_store_outbound_bounced(struct store *st, int64_t id, const char *rcpt, const char *reply,
                          time_t now, struct pr_why *why)
{
	static const char r_sql[] = "UPDATE outbound_rcpts SET state = 'failed', reply = $3"
	                            " WHERE outbound_id = $1 AND address = lower($2)";
	static const char m_sql[] = "UPDATE outbound SET state = 'failed', last_reply = $3,"
	                            " done_at = COALESCE(done_at, $2), lease_until = 0"
	                            " WHERE id = $1 AND state != 'cancelled'";
	if (pg_begin(st, why) < 0)
		return -1;
	if (rcpt) {
		struct pg_params p = {0};
		pg_p_int(&p, id);
		pg_p_text(&p, rcpt);
		pg_p_text(&p, reply);
		if (pg_do(st, r_sql, &p, "recording a bounce", why) < 0)
			goto fail;
	}
	struct pg_params p = {0};
	pg_p_int(&p, id);
	pg_p_int(&p, (int64_t)now);
	pg_p_text(&p, reply);
	if (pg_do(st, m_sql, &p, "recording a bounce", why) < 0)
		goto fail;
	return pg_commit(st, why);
fail:
	pg_rollback(st);
	return -1;
}
