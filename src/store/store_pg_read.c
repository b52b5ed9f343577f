/* store_pg_read.c - reading messages back: by Message-ID (threading,
 * duplicates), filtered lists, one message with its bytes, and refiling
 * (`messages move`).  The PostgreSQL side of store_sqlite_read.c; a
 * thread's places and participants are read in store_pg_thread.c.
 *
 * A message's bytes are rows of message_chunks (seq 0.., at most
 * PG_CHUNK bytes each): store_message_get joins them in the arena,
 * store_message_write_raw fetches and writes one row at a time, so a
 * 20 MiB message never needs 20 MiB of heap there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_read.h"

bool
pg_message_filter_ok(const struct store_message_filter *f)
{
	return f == NULL || (pg_text_ok(f->project) && pg_text_ok(f->user) && pg_text_ok(f->stakeholder));
}

/* The first message with this Message-ID: its id and thread. */
static void
read_ids(struct arena *a, PGresult *r, int row, void *p)
{
	int64_t *ids = p;
	(void)a;
	ids[0] = pg_int(r, row, 0);
	ids[1] = pg_int(r, row, 1);
}

int
pg_store_message_by_msgid(struct store *st, const char *msgid, int64_t *id_r, int64_t *thread_r,
                          struct pr_why *why)
{
	static const char sql[] = "SELECT id, thread_id FROM messages WHERE message_id = $1 ORDER BY id LIMIT 1";
	struct arena *a = arena_new();
	const char *key = store_msgid(a, msgid);
	int64_t ids[2];
	int rc = 1;
	if (key != NULL && pg_text_ok(key)) {
		struct pg_params p = {0};
		pg_p_text(&p, key);
		rc = pg_one(st, a, sql, &p, read_ids, ids, "looking up a Message-ID", why);
	}
	arena_free(&a);
	if (rc == 0) {
		*id_r = ids[0];
		*thread_r = ids[1];
	}
	return rc;
}

int
pg_store_message_find_duplicate(struct store *st, const char *msgid, const char *sha256_hex,
                                int64_t *id_r, struct pr_why *why)
{
	static const char sql[] = "SELECT id FROM messages WHERE message_id = $1 AND sha256 = $2"
	                          " ORDER BY id LIMIT 1";
	struct arena *a = arena_new();
	const char *key = store_msgid(a, msgid);
	int ret = 1;
	if (key != NULL && sha256_hex != NULL && pg_text_ok(key) && pg_text_ok(sha256_hex)) {
		struct pg_params p = {0};
		pg_p_text(&p, key);
		pg_p_text(&p, sha256_hex);
		ret = pg_int_of(st, sql, &p, id_r, "checking duplicates", why);
	}
	arena_free(&a);
	return ret;
}

void
pg_read_summary(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_message_summary *m = p;
	m->id = pg_int(r, row, 0);
	m->received_at = (time_t)pg_int(r, row, 1);
	m->from_addr = pg_str(a, r, row, 2);
	m->subject = pg_str(a, r, row, 3);
	m->message_id = pg_str(a, r, row, 4);
	m->size = (uint64_t)pg_int(r, row, 5);
	m->placements = pg_str(a, r, row, 6);
	m->unreadable = pg_int(r, row, 7) != 0;
}

void
pg_message_filter_params(struct pg_params *p, const struct store_message_filter *f)
{
	pg_p_text(p, f ? f->project : NULL);
	pg_p_text(p, f ? f->user : NULL);
	pg_p_bool(p, f && f->unassigned);
	pg_p_bool(p, f && f->fallback);
	pg_p_int(p, f && f->limit ? (int64_t)f->limit : 100);
	pg_p_text(p, f ? f->stakeholder : NULL);
	pg_p_int(p, store_before(f ? f->before : 0));
}

