/* store_pg_outbound.c - the outbound queue's rows on PostgreSQL (mirrors
 * store_sqlite_outbound.c): writing a new one with its message (inside
 * the group commit's transaction), reading rows back (get, by Message-ID,
 * by stored message, list).  Claims, results, retry and cancel -- the
 * state changes -- are in store_pg_outq.c.  The state machine and the
 * exactly-once reasoning are in store.h.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_queue.h"

static int
insert_rcpts(struct store *st, int64_t id, const struct store_outbound_new *q, size_t *queued_r,
             struct pr_why *why)
{
	static const char sql[] = "INSERT INTO outbound_rcpts(outbound_id, address, kind, state)"
	                          " VALUES($1, lower($2), $3, $4) ON CONFLICT DO NOTHING";
	*queued_r = 0;
	for (size_t i = 0; i < q->nrcpts; i++) {
		struct pg_params p = {0};
		pg_p_int(&p, id);
		pg_p_text(&p, q->rcpts[i].address);
		pg_p_text(&p, q->rcpts[i].kind ? q->rcpts[i].kind : "to");
		pg_p_text(&p, q->rcpts[i].state ? q->rcpts[i].state : "queued");
		if (pg_do(st, sql, &p, "queueing a recipient", why) < 0)
			return -1;
		*queued_r += q->rcpts[i].state == NULL || !strcmp(q->rcpts[i].state, "queued");
	}
	return 0;
}

/* The row itself; a Message-ID sent already is PR_E_EXISTS. */
static int
insert_row(struct store *st, struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO outbound(message_id, msgid, mail_from, project, sent_by,"
		" state, created_at, next_attempt_at, expires_at) VALUES($1,$2,$3,$4,$5,'queued',$6,$6,$7)"
		" RETURNING id";
	const struct store_outbound_new *q = m->outbound;
	struct arena *a = arena_new();
	struct pg_params p = {0};
	pg_p_int(&p, m->id_r);
	pg_p_text(&p, store_msgid(a, q->msgid));
	pg_p_text(&p, q->mail_from);
	pg_p_text(&p, q->project);
	pg_p_text(&p, q->sent_by);
	pg_p_int(&p, (int64_t)q->created_at);
	pg_p_int(&p, (int64_t)q->expires_at);
	int rc = pg_insert_id(st, sql, &p, &m->outbound_id_r, why,
	                      "a message with Message-ID <%s> was sent already", q->msgid);
	arena_free(&a);
	return rc;
}

int
pg_outbound_insert(struct store *st, struct store_msg *m, struct pr_why *why)
{
	static const char done[] = "UPDATE outbound SET state = 'sent', done_at = $2,"
		" last_reply = 'delivered internally (no SMTP)' WHERE id = $1";
	size_t queued = 0;
	if (insert_row(st, m, why) < 0 || insert_rcpts(st, m->outbound_id_r, m->outbound, &queued, why) < 0)
		return -1;
	if (queued > 0)
		return 0;
	struct pg_params p = {0};
	pg_p_int(&p, m->outbound_id_r);
	pg_p_int(&p, (int64_t)m->outbound->created_at);
	return pg_do(st, done, &p, "recording an internal delivery", why) < 0 ? -1 : 0;
}

int
pg_store_outbound_enqueue(struct store *st, struct store_msg *m, struct pr_why *why)
{
	if (m->outbound == NULL) {
		pr_why_set(why, PR_E_INTERNAL, "store_outbound_enqueue: the message has no queue row");
		return -1;
	}
	/* Where a message we send is filed (its project, internal recipients)
	 * is told to the webhooks like any placement; not the hot path, so
	 * without the committer's cache. */
	m->webhooks = true;
	return store_commit_batch(st, &m, 1, why);
}

/* The columns every row reader below selects, in read_row's order. */
#define OUT_COLS "o.id, o.message_id, o.msgid, o.mail_from, o.project, o.sent_by, m.subject," \
	" o.state, o.attempts, o.created_at, o.next_attempt_at, o.expires_at, coalesce(o.done_at, 0)," \
	" o.last_reply, o.lease_owner, o.lease_until, o.lease" \
	" FROM outbound o JOIN messages m ON m.id = o.message_id"

static void
read_row(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_outbound *o = p;
	memset(o, 0, sizeof(*o));
	o->id = pg_int(r, row, 0);
	o->message_id = pg_int(r, row, 1);
	o->msgid = pg_str(a, r, row, 2);
	o->mail_from = pg_str(a, r, row, 3);
	o->project = pg_text(a, r, row, 4);
	o->sent_by = pg_text(a, r, row, 5);
	o->subject = pg_text(a, r, row, 6);
	o->state = store_outbound_state_of(PQgetvalue(r, row, 7));
	o->attempts = (int)pg_int(r, row, 8);
	o->created_at = (time_t)pg_int(r, row, 9);
	o->next_attempt_at = (time_t)pg_int(r, row, 10);
	o->expires_at = (time_t)pg_int(r, row, 11);
	o->done_at = (time_t)pg_int(r, row, 12);
	o->last_reply = pg_text(a, r, row, 13);
	o->lease_owner = pg_text(a, r, row, 14);
	o->lease_until = (time_t)pg_int(r, row, 15);
	o->lease = pg_int(r, row, 16);
}

static void
read_rcpt(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_outbound_rcpt *rc = p;
	rc->address = pg_str(a, r, row, 0);
	rc->kind = pg_str(a, r, row, 1);
	rc->state = pg_str(a, r, row, 2);
	rc->reply = pg_text(a, r, row, 3);
}

/* ord is the order the recipients were queued in (SQLite's rowid). */
int
pg_outbound_rcpts(struct store *st, struct arena *a, struct store_outbound *o, bool queued_only,
                  struct pr_why *why)
{
	static const char all[] = "SELECT address, kind, state, reply FROM outbound_rcpts"
	                          " WHERE outbound_id = $1 ORDER BY ord";
	static const char queued[] = "SELECT address, kind, state, reply FROM outbound_rcpts"
	                             " WHERE outbound_id = $1 AND state = 'queued' ORDER BY ord";
	struct pg_params p = {0};
	pg_p_int(&p, o->id);
	return pg_collect(st, a, queued_only ? queued : all, &p, sizeof(*o->rcpts), read_rcpt, &o->rcpts,
	                  &o->nrcpts, "reading outbound recipients", why);
}

/* One row by sql ($1 = key), with all its recipients. */
static int
get_one(struct store *st, struct arena *a, const char *sql, const struct pg_params *p,
        struct store_outbound *out, struct pr_why *why)
{
	int rc = pg_one(st, a, sql, p, read_row, out, "reading the outbound queue", why);
	if (rc != 0)
		return rc;
	return pg_outbound_rcpts(st, a, out, false, why) < 0 ? -1 : 0;
}

int
pg_store_outbound_get(struct store *st, struct arena *a, int64_t id, struct store_outbound *out,
                      struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return get_one(st, a, sql, &p, out, why);
}

int
pg_store_outbound_by_message(struct store *st, struct arena *a, int64_t message_id,
                             struct store_outbound *out, struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.message_id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, message_id);
	return get_one(st, a, sql, &p, out, why);
}

