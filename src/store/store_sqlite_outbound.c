/* store_sqlite_outbound.c - the outbound queue's rows: writing a new one
 * with its message (inside the group commit's transaction), reading rows
 * back (get, by Message-ID, by stored message, list).  Claims, results,
 * retry and cancel -- the state changes -- are in store_sqlite_outq.c.
 * The state machine and the exactly-once reasoning are in store.h.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

static int
insert_rcpts(struct store *st, int64_t id, const struct store_outbound_new *q, size_t *queued_r,
             struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO outbound_rcpts(outbound_id, address, kind, state)"
	                          " VALUES(?1, lower(?2), ?3, ?4)";
	*queued_r = 0;
	for (size_t i = 0; i < q->nrcpts; i++) {
		sqlite3_stmt *s = sq_prep(st, sql, why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, id);
		sq_bind_text(s, 2, q->rcpts[i].address);
		sq_bind_text(s, 3, q->rcpts[i].kind ? q->rcpts[i].kind : "to");
		sq_bind_text(s, 4, q->rcpts[i].state ? q->rcpts[i].state : "queued");
		if (sq_step_done(st, s, "queueing a recipient", why) < 0)
			return -1;
		*queued_r += q->rcpts[i].state == NULL || !strcmp(q->rcpts[i].state, "queued");
	}
	return 0;
}

int
sq_outbound_insert(struct store *st, struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO outbound(message_id, msgid, mail_from, project, sent_by,"
		" state, created_at, next_attempt_at, expires_at) VALUES(?1,?2,?3,?4,?5,'queued',?6,?6,?7)";
	static const char done[] = "UPDATE outbound SET state = 'sent', done_at = ?2,"
		" last_reply = 'delivered internally (no SMTP)' WHERE id = ?1";
	const struct store_outbound_new *q = m->outbound;
	struct arena *a = arena_new();
	sqlite3_stmt *s = sq_prep(st, sql, why);
	int rc = -1;
	if (s == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, m->id_r);
	sq_bind_text(s, 2, store_msgid(a, q->msgid));
	sq_bind_text(s, 3, q->mail_from);
	sq_bind_text(s, 4, q->project);
	sq_bind_text(s, 5, q->sent_by);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)q->created_at);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)q->expires_at);
	if (sq_step_insert(st, s, why, "a message with Message-ID <%s> was sent already", q->msgid) < 0)
		goto out;
	m->outbound_id_r = sqlite3_last_insert_rowid(st->db);
	size_t queued = 0;
	if (insert_rcpts(st, m->outbound_id_r, q, &queued, why) < 0)
		goto out;
	rc = 0;
	if (queued == 0 && (s = sq_prep(st, done, why)) != NULL) {
		sqlite3_bind_int64(s, 1, m->outbound_id_r);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)q->created_at);
		rc = sq_step_done(st, s, "recording an internal delivery", why);
	} else if (queued == 0) {
		rc = -1;
	}
out:
	arena_free(&a);
	return rc;
}

int
sqlite_store_outbound_enqueue(struct store *st, struct store_msg *m, struct pr_why *why)
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
read_row(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_outbound *o = p;
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(s, 0);
	o->message_id = sqlite3_column_int64(s, 1);
	o->msgid = sq_col_str(a, s, 2);
	o->mail_from = sq_col_str(a, s, 3);
	o->project = sq_col_text(a, s, 4);
	o->sent_by = sq_col_text(a, s, 5);
	o->subject = sq_col_text(a, s, 6);
	o->state = store_outbound_state_of((const char *)sqlite3_column_text(s, 7));
	o->attempts = sqlite3_column_int(s, 8);
	o->created_at = (time_t)sqlite3_column_int64(s, 9);
	o->next_attempt_at = (time_t)sqlite3_column_int64(s, 10);
	o->expires_at = (time_t)sqlite3_column_int64(s, 11);
	o->done_at = (time_t)sqlite3_column_int64(s, 12);
	o->last_reply = sq_col_text(a, s, 13);
	o->lease_owner = sq_col_text(a, s, 14);
	o->lease_until = (time_t)sqlite3_column_int64(s, 15);
	o->lease = sqlite3_column_int64(s, 16);
}

static void
read_rcpt(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_outbound_rcpt *r = p;
	r->address = sq_col_str(a, s, 0);
	r->kind = sq_col_str(a, s, 1);
	r->state = sq_col_str(a, s, 2);
	r->reply = sq_col_text(a, s, 3);
}

/* The recipients of o; only those still queued when queued_only. */
int
sq_outbound_rcpts(struct store *st, struct arena *a, struct store_outbound *o, bool queued_only,
                  struct pr_why *why)
{
	static const char all[] = "SELECT address, kind, state, reply FROM outbound_rcpts"
	                          " WHERE outbound_id = ?1 ORDER BY rowid";
	static const char queued[] = "SELECT address, kind, state, reply FROM outbound_rcpts"
	                             " WHERE outbound_id = ?1 AND state = 'queued' ORDER BY rowid";
	sqlite3_stmt *s = sq_prep(st, queued_only ? queued : all, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, o->id);
	return sq_collect(st, a, s, sizeof(*o->rcpts), read_rcpt, &o->rcpts, &o->nrcpts,
	                  "reading outbound recipients", why);
}

/* One row by a prepared query, with all its recipients. */
static int
get_one(struct store *st, struct arena *a, sqlite3_stmt *s, struct store_outbound *out,
        struct pr_why *why)
{
	int rc = sq_one(st, a, s, read_row, out, "reading the outbound queue", why);
	if (rc != 0)
		return rc;
	return sq_outbound_rcpts(st, a, out, false, why) < 0 ? -1 : 0;
}

int
sqlite_store_outbound_get(struct store *st, struct arena *a, int64_t id, struct store_outbound *out,
                   struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return get_one(st, a, s, out, why);
}

int
sqlite_store_outbound_by_message(struct store *st, struct arena *a, int64_t message_id,
                          struct store_outbound *out, struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.message_id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, message_id);
	return get_one(st, a, s, out, why);
}

int
sqlite_store_outbound_by_msgid(struct store *st, struct arena *a, const char *msgid,
                        struct store_outbound *out, struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.msgid = ?1";
	const char *id = store_msgid(a, msgid);
	if (id == NULL)
		return 1;
	sqlite3_stmt *s = sq_prep_key(st, sql, id, why);
	return s ? get_one(st, a, s, out, why) : -1;
}

int
sqlite_store_outbound_list(struct store *st, struct arena *a, const struct store_outbound_filter *f,
                    struct store_outbound **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.id < ?1 AND (?2 = 0 OR o.state = 'failed')"
	                          " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM project_members m"
	                          "  WHERE m.project_id = o.project AND m.user_id = (SELECT id FROM users WHERE name = ?4)))"
	                          " ORDER BY o.id DESC LIMIT ?3";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, store_before(f->before));
	sqlite3_bind_int(s, 2, f->failed_only);
	sqlite3_bind_int64(s, 3, f->limit ? (sqlite3_int64)f->limit : 100);
	sq_bind_text(s, 4, f->member);
	return sq_collect(st, a, s, sizeof(**out), read_row, out, n, "listing the outbound queue", why);
}

/* Shared with store_sqlite_outq.c: one row (no recipients) by id. */
int
sq_outbound_row(struct store *st, struct arena *a, int64_t id, struct store_outbound *out,
                struct pr_why *why)
{
	static const char sql[] = "SELECT " OUT_COLS " WHERE o.id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return sq_one(st, a, s, read_row, out, "reading the outbound queue", why);
}
