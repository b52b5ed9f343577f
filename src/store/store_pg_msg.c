/* store_pg_msg.c - the group commit in PostgreSQL: every accepted message
 * of a batch, its bytes, placements, people, new stakeholders and
 * intake-log row, in ONE transaction -- or, for a duplicate, only its new
 * placements and its log row.  The PostgreSQL side of store_sqlite_msg.c:
 * read its header for why a batch is one transaction (one synchronous
 * COMMIT, synchronous_commit = on, for N messages).  Nobody may answer 250
 * before this returns 0; on any failure the whole batch is rolled back
 * and every message in it gets the same temporary error.
 *
 * Bytes: rows of message_chunks written in this transaction
 * (pg_body_insert, store_pg_body.c), one PG_CHUNK at a time.
 *
 * Round trips, not statements, were the cost: about 22 statements per
 * message, each waited for, while the server spent a fraction of that
 * time running them.  So the commit waits for an answer only where the
 * next step depends on it, and queues everything else (pg_queue, libpq's
 * pipeline mode: store_pg_pipe.c).  A batch of new messages takes five
 * round trips (a very large one a few more: PG_PIPE_MAX): BEGIN; the
 * Message-ID locks and every message's duplicate lookups together; the
 * new messages' ids in one statement (draw_ids: so no INSERT needs
 * RETURNING); every row of every message queued and read at one sync;
 * COMMIT.  The server still runs the statements one by one in this
 * file's order, so rows, ids and their order are what one statement at a
 * time gave.  What waits: a duplicate (was it refiled, is each placement
 * new), a message we send (its queue row's id), and a message of the
 * batch whose lookup an earlier one may change (pg_copy_look_again: two
 * copies in one batch), looked up again once those before it are
 * written.  A failure anywhere, read at any sync, fails the batch as
 * before.
 *
 * Duplicates, and the locks that let several nodes judge them at once,
 * are store_pg_copy.c's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_pg.h"

/* The row, with the id drawn for it (draw_ids); a new thread's id is its
 * first message's. */
