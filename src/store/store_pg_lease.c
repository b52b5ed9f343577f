/* store_pg_lease.c - leases: work one node does at a time, the
 * PostgreSQL side of store_sqlite_lease.c.  See store.h.
 *
 * The upsert's WHERE is the rule (the row is ours, or its lease ran out):
 * it writes only when the take is allowed.  Two nodes taking at once
 * queue on the row's lock (ON CONFLICT DO UPDATE locks it and judges the
 * WHERE on the version the other committed), so only one of them gets
 * it.  The row is first read FOR UPDATE in the same transaction only to
 * say whose lease it was (the "took over" log line); when there was no
 * row and another node's insert won the race, it is read again after.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

struct lease_row {
	const char *owner;
	time_t until;
};

static void
read_row(struct arena *a, PGresult *r, int row, void *p)
{
	struct lease_row *l = p;
	l->owner = pg_str(a, r, row, 0);
	l->until = (time_t)pg_int(r, row, 1);
}

int
pg_store_lease_take(struct store *st, struct arena *a, const char *name, const char *owner,
                    time_t now, int seconds, struct store_lease *out, struct pr_why *why)
{
	static const char get[] = "SELECT owner, until FROM leases WHERE name = $1 FOR UPDATE";
	static const char reread[] = "SELECT owner, until FROM leases WHERE name = $1";
	static const char put[] = "INSERT INTO leases(name, owner, until, since) VALUES($1, $2, $3, $4)"
	    " ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, until = excluded.until,"
	    " since = CASE WHEN leases.owner = excluded.owner THEN leases.since ELSE excluded.since END"
	    " WHERE leases.owner = excluded.owner OR leases.until <= excluded.since";
	struct lease_row old = {0};
	time_t until = now + seconds;
	struct pg_params key = {0}, p = {0};
	pg_p_text(&key, name);
	pg_p_text(&p, name);
	pg_p_text(&p, owner);
	pg_p_int(&p, (int64_t)until);
	pg_p_int(&p, (int64_t)now);
	if (pg_begin(st, why) < 0)
		return -1;
	int found = pg_one(st, a, get, &key, read_row, &old, "reading a lease", why);
	int64_t changed = found < 0 ? -1 : pg_do(st, put, &p, "taking a lease", why);
	if (changed < 0) {
		pg_rollback(st);
		return -1;
	}
	if (pg_commit(st, why) < 0)
		return -1;
	if (changed == 0 && found == 1 &&
	    (found = pg_one(st, a, reread, &key, read_row, &old, "reading a lease", why)) < 0)
		return -1;
	store_lease_outcome(a, out, owner, until, changed > 0, found == 0, old.owner, old.until);
	return 0;
}

int
pg_store_lease_release(struct store *st, const char *name, const char *owner, struct pr_why *why)
{
	static const char sql[] = "UPDATE leases SET until = 0 WHERE name = $1 AND owner = $2";
	struct pg_params p = {0};
	pg_p_text(&p, name);
	pg_p_text(&p, owner);
	return pg_do(st, sql, &p, "releasing a lease", why) < 0 ? -1 : 0;
}
