/* store_sqlite_token.c - API tokens of the HTTP API.  See store.h.
 *
 * Only the SHA-256 of a token is stored, under a UNIQUE index, so the
 * lookup on every request is one index search and the table holds nothing
 * a reader of the database could present as a credential.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#define TOKEN_COLS "SELECT id, name, scope, created_at FROM api_tokens "

static void
read_token(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_token *t = p;
	t->id = sqlite3_column_int64(s, 0);
	t->name = sq_col_str(a, s, 1);
	t->scope = sq_col_str(a, s, 2);
	t->created_at = (time_t)sqlite3_column_int64(s, 3);
}

int
sqlite_store_token_add(struct store *st, const char *name, const char *scope,
                const unsigned char hash[STORE_TOKEN_HASH_LEN], time_t now, int64_t *id_r,
                struct pr_why *why)
{
	static const char sql[] = "INSERT INTO api_tokens(name, scope, hash, created_at)"
	                          " VALUES(?1, ?2, ?3, ?4)";
	sqlite3_stmt *s = sq_prep_keys(st, sql, name, scope, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 3, hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	if (sq_step_insert(st, s, why, "a token named %s exists already", name) < 0)
		return -1;
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
sqlite_store_token_find(struct store *st, struct arena *a, const unsigned char hash[STORE_TOKEN_HASH_LEN],
                 struct store_token *out, struct pr_why *why)
{
	static const char sql[] = TOKEN_COLS "WHERE hash = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	return sq_one(st, a, s, read_token, out, "looking up an API token", why);
}

int
sqlite_store_token_list(struct store *st, struct arena *a, struct store_token **out, size_t *n,
                 struct pr_why *why)
{
	static const char sql[] = TOKEN_COLS "ORDER BY id";
	return sq_list(st, a, sql, sizeof(**out), read_token, out, n, "listing API tokens", why);
}

int
sqlite_store_token_remove(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM api_tokens WHERE id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return sq_step_changed(st, s, "removing an API token", why, "no API token %lld", (long long)id);
}
