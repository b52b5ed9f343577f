/* store_pg_pipe.c - statements whose results can wait: libpq's pipeline
 * mode, so the group commit sends a batch's rows without waiting a round
 * trip for each.
 *
 * Why: a node's committer thread is its only writer, and it used to wait
 * for the server's answer to every statement (about 22 per message) --
 * far longer, in all, than the server spent running them.  In pipeline
 * mode the statements go out one after another and their answers are read
 * together at a sync; the server still runs them one by one in the order
 * sent, each seeing what the ones before it did, exactly as if each had
 * been waited for.  Nothing commits earlier: COMMIT is still its own
 * statement, run (and waited for) after the sync.
 *
 * While st->queueing is set (the group commit), pg_queue sends and
 * returns.  Anything that needs an answer now -- pg_run, so every other
 * helper, and pg_commit -- syncs first, so queued and waited-for
 * statements mix freely and always run in the order they were called.
 *
 * Failures: the first failing statement's result is mapped by pg_fail
 * with that statement's what, as if it had been run alone (so a lock
 * timeout in the middle of a pipeline is PR_E_STORE_BUSY all the same);
 * the server skips what was queued after it (PGRES_PIPELINE_ABORTED).
 * The caller rolls back, as after any failure.
 *
 * Bounded: the answers to queued statements wait in the socket until
 * read.  Past PG_PIPE_MAX unread ones (a few tens of KiB of answers) the
 * oldest half is read, after asking the server to flush, so the server
 * never blocks on a full socket while we block sending it more (the
 * deadlock libpq's documentation warns of).
 */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/private.h"
#include "store/store_pg.h"

#define PG_PIPE_MAX 1024

static void
add_item(struct pg_pipe *pp, const char *what, int64_t *out, int prepare_slot)
{
	if (pp->n == pp->cap) {
		pp->cap = pp->cap ? pp->cap * 2 : 64;
		pp->items = xrealloc(pp->items, pp->cap * sizeof(*pp->items));
	}
	pp->items[pp->n++] = (struct pg_pipe_item){what, out, prepare_slot};
}

/* The first failure is the batch's; what the server skipped after it says
 * nothing.  A Parse that did not succeed leaves its statement unprepared. */
static void
took(struct store *st, const struct pg_pipe_item *it, PGresult *r)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	bool ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
	if (it->prepare_slot >= 0 && !ok)
		st->prepared[it->prepare_slot] = false;
	if (ok && it->out && PQntuples(r) > 0)
		*it->out = pg_int(r, 0, 0);
	if (!ok && !st->pipe.failed) {
		st->pipe.failed = true;
		pg_fail(st, r, it->what, &st->pipe.why);
	}
}

/* Read the answers of the oldest queued statements until `left` are
 * unread.  Each statement's answer is one result, then NULL.  A lost
 * connection answers nothing more: the rest count as failed. */
static void
read_until(struct store *st, size_t left)
{
	struct pg_pipe *pp = &st->pipe;
	while (pp->n - pp->head > left) {
		struct pg_pipe_item *it = &pp->items[pp->head++];
		PGresult *r = PQstatus(st->conn) == CONNECTION_OK ? PQgetResult(st->conn) : NULL;
		took(st, it, r);
		if (r == NULL)
			continue;
		PQclear(r);
		PGresult *end = PQgetResult(st->conn);
		while (end != NULL) {   /* not expected: one result per statement */
			PQclear(end);
			end = PQgetResult(st->conn);
		}
	}
}

static int
queue_v(struct store *st, const char *sql, const struct pg_params *p, int64_t *out,
        const char *what, struct pr_why *why)
{
	if (PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(st->conn))
		return pg_fail(st, NULL, what, why);
	char name[16];
	int slot = pg_slot(st, sql, name);
	if (!st->prepared[slot]) {
		if (!PQsendPrepare(st->conn, name, sql, 0, NULL))
			return pg_fail(st, NULL, what, why);
		st->prepared[slot] = true;   /* undone by took() if the Parse fails */
		add_item(&st->pipe, what, NULL, slot);
	}
	struct arena *tmp = NULL;
	const char *const *values = p ? pg_values(p, &tmp) : NULL;
	/* libpq copies the values into its buffer: p may go once this returns */
	int sent = PQsendQueryPrepared(st->conn, name, p ? p->n : 0, values, p ? p->len : NULL,
	                               p ? p->fmt : NULL, 0);
	arena_free(&tmp);
	if (!sent)
		return pg_fail(st, NULL, what, why);
	add_item(&st->pipe, what, out, -1);
	if (st->pipe.n - st->pipe.head >= PG_PIPE_MAX) {
		if (!PQsendFlushRequest(st->conn) || PQflush(st->conn) != 0)
			return pg_fail(st, NULL, what, why);
		read_until(st, PG_PIPE_MAX / 2);
	}
	return 0;
}

int
pg_queue(struct store *st, const char *sql, const struct pg_params *p, const char *what,
         struct pr_why *why)
{
	if (!st->queueing)
		return pg_do(st, sql, p, what, why) < 0 ? -1 : 0;
	return queue_v(st, sql, p, NULL, what, why);
}

int
pg_queue_int(struct store *st, const char *sql, const struct pg_params *p, int64_t *out,
             const char *what, struct pr_why *why)
{
	if (st->queueing)
		return queue_v(st, sql, p, out, what, why);
	int64_t v;
	int rc = pg_int_of(st, sql, p, &v, what, why);
	if (rc == 0 && out != NULL)
		*out = v;
	return rc < 0 ? -1 : 0;
}

/* After the last statement's answer comes the sync's own result. */
static void
read_sync(struct store *st)
{
	for (int i = 0; i < 4 && PQstatus(st->conn) == CONNECTION_OK; i++) {
		PGresult *r = PQgetResult(st->conn);
		if (r == NULL)
			continue;
		ExecStatusType s = PQresultStatus(r);
		PQclear(r);
		if (s == PGRES_PIPELINE_SYNC)
			return;
	}
}

int
pg_pipe_sync(struct store *st, struct pr_why *why)
{
	struct pg_pipe *pp = &st->pipe;
	if (PQpipelineStatus(st->conn) == PQ_PIPELINE_OFF)
		return 0;
	bool synced = PQpipelineSync(st->conn) == 1;
	read_until(st, 0);
	if (synced)
		read_sync(st);
	/* A lost connection stays in pipeline mode until PQreset (the next
	 * statement outside a transaction: ensure_connected) ends both. */
	if (!PQexitPipelineMode(st->conn) && PQstatus(st->conn) == CONNECTION_OK) {
		st->depth = -1;   /* never expected: start again on a new connection */
		if (!pp->failed) {
			pp->failed = true;
			pg_fail(st, NULL, "ending a pipeline", &pp->why);
		}
	}
	int rc = 0;
	if (pp->failed) {
		*why = pp->why;
		rc = -1;
	}
	pp->head = pp->n = 0;
	pp->failed = false;
	return rc;
}

void
pg_pipe_free(struct store *st)
{
	free(st->pipe.items);
	memset(&st->pipe, 0, sizeof(st->pipe));
}