int
pg_store_message_list(struct store *st, struct arena *a, const struct store_message_filter *f,
                      struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = PG_SUMMARY_COLS "FROM messages m WHERE" PG_MESSAGE_FILTER
		" AND m.id < $7 ORDER BY m.id DESC LIMIT $5";
	*out = NULL;
	*n = 0;
	if (f != NULL && f->search != NULL)
		return pg_message_search(st, a, f, out, n, why);
	if (!pg_message_filter_ok(f))
		return 0;
	struct pg_params p = {0};
	pg_message_filter_params(&p, f);
	return pg_collect(st, a, sql, &p, sizeof(**out), pg_read_summary, out, n, "listing messages", why);
}

/* A struct store_message without its bytes (columns 0-19). */
static void
read_message(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_message *m = p;
	memset(m, 0, sizeof(*m));
	pg_read_summary(a, r, row, &m->s);
	m->source = pg_str(a, r, row, 8);
	m->peer_ip = pg_str(a, r, row, 9);
	m->helo = pg_str(a, r, row, 10);
	m->mail_from = pg_str(a, r, row, 11);
	m->rcpts = pg_str(a, r, row, 12);
	m->in_reply_to = pg_text(a, r, row, 13);
	m->date = pg_text(a, r, row, 14);
	m->sha256 = pg_str(a, r, row, 15);
	m->parsed_json = pg_text(a, r, row, 16);
	m->auth_json = pg_text(a, r, row, 17);
	m->thread_id = pg_int(r, row, 18);
	m->references = pg_text(a, r, row, 19);
}

int
pg_store_message_meta(struct store *st, struct arena *a, int64_t id, struct store_message *out,
                      struct pr_why *why)
{
	static const char sql[] = PG_SUMMARY_COLS ", m.source, m.peer_ip, m.helo, m.mail_from, m.rcpts,"
		" m.in_reply_to, m.date, m.sha256, m.parsed_json, m.auth_json, m.thread_id, m.refs"
		" FROM messages m WHERE m.id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_one(st, a, sql, &p, read_message, out, "reading a message", why);
}

/* Where the chunks of a message go, one at a time. */
typedef int (*chunk_fn)(void *ctx, const uint8_t *data, size_t len, struct pr_why *why);

/* Each chunk of message id in order (one row fetched per statement, so
 * only one chunk is in memory): 0, 1 when the message has no chunk, -1. */
static int
each_chunk(struct store *st, int64_t id, chunk_fn fn, void *ctx, struct pr_why *why)
{
	static const char sql[] = "SELECT data FROM message_chunks WHERE message_id = $1 AND seq = $2";
	for (int64_t seq = 0;; seq++) {
		struct pg_params p = {0};
		pg_p_int(&p, id);
		pg_p_int(&p, seq);
		PGresult *r = pg_run(st, sql, &p, "reading message bytes", why);
		if (r == NULL)
			return -1;
		if (PQntuples(r) == 0) {
			PQclear(r);
			return seq == 0 ? 1 : 0;
		}
		size_t len = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &len);
		PQclear(r);
		if (b == NULL) {
			pr_why_set(why, PR_E_STORE_FAILED, "reading message bytes: out of memory");
			return -1;
		}
		int rc = fn(ctx, b, len, why);
		PQfreemem(b);
		if (rc < 0)
			return -1;
	}
}

/* The bytes joined in an arena buffer, sized by the message's size (and
 * grown should the chunks hold more). */
struct joined {
	struct arena *a;
	uint8_t *data;
	size_t len, cap;
};

static int
join_chunk(void *ctx, const uint8_t *data, size_t len, struct pr_why *why)
{
	struct joined *j = ctx;
	(void)why;
	if (len > j->cap - j->len) {
		size_t cap = j->len + len > 2 * j->cap ? j->len + len : 2 * j->cap;
		uint8_t *grown = arena_alloc(j->a, cap + 1);
		if (j->len)
			memcpy(grown, j->data, j->len);
		j->data = grown;
		j->cap = cap;
	}
	memcpy(j->data + j->len, data, len);
	j->len += len;
	j->data[j->len] = '\0';
	return 0;
}

