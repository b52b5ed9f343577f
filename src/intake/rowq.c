/* rowq.c - intake-log rows waiting for the committer without a job: the
 * refusals of protocol threads (a refused RCPT, a message over the size
 * limit, a timeout) and the rows of commits that failed.
 *
 * Bounded by count and bytes (core/limits.h): refused RCPTs cost the
 * sender one line each, so while the store is locked a flood would grow
 * this queue without end.  A row that does not fit is dropped and counted,
 * with one warning per run of drops rather than one per row, so the flood
 * does not move on into the daemon log.  Every function runs under the
 * intake's lock.
 */
#include <stdlib.h>

#include "core/limits.h"
#include "core/log.h"
#include "intake/intake_private.h"

void
intake_rowq_init(struct intake_rowq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->len = q->bytes = 0;
	q->dropped = q->dropped_unwarned = 0;
}

static void
drop(struct intake_rowq *q, struct intake_row *r, const char *why)
{
	q->dropped++;
	if (q->dropped_unwarned++ == 0)
		log_warn("intake: intake-log row dropped (%s); %zu rows queued (limits %d rows, %d "
		         "bytes); further drops are counted until the queue drains", why, q->len,
		         PR_INTAKE_MAX_QUEUED_ROWS, PR_INTAKE_MAX_QUEUED_ROW_BYTES);
	free(r);
}

static bool
fits(const struct intake_rowq *q, const struct intake_row *r)
{
	return q->len < PR_INTAKE_MAX_QUEUED_ROWS &&
	       q->bytes + r->bytes <= PR_INTAKE_MAX_QUEUED_ROW_BYTES;
}

bool
intake_rowq_push(struct intake_rowq *q, struct intake_row *r, const char *why)
{
	r->next = NULL;
	if (!fits(q, r)) {
		drop(q, r, why);
		return false;
	}
	*q->tail = r;
	q->tail = &r->next;
	q->len++;
	q->bytes += r->bytes;
	return true;
}

struct intake_row *
intake_rowq_take(struct intake_rowq *q, size_t max)
{
	struct intake_row *list = q->head, **end = &q->head;
	for (size_t n = 0; *end != NULL && n < max; n++) {
		q->len--;
		q->bytes -= (*end)->bytes;
		end = &(*end)->next;
	}
	q->head = *end;
	if (q->head == NULL)
		q->tail = &q->head;
	*end = NULL;
	return list;
}

void
intake_rowq_requeue(struct intake_rowq *q, struct intake_row *list, bool keep, const char *why)
{
	struct intake_row **at = &q->head;
	while (list != NULL) {
		struct intake_row *r = list;
		list = r->next;
		if (!keep || !fits(q, r)) {
			drop(q, r, why);
			continue;
		}
		r->next = *at;       /* in their old order, ahead of newer rows */
		*at = r;
		at = &r->next;
		if (r->next == NULL)
			q->tail = &r->next;
		q->len++;
		q->bytes += r->bytes;
	}
}

void
intake_rowq_note_drained(struct intake_rowq *q)
{
	if (q->head != NULL || q->dropped_unwarned == 0)
		return;
	log_warn("intake: %llu intake-log rows were dropped; the queue has room again",
	         q->dropped_unwarned);
	q->dropped_unwarned = 0;
}

void
intake_rowq_free_list(struct intake_row *list)
{
	while (list != NULL) {
		struct intake_row *next = list->next;
		free(list);
		list = next;
	}
}
