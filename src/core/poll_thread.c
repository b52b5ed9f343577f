/* poll_thread.c - see poll_thread.h. */
#include "core/poll_thread.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"

struct poll_thread {
	poll_round_fn *round;
	void *arg;
	int nap_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool wake;                   /* poll_thread_wake(): skip the nap once */
	unsigned long rounds;        /* finished */
};

/* Sleep nap_ms, or until asked to stop; true when asked. */
static bool
nap(struct poll_thread *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += t->nap_ms / 1000;
	ts.tv_nsec += (long)(t->nap_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&t->mu);
	if (!t->stop && !t->wake)
		pthread_cond_timedwait(&t->cv, &t->mu, &ts);
	t->wake = false;
	bool stop = t->stop;
	pthread_mutex_unlock(&t->mu);
	return stop;
}

static bool
stopping(struct poll_thread *t)
{
	pthread_mutex_lock(&t->mu);
	bool s = t->stop;
	pthread_mutex_unlock(&t->mu);
	return s;
}

static void *
poll_main(void *arg)
{
	struct poll_thread *t = arg;
	while (!stopping(t)) {
		int done = t->round(t->arg);
		pthread_mutex_lock(&t->mu);
		t->rounds++;
		pthread_mutex_unlock(&t->mu);
		if (done <= 0 && nap(t))
			break;
	}
	return NULL;
}

struct poll_thread *
poll_thread_start(const char *name, poll_round_fn *round, void *arg, int nap_ms)
{
	struct poll_thread *t = xcalloc(1, sizeof(*t));
	t->round = round;
	t->arg = arg;
	t->nap_ms = nap_ms;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (pthread_create(&t->thread, NULL, poll_main, t) != 0)
		pr_panic("cannot start a worker thread");
	pthread_setname_np(t->thread, name);
	return t;
}

void
poll_thread_wake(struct poll_thread *t)
{
	pthread_mutex_lock(&t->mu);
	t->wake = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

unsigned long
poll_thread_rounds(struct poll_thread *t)
{
	pthread_mutex_lock(&t->mu);
	unsigned long n = t->rounds;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void
poll_thread_stop(struct poll_thread **tp)
{
	struct poll_thread *t = *tp;
	*tp = NULL;
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}

void
poll_slot_set(struct poll_slot *s, struct poll_thread *t)
{
	pthread_mutex_lock(&s->mu);
	s->t = t;
	pthread_mutex_unlock(&s->mu);
}

void
poll_slot_clear(struct poll_slot *s, struct poll_thread *t)
{
	pthread_mutex_lock(&s->mu);
	if (s->t == t)
		s->t = NULL;
	pthread_mutex_unlock(&s->mu);
}

void
poll_slot_wake(struct poll_slot *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->t != NULL)
		poll_thread_wake(s->t);
	pthread_mutex_unlock(&s->mu);
}
