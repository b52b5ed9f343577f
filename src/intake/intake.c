/* intake.c - the pipeline's threads and queues.
 *
 *   submit -> [work queue, small first: workq.c] -> N workers (parse, authenticate, decide)
 *          -> [commit queue] -> 1 committer (group commit) -> done()
 *   protocol threads' refusals -> [row queue, bounded] -> the same commit
 *
 * Workers are threads, not event-loop callbacks, because DNS waits (SPF,
 * DKIM keys) and GMime parsing of a 20 MiB message would stall every SMTP
 * session sharing a loop.  Each worker owns its store connection and DNS
 * channel, so nothing in a worker is shared but the queues.
 *
 * Group commit is the write barrier (Redis's beforeSleep, Postfix's
 * cleanup): the committer takes *every* message that is ready, writes them
 * all in one transaction with one fsync, and only after COMMIT returns does
 * it call done() -- which is what lets SMTP answer 250.  Under load the
 * queue fills while an fsync is in flight, so the next transaction carries
 * many messages and the fsync cost is shared; when idle a message commits
 * alone at once.  Nothing is acknowledged before it is durable, so a crash
 * at any point loses nothing that got a 250.
 *
 * The committer is the one writer of the intake log: refusals (with their
 * job, or queued rows) go into the same transaction, and done() says in
 * res.logged whether the attempt's row is durable.  RCPT lookups run on
 * their own threads (intake_rcpt.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/settings.h"
#include "core/spool.h"
#include "intake/intake_private.h"
#include "webhook/webhook.h"

#define INTAKE_DEFAULT_WORKERS 4
#define INTAKE_MAX_WORKERS 32
/* A batch bigger than this waits for the next transaction: it bounds the
 * time one transaction holds the write lock and the memory in flight.
 * Rows from the row queue are taken in chunks of the same size. */
#define INTAKE_MAX_BATCH 256
/* Messages whose search entries one group may hold for a later one while
 * more are coming: past a hundred or so FTS5's cost per commit is paid
 * off (bench/README.md, smtp-intake, stop 35). */
#define INTAKE_SEARCH_BATCH 128
/* How long the committer, idle, leaves entries held for a message that
 * was expected and has not come. */
#define INTAKE_SEARCH_WAIT_MS 500
/* How old the committer's "are there webhooks?" answer may be. */
#define WEBHOOKS_RECHECK_S 1.0


struct intake {
	struct intake_options opt;
	char *store_uri, *spool_dir;
	pthread_mutex_t lock;
	pthread_cond_t work_cv, commit_cv, idle_cv;
	struct intake_workq work;
	struct intake_jobq commit;
	struct intake_job *live;             /* every job in flight (submit to finish) */
	struct intake_rowq rows;             /* rows without a job (rowq.c) */
	size_t in_flight;
	/* Sessions with a recipient accepted (intake_expect): changed by the
	 * event loop for every message, so not under lock. */
	atomic_size_t expected;
	bool stopping;
	int nworkers;
	pthread_t workers[INTAKE_MAX_WORKERS];
	struct intake_worker wctx[INTAKE_MAX_WORKERS];
	pthread_t committer;
	struct store *commit_st;
	/* Under lock: the writer's counters (intake_get_stats). */
	struct intake_stats stats;
	struct intake_lookup *lookup;         /* RCPT judgements (intake_rcpt.c) */
	/* Committer only: whether webhooks exist, as read at webhooks_at. */
	bool webhooks;
	double webhooks_at;
};

/* The list of jobs in flight, under in->lock. */
static void
live_add(struct intake *in, struct intake_job *j)
{
	j->live_prev = NULL;
	j->live_next = in->live;
	if (in->live)
		in->live->live_prev = j;
	in->live = j;
}

static void
live_remove(struct intake *in, struct intake_job *j)
{
	if (j->live_prev)
		j->live_prev->live_next = j->live_next;
	else
		in->live = j->live_next;
	if (j->live_next)
		j->live_next->live_prev = j->live_prev;
}

time_t
intake_oldest_in_flight(struct intake *in)
{
	time_t oldest = time(NULL);
	pthread_mutex_lock(&in->lock);
	for (const struct intake_job *j = in->live; j != NULL; j = j->live_next)
		if (j->submitted < oldest)
			oldest = j->submitted;
	pthread_mutex_unlock(&in->lock);
	return oldest;
}

