/* store_sqlite_read.c - reading messages back: by Message-ID (threading,
 * duplicates), filtered lists, one message with its bytes, and refiling
 * (`messages move`).  A thread's places and participants are read in
 * store_sqlite_thread.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* The first message with this Message-ID: its id and thread. */
static void
read_ids(struct arena *a, sqlite3_stmt *s, void *p)
{
	int64_t *ids = p;
	ids[0] = sqlite3_column_int64(s, 0);
	ids[1] = sqlite3_column_int64(s, 1);
}

int
sqlite_store_message_by_msgid(struct store *st, const char *msgid, int64_t *id_r, int64_t *thread_r,
                       struct pr_why *why)
{
	static const char sql[] = "SELECT id, thread_id FROM messages WHERE msgid_key = ?1 AND message_id = ?2"
	                          " ORDER BY id LIMIT 1";
	struct arena *a = arena_new();
	const char *key = store_msgid(a, msgid);
	int64_t ids[2];
	int rc = 1;
	if (key != NULL) {
		sqlite3_stmt *s = sq_prep(st, sql, why);
		if (s != NULL) {
			sqlite3_bind_int64(s, 1, sq_msgid_key(key));
			sq_bind_text(s, 2, key);
		}
		rc = s == NULL ? -1 : sq_one(st, a, s, read_ids, ids, "looking up a Message-ID", why);
	}
	arena_free(&a);
	if (rc == 0) {
		*id_r = ids[0];
		*thread_r = ids[1];
	}
	return rc;
}

int
sqlite_store_message_find_duplicate(struct store *st, const char *msgid, const char *sha256_hex,
                             int64_t *id_r, struct pr_why *why)
{
	/* ?2 as rows written before the digest was kept as bytes hold it. */
	static const char sql[] = "SELECT id FROM messages WHERE message_id = ?1 AND sha256 IN (?2, ?3)"
	                          " AND msgid_key = ?4 ORDER BY id LIMIT 1";
	struct arena *a = arena_new();
	const char *key = store_msgid(a, msgid);
	int ret = 1;
	if (key != NULL && sha256_hex != NULL) {
		sqlite3_stmt *s = sq_prep_keys(st, sql, key, sha256_hex, why);
		if (s != NULL) {
			sq_bind_digest(s, 3, sha256_hex);
			sqlite3_bind_int64(s, 4, sq_msgid_key(key));
		}
		ret = s == NULL ? -1 : sq_one(st, a, s, sq_read_int64, id_r, "checking duplicates", why);
	}
	arena_free(&a);
	return ret;
}

#define SUMMARY_COLS SQ_SUMMARY_COLS

void
sq_read_summary(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_message_summary *m = p;
	m->id = sqlite3_column_int64(s, 0);
	m->received_at = (time_t)sqlite3_column_int64(s, 1);
	m->from_addr = sq_col_str(a, s, 2);
	m->subject = sq_col_str(a, s, 3);
	m->message_id = sq_col_str(a, s, 4);
	m->size = (uint64_t)sqlite3_column_int64(s, 5);
	m->placements = sq_col_str(a, s, 6);
	m->unreadable = sqlite3_column_int(s, 7) != 0;
}

int
sqlite_store_message_list(struct store *st, struct arena *a, const struct store_message_filter *f,
                   struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = SUMMARY_COLS "FROM messages m WHERE" SQ_MESSAGE_FILTER
		" AND m.id < ?7 ORDER BY m.id DESC LIMIT ?5";
	*out = NULL;
	*n = 0;
	if (f != NULL && f->search != NULL)
		return sq_message_search(st, a, f, out, n, why);
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_message_filter(s, f);
	return sq_collect(st, a, s, sizeof(**out), sq_read_summary, out, n, "listing messages", why);
}

void
sq_bind_message_filter(sqlite3_stmt *s, const struct store_message_filter *f)
{
	sq_bind_text(s, 1, f ? f->project : NULL);
	sq_bind_text(s, 2, f ? f->user : NULL);
	sqlite3_bind_int(s, 3, f && f->unassigned);
	sqlite3_bind_int(s, 4, f && f->fallback);
	sqlite3_bind_int64(s, 5, f && f->limit ? (sqlite3_int64)f->limit : 100);
	sq_bind_text(s, 6, f ? f->stakeholder : NULL);
	sqlite3_bind_int64(s, 7, store_before(f ? f->before : 0));
}

