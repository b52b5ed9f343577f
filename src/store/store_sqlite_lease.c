/* store_sqlite_lease.c - leases: work one node does at a time.  See
 * store.h.
 *
 * The upsert's WHERE is the rule (the row is ours, or its lease ran out):
 * it writes only when the take is allowed, so the decision and the write
 * are one statement.  The row is read first in the same write transaction
 * (BEGIN IMMEDIATE: no other writer between) only to say whose lease it
 * was, for the "took over" log line.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

struct lease_row {
	const char *owner;
	time_t until;
};

static void
read_row(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct lease_row *r = p;
	r->owner = sq_col_str(a, s, 0);
	r->until = (time_t)sqlite3_column_int64(s, 1);
}

int
sqlite_store_lease_take(struct store *st, struct arena *a, const char *name, const char *owner,
                        time_t now, int seconds, struct store_lease *out, struct pr_why *why)
{
	static const char get[] = "SELECT owner, until FROM leases WHERE name = ?1";
	static const char put[] = "INSERT INTO leases(name, owner, until, since) VALUES(?1, ?2, ?3, ?4)"
	    " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, until = excluded.until,"
	    " since = CASE WHEN leases.owner = excluded.owner THEN leases.since ELSE excluded.since END"
	    " WHERE leases.owner = excluded.owner OR leases.until <= excluded.since";
	struct lease_row old = {0};
	time_t until = now + seconds;
	if (sq_begin(st, why) < 0)
		return -1;
	int found = sq_get(st, a, get, name, read_row, &old, "reading a lease", why);
	if (found < 0)
		goto fail;
	sqlite3_stmt *s = sq_prep_keys(st, put, name, owner, why);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)until);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	if (sq_step_done(st, s, "taking a lease", why) < 0)
		goto fail;
	bool took = sqlite3_changes(st->db) > 0;
	if (sq_commit(st, why) < 0)
		return -1;
	store_lease_outcome(a, out, owner, until, took, found == 0, old.owner, old.until);
	return 0;
fail:
	sq_rollback(st);
	return -1;
}

int
sqlite_store_lease_release(struct store *st, const char *name, const char *owner, struct pr_why *why)
{
	static const char sql[] = "UPDATE leases SET until = 0 WHERE name = ?1 AND owner = ?2";
	sqlite3_stmt *s = sq_prep_keys(st, sql, name, owner, why);
	return s == NULL ? -1 : sq_step_done(st, s, "releasing a lease", why);
}
