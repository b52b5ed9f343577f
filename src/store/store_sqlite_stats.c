/* store_sqlite_stats.c - figures read at scrape time (GET /metrics).
 *
 * Each is a count over an index (outbound_due and webhook_deliveries_due
 * lead with state), so a scrape costs a walk of the rows waiting, never
 * of the whole table.
 */
#include "store/store.h"
#include "store/store_sqlite.h"

static int
count(struct store *st, const char *sql, int64_t *n_r, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*n_r = -1;
	if (s == NULL)
		return -1;
	return sq_one(st, NULL, s, sq_read_int64, n_r, "counting a queue", why) < 0 ? -1 : 0;
}

int
sqlite_store_queue_depths(struct store *st, struct store_depths *out, struct pr_why *why)
{
	out->outbound_queued = out->outbound_sending = -1;
	out->webhook_pending = -1;
	if (count(st, "SELECT count(*) FROM outbound WHERE state = 'queued'", &out->outbound_queued,
	          why) < 0 ||
	    count(st, "SELECT count(*) FROM outbound WHERE state = 'sending'", &out->outbound_sending,
	          why) < 0)
		return -1;
	/* Still to deliver: the states the partial index webhook_deliveries_pending holds. */
	return count(st, "SELECT count(*) FROM webhook_deliveries"
	             " WHERE state IN ('queued','delivering','waiting')", &out->webhook_pending, why);
}