/* A struct store_message without its bytes (columns 0-19). */
static void
read_message(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_message *m = p;
	memset(m, 0, sizeof(*m));
	sq_read_summary(a, s, &m->s);
	m->source = sq_col_str(a, s, 8);
	m->peer_ip = sq_col_str(a, s, 9);
	m->helo = sq_col_str(a, s, 10);
	m->mail_from = sq_col_str(a, s, 11);
	m->rcpts = sq_col_str(a, s, 12);
	m->in_reply_to = sq_col_text(a, s, 13);
	m->date = sq_col_text(a, s, 14);
	m->sha256 = sq_col_digest(a, s, 15);
	m->parsed_json = sq_col_ztext(a, s, 16);
	m->auth_json = sq_col_ztext(a, s, 17);
	m->thread_id = sqlite3_column_int64(s, 18);
	m->references = sq_col_ztext(a, s, 19);
}

/* read_message plus the bytes (column 20) if they are in message_raw,
 * as stored, and how (21); raw stays NULL if not (a body file, see
 * store_message_get). */
struct raw_read {
	struct store_message *m;
	int codec;
};

static void
read_with_raw(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct raw_read *r = p;
	read_message(a, s, r->m);
	if (sqlite3_column_type(s, 20) == SQLITE_NULL)
		return;
	size_t len = (size_t)sqlite3_column_bytes(s, 20);
	uint8_t *raw = arena_alloc(a, len + 1);
	if (len)
		memcpy(raw, sqlite3_column_blob(s, 20), len);
	raw[len] = '\0';
	r->m->raw = raw;
	r->m->raw_len = len;
	r->codec = sqlite3_column_int(s, 21);
}

