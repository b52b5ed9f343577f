/* store_sqlite_stmt.c - the statement helpers every store_sqlite_*.c
 * file uses: the per-connection statement cache, stepping with SQLite
 * failures mapped to pr_err (busy -> PR_E_STORE_BUSY, a UNIQUE clash ->
 * PR_E_EXISTS), transactions, binding, and reading rows into arena arrays.
 *
 * Everything a caller gets back is copied into its arena: column text
 * from SQLite is only valid until the next step, and every statement is
 * reset (sq_done) before a helper returns, so no read lock outlives a call.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/text.h"
#include "store/store.h"
#include "store/store_sqlite.h"

int
sq_fail(struct store *st, int rc, const char *what, struct pr_why *why)
{
	int prim = rc & 0xff;
	const char *msg = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		pr_why_set(why, PR_E_STORE_BUSY, "%s: the store is busy (%s)", what, msg);
	else
		pr_why_set(why, PR_E_STORE_FAILED, "%s: %s", what, msg);
	return -1;
}

sqlite3_stmt *
sq_prep(struct store *st, const char *sql, struct pr_why *why)
{
	for (int i = 0; i < st->ncache; i++)
		if (st->cache[i].sql == sql)
			return st->cache[i].stmt;
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK) {
		sq_fail(st, rc, "preparing a query", why);
		return NULL;
	}
	if (st->ncache == SQ_MAX_STMTS)
		pr_panic("store: more than %d distinct statements; raise SQ_MAX_STMTS", SQ_MAX_STMTS);
	st->cache[st->ncache].sql = sql;
	st->cache[st->ncache++].stmt = s;
	return s;
}

const char *
sq_cached_sql(const struct store *st, int i)
{
	return i >= 0 && i < st->ncache ? st->cache[i].sql : NULL;
}

void
sq_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int
sq_step_done(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why)
{
	int rc = sqlite3_step(s);
	int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(st, rc, what, why);
	sq_done(s);
	return ret;
}

/* pr_why_set with a va_list (err.h has no such variant). */
static void
why_vset(struct pr_why *why, enum pr_err code, const char *fmt, va_list ap)
{
	char text[PR_WHY_DETAIL_MAX];
	vsnprintf(text, sizeof(text), fmt, ap);
	pr_why_set(why, code, "%s", text);
}

sqlite3_stmt *
sq_prep_key(struct store *st, const char *sql, const char *key, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s != NULL)
		sq_bind_text(s, 1, key);
	return s;
}

void
sq_read_int64(struct arena *a, sqlite3_stmt *s, void *p)
{
	(void)a;
	*(int64_t *)p = sqlite3_column_int64(s, 0);
}

sqlite3_stmt *
sq_prep_keys(struct store *st, const char *sql, const char *k1, const char *k2, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep_key(st, sql, k1, why);
	if (s != NULL)
		sq_bind_text(s, 2, k2);
	return s;
}

int
sq_step_insert(struct store *st, sqlite3_stmt *s, struct pr_why *why, const char *exists_fmt, ...)
{
	int rc = sqlite3_step(s);
	sq_done(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		va_list ap;
		va_start(ap, exists_fmt);
		why_vset(why, PR_E_EXISTS, exists_fmt, ap);
		va_end(ap);
		return -1;
	}
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
		pr_why_set(why, PR_E_NOT_FOUND, "a referenced item does not exist");
		return -1;
	}
	return sq_fail(st, rc, "storing", why);
}

int
sq_step_changed(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why,
                const char *missing_fmt, ...)
{
	if (sq_step_done(st, s, what, why) < 0)
		return -1;
	if (sqlite3_changes(st->db) > 0)
		return 0;
	va_list ap;
	va_start(ap, missing_fmt);
	why_vset(why, PR_E_NOT_FOUND, missing_fmt, ap);
	va_end(ap);
	return -1;
}

int
sq_exists(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why)
{
	int rc = sqlite3_step(s);
	sq_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_fail(st, rc, what, why);
}

int
sq_link(struct store *st, const char *sql, const char *key, int64_t id, const char *what,
        struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep_key(st, sql, key, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 2, id);
	return sq_step_done(st, s, what, why);
}

void *
sq_grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = arena_alloc(a, ncap * elem);
	if (n)
		memcpy(nv, arr, n * elem);
	*cap = ncap;
	return nv;
}

int
sq_collect(struct store *st, struct arena *a, sqlite3_stmt *s, size_t elem, sq_read_fn read,
           void *out, size_t *n, const char *what, struct pr_why *why)
{
	void **arr = out;
	size_t cap = 0;
	int rc;
	*arr = NULL;
	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*arr = sq_grow(a, *arr, *n, &cap, elem);
		read(a, s, (char *)*arr + elem * (*n)++);
	}
	sq_done(s);
	return rc == SQLITE_DONE ? 0 : sq_fail(st, rc, what, why);
}

int
sq_one(struct store *st, struct arena *a, sqlite3_stmt *s, sq_read_fn read, void *out,
       const char *what, struct pr_why *why)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read(a, s, out);
	sq_done(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : sq_fail(st, rc, what, why);
}

int
sq_list(struct store *st, struct arena *a, const char *sql, size_t elem, sq_read_fn read,
        void *out, size_t *n, const char *what, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL) {
		*(void **)out = NULL;
		*n = 0;
		return -1;
	}
	return sq_collect(st, a, s, elem, read, out, n, what, why);
}

int
sq_get(struct store *st, struct arena *a, const char *sql, const char *key, sq_read_fn read,
       void *out, const char *what, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep_key(st, sql, key, why);
	return s ? sq_one(st, a, s, read, out, what, why) : -1;
}

int
sq_exec(struct store *st, const char *sql, struct pr_why *why)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(st, rc, sql, why);
}

int
sq_begin(struct store *st, struct pr_why *why)
{
	sqlite_store_reads_end(st);  /* a write inside a read batch ends it */
	return sq_exec(st, "BEGIN IMMEDIATE", why);
}

int
sq_commit(struct store *st, struct pr_why *why)
{
	if (sq_exec(st, "COMMIT", why) == 0)
		return 0;
	sq_rollback(st);
	return -1;
}

void
sq_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void
sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

const char *
sq_col_text(struct arena *a, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	if (t == NULL)
		return NULL;
	return arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(s, col));
}

const char *
sq_col_str(struct arena *a, sqlite3_stmt *s, int col)
{
	const char *t = sq_col_text(a, s, col);
	return t ? t : "";
}

void
sq_bind_digest(sqlite3_stmt *s, int i, const char *hex)
{
	uint8_t d[SQ_DIGEST_LEN];
	if (hex != NULL && text_unhex(hex, d, sizeof(d)))
		sqlite3_bind_blob(s, i, d, sizeof(d), SQLITE_TRANSIENT);
	else
		sq_bind_text(s, i, hex);
}

const char *
sq_col_digest(struct arena *a, sqlite3_stmt *s, int col)
{
	if (sqlite3_column_type(s, col) != SQLITE_BLOB || sqlite3_column_bytes(s, col) != SQ_DIGEST_LEN)
		return sq_col_str(a, s, col);
	char *hex = arena_alloc(a, 2 * SQ_DIGEST_LEN + 1);
	text_hex(sqlite3_column_blob(s, col), SQ_DIGEST_LEN, hex);
	return hex;
}