/* Unreadable mail just committed in Fallback goes on to fallback_address
 * (empty: off) as an attachment.  After the commit and after the sender
 * heard 250, which never waits for it: if it cannot be queued, the
 * daemon log says so and the message stays safe in Fallback. */
static void
forward_unreadable(struct intake *in, struct intake_job *j)
{
	const struct store_msg *sm = j->sm;
	if (sm == NULL || !sm->unreadable || sm->duplicate_r || j->res.message_id <= 0 ||
	    j->res.why.code != PR_OK)
		return;
	struct settings *set = settings_current();
	struct pr_why why;
	pr_why_clear(&why);
	if (*settings_str(set, SET_FALLBACK_ADDRESS) &&
	    intake_fallback_forward(in->commit_st, set, j->m->arena, sm, j->m->raw, &why) < 0)
		log_warn("intake: unreadable message %lld kept in Fallback, not forwarded to "
		         "fallback_address: %s", (long long)sm->id_r, pr_why_text(&why));
	settings_unref(&set);
}

/* Tell the submitter and release everything the message owned. */
static void
job_finish(struct intake *in, struct intake_job *j)
{
	j->done(j->arg, &j->res);
	forward_unreadable(in, j);
	struct arena *ma = j->m->arena;   /* m lives in its arena: free via a copy */
	arena_free(&ma);
	free(j->row);
	pthread_mutex_lock(&in->lock);
	live_remove(in, j);
	metrics_gauge_add(METRICS_INTAKE_IN_FLIGHT, -1);
	if (--in->in_flight == 0)
		pthread_cond_broadcast(&in->idle_cv);
	pthread_mutex_unlock(&in->lock);
	free(j);
}

static void *
worker_main(void *arg)
{
	struct intake_worker *w = arg;
	struct intake *in = w->in;
	for (;;) {
		pthread_mutex_lock(&in->lock);
		struct intake_job *j;
		while ((j = intake_workq_pop(&in->work, in->stopping)) == NULL && !in->stopping)
			pthread_cond_wait(&in->work_cv, &in->lock);
		pthread_mutex_unlock(&in->lock);
		if (j == NULL)
			return NULL;        /* stopping and drained */
		j->worker_ms = intake_now_ms();
		intake_process(w, j);   /* j->sm to store, or j->row to log */
		j->ready_ms = intake_now_ms();
		pthread_mutex_lock(&in->lock);
		if (intake_workq_done(&in->work, j))
			pthread_cond_broadcast(&in->work_cv);   /* a waiting large one may go */
		intake_jobq_push(&in->commit, j);
		pthread_cond_signal(&in->commit_cv);
		pthread_mutex_unlock(&in->lock);
	}
}

/* One line per decision (Postfix): refusals are logged by process.c. */
static void
log_accepted(const struct store_msg *sm)
{
	char from[128];
	const char *where = sm->nplacements ? route_kind_name(sm->placements[0].kind) : "nowhere";
	const char *target = sm->nplacements ? sm->placements[0].target : "";
	log_info("intake: accepted %smessage %lld from=<%s> ip=%s size=%llu filed in %s%s%s%s",
	         sm->duplicate_r ? "a copy of " : "", (long long)sm->id_r,
	         log_sanitize(from, sizeof(from), sm->mail_from, 100), sm->peer_ip,
	         (unsigned long long)spool_size(sm->raw), where, *target ? ":" : "", target,
	         sm->nplacements > 1 ? " and more" : "");
}

/* Queue a row for the committer; false (dropped, counted) when full. */
static bool
push_row(struct intake *in, struct intake_row *r)
{
	pthread_mutex_lock(&in->lock);
	bool queued = intake_rowq_push(&in->rows, r, "the queue of intake-log rows is full");
	if (queued)
		pthread_cond_signal(&in->commit_cv);
	pthread_mutex_unlock(&in->lock);
	return queued;
}

/* Rows the store was too busy to take go back to the head of the queue,
 * so a deferral is still logged once the lock is free -- as far as the
 * queue's bounds allow.  When stopping, or for any other failure (which a
 * retry would only repeat), they are dropped: the daemon log has each. */
