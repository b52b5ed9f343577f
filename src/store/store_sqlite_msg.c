/* store_sqlite_msg.c - the group commit: every accepted message of a batch,
 * its bytes, placements, people, new stakeholders and intake-log row, in
 * ONE write transaction -- or, for a duplicate, only its new placements
 * and its log row.
 *
 * Why one transaction: with synchronous=FULL each COMMIT costs an fsync of
 * the WAL (milliseconds on real disks).  Sessions that finish DATA at about
 * the same time are queued by intake/ and committed together, so N
 * messages pay one fsync instead of N -- the write barrier Redis uses
 * before replying.  Nobody may answer 250 before this returns 0: only then
 * are the bytes on disk.  On any failure the whole batch is rolled back
 * and every message in it gets the same temporary error.
 *
 * Bytes: the stored raw message is `prepend` (our Received: and
 * Authentication-Results:) followed by the spool, byte-exact.  A large
 * body was written to a file of its own before the commit
 * (store_body_put, store_sqlite_body.c): the commit only names it.  Other
 * messages are bound as one blob, or (large, from a caller that did not
 * put the body first) written into a zeroblob in chunks read from the
 * spool file, so a 20 MiB message is never held whole in memory again.
 */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* Up to SQ_BIND_MAX (store_sqlite.h) a message is copied into one buffer,
 * deflated and bound; above it, it is streamed into the blob in chunks of
 * SQ_CHUNK bytes. */
#define SQ_CHUNK (64 * 1024)