int
pg_store_message_get(struct store *st, struct arena *a, int64_t id, struct store_message *out,
                     struct pr_why *why)
{
	int rc = pg_store_message_meta(st, a, id, out, why);
	if (rc != 0)
		return rc;
	struct joined j = {a, NULL, 0, (size_t)out->s.size};
	j.data = arena_alloc(a, j.cap + 1);
	rc = each_chunk(st, id, join_chunk, &j, why);
	if (rc < 0)
		return -1;
	/* No chunk at all: a message stored without bytes reads as empty. */
	out->raw = rc == 1 ? (const uint8_t *)"" : j.data;
	out->raw_len = rc == 1 ? 0 : j.len;
	return 0;
}

static int
write_chunk(void *ctx, const uint8_t *data, size_t len, struct pr_why *why)
{
	if (fwrite(data, 1, len, ctx) == len)
		return 0;
	pr_why_set(why, PR_E_IO, "writing the message failed");
	return -1;
}

/* Stream the stored bytes chunk by chunk: `messages show --raw` of a
 * 20 MiB message should not need 20 MiB of heap. */
int
pg_store_message_write_raw(struct store *st, int64_t id, FILE *out, struct pr_why *why)
{
	static const char exists[] = "SELECT 1 FROM messages WHERE id = $1";
	int rc = each_chunk(st, id, write_chunk, out, why);
	if (rc != 1)
		return rc;
	struct pg_params p = {0};
	pg_p_int(&p, id);
	int found = pg_exists(st, exists, &p, "reading message bytes", why);
	if (found < 0)
		return -1;
	if (found)
		return 0;   /* stored without bytes: nothing to write */
	pr_why_set(why, PR_E_NOT_FOUND, "no message %lld", (long long)id);
	return 1;
}

static int
check_target(struct store *st, const struct store_placement *to, struct pr_why *why)
{
	int64_t uid;
	if (to->kind == ROUTE_PROJECT)
		return pg_project_exists(st, to->target, why) == 0 ? 0 : -1;
	if (to->kind == ROUTE_USER)
		return pg_user_id(st, to->target, &uid, why) == 0 ? 0 : -1;
	if (to->kind == ROUTE_UNASSIGNED || to->kind == ROUTE_FALLBACK)
		return 0;
	pr_why_set(why, PR_E_INVALID, "a message can only move to a project, a user, Unassigned or Fallback");
	return -1;
}

int
pg_store_message_move(struct store *st, int64_t id, const struct store_placement *to,
                      struct pr_why *why)
{
	static const char del[] = "DELETE FROM placements WHERE message_id = $1";
	static const char ins[] = "INSERT INTO placements(message_id, kind, target, via)"
		" SELECT id, $2, $3, $4 FROM messages WHERE id = $1";
	if (pg_begin(st, why) < 0)
		return -1;
	struct pg_params p = {0};
	pg_p_int(&p, id);
	if (check_target(st, to, why) < 0 || pg_thread_places_removing(st, id, why) < 0 ||
	    pg_do(st, del, &p, "refiling a message", why) < 0)
		goto fail;
	pg_p_text(&p, route_kind_name(to->kind));
	pg_p_text(&p, to->target ? to->target : "");
	pg_p_text(&p, to->via ? to->via : "moved");
	int64_t added = pg_do(st, ins, &p, "refiling a message", why);
	if (added < 0)
		goto fail;
	if (added == 0) {
		pr_why_set(why, PR_E_NOT_FOUND, "no message %lld", (long long)id);
		goto fail;
	}
	if (pg_thread_place_added(st, id, route_kind_name(to->kind), to->target, why) < 0 ||
	    pg_webhook_placed(st, id, route_kind_name(to->kind), to->target, why) < 0)
		goto fail;
	return pg_commit(st, why);
fail:
	pg_rollback(st);
	return -1;
}