static void
requeue_rows(struct intake *in, struct intake_row *list, const struct pr_why *why)
{
	pthread_mutex_lock(&in->lock);
	bool keep = why->code == PR_E_STORE_BUSY && !in->stopping;
	intake_rowq_requeue(&in->rows, list, keep, pr_why_text(why));
	pthread_mutex_unlock(&in->lock);
}

/* The row of a job whose commit failed joins the queue for a later try:
 * an accepted message's becomes a deferral, a refusal keeps its own. */
static void
requeue_job_row(struct intake *in, struct intake_job *j, const struct pr_why *why)
{
	struct intake_row *r = j->row;
	j->row = NULL;
	if (r == NULL) {
		/* A new row, alone next time: it is worth a try whatever failed. */
		push_row(in, intake_row_new(j->m, spool_size(j->m->raw), why, j->sm->message_id));
		return;
	}
	r->next = NULL;
	requeue_rows(in, r, why);
}

/* What the submitter hears once its group is committed (rc 0) or not. */
static void
set_result(struct intake *in, struct intake_job *j, int rc, const struct pr_why *why)
{
	struct intake_result *r = &j->res;
	r->logged = rc == 0;
	if (rc < 0) {
		log_warn("intake: commit failed: %s", pr_why_text(why));
		if (j->sm != NULL) {
			r->why = *why;
			r->message_id = 0;
		}
		requeue_job_row(in, j, why);
		return;
	}
	if (j->sm == NULL)
		return;                 /* a refusal: its row is written */
	r->message_id = j->sm->id_r;
	if (j->sm->duplicate_r) {
		/* 250 all the same: the sender did nothing wrong. */
		pr_why_set(&r->why, PR_E_DUPLICATE, "already received; stored once");
		r->why.code = PR_OK;
	}
	log_accepted(j->sm);
}

/* The metrics of attempts count where their intake-log rows become
 * durable, and only there: one row, one count, whatever the path. */
static void
count_rows(struct store_msg *const *msgs, size_t nm, const struct store_log_entry *const *log,
           size_t nl)
{
	size_t received = 0;
	for (size_t i = 0; i < nm; i++) {
		const struct store_msg *sm = msgs[i];
		if (sm->outbound != NULL)
			continue;           /* a message we send: no intake attempt */
		received++;
		metrics_intake(sm->source, sm->verdict ? sm->verdict : "accepted",
		               sm->duplicate_r ? PR_E_DUPLICATE : sm->reason);
	}
	for (size_t i = 0; i < nl; i++)
		metrics_intake(log[i]->source, log[i]->verdict, log[i]->reason);
	if (received > 0)
		metrics_observe(METRICS_COMMIT_BATCH, (double)received);
}

/* Whether the commit must write webhook deliveries.  Read from the store
 * at most once a second and cached, so intake without webhooks pays one
 * read of a tiny table a second, not a statement per placement: a webhook
 * added (by any process) applies to messages committed from a second
 * later.  On a read failure the last answer stands. */
static bool
webhooks_wanted(struct intake *in, double now_s)
{
	if (now_s - in->webhooks_at < WEBHOOKS_RECHECK_S && in->webhooks_at > 0)
		return in->webhooks;
	struct pr_why why;
	bool any = in->webhooks;
	if (store_webhooks_exist(in->commit_st, &any, &why) == 0)
		in->webhooks = any;
	in->webhooks_at = now_s;
	return in->webhooks;
}

/* One transaction (one fsync) for the messages, the refusals' rows and
 * the queued rows. */