static int
insert_row(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO messages(thread_id, received_at, source, peer_ip, helo,"
		" mail_from, rcpts, message_id, in_reply_to, refs, subject, from_addr, date, sha256, size,"
		" parsed_json, auth_json, unreadable, auto_reply, msgid_key)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, m->thread_id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)m->received_at);
	sq_bind_text(s, 3, m->source);
	sq_bind_text(s, 4, m->peer_ip);
	sq_bind_text(s, 5, m->helo);
	sq_bind_text(s, 6, m->mail_from);
	sq_bind_text(s, 7, store_join_rcpts(a, m->rcpts, m->nrcpts));
	const char *msgid = store_msgid(a, m->message_id);
	sq_bind_text(s, 8, msgid);
	if (msgid != NULL)
		sqlite3_bind_int64(s, 20, sq_msgid_key(msgid));   /* unbound: NULL */
	sq_bind_text(s, 9, m->in_reply_to);
	sq_bind_ztext(s, 10, m->references, sq_body_references(m));
	sq_bind_text(s, 11, m->subject);
	sq_bind_text(s, 12, m->from_addr ? store_lower(a, m->from_addr) : NULL);
	sq_bind_text(s, 13, m->date);
	sq_bind_digest(s, 14, m->raw ? spool_sha256_hex(m->raw) : NULL);
	sqlite3_bind_int64(s, 15, (sqlite3_int64)store_msg_size(m));
	sq_bind_ztext(s, 16, m->parsed_json, sq_body_parsed_json(m));
	sq_bind_ztext(s, 17, m->auth_json, sq_body_auth_json(m));
	sqlite3_bind_int(s, 18, m->unreadable);
	sqlite3_bind_int(s, 19, m->auto_reply);
	if (sq_step_done(st, s, "storing a message", why) < 0)
		return -1;
	m->id_r = sqlite3_last_insert_rowid(st->db);
	if (m->thread_id != 0)
		return 0;
	static const char thr[] = "UPDATE messages SET thread_id = id WHERE id = ?1";
	if ((s = sq_prep(st, thr, why)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, m->id_r);
	return sq_step_done(st, s, "starting a thread", why);
}

/* The bytes the worker packed (store_body_put), or packed now for a
 * caller that did not put the body first. */
static int
raw_bound(struct store *st, sqlite3_stmt *s, const struct store_msg *m, struct pr_why *why)
{
	const struct sq_packed *p = sq_body_packed(m);
	if (p != NULL) {
		sqlite3_bind_blob64(s, 2, p->bytes, p->len, SQLITE_STATIC);
		sqlite3_bind_int(s, 3, p->codec);
		return sq_step_done(st, s, "storing message bytes", why);
	}
	struct sq_packed now;
	if (sq_raw_pack(m, &now, why) < 0) {
		sq_done(s);
		return -1;
	}
	sqlite3_bind_blob64(s, 2, now.bytes, now.len, free);
	sqlite3_bind_int(s, 3, now.codec);
	return sq_step_done(st, s, "storing message bytes", why);
}

/* Stream the spool into the zeroblob row in chunks. */
static int
raw_streamed(struct store *st, sqlite3_stmt *s, const struct store_msg *m, size_t plen,
             uint64_t total, struct pr_why *why)
{
	sqlite3_bind_zeroblob64(s, 2, total);
	sqlite3_bind_int(s, 3, SQ_RAW_PLAIN);
	if (sq_step_done(st, s, "storing message bytes", why) < 0)
		return -1;
	sqlite3_blob *b = NULL;
	int rc = sqlite3_blob_open(st->db, "main", "message_raw", "raw", m->id_r, 1, &b);
	if (rc != SQLITE_OK)
		return sq_fail(st, rc, "opening the message blob", why);
	if (plen)
		rc = sqlite3_blob_write(b, m->prepend, (int)plen, 0);
	uint8_t *chunk = xmalloc(SQ_CHUNK);
	for (uint64_t off = 0; rc == SQLITE_OK && off < total - plen;) {
		size_t n = total - plen - off < SQ_CHUNK ? (size_t)(total - plen - off) : SQ_CHUNK;
		if (spool_read_exact(m->raw, off, chunk, n, why) < 0)
			break;
		rc = sqlite3_blob_write(b, chunk, (int)n, (int)(plen + off));
		off += n;
	}
	free(chunk);
	int crc = sqlite3_blob_close(b);
	if (why->code == PR_E_IO)
		return -1;
	if (rc != SQLITE_OK || crc != SQLITE_OK)
		return sq_fail(st, rc != SQLITE_OK ? rc : crc, "writing message bytes", why);
	return 0;
}

static int
insert_raw(struct store *st, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO message_raw(message_id, raw, codec) VALUES(?1, ?2, ?3)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	size_t plen = m->prepend ? strlen(m->prepend) : 0;
	uint64_t total = store_msg_size(m);
	if (total > 0x7fffffff) {
		sq_done(s);
		pr_why_set(why, PR_E_TOO_BIG, "a message of %llu bytes cannot be stored", (unsigned long long)total);
		return -1;
	}
	sqlite3_bind_int64(s, 1, m->id_r);
	if (total <= SQ_BIND_MAX || m->raw == NULL)
		return raw_bound(st, s, m, why);
	return raw_streamed(st, s, m, plen, total, why);
}

/* A place the message is in already is skipped: that is how a duplicate
 * adds only the recipients its earlier copy did not reach. */
static int
insert_placements(struct store *st, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO placements(message_id, kind, target, via)"
		" SELECT ?1,?2,?3,?4 WHERE NOT EXISTS (SELECT 1 FROM placements"
		" WHERE message_id = ?1 AND kind = ?2 AND target = ?3)";
	for (size_t i = 0; i < m->nplacements; i++) {
		const struct store_placement *p = &m->placements[i];
		sqlite3_stmt *s = sq_prep(st, sql, why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, m->id_r);
		sq_bind_text(s, 2, route_kind_name(p->kind));
		sq_bind_text(s, 3, p->target ? p->target : "");
		sq_bind_text(s, 4, p->via ? p->via : "");
		if (sq_step_done(st, s, "storing a placement", why) < 0)
			return -1;
		/* a new row (not one the message had) is one more use of the
		 * place, and a placement to tell the webhooks about */
		if (sqlite3_changes(st->db) == 0)
			continue;
		if (sq_thread_place_added(st, m->id_r, route_kind_name(p->kind), p->target, why) < 0 ||
		    (m->webhooks && sq_webhook_placed(st, m->id_r, route_kind_name(p->kind), p->target, why) < 0))
			return -1;
	}
	return 0;
}

static int
insert_people(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO people(message_id, address, role, user_name, stakeholder_name)"
	                          " VALUES(?1,?2,?3,?4,?5)";
	for (size_t i = 0; i < m->npeople; i++) {
		const struct store_person *p = &m->people[i];
		sqlite3_stmt *s = sq_prep(st, sql, why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, m->id_r);
		sq_bind_text(s, 2, store_lower(a, p->address));
		sq_bind_text(s, 3, p->role ? p->role : "");
		sq_bind_text(s, 4, p->user);
		sq_bind_text(s, 5, p->stakeholder);
		if (sq_step_done(st, s, "storing a person", why) < 0)
			return -1;
	}
	return 0;
}

/* "project\taddress": make the address a stakeholder (named by the
 * address) unless it is one already, and attach it to the project. */
static int
add_stakeholder(struct store *st, struct arena *a, const char *pair, struct pr_why *why)
{
	static const char k[] = "INSERT OR IGNORE INTO stakeholders(name) SELECT ?1 WHERE NOT EXISTS"
		" (SELECT 1 FROM stakeholder_emails WHERE address = ?1)";
	static const char e[] = "INSERT OR IGNORE INTO stakeholder_emails(address, stakeholder_id)"
		" SELECT ?1, id FROM stakeholders WHERE name = ?1";
	static const char p[] = "INSERT OR IGNORE INTO project_stakeholders(project_id, stakeholder_id)"
		" SELECT ?2, stakeholder_id FROM stakeholder_emails WHERE address = ?1"
		" AND EXISTS (SELECT 1 FROM projects WHERE id = ?2)";
	const char *tab = strchr(pair, '\t');
	if (tab == NULL)
		return 0;
	const char *project = arena_strndup(a, pair, (size_t)(tab - pair));
	const char *addr = store_lower(a, tab + 1);
	const char *sqls[] = {k, e, p};
	for (int i = 0; i < 3; i++) {
		sqlite3_stmt *s = sq_prep(st, sqls[i], why);
		if (s == NULL)
			return -1;
		sq_bind_text(s, 1, addr);
		if (i == 2)
			sq_bind_text(s, 2, project);
		if (sq_step_done(st, s, "adding a stakeholder", why) < 0)
			return -1;
	}
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
		" people.address) WHERE message_id = ?1 AND user_name IS NULL AND stakeholder_name IS NULL";
	if (m->nnew_stakeholders == 0)
		return 0;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, m->id_r);
	return sq_step_done(st, s, "naming new stakeholders", why);
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
	return sq_log_insert(st, &e, &m->log_id_r, why);
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
	return sq_pop3_record(st, m->pop3_mailbox, &mk, why);
}

/* 0 and the earlier copy's id if m is a duplicate, 1 if not, -1.  The
 * same bytes collected again from the same POP3 mailbox are one (two
 * rounds at once); otherwise an unreadable message or one without a
 * Message-ID never is: nothing tells two such copies from two different
 * messages. */
static int
find_earlier_copy(struct store *st, const struct store_msg *m, int64_t *id_r, struct pr_why *why)
{
	if (m->raw == NULL)
		return 1;
	if (m->pop3_mailbox != NULL) {
		int rc = sq_pop3_stored_id(st, m->pop3_mailbox, spool_sha256_hex(m->raw), id_r, why);
		if (rc <= 0)
			return rc;
	}
	if (m->message_id == NULL || m->unreadable)
		return 1;
	return store_message_find_duplicate(st, m->message_id, spool_sha256_hex(m->raw), id_r, why);
}

/* 1 if a person refiled the message (`messages move` marks its placement
 * via "moved"): a resend must not put it back where it was taken from. */
static int
was_refiled(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM placements WHERE message_id = ?1 AND via = 'moved'";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return sq_exists(st, s, "checking a refiled message", why);
}

static int
add_stakeholders(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	for (size_t i = 0; i < m->nnew_stakeholders; i++)
		if (add_stakeholder(st, a, m->new_stakeholders[i], why) < 0)
			return -1;
	return 0;
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
	int dup = m->outbound ? 1 : find_earlier_copy(st, m, &m->id_r, why);
	if (dup < 0)
		return -1;
	if (dup == 0)
		return commit_duplicate(st, a, m, why);
	if (insert_row(st, a, m, why) < 0 ||
	    (sq_body_is_file(m) ? sq_body_link(st, m, why) : insert_raw(st, m, why)) < 0 ||
	    insert_placements(st, m, why) < 0 || insert_people(st, a, m, why) < 0 ||
	    add_stakeholders(st, a, m, why) < 0)
		return -1;
	if (name_new_stakeholders(st, m, why) < 0 || sq_thread_people_add(st, a, m, why) < 0 ||
	    mark_collected(st, m, why) < 0)
		return -1;
	if (m->outbound)
		return sq_outbound_insert(st, m, why);
	return insert_log(st, a, m, m->reason, m->detail, why);
}

int
sqlite_store_commit_batch(struct store *st, struct store_msg **msgs, size_t n, struct pr_why *why)
{
	return store_commit_group(st, msgs, n, NULL, 0, why);
}

int
sqlite_store_commit_group(struct store *st, struct store_msg **msgs, size_t n,
                   const struct store_log_entry *const *log, size_t nlog, struct pr_why *why)
{
	if (n == 0 && nlog == 0)
		return 0;
	pr_why_clear(why);
	if (sq_bodies_sync(st, msgs, n, why) < 0 || sq_begin(st, why) < 0)
		return -1;
	struct arena *a = arena_new();
	int rc = 0;
	sq_held_group_begin(st);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = commit_one(st, a, msgs[i], why);
	for (size_t i = 0; rc == 0 && i < nlog; i++)
		rc = sq_log_insert(st, log[i], NULL, why);
	/* The search index last, after every other statement of the group.
	 * FTS5 writes what it holds as a new segment whenever a statement
	 * of the transaction opens a statement savepoint (an INSERT ...
	 * SELECT, a row with a foreign key): indexed message by message, a
	 * group of 50 made 50 segments, and merging them was most of the
	 * commit's growth with the store (bench/README.md, "growth").  Here
	 * a group makes one; held for a later group (store_sqlite_held.c),
	 * a batch of groups makes one. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (msgs[i]->duplicate_r)
			continue;
		if (sq_held_active(st))
			sq_held_add(st, a, msgs[i]);
		else
			rc = sq_search_add(st, a, msgs[i], why);
	}
	if (rc == 0)
		rc = sq_held_group_write(st, why);
	arena_free(&a);
	if (rc == 0 && sq_commit(st, why) == 0) {
		sq_held_group_end(st, true);
		return 0;
	}
	sq_rollback(st);
	sq_held_group_end(st, false);
	for (size_t i = 0; i < n; i++) {
		msgs[i]->id_r = msgs[i]->log_id_r = msgs[i]->outbound_id_r = 0;
		msgs[i]->duplicate_r = false;
	}
	return -1;
}