static int
insert_row(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO messages(id, thread_id, received_at, source, peer_ip, helo,"
		" mail_from, rcpts, message_id, in_reply_to, refs, subject, from_addr, date, sha256, size,"
		" parsed_json, auth_json, unreadable, auto_reply)"
		" VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
		" $19, $20)";
	struct pg_params p = {0};
	pg_p_int(&p, m->id_r);
	pg_p_int(&p, m->thread_id ? m->thread_id : m->id_r);
	pg_p_int(&p, (int64_t)m->received_at);
	pg_p_text(&p, m->source);
	pg_p_text(&p, m->peer_ip);
	pg_p_text(&p, m->helo);
	pg_p_text(&p, m->mail_from);
	pg_p_text(&p, store_join_rcpts(a, m->rcpts, m->nrcpts));
	pg_p_text(&p, store_msgid(a, m->message_id));
	pg_p_text(&p, m->in_reply_to);
	pg_p_text(&p, m->references);
	pg_p_text(&p, m->subject);
	pg_p_text(&p, m->from_addr ? store_lower(a, m->from_addr) : NULL);
	pg_p_text(&p, m->date);
	pg_p_text(&p, m->raw ? spool_sha256_hex(m->raw) : NULL);
	pg_p_int(&p, (int64_t)store_msg_size(m));
	pg_p_text(&p, m->parsed_json);
	pg_p_text(&p, m->auth_json);
	pg_p_bool(&p, m->unreadable);
	pg_p_bool(&p, m->auto_reply);
	return pg_queue(st, sql, &p, "storing a message", why);
}

/* Whether placement i of a message repeats an earlier one of its list. */
static bool
placed_before(const struct store_msg *m, size_t i)
{
	const struct store_placement *pl = &m->placements[i];
	for (size_t j = 0; j < i; j++)
		if (m->placements[j].kind == pl->kind &&
		    !strcmp(m->placements[j].target ? m->placements[j].target : "", pl->target ? pl->target : ""))
			return true;
	return false;
}

/* A place the message is in already is skipped: that is how a duplicate
 * adds only the recipients its earlier copy did not reach.  (Two copies
 * committing at once hold the same Message-ID lock: see the header.)
 * placements.id keeps the order SQLite's rowid gives.  A new message
 * (fresh) is in no place yet but those of its own list, so whether a row
 * is added is known without asking, and nothing here waits. */
static int
insert_placements(struct store *st, const struct store_msg *m, bool fresh, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO placements(message_id, kind, target, via)"
		" SELECT $1::bigint, $2::text, $3::text, $4::text WHERE NOT EXISTS (SELECT 1 FROM placements"
		" WHERE message_id = $1::bigint AND kind = $2::text AND target = $3::text)";
	for (size_t i = 0; i < m->nplacements; i++) {
		const struct store_placement *pl = &m->placements[i];
		const char *kind = route_kind_name(pl->kind);
		if (fresh && placed_before(m, i))
			continue;
		struct pg_params p = {0};
		pg_p_int(&p, m->id_r);
		pg_p_text(&p, kind);
		pg_p_text(&p, pl->target ? pl->target : "");
		pg_p_text(&p, pl->via ? pl->via : "");
		int64_t added = fresh ? pg_queue(st, sql, &p, "storing a placement", why)
		                      : pg_do(st, sql, &p, "storing a placement", why);
		if (added < 0)
			return -1;
		/* a new row (not one the message had) is one more use of the
		 * place, and a placement to tell the webhooks about */
		if (!fresh && added == 0)
			continue;
		if (pg_thread_place_added(st, m->id_r, kind, pl->target, why) < 0 ||
		    (m->webhooks && pg_webhook_placed(st, m->id_r, kind, pl->target, why) < 0))
			return -1;
	}
	return 0;
}

static int
insert_people(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO people(message_id, address, role, user_name, stakeholder_name)"
	                          " VALUES($1, $2, $3, $4, $5)";
	for (size_t i = 0; i < m->npeople; i++) {
		const struct store_person *pe = &m->people[i];
		struct pg_params p = {0};
		pg_p_int(&p, m->id_r);
		pg_p_text(&p, store_lower(a, pe->address));
		pg_p_text(&p, pe->role ? pe->role : "");
		pg_p_text(&p, pe->user);
		pg_p_text(&p, pe->stakeholder);
		if (pg_queue(st, sql, &p, "storing a person", why) < 0)
			return -1;
	}
	return 0;
}

/* "project\taddress": make the address a stakeholder (named by the
 * address) unless it is one already, and attach it to the project.  Two
 * nodes adding the same one at once meet on the unique keys (ON CONFLICT
 * waits for the other's row, then leaves it). */
static int
add_stakeholder(struct store *st, struct arena *a, const char *pair, struct pr_why *why)
{
	static const char k[] = "INSERT INTO stakeholders(name) SELECT $1::text WHERE NOT EXISTS"
		" (SELECT 1 FROM stakeholder_emails WHERE address = $1::text) ON CONFLICT DO NOTHING";
	static const char e[] = "INSERT INTO stakeholder_emails(address, stakeholder_id)"
		" SELECT $1::text, id FROM stakeholders WHERE name = $1::text ON CONFLICT DO NOTHING";
	static const char p[] = "INSERT INTO project_stakeholders(project_id, stakeholder_id)"
		" SELECT $2::text, stakeholder_id FROM stakeholder_emails WHERE address = $1::text"
		" AND EXISTS (SELECT 1 FROM projects WHERE id = $2::text) ON CONFLICT DO NOTHING";
	const char *tab = strchr(pair, '\t');
	if (tab == NULL)
		return 0;
	const char *project = arena_strndup(a, pair, (size_t)(tab - pair));
	const char *addr = store_lower(a, tab + 1);
	const char *sqls[] = {k, e, p};
	for (int i = 0; i < 3; i++) {
		struct pg_params pp = {0};
		pg_p_text(&pp, addr);
		if (i == 2)
			pg_p_text(&pp, project);
		if (pg_queue(st, sqls[i], &pp, "adding a stakeholder", why) < 0)
			return -1;
	}
	return 0;
}

static int
add_stakeholders(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	for (size_t i = 0; i < m->nnew_stakeholders; i++)
		if (add_stakeholder(st, a, m->new_stakeholders[i], why) < 0)
			return -1;
	return 0;
}

/* People of this message who only now became stakeholders (Cc'd by a
 * member) were resolved before they existed: name them, so the project's
 * correspondence with each stakeholder starts with this message. */
static int
name_new_stakeholders(struct store *st, struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "UPDATE people SET stakeholder_name = (SELECT s.name FROM"
		" stakeholder_emails e JOIN stakeholders s ON s.id = e.stakeholder_id WHERE e.address ="
		" people.address) WHERE message_id = $1 AND user_name IS NULL AND stakeholder_name IS NULL";
	if (m->nnew_stakeholders == 0)
		return 0;
	struct pg_params p = {0};
	pg_p_int(&p, m->id_r);
	return pg_queue(st, sql, &p, "naming new stakeholders", why);
}

static int
insert_log(struct store *st, struct arena *a, struct store_msg *m, enum pr_err reason,
           const char *detail, struct pr_why *why)
{
	struct store_log_entry e;
	memset(&e, 0, sizeof(e));
	e.at = m->received_at;
	e.source = m->source;
	e.peer_ip = m->peer_ip;
	e.helo = m->helo;
	e.mail_from = m->mail_from;
	e.rcpts = store_join_rcpts(a, m->rcpts, m->nrcpts);
	e.size = store_msg_size(m);
	e.verdict = m->verdict ? m->verdict : "accepted";
	e.reason = reason;
	e.detail = detail;
	e.message_id_hdr = m->message_id;
	e.message_id = m->id_r;
	return pg_log_insert(st, &e, &m->log_id_r, why);
}

/* A collected message is known to be collected in the same transaction
 * that stores it: see store_sqlite_pop3.c. */
static int
mark_collected(struct store *st, const struct store_msg *m, struct pr_why *why)
{
	if (m->pop3_mailbox == NULL)
		return 0;
	struct store_pop3_mark mk = {.uidl = m->pop3_uidl, .sha256 = m->raw ? spool_sha256_hex(m->raw) : "",
	                             .state = "stored", .message_id = m->id_r};
	return pg_pop3_record(st, m->pop3_mailbox, &mk, why);
}

/* 1 if a person refiled the message (`messages move` marks its placement
 * via "moved"): a resend must not put it back where it was taken from. */
static int
was_refiled(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM placements WHERE message_id = $1 AND via = 'moved'";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_exists(st, sql, &p, "checking a refiled message", why);
}

/* The earlier copy stays as it is; this one only adds its placements
 * (unless the message was refiled by hand) and its new stakeholders. */
static int
commit_duplicate(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	m->duplicate_r = true;
	int refiled = was_refiled(st, m->id_r, why);
	if (refiled < 0 || (!refiled && insert_placements(st, m, false, why) < 0) ||
	    add_stakeholders(st, a, m, why) < 0 || mark_collected(st, m, why) < 0)
		return -1;
	/* A POP3 copy found by its bytes may have no Message-ID at all. */
	const char *name = m->message_id ? arena_printf(a, "message <%s>", m->message_id)
	                                 : "the same message";
	const char *detail = arena_printf(a, "%s had already arrived as message %lld; it is stored"
		" once, and %s", name, (long long)m->id_r, refiled ? "stays where it was refiled"
		: "filed also where this copy's recipients lead");
	return insert_log(st, a, m, PR_E_DUPLICATE, detail, why);
}

static int
commit_one(struct store *st, struct arena *a, struct store_msg *m, int64_t earlier,
           struct pr_why *why)
{
	m->duplicate_r = false;
	if (earlier != 0) {
		m->id_r = earlier;
		return commit_duplicate(st, a, m, why);
	}
	if (insert_row(st, a, m, why) < 0 || pg_body_insert(st, m, why) < 0 ||
	    insert_placements(st, m, true, why) < 0 || insert_people(st, a, m, why) < 0 ||
	    add_stakeholders(st, a, m, why) < 0)
		return -1;
	if (name_new_stakeholders(st, m, why) < 0 || pg_thread_people_add(st, a, m, why) < 0 ||
	    pg_search_add(st, a, m, why) < 0 || mark_collected(st, m, why) < 0)
		return -1;
	/* A message we send is no intake attempt: its queue row, no log row
	 * (waits for its id: RETURNING, and a resend is PR_E_EXISTS). */
	if (m->outbound)
		return pg_outbound_insert(st, m, why);
	return insert_log(st, a, m, m->reason, m->detail, why);
}

static void
read_id(struct arena *a, PGresult *r, int row, void *p)
{
	(void)a;
	*(int64_t *)p = pg_int(r, row, 0);
}

static int
cmp_id(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

/* Ids for the new messages of msgs[i..end), in one statement, handed out
 * in batch order (sorted: a statement does not promise in which order its
 * rows call nextval), so ids grow along the batch as one INSERT per
 * message made them, and no later statement waits for a RETURNING. */
static int
draw_ids(struct store *st, struct arena *a, struct store_msg **msgs, const struct pg_look *look,
         size_t i, size_t end, struct pr_why *why)
{
	static const char sql[] = "SELECT nextval(pg_get_serial_sequence('messages', 'id'))"
	                          " FROM generate_series(1, $1::integer)";
	size_t fresh = 0;
	for (size_t j = i; j < end; j++)
		fresh += pg_copy_of(&look[j]) == 0;
	if (fresh == 0)
		return 0;
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)fresh);
	int64_t *ids;
	size_t got;
	if (pg_collect(st, a, sql, &p, sizeof(*ids), read_id, &ids, &got, "numbering new messages",
	               why) < 0)
		return -1;
	if (got != fresh) {
		pr_why_set(why, PR_E_STORE_FAILED, "numbering new messages: %zu ids for %zu", got, fresh);
		return -1;
	}
	qsort(ids, got, sizeof(*ids), cmp_id);
	for (size_t j = i, k = 0; j < end; j++)
		if (pg_copy_of(&look[j]) == 0)
			msgs[j]->id_r = ids[k++];
	return 0;
}

