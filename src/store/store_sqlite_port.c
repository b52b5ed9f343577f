/* store_sqlite_port.c - the SQLite side of `postroom migrate`, `export`
 * and `import` (the format and the table list are api_export.c's).
 *
 * Rows are read and written by their logical columns, named by the
 * caller's static table list (never by a file), with the statement built
 * for that table.  A message's bytes are imported into message_raw, plain
 * (codec 0), written into a zeroblob piece by piece: an imported message
 * is never whole in memory, and reads need nothing new (message_raw plain
 * is what every older store holds).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"


static int
user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		*v = sqlite3_column_int(s, 0), rc = SQLITE_OK;
	sqlite3_finalize(s);
	return rc;
}

int
sqlite_schema_peek(const char *path, int *current_r, int *known_r, struct pr_why *why)
{
	struct stat sb;
	*known_r = sq_migrations_known();
	*current_r = 0;
	if (stat(path, &sb) < 0 && errno == ENOENT)
		return 0;
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = user_version(db, current_r);
	}
	if (rc != SQLITE_OK)
		pr_why_set(why, PR_E_STORE_FAILED, "cannot read the schema version of %s: %s", path,
		           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

int
sqlite_store_schema_version(struct store *st, int *current_r, int *known_r, struct pr_why *why)
{
	*known_r = sq_migrations_known();
	int rc = user_version(st->db, current_r);
	return rc == SQLITE_OK ? 0 : sq_fail(st, rc, "reading the schema version", why);
}

/* What an import must find empty: anything a person or mail put there.
 * (settings_version's one row is the schema's own.) */
static const char import_empty_sql[] =
	"SELECT EXISTS(SELECT 1 FROM users) OR EXISTS(SELECT 1 FROM projects)"
	" OR EXISTS(SELECT 1 FROM domains) OR EXISTS(SELECT 1 FROM stakeholders)"
	" OR EXISTS(SELECT 1 FROM aliases) OR EXISTS(SELECT 1 FROM settings)"
	" OR EXISTS(SELECT 1 FROM messages) OR EXISTS(SELECT 1 FROM intake_log)"
	" OR EXISTS(SELECT 1 FROM api_tokens) OR EXISTS(SELECT 1 FROM webhooks)";

int
sqlite_store_port_begin(struct store *st, bool import, struct pr_why *why)
{
	/* An export reads one snapshot (a deferred transaction: WAL readers
	 * never block the writer); an import is one write transaction. */
	if (!import)
		return sq_exec(st, "BEGIN", why);
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, import_empty_sql, why);
	if (s == NULL)
		goto fail;
	int64_t used = 0;
	if (sq_one(st, NULL, s, sq_read_int64, &used, "checking the store is empty", why) < 0)
		goto fail;
	if (used) {
		pr_why_set(why, PR_E_EXISTS, "%s already holds data: import only into a new, empty store "
		           "(a new --store path)", st->path);
		goto fail;
	}
	st->importing = true;
	return 0;
fail:
	sq_rollback(st);
	return -1;
}

/* The file carries messages' logical columns, not the lookup key this
 * backend derives from one (migration 22): made here, in the import's
 * transaction, for every row it wrote. */
static const char import_keys_sql[] =
	"UPDATE messages SET msgid_key = postroom_msgid_key(message_id)"
	" WHERE msgid_key IS NULL AND message_id IS NOT NULL";

int
sqlite_store_port_end(struct store *st, bool commit, struct pr_why *why)
{
	bool importing = st->importing;
	st->importing = false;
	if (!commit) {
		sq_rollback(st);
		return 0;
	}
	if (importing && sq_exec(st, import_keys_sql, why) < 0) {
		sq_rollback(st);
		return -1;
	}
	return sq_commit(st, why);
}

/* A text column holding a blob is messages.sha256's digest, exported as
 * its hex, or deflated text (store_sqlite_zraw.c), exported as the text
 * it holds, in the row's arena. */
static int
read_value(struct arena *a, sqlite3_stmt *s, int col, char kind, struct store_value *v,
           struct pr_why *why)
{
	int type = sqlite3_column_type(s, col);
	memset(v, 0, sizeof(*v));
	if (type == SQLITE_NULL)
		return 0;
	if (kind == 't' && type == SQLITE_BLOB && strcmp(sqlite3_column_name(s, col), "sha256") == 0) {
		v->kind = STORE_V_TEXT;
		v->p = sq_col_digest(a, s, col);
		v->len = strlen(v->p);
	} else if (kind == 't' && type == SQLITE_BLOB) {
		const char *t = sq_text_unpack(a, sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col));
		if (t == NULL) {
			pr_why_set(why, PR_E_STORE_FAILED, "column %s of a row does not inflate: the store file is "
			           "damaged; restore it from a backup", sqlite3_column_name(s, col));
			return -1;
		}
		v->kind = STORE_V_TEXT;
		v->p = t;
		v->len = strlen(t);
	} else if (kind == 'i') {
		v->kind = STORE_V_INT;
		v->i = sqlite3_column_int64(s, col);
	} else if (kind == 'b') {
		v->kind = STORE_V_BLOB;
		v->p = sqlite3_column_blob(s, col);
		v->len = (size_t)sqlite3_column_bytes(s, col);
	} else {
		v->kind = STORE_V_TEXT;
		v->p = sqlite3_column_text(s, col);
		v->len = (size_t)sqlite3_column_bytes(s, col);
	}
	return 0;
}

