/* api_metrics.c - what GET /metrics answers (GET /healthz: api_health.c).
 *
 * The counters are this process's (core/metrics.h); only the queue
 * depths come from the store, read at scrape time, because a queue is
 * shared by every node on the store and has no one process to count it.
 */
#include "api/api_private.h"
#include "api/postroom.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"

int
api_metrics_text(struct pr_api *api, struct buf *out, struct pr_why *why)
{
	struct store_depths d;
	struct pr_why store_why;
	struct metrics_scrape sc = {.outbound_queued = -1, .outbound_sending = -1,
	                            .webhook_pending = -1};
	if (store_queue_depths(api->store, &d, &store_why) == 0) {
		sc.store_up = true;
		sc.outbound_queued = d.outbound_queued;
		sc.outbound_sending = d.outbound_sending;
		sc.webhook_pending = d.webhook_pending;
	}
	metrics_write(out, &sc);
	if (out->err != PR_OK) {
		pr_why_set(why, out->err, "the metrics text is longer than %zu bytes", out->max);
		return -1;
	}
	return 0;
}
