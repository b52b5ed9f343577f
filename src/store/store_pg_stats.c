/* store_pg_stats.c - figures read at scrape time (GET /metrics).  Mirrors
 * store_sqlite_stats.c.
 *
 * Each is a count over an index (outbound_due and webhook_deliveries_due
 * lead with state), so a scrape costs a walk of the rows waiting, never
 * of the whole table.
 */
#include "store/store.h"
#include "store/store_pg.h"

static int
count(struct store *st, const char *sql, int64_t *n_r, struct pr_why *why)
{
	*n_r = -1;
	return pg_int_of(st, sql, NULL, n_r, "counting a queue", why) < 0 ? -1 : 0;
}

int
pg_store_queue_depths(struct store *st, struct store_depths *out, struct pr_why *why)
{
	static const char queued[] = "SELECT count(*) FROM outbound WHERE state = 'queued'";
	static const char sending[] = "SELECT count(*) FROM outbound WHERE state = 'sending'";
	/* Still to deliver: the states the partial index webhook_deliveries_pending holds. */
	static const char pending[] = "SELECT count(*) FROM webhook_deliveries"
	                              " WHERE state IN ('queued','delivering','waiting')";
	out->outbound_queued = out->outbound_sending = -1;
	out->webhook_pending = -1;
	if (count(st, queued, &out->outbound_queued, why) < 0 ||
	    count(st, sending, &out->outbound_sending, why) < 0)
		return -1;
	return count(st, pending, &out->webhook_pending, why);
}
