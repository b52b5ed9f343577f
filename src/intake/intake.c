/* intake.c - the pipeline's threads and queues.
 *
 *   submit -> [work queue] -> N workers (parse, authenticate, decide)
 *          -> [commit queue] -> 1 committer (group commit) -> done()
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
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/spool.h"
#include "intake/intake_private.h"

#define INTAKE_DEFAULT_WORKERS 4
#define INTAKE_MAX_WORKERS 32
/* A batch bigger than this waits for the next transaction: it bounds the
 * time one transaction holds the write lock and the memory in flight. */
#define INTAKE_MAX_BATCH 256
/* Log entries kept for a retry while the store is locked. */
#define INTAKE_MAX_REQUEUED 4096

/* A refusal from a protocol thread, waiting for the committer. */
struct refusal {
	struct refusal *next;
	struct arena *a;             /* owns the entry's strings and this node */
	struct store_log_entry e;
};

struct job_queue {
	struct intake_job *head, *tail;
	size_t len;
};

struct intake {
	struct intake_options opt;
	char *store_uri, *spool_dir;
	pthread_mutex_t lock;
	pthread_cond_t work_cv, commit_cv, idle_cv;
	struct job_queue work, commit;
	struct refusal *refusals, **refusals_tail;
	size_t in_flight;
	bool stopping;
	int nworkers;
	pthread_t workers[INTAKE_MAX_WORKERS];
	struct intake_worker wctx[INTAKE_MAX_WORKERS];
	pthread_t committer;
	struct store *commit_st;
	/* Committer-thread only: how well group commit is sharing fsyncs. */
	unsigned long long committed_msgs, commit_txns;
	/* RCPT judgements and refusal logs come from protocol threads. */
	pthread_mutex_t front_lock;
	struct store *front_st;
};

static void
queue_push(struct job_queue *q, struct intake_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->len++;
}

static struct intake_job *
queue_pop(struct job_queue *q)
{
	struct intake_job *j = q->head;
	if (j) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->len--;
	}
	return j;
}

/* Tell the submitter and release everything the message owned. */
static void
job_finish(struct intake *in, struct intake_job *j)
{
	j->done(j->arg, &j->res);
	struct arena *ma = j->m->arena;   /* m lives in its arena: free via a copy */
	arena_free(&ma);
	free(j);
	pthread_mutex_lock(&in->lock);
	if (--in->in_flight == 0)
		pthread_cond_broadcast(&in->idle_cv);
	pthread_mutex_unlock(&in->lock);
}

