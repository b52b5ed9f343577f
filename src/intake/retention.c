/* retention.c - the intake log's retention (log_retention_days), and the
 * sweep of orphan message bodies.
 *
 * The log has a row per attempt, refusals included, so on a server under
 * attack it grows by the attacker's rate; without retention it grows for
 * ever.  A thread of its own (the loop must never wait on the disk) opens
 * its own store connection and deletes older rows at start and then once an
 * hour, in batches of 1,000 so the committer never waits long for the
 * writer lock.  The setting is read from the current snapshot each time, so
 * a change applies at the next pass.  `postroom log prune` does one pass by
 * hand.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "intake/intake.h"
#include "store/store.h"

#define RETENTION_INTERVAL_S 3600

struct intake_retention {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	char *store_uri;
	struct intake *in;
};

static void
retention_pass(struct store *st)
{
	struct settings *set = settings_current();
	long long days = settings_int(set, SET_LOG_RETENTION_DAYS);
	settings_unref(&set);
	struct pr_why why;
	int64_t deleted = 0;
	if (store_log_prune_days(st, time(NULL), days, &deleted, &why) < 0)
		log_warn("log retention: %s (deleted %lld rows first); trying again in an hour",
		         pr_why_text(&why), (long long)deleted);
	else if (deleted > 0)
		log_info("log retention: deleted %lld intake log rows older than %lld days",
		         (long long)deleted, days);
}

/* Bodies a crash left between their write and their commit: never
 * acknowledged, never shown, only taking space. */
static void
sweep_bodies(struct intake *in, struct store *st)
{
	struct pr_why why;
	int64_t removed = 0;
	if (store_body_sweep(st, intake_oldest_in_flight(in), &removed, &why) < 0)
		log_warn("body sweep: %s (removed %lld first); trying again in an hour", pr_why_text(&why),
		         (long long)removed);
	else if (removed > 0)
		log_info("body sweep: removed %lld orphan message bodies (written, never committed nor "
		         "acknowledged)", (long long)removed);
}

static void *
retention_main(void *arg)
{
	struct intake_retention *r = arg;
	struct pr_why why;
	struct store *st = store_open(r->store_uri, &why);
	if (st == NULL) {
		log_warn("log retention: cannot open the store: %s; old log rows are kept", pr_why_text(&why));
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		pthread_mutex_unlock(&r->lock);
		retention_pass(st);
		sweep_bodies(r->in, st);
		pthread_mutex_lock(&r->lock);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += RETENTION_INTERVAL_S;
		while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->lock);
	store_close(&st);
	return NULL;
}

struct intake_retention *
intake_retention_start(struct intake *in, const char *store_uri)
{
	struct intake_retention *r = xcalloc(1, sizeof(*r));
	r->in = in;
	r->store_uri = xstrdup(store_uri);
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&r->thread, NULL, retention_main, r) != 0)
		pr_panic("cannot start the log retention thread");
	pthread_setname_np(r->thread, "log-retention");
	return r;
}

void
intake_retention_stop(struct intake_retention **rp)
{
	struct intake_retention *r = *rp;
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->store_uri);
	free(r);
	*rp = NULL;
}