static int
commit_group(struct intake *in, struct intake_job **jobs, size_t n, struct intake_row *rows,
             struct pr_why *why)
{
	struct store_msg *msgs[INTAKE_MAX_BATCH];
	const struct store_log_entry *log[2 * INTAKE_MAX_BATCH];
	size_t nm = 0, nl = 0;
	for (size_t i = 0; i < n; i++) {
		if (jobs[i]->sm != NULL)
			msgs[nm++] = jobs[i]->sm;
		else if (jobs[i]->row != NULL)
			log[nl++] = &jobs[i]->row->e;
	}
	for (const struct intake_row *r = rows; r != NULL; r = r->next)
		log[nl++] = &r->e;
	double t0 = intake_now_ms();
	bool wh = nm > 0 && webhooks_wanted(in, t0 / 1e3);
	for (size_t i = 0; i < nm; i++)
		msgs[i]->webhooks = wh;
	int rc = store_commit_group(in->commit_st, msgs, nm, log, nl, why);
	double ms = intake_now_ms() - t0;
	metrics_observe(METRICS_COMMIT_SECONDS, ms / 1e3);
	if (rc == 0)
		count_rows(msgs, nm, log, nl);
	if (rc == 0 && wh)
		webhook_queue_poke();      /* deliveries, if any matched, go out now */
	pthread_mutex_lock(&in->lock);
	in->stats.commit_txns++;
	in->stats.commit_ms_total += ms;
	if (ms > in->stats.commit_ms_max)
		in->stats.commit_ms_max = ms;
	if (rc == 0) {
		in->stats.committed_msgs += nm;
		in->stats.rows_written += nl;
		for (size_t i = 0; i < n; i++) {
			const struct intake_job *j = jobs[i];
			in->stats.staged++;
			in->stats.wait_worker_ms += j->worker_ms - j->queued_ms;
			in->stats.work_ms += j->ready_ms - j->worker_ms;
			in->stats.wait_commit_ms += t0 - j->ready_ms;
			in->stats.in_commit_ms += ms;
			in->stats.checks_cpu_ms += j->checks_cpu_ms;
		}
	}
	pthread_mutex_unlock(&in->lock);
	return rc;
}

/* Commit the jobs and rows together; on a failure other than a busy store
 * of a group holding a message and anything else, commit the rows alone
 * and each message alone, so one bad message cannot keep the others from
 * being stored (or logged). */
static void
commit_round(struct intake *in, struct intake_job **jobs, size_t n, struct intake_row *rows)
{
	if (n == 0 && rows == NULL)
		return;
	size_t nm = 0;
	for (size_t i = 0; i < n; i++)
		nm += jobs[i]->sm != NULL;
	struct pr_why why;
	int rc = commit_group(in, jobs, n, rows, &why);
	if (rc < 0 && why.code != PR_E_STORE_BUSY && nm > 0 && (n > 1 || rows != NULL)) {
		log_warn("intake: group of %zu failed (%s); committing one by one", n, why.detail);
		struct intake_job *refused[INTAKE_MAX_BATCH];
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (jobs[i]->sm == NULL)
				refused[k++] = jobs[i];
		commit_round(in, refused, k, rows);
		for (size_t i = 0; i < n; i++)
			if (jobs[i]->sm != NULL)
				commit_round(in, &jobs[i], 1, NULL);
		return;
	}
	for (size_t i = 0; i < n; i++)
		set_result(in, jobs[i], rc, &why);
	if (rc < 0 && rows != NULL)
		requeue_rows(in, rows, &why);
	else
		intake_rowq_free_list(rows);
}

/* At the end: search entries still held are written before the store
 * closes (a failure only delays them to the next start's recovery). */
static void
flush_search(struct intake *in)
{
	struct pr_why why;
	if (store_search_flush(in->commit_st, &why) < 0)
		log_warn("intake: the search index of the last messages was not written: %s; the next "
		         "start indexes them", why.detail);
}

static bool
no_work(const struct intake *in)
{
	return in->commit.head == NULL && in->rows.head == NULL &&
	       !(in->stopping && intake_workq_empty(&in->work) && in->in_flight == 0);
}

/* With in->lock held: until there is work.  Entries held for a message
 * that never comes (a session that stalls in DATA) are written after
 * INTAKE_SEARCH_WAIT_MS without work. */
static void
wait_for_work(struct intake *in, bool *held)
{
	while (no_work(in)) {
		if (!*held) {
			pthread_cond_wait(&in->commit_cv, &in->lock);
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += INTAKE_SEARCH_WAIT_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&in->commit_cv, &in->lock, &until) == ETIMEDOUT && no_work(in)) {
			pthread_mutex_unlock(&in->lock);
			flush_search(in);
			*held = false;
			pthread_mutex_lock(&in->lock);
		}
	}
}

void
intake_expect(struct intake *in, bool more)
{
	/* Each session adds one and takes it back once (smtp_expect). */
	if (more)
		atomic_fetch_add(&in->expected, 1);
	else
		atomic_fetch_sub(&in->expected, 1);
}

/* The one writer of the intake log: messages, refusals of the workers and
 * the rows of protocol threads all go into the same group commit. */
