/* intake_rcpt.c - recipient lookups, off every caller's thread.
 *
 *   RCPT (event loop) -> [lookup queue] -> lookup threads (store reads)
 *                     <- done() -> net_wake hop back to the loop
 *
 * Judging a recipient reads the store (domains, users, aliases,
 * projects).  On the event loop those reads would make every SMTP session
 * wait whenever one read waits: a store locked by another process (a CLI
 * write, a checkpoint, a POP3 round) holds a read for up to the busy
 * timeout, and a slow disk for longer.  So the loop only queues the
 * lookup; the session stops reading commands until its answer is back, so
 * pipelined replies stay in order, and every other session goes on.
 *
 * Two threads, each with its own store connection (a connection is not
 * shared between threads): one waiting read does not hold up the next.
 * Each keeps the directory's answers while the directory is unchanged
 * (store_reads_begin, store_dircache.c).
 * When reads stall, lookups queue behind them; one that has waited in the
 * queue longer than LOOKUP_MAX_QUEUE_WAIT is answered "store busy" (451)
 * without a read, so a stalled store costs a waiting session about one
 * read's timeout, not one per session ahead of it.  The queue itself is
 * bounded by the sessions: each waits for its one answer.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "intake/intake_private.h"

#define LOOKUP_THREADS 2
/* Milliseconds.  Below the shortest time a stalled read takes to give up
 * (PostgreSQL's lock_timeout and SQLite's busy timeout, 5 s; SQLite's
 * read of a locked WAL index retries about 10 s): a lookup that queued
 * behind one stalled read is answered at once when a thread frees, on
 * either store.  At exactly the stall time, one that queued just after
 * the stall began would read again and wait a second stall. */
#define LOOKUP_MAX_QUEUE_WAIT 4000

struct lookup_job {
	struct lookup_job *next;
	struct arena *a;
	const char *address;         /* copied into a by the caller's thread */
	struct intake_rcpt *r;
	intake_rcpt_fn done;
	void *arg;
	int64_t queued;              /* CLOCK_MONOTONIC milliseconds */
};

struct lookup_thread {
	struct intake_lookup *lk;
	struct store *st;
	pthread_t tid;
};

struct intake_lookup {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct lookup_job *head, **tail;
	bool stopping;
	int nthreads;
	struct lookup_thread t[LOOKUP_THREADS];
};

static int64_t
mono_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
judge(struct store *st, struct lookup_job *j)
{
	struct pr_why why;
	pr_why_clear(&why);
	j->r->address = j->address;
	int64_t waited = mono_now_ms() - j->queued;
	if (waited > LOOKUP_MAX_QUEUE_WAIT) {
		pr_why_set(&why, PR_E_STORE_BUSY, "recipient lookups are backed up (%ld s behind a slow "
		           "store); try again later", (long)(waited / 1000));
		j->done(j->arg, -1, &why);
		return;
	}
	struct settings *set = settings_current();
	/* One snapshot, in which the thread's kept directory answers hold
	 * (store_dircache.c): most RCPTs name the same few addresses. */
	store_reads_begin(st);
	int rc = route_recipient(st, set, j->a, j->address, &j->r->targets, &j->r->ntargets, &why);
	store_reads_end(st);
	settings_unref(&set);
	j->done(j->arg, rc, &why);
}

static void *
lookup_main(void *arg)
{
	struct lookup_thread *t = arg;
	struct intake_lookup *lk = t->lk;
	for (;;) {
		pthread_mutex_lock(&lk->lock);
		while (lk->head == NULL && !lk->stopping)
			pthread_cond_wait(&lk->cv, &lk->lock);
		struct lookup_job *j = lk->head;
		if (j != NULL && (lk->head = j->next) == NULL)
			lk->tail = &lk->head;
		pthread_mutex_unlock(&lk->lock);
		if (j == NULL)
			return NULL;         /* stopping and answered everything */
		judge(t->st, j);
		free(j);
	}
}

struct intake_lookup *
intake_lookup_new(const char *store_uri, struct pr_why *why)
{
	struct intake_lookup *lk = xcalloc(1, sizeof(*lk));
	pthread_mutex_init(&lk->lock, NULL);
	pthread_cond_init(&lk->cv, NULL);
	lk->tail = &lk->head;
	for (int i = 0; i < LOOKUP_THREADS; i++) {
		lk->t[i].lk = lk;
		if ((lk->t[i].st = store_open(store_uri, why)) == NULL) {
			intake_lookup_free(&lk);
			return NULL;
		}
		if (pthread_create(&lk->t[i].tid, NULL, lookup_main, &lk->t[i]) != 0)
			pr_panic("cannot start an intake lookup thread");
		pthread_setname_np(lk->t[i].tid, "rcpt-lookup");
		lk->nthreads++;
	}
	return lk;
}

void
intake_lookup_free(struct intake_lookup **lkp)
{
	struct intake_lookup *lk = *lkp;
	if (lk == NULL)
		return;
	*lkp = NULL;
	pthread_mutex_lock(&lk->lock);
	lk->stopping = true;
	pthread_cond_broadcast(&lk->cv);
	pthread_mutex_unlock(&lk->lock);
	for (int i = 0; i < LOOKUP_THREADS; i++) {
		if (i < lk->nthreads)
			pthread_join(lk->t[i].tid, NULL);
		store_close(&lk->t[i].st);
	}
	pthread_mutex_destroy(&lk->lock);
	pthread_cond_destroy(&lk->cv);
	free(lk);
}

void
intake_lookup_submit(struct intake_lookup *lk, struct arena *a, const char *address,
                     struct intake_rcpt *r, intake_rcpt_fn done, void *arg)
{
	struct lookup_job *j = xcalloc(1, sizeof(*j));
	j->a = a;
	j->address = arena_strdup(a, address);
	j->r = r;
	j->done = done;
	j->arg = arg;
	j->queued = mono_now_ms();
	pthread_mutex_lock(&lk->lock);
	*lk->tail = j;
	lk->tail = &j->next;
	pthread_cond_signal(&lk->cv);
	pthread_mutex_unlock(&lk->lock);
}

/* The blocking form: the POP3 collector judges on its own thread. */
struct rcpt_waiter {
	struct intake_waiter w;
	int rc;
	struct pr_why *why;
};

static void
rcpt_answered(void *arg, int rc, const struct pr_why *why)
{
	struct rcpt_waiter *rw = arg;
	rw->rc = rc;
	*rw->why = *why;
	intake_waiter_signal(&rw->w);
}

int
intake_judge_rcpt(struct intake *in, struct arena *a, const char *address,
                  struct intake_rcpt *r, struct pr_why *why)
{
	struct rcpt_waiter rw = {.why = why};
	intake_waiter_init(&rw.w);
	intake_judge_rcpt_async(in, a, address, r, rcpt_answered, &rw);
	intake_waiter_wait(&rw.w);
	return rw.rc;
}
