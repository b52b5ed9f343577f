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
 * Duplicates across nodes.  Several nodes commit at once, each on its
 * own connection, in READ COMMITTED: two copies of one message reaching
 * two nodes at the same moment would each look for the other, find
 * nothing (neither has committed) and both be stored.  No unique
 * constraint can say it (two different messages may share a Message-ID:
 * only Message-ID AND bytes make a duplicate).  So before judging, the
 * commit takes a transaction-scoped advisory lock on a hash of each
 * Message-ID it will judge (pg_advisory_xact_lock(hashtextextended(id,
 * 0))): the second committer waits until the first's transaction ends,
 * and its duplicate check -- a new statement, so a new snapshot in READ
 * COMMITTED -- then sees the first's committed row.  A hash collision
 * only makes two unrelated commits wait for each other.  The locks of a
 * batch are taken in one statement, in key order, so two batches never
 * wait for each other crosswise (a deadlock); lock_timeout bounds any
 * wait (then PR_E_STORE_BUSY: 4xx, the client comes back).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_pg.h"

/* The row and, for a new thread, its thread id (its own id) in one
 * statement: the id is drawn first so thread_id can name it. */
static int
insert_row(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO messages(id, thread_id, received_at, source, peer_ip, helo,"
		" mail_from, rcpts, message_id, in_reply_to, refs, subject, from_addr, date, sha256, size,"
		" parsed_json, auth_json, unreadable, auto_reply)"
		" SELECT n.id, CASE WHEN $1::bigint = 0 THEN n.id ELSE $1::bigint END, $2::bigint,"
		" $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text,"
		" $11::text, $12::text, $13::text, $14::text, $15::bigint, $16::text, $17::text,"
		" $18::integer, $19::integer"
		" FROM (SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS id) n RETURNING id";
	struct pg_params p = {0};
	pg_p_int(&p, m->thread_id);
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
	return pg_int_of(st, sql, &p, &m->id_r, "storing a message", why) == 0 ? 0 : -1;
}

/* A place the message is in already is skipped: that is how a duplicate
 * adds only the recipients its earlier copy did not reach.  (Two copies
 * committing at once hold the same Message-ID lock: see the header.)
 * placements.id keeps the order SQLite's rowid gives. */
static int
insert_placements(struct store *st, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO placements(message_id, kind, target, via)"
		" SELECT $1::bigint, $2::text, $3::text, $4::text WHERE NOT EXISTS (SELECT 1 FROM placements"
		" WHERE message_id = $1::bigint AND kind = $2::text AND target = $3::text)";
	for (size_t i = 0; i < m->nplacements; i++) {
		const struct store_placement *pl = &m->placements[i];
		const char *kind = route_kind_name(pl->kind);
		struct pg_params p = {0};
		pg_p_int(&p, m->id_r);
		pg_p_text(&p, kind);
		pg_p_text(&p, pl->target ? pl->target : "");
		pg_p_text(&p, pl->via ? pl->via : "");
		int64_t added = pg_do(st, sql, &p, "storing a placement", why);
		if (added < 0)
			return -1;
		/* a new row (not one the message had) is one more use of the
		 * place, and a placement to tell the webhooks about */
		if (added == 0)
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
		if (pg_do(st, sql, &p, "storing a person", why) < 0)
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
		if (pg_do(st, sqls[i], &pp, "adding a stakeholder", why) < 0)
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
	return pg_do(st, sql, &p, "naming new stakeholders", why) < 0 ? -1 : 0;
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

/* Whether m's Message-ID judges it (see find_earlier_copy). */
static bool
judged_by_msgid(const struct store_msg *m)
{
	return m->outbound == NULL && m->raw != NULL && m->message_id != NULL && !m->unreadable;
}

/* Append s to an array literal as a quoted element ("\" and "\\" escaped). */
static void
array_add(struct buf *b, const char *s)
{
	buf_addstr(b, b->len > 1 ? ",\"" : "\"");
	for (const char *c = s; *c; c++) {
		if (*c == '"' || *c == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *c);
	}
	buf_addch(b, '"');
}

/* The advisory locks of the batch (see the header): one per Message-ID
 * judged, and one per POP3 copy judged by its bytes, in key order. */
static int
lock_keys(struct store *st, struct arena *a, struct store_msg **msgs, size_t n, struct pr_why *why)
{
	static const char sql[] = "SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended(x, 0) AS k"
		" FROM unnest($1::text[]) AS x ORDER BY 1) AS keys";
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m = msgs[i];
		const char *key = judged_by_msgid(m) ? store_msgid(a, m->message_id) : NULL;
		if (key != NULL)
			array_add(&b, key);
		if (m->outbound == NULL && m->raw != NULL && m->pop3_mailbox != NULL)
			array_add(&b, arena_printf(a, "pop3 %s %s", m->pop3_mailbox, spool_sha256_hex(m->raw)));
	}
	buf_addch(&b, '}');
	int rc = 0;
	if (b.len > 2) {
		struct pg_params p = {0};
		pg_p_text(&p, buf_cstr(&b));
		rc = pg_do(st, sql, &p, "waiting for another copy of a message", why) < 0 ? -1 : 0;
	}
	buf_free(&b);
	return rc;
}

static int
find_duplicate(struct store *st, struct arena *a, const struct store_msg *m, int64_t *id_r,
               struct pr_why *why)
{
	static const char sql[] = "SELECT id FROM messages WHERE message_id = $1 AND sha256 = $2"
	                          " ORDER BY id LIMIT 1";
	const char *key = store_msgid(a, m->message_id);
	if (key == NULL)
		return 1;
	struct pg_params p = {0};
	pg_p_text(&p, key);
	pg_p_text(&p, spool_sha256_hex(m->raw));
	return pg_int_of(st, sql, &p, id_r, "checking duplicates", why);
}

/* 0 and the earlier copy's id if m is a duplicate, 1 if not, -1.  The
 * same bytes collected again from the same POP3 mailbox are one (two
 * rounds at once); otherwise an unreadable message or one without a
 * Message-ID never is: nothing tells two such copies from two different
 * messages.  Called with the batch's locks held (lock_keys). */
static int
find_earlier_copy(struct store *st, struct arena *a, const struct store_msg *m, int64_t *id_r,
                  struct pr_why *why)
{
	if (m->raw == NULL)
		return 1;
	if (m->pop3_mailbox != NULL) {
		int rc = pg_pop3_stored_id(st, m->pop3_mailbox, spool_sha256_hex(m->raw), id_r, why);
		if (rc <= 0)
			return rc;
	}
	if (!judged_by_msgid(m))
		return 1;
	return find_duplicate(st, a, m, id_r, why);
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
	if (refiled < 0 || (!refiled && insert_placements(st, m, why) < 0) ||
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
commit_one(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	m->duplicate_r = false;
	/* A message we send carries a Message-ID we just made: it is new by
	 * construction, and it is no intake attempt (no log row). */
	int dup = m->outbound ? 1 : find_earlier_copy(st, a, m, &m->id_r, why);
	if (dup < 0)
		return -1;
	if (dup == 0)
		return commit_duplicate(st, a, m, why);
	if (insert_row(st, a, m, why) < 0 || pg_body_insert(st, m, why) < 0 ||
	    insert_placements(st, m, why) < 0 || insert_people(st, a, m, why) < 0 ||
	    add_stakeholders(st, a, m, why) < 0)
		return -1;
	if (name_new_stakeholders(st, m, why) < 0 || pg_thread_people_add(st, a, m, why) < 0 ||
	    pg_search_add(st, a, m, why) < 0 || mark_collected(st, m, why) < 0)
		return -1;
	if (m->outbound)
		return pg_outbound_insert(st, m, why);
	return insert_log(st, a, m, m->reason, m->detail, why);
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
	struct arena *a = arena_new();
	int rc = lock_keys(st, a, msgs, n, why);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = commit_one(st, a, msgs[i], why);
	for (size_t i = 0; rc == 0 && i < nlog; i++)
		rc = pg_log_insert(st, log[i], NULL, why);
	arena_free(&a);
	if (rc == 0 && pg_commit(st, why) == 0)
		return 0;
	pg_rollback(st);
	for (size_t i = 0; i < n; i++) {
		msgs[i]->id_r = msgs[i]->log_id_r = msgs[i]->outbound_id_r = 0;
		msgs[i]->duplicate_r = false;
	}
	return -1;
}