static void *
committer_main(void *arg)
{
	struct intake *in = arg;
	struct intake_job *batch[INTAKE_MAX_BATCH];
	/* At most a batch held per group and process; a few processes' worth,
	 * and stores whose newest messages predate the index, are covered. */
	intake_search_recover(in->commit_st, 8 * INTAKE_SEARCH_BATCH);
	bool held = false;           /* the last group may have left entries held */
	for (;;) {
		pthread_mutex_lock(&in->lock);
		wait_for_work(in, &held);
		size_t n = 0;
		while (n < INTAKE_MAX_BATCH && in->commit.head)
			batch[n++] = intake_jobq_pop(&in->commit);
		struct intake_row *rows = intake_rowq_take(&in->rows, INTAKE_MAX_BATCH);
		intake_rowq_note_drained(&in->rows);
		/* Jobs of this batch count until job_finish: more than them in
		 * flight, or a session with a recipient accepted, means another
		 * group is coming, which can write this one's search entries with
		 * its own (store_search_hold). */
		bool more_coming = in->in_flight > n || atomic_load(&in->expected) > 0;
		held = more_coming;
		pthread_mutex_unlock(&in->lock);
		if (n == 0 && rows == NULL) {
			flush_search(in);
			return NULL;
		}
		store_search_hold(in->commit_st, INTAKE_SEARCH_BATCH, more_coming);
		commit_round(in, batch, n, rows);
		for (size_t i = 0; i < n; i++)
			job_finish(in, batch[i]);
	}
}

void
intake_get_stats(struct intake *in, struct intake_stats *out)
{
	pthread_mutex_lock(&in->lock);
	*out = in->stats;
	out->rows_queued = in->rows.len;
	out->rows_dropped = in->rows.dropped;
	pthread_mutex_unlock(&in->lock);
}

struct intake *
intake_new(const struct intake_options *opt, struct pr_why *why)
{
	struct intake *in = xcalloc(1, sizeof(*in));
	in->opt = *opt;
	in->store_uri = xstrdup(opt->store_uri);
	intake_rowq_init(&in->rows);
	in->spool_dir = xstrdup(opt->spool_dir ? opt->spool_dir : "/tmp");
	in->nworkers = opt->workers > 0 ? opt->workers : INTAKE_DEFAULT_WORKERS;
	if (in->nworkers > INTAKE_MAX_WORKERS)
		in->nworkers = INTAKE_MAX_WORKERS;
	intake_workq_init(&in->work, in->nworkers);
	pthread_mutex_init(&in->lock, NULL);
	pthread_cond_init(&in->work_cv, NULL);
	pthread_condattr_t monotonic;
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
	pthread_cond_init(&in->commit_cv, &monotonic);
	pthread_condattr_destroy(&monotonic);
	pthread_cond_init(&in->idle_cv, NULL);
	if ((in->lookup = intake_lookup_new(in->store_uri, why)) == NULL ||
	    (in->commit_st = store_open(in->store_uri, why)) == NULL)
		goto fail;
	store_set_cache(in->commit_st, PR_STORE_WRITER_CACHE_KIB);
	struct settings *set = settings_current();
	for (int i = 0; i < in->nworkers; i++) {
		struct intake_worker *w = &in->wctx[i];
		w->in = in;
		if ((w->st = store_open(in->store_uri, why)) == NULL ||
		    (w->au = auth_new(set, why)) == NULL) {
			settings_unref(&set);
			goto fail;
		}
		store_set_cache(w->st, PR_STORE_WORKER_CACHE_KIB);
	}
	settings_unref(&set);
	/* Named for `top -H` and for bench/growth, which reads the
	 * committer's CPU apart from the rest (the one serial step). */
	for (int i = 0; i < in->nworkers; i++) {
		if (pthread_create(&in->workers[i], NULL, worker_main, &in->wctx[i]) != 0)
			pr_panic("cannot start intake worker thread");
		pthread_setname_np(in->workers[i], "intake-worker");
	}
	if (pthread_create(&in->committer, NULL, committer_main, in) != 0)
		pr_panic("cannot start intake committer thread");
	pthread_setname_np(in->committer, "intake-commit");
	return in;
fail:
	for (int i = 0; i < in->nworkers; i++) {
		store_close(&in->wctx[i].st);
		auth_free(&in->wctx[i].au);
	}
	intake_lookup_free(&in->lookup);
	store_close(&in->commit_st);
	free(in->store_uri);
	free(in->spool_dir);
	free(in);
	return NULL;
}