int
sqlite_store_table_rows(struct store *st, const struct store_table *t, store_row_fn fn, void *ctx,
                        struct pr_why *why)
{
	char sql[STORE_TABLE_SQL_MAX];
	struct store_value v[64];
	sqlite3_stmt *s = NULL;
	if (t->ncols > 64 || store_table_sql(t, false, '?', t->ordered ? "rowid" : NULL, sql, sizeof(sql), why) < 0)
		return -1;
	char what[96];
	snprintf(what, sizeof(what), "reading table %s to export", t->name);
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(st, rc, what, why);
	int ret = 0;
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct arena *a = arena_new();
		for (size_t i = 0; ret == 0 && i < t->ncols; i++)
			ret = read_value(a, s, (int)i, t->kinds[i], &v[i], why);
		if (ret == 0)
			ret = fn(ctx, v, why);
		arena_free(&a);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sq_fail(st, rc, what, why);
	sqlite3_finalize(s);
	return ret;
}

static void
bind_value(sqlite3_stmt *s, int i, const struct store_value *v)
{
	if (v->kind == STORE_V_INT)
		sqlite3_bind_int64(s, i, v->i);
	else if (v->kind == STORE_V_TEXT)
		sqlite3_bind_text64(s, i, v->p, v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
	else if (v->kind == STORE_V_BLOB)
		sqlite3_bind_blob64(s, i, v->p, v->len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

int
sqlite_store_import_row(struct store *st, const struct store_table *t, const struct store_value *v,
                        struct pr_why *why)
{
	char sql[STORE_TABLE_SQL_MAX];
	sqlite3_stmt *s = NULL;
	if (store_table_sql(t, true, '?', NULL, sql, sizeof(sql), why) < 0)
		return -1;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(st, rc, "preparing an imported row", why);
	for (size_t i = 0; i < t->ncols; i++)
		bind_value(s, (int)i + 1, &v[i]);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return 0;
	char what[96];
	snprintf(what, sizeof(what), "importing a row of %s", t->name);
	return sq_fail(st, rc, what, why);
}

int
sqlite_store_import_bytes(struct store *st, int64_t message_id, int64_t total, int64_t off,
                          const void *data, size_t len, struct pr_why *why)
{
	static const char ins[] = "INSERT INTO message_raw(message_id, raw, codec) VALUES(?1, zeroblob(?2), 0)";
	if (total < 0 || total > 0x7fffffff || off < 0 || (uint64_t)off + len > (uint64_t)total) {
		pr_why_set(why, PR_E_INVALID, "message %lld: bytes at %lld..+%zu do not fit its %lld",
		           (long long)message_id, (long long)off, len, (long long)total);
		return -1;
	}
	if (off == 0) {
		sqlite3_stmt *s = sq_prep(st, ins, why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, message_id);
		sqlite3_bind_int64(s, 2, total);
		if (sq_step_insert(st, s, why, "message %lld has its bytes twice", (long long)message_id) < 0)
			return -1;
	}
	if (len == 0)
		return 0;
	sqlite3_blob *b = NULL;
	int rc = sqlite3_blob_open(st->db, "main", "message_raw", "raw", message_id, 1, &b);
	if (rc == SQLITE_OK)
		rc = sqlite3_blob_write(b, data, (int)len, (int)off);
	int crc = b ? sqlite3_blob_close(b) : SQLITE_OK;
	if (rc != SQLITE_OK || crc != SQLITE_OK)
		return sq_fail(st, rc != SQLITE_OK ? rc : crc, "writing imported message bytes", why);
	return 0;
}

/* As sq_search_add indexes a message it stores: the subject, From and
 * every address of people, and the text; none of them may start with the
 * term-list mark (store_sqlite_terms.c), which is no word character. */
int
sqlite_store_import_search(struct store *st, int64_t message_id, const char *text, struct pr_why *why)
{
	static const char sql[] = SQ_SEARCH_INSERT " SELECT m.id, ltrim(?2, char(1)),"
		" ltrim(coalesce(m.from_addr, '') || coalesce((SELECT ' ' || group_concat(address, ' ') FROM"
		" (SELECT address FROM people WHERE message_id = m.id ORDER BY rowid)), ''), char(1)),"
		" ltrim(coalesce(m.subject, ''), char(1)) FROM messages m WHERE m.id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, message_id);
	sq_bind_text(s, 2, text ? text : "");
	return sq_step_done(st, s, "indexing an imported message for search", why);
}
