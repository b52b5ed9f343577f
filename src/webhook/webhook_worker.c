/* webhook_worker.c - the webhook thread of serve: POSTs due deliveries.
 *
 * One round: claim up to WORKER_BATCH due queue heads with a lease (the
 * store never gives one row to two claimers, and only a queue's head is
 * claimable, so a project's deliveries go one after the other), POST
 * them all at once (a receiver that hangs holds up only its own queue),
 * and record each answer:
 *
 *   2xx                         -> delivered; the next of its queue is due
 *   anything else, or no answer -> queued again after webhook_backoff(),
 *                                  failed once webhook_retry_for has run out
 *
 * Durability, as for outbound mail: a delivery is marked delivered only
 * after the receiver's 2xx *and* the commit of that result.  A process
 * that dies in between leaves the row "delivering" under a lease that
 * expires; it is then claimed and POSTed again, with the same delivery
 * id, so a receiver that remembers the ids it took sees every placement
 * once.  Lease owner: node id + pid, so a restarted serve is a new owner
 * and waits for its predecessor's lease to expire.
 *
 * The thread polls the store once a second when nothing was due (the
 * commits that write deliveries run in other threads and processes); this
 * process's intake committer pokes it after a commit that may have written
 * some (webhook_queue_poke), so they go out at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/poll_thread.h"
#include "core/settings.h"
#include "store/store.h"
#include "webhook/webhook.h"

#define WORKER_BATCH 8
#define WORKER_POLL_SECONDS 1

static void
log_attempt(const struct store_webhook_delivery *d, const struct webhook_answer *ans, int rc)
{
	char url[256], err[400];
	log_sanitize(url, sizeof(url), d->url, 200);
	log_sanitize(err, sizeof(err), ans->error, 300);
	if (rc == 1)
		log_warn("webhook delivery %lld to %s: lease lost before the result was recorded (another "
		         "worker claimed it); its result stands", (long long)d->id, url);
	else if (ans->ok)
		log_info("webhook delivery %lld to %s: delivered (HTTP %d, attempt %d)", (long long)d->id, url,
		         ans->status, d->attempts);
	else
		log_info("webhook delivery %lld to %s: attempt %d failed (%s)", (long long)d->id, url,
		         d->attempts, err);
}

struct round {
	struct store *st;
	const char *owner;
	time_t retry_for;
};

/* An attempt's answer, recorded under our lease as soon as it came. */
static void
record(const struct store_webhook_delivery *d, const struct webhook_answer *ans, void *arg)
{
	const struct round *r = arg;
	struct store *st = r->st;
	const char *owner = r->owner;
	time_t retry_for = r->retry_for;
	struct pr_why why;
	time_t now = time(NULL);
	int rc = store_webhook_result(st, d->id, owner, d->lease, now, ans->ok, ans->status, ans->error,
	                              now + webhook_backoff(d->attempts), retry_for, &why);
	if (rc < 0)
		log_error("webhook delivery %lld: the result could not be recorded (%s); it is tried again "
		          "when its lease runs out", (long long)d->id, pr_why_text(&why));
	else
		log_attempt(d, ans, rc);
}

static const char *
owner_of(const struct webhook_worker_options *opt, char *buf, size_t len)
{
	if (opt->node_id)
		return opt->node_id;
	struct settings *set = settings_current();
	snprintf(buf, len, "%s:%ld", settings_str(set, SET_HOSTNAME), (long)getpid());
	settings_unref(&set);
	return buf;
}

int
webhook_worker_round(struct store *st, const struct webhook_worker_options *opt, time_t now,
                     struct pr_why *why)
{
	char owner_buf[300];
	const char *owner = owner_of(opt, owner_buf, sizeof(owner_buf));
	struct arena *a = arena_new();
	struct store_webhook_delivery *rows;
	size_t n;
	int lease = opt->lease_seconds > 0 ? opt->lease_seconds : WEBHOOK_LEASE_SECONDS;
	int rc = store_webhook_claim(st, a, owner, now, lease, WORKER_BATCH, &rows, &n, why);
	if (rc == 0 && n > 0) {
		/* Claimed rows are the heads of different queues: POSTed at once. */
		struct webhook_answer ans[WORKER_BATCH];
		struct settings *set = settings_current();
		struct round r = {st, owner, (time_t)settings_int(set, SET_WEBHOOK_RETRY_FOR)};
		settings_unref(&set);
		webhook_post_all(rows, n, time(NULL), ans, record, &r);
	}
	arena_free(&a);
	return rc < 0 ? -1 : (int)n;
}

struct webhook_worker {
	struct webhook_worker_options opt;
	char *uri, *node;
	struct store *st;
	bool failing;               /* the last round could not read the store */
	struct poll_thread *thread;
};

/* This process's running worker, for webhook_queue_poke. */
static struct poll_slot running = POLL_SLOT_INIT;

void
webhook_queue_poke(void)
{
	poll_slot_wake(&running);
}

unsigned long
webhook_worker_rounds(struct webhook_worker *w)
{
	return poll_thread_rounds(w->thread);
}

static int
worker_round(void *arg)
{
	struct webhook_worker *w = arg;
	struct pr_why why;
	int n = webhook_worker_round(w->st, &w->opt, time(NULL), &why);
	if (n < 0 && !w->failing)
		log_warn("webhooks: cannot read the deliveries (%s); trying again every second", pr_why_text(&why));
	w->failing = n < 0;
	return n;
}

struct webhook_worker *
webhook_worker_start(const struct webhook_worker_options *opt, struct pr_why *why)
{
	struct webhook_worker *w = xcalloc(1, sizeof(*w));
	w->opt = *opt;
	w->opt.store_uri = w->uri = xstrdup(opt->store_uri);
	if (opt->node_id)
		w->opt.node_id = w->node = xstrdup(opt->node_id);
	if ((w->st = store_open(w->uri, why)) == NULL) {
		free(w->uri);
		free(w->node);
		free(w);
		return NULL;
	}
	w->thread = poll_thread_start("webhooks", worker_round, w,
	                              opt->poll_ms > 0 ? opt->poll_ms : WORKER_POLL_SECONDS * 1000);
	poll_slot_set(&running, w->thread);
	return w;
}

void
webhook_worker_stop(struct webhook_worker **wp)
{
	struct webhook_worker *w = *wp;
	*wp = NULL;
	if (w == NULL)
		return;
	poll_slot_clear(&running, w->thread);
	poll_thread_stop(&w->thread);
	store_close(&w->st);
	free(w->uri);
	free(w->node);
	free(w);
}
