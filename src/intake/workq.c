/* workq.c - the workers' queue: small messages before large ones.
 *
 * Why: a worker holds a large message for as long as it takes to parse
 * it, check it and sync its body file to disk (tens of milliseconds for
 * 1 MiB on the development machine, much more for 20 MiB), while a 10 KiB
 * message needs about a millisecond.  With one first-come queue, a small
 * message arriving behind twenty 1 MiB ones waited for all of them before
 * any worker looked at it: its sender's 250 came hundreds of milliseconds
 * late (issue 12's head-of-line wait).  So:
 *   - a message of PR_STORE_BODY_MIN bytes or more (the size from which its
 *     body is a file of its own) waits in the large queue, others in the
 *     small one, each in arrival order;
 *   - a free worker takes the small queue's head first;
 *   - at most nworkers - 1 workers hold large messages at once, so one is
 *     always free for a small message;
 *   - a large message that has waited WORKQ_LARGE_MAX_WAIT_MS is taken
 *     before small ones, so a steady stream of small mail cannot starve it.
 * When the intake stops, every job is taken, reserve or not.
 * Not locked itself: every call runs under the intake's lock. */
#include <time.h>

#include "core/limits.h"
#include "core/spool.h"
#include "intake/intake_private.h"

#define WORKQ_LARGE_MAX_WAIT_MS 500.0

double
intake_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void
intake_jobq_push(struct intake_jobq *q, struct intake_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->len++;
}

struct intake_job *
intake_jobq_pop(struct intake_jobq *q)
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

void
intake_workq_init(struct intake_workq *q, int nworkers)
{
	*q = (struct intake_workq){.nworkers = nworkers};
}

void
intake_workq_push(struct intake_workq *q, struct intake_job *j)
{
	j->large = j->m->raw != NULL && spool_size(j->m->raw) >= PR_STORE_BODY_MIN;
	j->queued_ms = intake_now_ms();
	intake_jobq_push(j->large ? &q->large : &q->small, j);
}

bool
intake_workq_empty(const struct intake_workq *q)
{
	return q->small.head == NULL && q->large.head == NULL;
}

struct intake_job *
intake_workq_pop(struct intake_workq *q, bool stopping)
{
	struct intake_job *big = q->large.head;
	bool may_take_large = stopping || q->nworkers < 2 || q->large_busy < q->nworkers - 1;
	bool large_first = big != NULL && may_take_large &&
	                   (q->small.head == NULL || intake_now_ms() - big->queued_ms >= WORKQ_LARGE_MAX_WAIT_MS);
	if (!large_first)
		return intake_jobq_pop(&q->small);
	q->large_busy++;
	return intake_jobq_pop(&q->large);
}

bool
intake_workq_done(struct intake_workq *q, const struct intake_job *j)
{
	if (!j->large)
		return false;
	q->large_busy--;
	return q->large.head != NULL;
}
