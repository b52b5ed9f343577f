/* poll_thread.h - a thread that polls for work until it is stopped.
 *
 * round(arg) runs again at once while it reports work done (> 0), else
 * after a nap of nap_ms, or sooner when the thread is stopped.  The
 * queues that serve works through (outbound mail, webhook deliveries) are
 * written by other processes too, so they are polled: one cheap indexed
 * read per nap while idle.
 */
#ifndef PR_POLL_THREAD_H
#define PR_POLL_THREAD_H

#include <pthread.h>

typedef int poll_round_fn(void *arg);

struct poll_thread;
/* Starts the thread (a failure to create it is fatal).  name: what `top
 * -H` and /proc/PID/task/N/comm show (at most 15 bytes are kept). */
struct poll_thread *poll_thread_start(const char *name, poll_round_fn *round, void *arg, int nap_ms);
/* Run the next round now: end the nap in progress, or skip the next one
 * when a round is running (a wake is never lost). */
void poll_thread_wake(struct poll_thread *t);
/* Rounds finished so far (tests wait for a round to end). */
unsigned long poll_thread_rounds(struct poll_thread *t);
/* Ask it to stop and wait for the round in progress to end. */
void poll_thread_stop(struct poll_thread **t);

/* Where code elsewhere in the process finds a queue's running thread to
 * wake it (the queue's writer in this process, so the new row goes out at
 * once instead of at the next poll).  A static per queue, POLL_SLOT_INIT;
 * the lock keeps a wake from reaching a thread being stopped. */
struct poll_slot {
	pthread_mutex_t mu;
	struct poll_thread *t;
};
#define POLL_SLOT_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}
/* t runs now (NULL: none). */
void poll_slot_set(struct poll_slot *s, struct poll_thread *t);
/* Before t is stopped: the slot forgets it, if it still holds it. */
void poll_slot_clear(struct poll_slot *s, struct poll_thread *t);
/* Wake the thread the slot holds, if any. */
void poll_slot_wake(struct poll_slot *s);

#endif