int
pg_store_outbound_by_msgid(struct store *st, struct arena *a, const char *msgid,
                           struct store_outbound *out, struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.msgid = $1";
	const char *id = store_msgid(a, msgid);
	if (id == NULL)
		return 1;
	struct pg_params p = {0};
	pg_p_text(&p, id);
	return get_one(st, a, sql, &p, out, why);
}

int
pg_store_outbound_list(struct store *st, struct arena *a, const struct store_outbound_filter *f,
                       struct store_outbound **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.id < $1 AND ($2::int = 0 OR o.state = 'failed')"
	                          " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM project_members m"
	                          "  WHERE m.project_id = o.project AND m.user_id = (SELECT id FROM users WHERE name = $4)))"
	                          " ORDER BY o.id DESC LIMIT $3";
	struct pg_params p = {0};
	pg_p_int(&p, store_before(f->before));
	pg_p_bool(&p, f->failed_only);
	pg_p_int(&p, f->limit ? (int64_t)f->limit : 100);
	pg_p_text(&p, f->member);
	return pg_collect(st, a, sql, &p, sizeof(**out), read_row, out, n, "listing the outbound queue", why);
}

/* Shared with store_pg_outq.c: one row (no recipients) by id; locked
 * against other nodes' claims for the caller's transaction with lock. */
int
pg_outbound_row(struct store *st, struct arena *a, int64_t id, bool lock, struct store_outbound *out,
                struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.id = $1";
	static const char locked[] = "SELECT " OUT_COLS " WHERE o.id = $1 FOR UPDATE OF o";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_one(st, a, lock ? locked : sql, &p, read_row, out, "reading the outbound queue", why);
}