static void *
worker_main(void *arg)
{
	struct intake_worker *w = arg;
	struct intake *in = w->in;
	for (;;) {
		pthread_mutex_lock(&in->lock);
		while (in->work.head == NULL && !in->stopping)
			pthread_cond_wait(&in->work_cv, &in->lock);
		struct intake_job *j = queue_pop(&in->work);
		pthread_mutex_unlock(&in->lock);
		if (j == NULL)
			return NULL;        /* stopping and drained */
		intake_process(w, j);
		if (j->sm == NULL) {
			job_finish(in, j);  /* refused: already logged */
			continue;
		}
		pthread_mutex_lock(&in->lock);
		queue_push(&in->commit, j);
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

/* Hand an attempt that was not accepted to the committer, which writes
 * it with the next batch of refusals (see write_refusals). */
static void
queue_log_entry(struct intake *in, const struct intake_msg *m, uint64_t size,
                const struct pr_why *why, const char *msgid_hdr)
{
	struct arena *a = arena_new();
	struct refusal *r = arena_alloc(a, sizeof(*r));
	r->a = a;
	intake_log_entry(a, m, size, pr_err_is_temporary(why->code) ? "deferred" : "rejected", why,
	                 msgid_hdr, &r->e);
	intake_log_line(&r->e);
	pthread_mutex_lock(&in->lock);
	*in->refusals_tail = r;
	in->refusals_tail = &r->next;
	pthread_cond_signal(&in->commit_cv);
	pthread_mutex_unlock(&in->lock);
}

/* What the submitter hears once its batch is committed (rc 0) or not. */
static void
set_result(struct intake *in, struct intake_job *j, int rc, const struct pr_why *why)
{
	struct intake_result *r = &j->res;
	if (rc < 0) {
		log_warn("intake: commit failed: %s", pr_why_text(why));
		r->why = *why;
		r->message_id = 0;
		/* Queued, not written now: the store just failed, and the next
		 * round of the committer may find it writable again. */
		queue_log_entry(in, j->m, spool_size(j->m->raw), why, j->sm->message_id);
		return;
	}
	r->message_id = j->sm->id_r;
	r->log_id = j->sm->log_id_r;
	if (j->sm->duplicate_r) {
		/* 250 all the same: the sender did nothing wrong. */
		pr_why_set(&r->why, PR_E_DUPLICATE, "already received; stored once");
		r->why.code = PR_OK;
	}
	log_accepted(j->sm);
}

/* Commit one batch; on a non-temporary failure retry each message alone so
 * one bad message cannot keep the others from being stored. */
static void
commit_batch(struct intake *in, struct intake_job **jobs, size_t n)
{
	struct store_msg *msgs[INTAKE_MAX_BATCH];
	for (size_t i = 0; i < n; i++)
		msgs[i] = jobs[i]->sm;
	struct pr_why why;
	int rc = store_commit_batch(in->commit_st, msgs, n, &why);
	in->commit_txns++;
	if (rc == 0)
		in->committed_msgs += n;
	if (rc < 0 && n > 1 && why.code != PR_E_STORE_BUSY) {
		log_warn("intake: batch of %zu failed (%s); committing one by one", n, why.detail);
		for (size_t i = 0; i < n; i++)
			commit_batch(in, &jobs[i], 1);
		return;
	}
	for (size_t i = 0; i < n; i++)
		set_result(in, jobs[i], rc, &why);
}

/* Free log entries from list up to (not including) end. */
static void
free_refusals(struct refusal *list, const struct refusal *end)
{
	while (list != end) {
		struct refusal *next = list->next;
		struct arena *a = list->a;   /* list lives in its arena */
		arena_free(&a);
		list = next;
	}
}

static size_t
count_refusals(const struct refusal *r)
{
	size_t n = 0;
	for (; r != NULL; r = r->next)
		n++;
	return n;
}

/* Put entries the store was too busy to take back at the head of the
 * queue, so a deferral is still logged once the lock is free.  Bounded:
 * past INTAKE_MAX_REQUEUED waiting entries, or when stopping, they are
 * dropped (the daemon log has each line already).  false if dropped. */
static bool
requeue_refusals(struct intake *in, struct refusal *list)
{
	struct refusal *last = list;
	for (size_t n = 1; last->next != NULL && n < INTAKE_MAX_REQUEUED; n++)
		last = last->next;
	if (last->next != NULL)
		log_warn("intake: store busy; %zu intake-log entries over the limit of %d dropped",
		         count_refusals(last->next), INTAKE_MAX_REQUEUED);
	free_refusals(last->next, NULL);
	last->next = NULL;
	pthread_mutex_lock(&in->lock);
	if (in->stopping) {
		pthread_mutex_unlock(&in->lock);
		return false;          /* the caller frees what is left */
	}
	last->next = in->refusals;
	if (in->refusals == NULL)
		in->refusals_tail = &last->next;
	in->refusals = list;
	pthread_mutex_unlock(&in->lock);
	return true;
}

/* Refusals seen by protocol threads, all in one transaction: a flood of
 * relay attempts costs one fsync per batch, not one per attempt, and never
 * blocks an event loop. */
static void
write_refusals(struct intake *in, struct refusal *list)
{
	const struct store_log_entry *batch[INTAKE_MAX_BATCH];
	while (list != NULL) {
		size_t n = 0;
		struct refusal *r = list;
		for (; r != NULL && n < INTAKE_MAX_BATCH; r = r->next)
			batch[n++] = &r->e;
		struct pr_why why;
		if (store_log_append_batch(in->commit_st, batch, n, &why) < 0) {
			if (why.code == PR_E_STORE_BUSY && requeue_refusals(in, list))
				return;
			/* Stopping (or failing): one try only, not 5 s per chunk. */
			log_warn("intake: could not write %zu refusals to the intake log: %s",
			         n + count_refusals(r), pr_why_text(&why));
			free_refusals(list, NULL);
			return;
		}
		free_refusals(list, r);
		list = r;
	}
}

static void *
committer_main(void *arg)
{
	struct intake *in = arg;
	struct intake_job *batch[INTAKE_MAX_BATCH];
	for (;;) {
		pthread_mutex_lock(&in->lock);
		while (in->commit.head == NULL && in->refusals == NULL &&
		       !(in->stopping && in->work.head == NULL && in->in_flight == 0))
			pthread_cond_wait(&in->commit_cv, &in->lock);
		size_t n = 0;
		while (n < INTAKE_MAX_BATCH && in->commit.head)
			batch[n++] = queue_pop(&in->commit);
		struct refusal *refused = in->refusals;
		in->refusals = NULL;
		in->refusals_tail = &in->refusals;
		pthread_mutex_unlock(&in->lock);
		if (n == 0 && refused == NULL)
			return NULL;
		write_refusals(in, refused);
		if (n > 0)
			commit_batch(in, batch, n);
		for (size_t i = 0; i < n; i++)
			job_finish(in, batch[i]);
	}
}

struct intake *
intake_new(const struct intake_options *opt, struct pr_why *why)
{
	struct intake *in = xcalloc(1, sizeof(*in));
	in->opt = *opt;
	in->store_uri = xstrdup(opt->store_uri);
	in->refusals_tail = &in->refusals;
	in->spool_dir = xstrdup(opt->spool_dir ? opt->spool_dir : "/tmp");
	in->nworkers = opt->workers > 0 ? opt->workers : INTAKE_DEFAULT_WORKERS;
	if (in->nworkers > INTAKE_MAX_WORKERS)
		in->nworkers = INTAKE_MAX_WORKERS;
	pthread_mutex_init(&in->lock, NULL);
	pthread_mutex_init(&in->front_lock, NULL);
	pthread_cond_init(&in->work_cv, NULL);
	pthread_cond_init(&in->commit_cv, NULL);
	pthread_cond_init(&in->idle_cv, NULL);
	if ((in->front_st = store_open(in->store_uri, why)) == NULL ||
	    (in->commit_st = store_open(in->store_uri, why)) == NULL)
		goto fail;
	struct settings *set = settings_current();
	for (int i = 0; i < in->nworkers; i++) {
		struct intake_worker *w = &in->wctx[i];
		w->in = in;
		if ((w->st = store_open(in->store_uri, why)) == NULL ||
		    (w->au = auth_new(set, why)) == NULL) {
			settings_unref(&set);
			goto fail;
		}
	}
	settings_unref(&set);
	for (int i = 0; i < in->nworkers; i++)
		if (pthread_create(&in->workers[i], NULL, worker_main, &in->wctx[i]) != 0)
			pr_panic("cannot start intake worker thread");
	if (pthread_create(&in->committer, NULL, committer_main, in) != 0)
		pr_panic("cannot start intake committer thread");
	return in;
fail:
	for (int i = 0; i < in->nworkers; i++) {
		store_close(&in->wctx[i].st);
		auth_free(&in->wctx[i].au);
	}
	store_close(&in->front_st);
	store_close(&in->commit_st);
	free(in->store_uri);
	free(in->spool_dir);
	free(in);
	return NULL;
}

void
intake_free(struct intake **inp)
{
	struct intake *in = *inp;
	if (in == NULL)
		return;
	*inp = NULL;
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
	if (in->commit_txns > 0)
		log_info("intake: %llu messages committed in %llu transactions (%.1f per fsync)",
		         in->committed_msgs, in->commit_txns,
		         (double)in->committed_msgs / (double)in->commit_txns);
	store_close(&in->commit_st);
	store_close(&in->front_st);
	free(in->store_uri);
	free(in->spool_dir);
	free(in);
}

const char *
intake_spool_dir(const struct intake *in)
{
	return in->spool_dir;
}

int
intake_judge_rcpt(struct intake *in, struct arena *a, const char *address,
                  struct intake_rcpt *r, struct pr_why *why)
{
	struct settings *set = settings_current();
	pthread_mutex_lock(&in->front_lock);
	int rc = route_recipient(in->front_st, set, a, address, &r->targets, &r->ntargets, why);
	pthread_mutex_unlock(&in->front_lock);
	settings_unref(&set);
	r->address = arena_strdup(a, address);
	return rc;
}

void
intake_log_refusal(struct intake *in, const struct intake_msg *m, uint64_t size,
                   const struct pr_why *why)
{
	queue_log_entry(in, m, size, why, NULL);
}

void
intake_submit(struct intake *in, struct intake_msg *m, intake_done_fn done, void *arg)
{
	struct intake_job *j = xcalloc(1, sizeof(*j));
	j->m = m;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&in->lock);
	in->in_flight++;
	queue_push(&in->work, j);
	pthread_cond_signal(&in->work_cv);
	pthread_mutex_unlock(&in->lock);
}

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool done;
	struct intake_result *res;
};

static void
wake_waiter(void *arg, const struct intake_result *res)
{
	struct waiter *w = arg;
	pthread_mutex_lock(&w->lock);
	*w->res = *res;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

void
intake_submit_wait(struct intake *in, struct intake_msg *m, struct intake_result *res)
{
	struct waiter w = {.done = false, .res = res};
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cv, NULL);
	intake_submit(in, m, wake_waiter, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cv);
}