static void
log_stats(struct intake *in)
{
	struct intake_stats st;
	intake_get_stats(in, &st);
	const struct intake_stats *s = &st;
	if (s->commit_txns > 0)
		log_info("intake: %llu messages and %llu refusal rows committed in %llu transactions "
		         "(%.1f messages per fsync, %.1f ms per transaction, longest %.1f ms); %llu rows "
		         "dropped", s->committed_msgs, s->rows_written, s->commit_txns,
		         (double)s->committed_msgs / (double)s->commit_txns,
		         s->commit_ms_total / (double)s->commit_txns, s->commit_ms_max, s->rows_dropped);
	if (s->staged > 0) {
		double n = (double)s->staged;
		log_info("intake: %llu attempts through the workers; mean time in the pipeline: %.2f ms "
		         "waiting for a worker, %.2f ms in it, %.2f ms waiting for the committer, %.2f ms in "
		         "the group commit; SPF, DKIM and DMARC used %.0f us of CPU an attempt", s->staged,
		         s->wait_worker_ms / n, s->work_ms / n, s->wait_commit_ms / n, s->in_commit_ms / n,
		         1e3 * s->checks_cpu_ms / n);
	}
}

void
intake_free(struct intake **inp)
{
	struct intake *in = *inp;
	if (in == NULL)
		return;
	*inp = NULL;
	/* Lookups first: each queued one is answered (done() runs) while
	 * the intake is still whole. */
	intake_lookup_free(&in->lookup);
	pthread_mutex_lock(&in->lock);
	while (in->in_flight > 0)
		pthread_cond_wait(&in->idle_cv, &in->lock);
	in->stopping = true;
	pthread_cond_broadcast(&in->work_cv);
	pthread_cond_broadcast(&in->commit_cv);
	pthread_mutex_unlock(&in->lock);
	for (int i = 0; i < in->nworkers; i++) {
		pthread_join(in->workers[i], NULL);
		store_close(&in->wctx[i].st);
		auth_free(&in->wctx[i].au);
	}
	pthread_join(in->committer, NULL);
	log_stats(in);
	store_close(&in->commit_st);
	free(in->store_uri);
	free(in->spool_dir);
	free(in);
}

const char *
intake_spool_dir(const struct intake *in)
{
	return in->spool_dir;
}

bool
intake_log_refusal(struct intake *in, const struct intake_msg *m, uint64_t size,
                   const struct pr_why *why)
{
	return push_row(in, intake_row_new(m, size, why, NULL));
}

void
intake_judge_rcpt_async(struct intake *in, struct arena *a, const char *address,
                        struct intake_rcpt *r, intake_rcpt_fn done, void *arg)
{
	intake_lookup_submit(in->lookup, a, address, r, done, arg);
}

void
intake_submit(struct intake *in, struct intake_msg *m, intake_done_fn done, void *arg)
{
	struct intake_job *j = xcalloc(1, sizeof(*j));
	j->m = m;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&in->lock);
	j->submitted = time(NULL);
	live_add(in, j);
	in->in_flight++;
	metrics_gauge_add(METRICS_INTAKE_IN_FLIGHT, 1);
	intake_workq_push(&in->work, j);
	pthread_cond_signal(&in->work_cv);
	pthread_mutex_unlock(&in->lock);
}

void
intake_waiter_init(struct intake_waiter *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->done = false;
}

void
intake_waiter_signal(struct intake_waiter *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

void
intake_waiter_wait(struct intake_waiter *w)
{
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->lock);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cv);
}

struct submit_waiter {
	struct intake_waiter w;
	struct intake_result *res;
};

static void
submit_answered(void *arg, const struct intake_result *res)
{
	struct submit_waiter *sw = arg;
	*sw->res = *res;
	intake_waiter_signal(&sw->w);
}

void
intake_submit_wait(struct intake *in, struct intake_msg *m, struct intake_result *res)
{
	struct submit_waiter sw = {.res = res};
	intake_waiter_init(&sw.w);
	intake_submit(in, m, submit_answered, &sw);
	intake_waiter_wait(&sw.w);
}