/* The batch's messages, in order.  Round trips: the locks and every
 * message's lookups together; then, for each run of messages up to the
 * next one looked up again (usually the whole batch), its ids in one
 * statement and all its rows queued without waiting (read at the sync
 * before COMMIT).  A duplicate's steps that need an answer (was it
 * refiled, is a placement new) wait for it, in their place in the order. */
static int
commit_messages(struct store *st, struct arena *a, struct store_msg **msgs, size_t n,
                struct pr_why *why)
{
	if (n == 0)
		return 0;
	struct pg_look *look = arena_alloc(a, n * sizeof(*look));
	bool *again = arena_alloc(a, n * sizeof(*again));
	if (pg_copy_lock(st, a, msgs, n, why) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (pg_copy_find(st, a, msgs[i], &look[i], why) < 0)
			return -1;
	if (pg_pipe_sync(st, why) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		again[i] = pg_copy_look_again(a, msgs, look, i);
	for (size_t i = 0, end; i < n; i = end) {
		if (again[i] && (pg_copy_find(st, a, msgs[i], &look[i], why) < 0 ||
		                 pg_pipe_sync(st, why) < 0))
			return -1;
		for (end = i + 1; end < n && !again[end]; end++)
			;
		if (draw_ids(st, a, msgs, look, i, end, why) < 0)
			return -1;
		for (size_t j = i; j < end; j++)
			if (commit_one(st, a, msgs[j], pg_copy_of(&look[j]), why) < 0)
				return -1;
	}
	return 0;
}

int
pg_store_commit_batch(struct store *st, struct store_msg **msgs, size_t n, struct pr_why *why)
{
	return pg_store_commit_group(st, msgs, n, NULL, 0, why);
}

int
pg_store_commit_group(struct store *st, struct store_msg **msgs, size_t n,
                      const struct store_log_entry *const *log, size_t nlog, struct pr_why *why)
{
	if (n == 0 && nlog == 0)
		return 0;
	pr_why_clear(why);
	if (pg_begin(st, why) < 0)
		return -1;
	struct arena *a = arena_new();   /* lives until every queued answer is read */
	st->queueing = true;
	int rc = commit_messages(st, a, msgs, n, why);
	for (size_t i = 0; rc == 0 && i < nlog; i++)
		rc = pg_log_insert(st, log[i], NULL, why);
	st->queueing = false;
	if (rc == 0 && pg_commit(st, why) == 0) {
		arena_free(&a);
		return 0;
	}
	pg_rollback(st);
	arena_free(&a);
	for (size_t i = 0; i < n; i++) {
		msgs[i]->id_r = msgs[i]->log_id_r = msgs[i]->outbound_id_r = 0;
		msgs[i]->duplicate_r = false;
	}
	return -1;
}