static int
message_get(struct store *st, struct arena *a, int64_t id, struct store_message *out,
            bool with_raw, struct pr_why *why)
{
	static const char sql_raw[] = SUMMARY_COLS ", m.source, m.peer_ip, m.helo, m.mail_from, m.rcpts,"
		" m.in_reply_to, m.date, m.sha256, m.parsed_json, m.auth_json, m.thread_id, m.refs, r.raw, r.codec"
		" FROM messages m LEFT JOIN message_raw r ON r.message_id = m.id WHERE m.id = ?1";
	static const char sql_meta[] = SUMMARY_COLS ", m.source, m.peer_ip, m.helo, m.mail_from, m.rcpts,"
		" m.in_reply_to, m.date, m.sha256, m.parsed_json, m.auth_json, m.thread_id, m.refs"
		" FROM messages m WHERE m.id = ?1";
	sqlite3_stmt *s = sq_prep(st, with_raw ? sql_raw : sql_meta, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (!with_raw)
		return sq_one(st, a, s, read_message, out, "reading a message", why);
	struct raw_read r = {out, SQ_RAW_PLAIN};
	int rc = sq_one(st, a, s, read_with_raw, &r, "reading a message", why);
	if (rc != 0 || r.codec == SQ_RAW_PLAIN)
		return rc;
	uint8_t *raw;
	if (sq_inflate(a, r.codec, out->raw, out->raw_len, (size_t)out->s.size, &raw, why) < 0)
		return -1;
	out->raw = raw;
	out->raw_len = (size_t)out->s.size;
	return 0;
}

int
sqlite_store_message_get(struct store *st, struct arena *a, int64_t id, struct store_message *out,
                  struct pr_why *why)
{
	int rc = message_get(st, a, id, out, true, why);
	if (rc != 0 || out->raw != NULL)
		return rc;
	rc = sq_body_read(st, a, id, &out->raw, &out->raw_len, why);
	if (rc == 1) {                 /* no bytes stored at all */
		out->raw = (const uint8_t *)"";
		out->raw_len = 0;
	}
	return rc < 0 ? -1 : 0;
}

int
sqlite_store_message_meta(struct store *st, struct arena *a, int64_t id, struct store_message *out,
                   struct pr_why *why)
{
	return message_get(st, a, id, out, false, why);
}

/* A deflated message is short (SQ_BIND_MAX at most): read it whole. */
static int
write_deflated(struct store *st, int64_t id, FILE *out, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	int rc = message_get(st, a, id, &m, true, why);
	if (rc == 0 && fwrite(m.raw, 1, m.raw_len, out) != m.raw_len) {
		pr_why_set(why, PR_E_IO, "writing the message failed");
		rc = -1;
	}
	arena_free(&a);
	return rc;
}

/* Stream the stored bytes in chunks: `messages show --raw` of a 20 MiB
 * message should not need 20 MiB of heap.  A body file first (large
 * messages), else message_raw (small and older ones). */
int
sqlite_store_message_write_raw(struct store *st, int64_t id, FILE *out, struct pr_why *why)
{
	int body = sq_body_write(st, id, out, why);
	if (body != 1)
		return body;
	static const char sql[] = "SELECT codec FROM message_raw WHERE message_id = ?1";
	sqlite3_stmt *q = sq_prep(st, sql, why);
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	int64_t codec = SQ_RAW_PLAIN;
	int found = sq_one(st, NULL, q, sq_read_int64, &codec, "reading message bytes", why);
	if (found < 0)
		return -1;
	if (found == 0 && codec != SQ_RAW_PLAIN)
		return write_deflated(st, id, out, why);
	sqlite3_blob *b = NULL;
	int rc = sqlite3_blob_open(st->db, "main", "message_raw", "raw", id, 0, &b);
	if (rc != SQLITE_OK) {
		if (rc == SQLITE_ERROR) {
			pr_why_set(why, PR_E_NOT_FOUND, "no message %lld", (long long)id);
			return 1;
		}
		return sq_fail(st, rc, "reading message bytes", why);
	}
	int len = sqlite3_blob_bytes(b);
	char *chunk = xmalloc(64 * 1024);
	int ret = 0;
	for (int off = 0; ret == 0 && off < len;) {
		int n = len - off < 64 * 1024 ? len - off : 64 * 1024;
		if ((rc = sqlite3_blob_read(b, chunk, n, off)) != SQLITE_OK)
			ret = sq_fail(st, rc, "reading message bytes", why);
		else if (fwrite(chunk, 1, (size_t)n, out) != (size_t)n)
			pr_why_set(why, PR_E_IO, "writing the message failed"), ret = -1;
		off += n;
	}
	free(chunk);
	sqlite3_blob_close(b);
	return ret;
}

static int
check_target(struct store *st, const struct store_placement *to, struct pr_why *why)
{
	int64_t uid;
	if (to->kind == ROUTE_PROJECT)
		return sq_project_exists(st, to->target, why) == 0 ? 0 : -1;
	if (to->kind == ROUTE_USER)
		return sq_user_id(st, to->target, &uid, why) == 0 ? 0 : -1;
	if (to->kind == ROUTE_UNASSIGNED || to->kind == ROUTE_FALLBACK)
		return 0;
	pr_why_set(why, PR_E_INVALID, "a message can only move to a project, a user, Unassigned or Fallback");
	return -1;
}

int
sqlite_store_message_move(struct store *st, int64_t id, const struct store_placement *to,
                   struct pr_why *why)
{
	static const char del[] = "DELETE FROM placements WHERE message_id = ?1";
	static const char ins[] = "INSERT INTO placements(message_id, kind, target, via)"
		" SELECT id, ?2, ?3, ?4 FROM messages WHERE id = ?1";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s;
	if (check_target(st, to, why) < 0 || sq_thread_places_removing(st, id, why) < 0 ||
	    (s = sq_prep(st, del, why)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	if (sq_step_done(st, s, "refiling a message", why) < 0 || (s = sq_prep(st, ins, why)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sq_bind_text(s, 2, route_kind_name(to->kind));
	sq_bind_text(s, 3, to->target ? to->target : "");
	sq_bind_text(s, 4, to->via ? to->via : "moved");
	if (sq_step_done(st, s, "refiling a message", why) < 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		pr_why_set(why, PR_E_NOT_FOUND, "no message %lld", (long long)id);
		goto fail;
	}
	if (sq_thread_place_added(st, id, route_kind_name(to->kind), to->target, why) < 0 ||
	    sq_webhook_placed(st, id, route_kind_name(to->kind), to->target, why) < 0)
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}
