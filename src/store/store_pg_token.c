/* store_pg_token.c - API tokens of the HTTP API over PostgreSQL
 * (store_sqlite_token.c's twin).  See store.h.
 *
 * Only the SHA-256 of a token is stored (BYTEA), under a UNIQUE index, so
 * the lookup on every request is one index search and the table holds
 * nothing a reader of the database could present as a credential.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

#define TOKEN_COLS "SELECT id, name, scope, created_at FROM api_tokens "

static void
read_token(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_token *t = p;
	t->id = pg_int(r, row, 0);
	t->name = pg_str(a, r, row, 1);
	t->scope = pg_str(a, r, row, 2);
	t->created_at = (time_t)pg_int(r, row, 3);
}

int
pg_store_token_add(struct store *st, const char *name, const char *scope,
                   const unsigned char hash[STORE_TOKEN_HASH_LEN], time_t now, int64_t *id_r,
                   struct pr_why *why)
{
	static const char sql[] = "INSERT INTO api_tokens(name, scope, hash, created_at)"
	                          " VALUES($1, $2, $3, $4) RETURNING id";
	if (!pg_text_ok(name) || !pg_text_ok(scope))
		return pg_not_text("token name", why);
	struct pg_params p = {0};
	pg_p_text(&p, name);
	pg_p_text(&p, scope);
	pg_p_bytes(&p, hash, STORE_TOKEN_HASH_LEN);
	pg_p_int(&p, (int64_t)now);
	return pg_insert_id(st, sql, &p, id_r, why, "a token named %s exists already", name);
}

int
pg_store_token_find(struct store *st, struct arena *a, const unsigned char hash[STORE_TOKEN_HASH_LEN],
                    struct store_token *out, struct pr_why *why)
{
	static const char sql[] = TOKEN_COLS "WHERE hash = $1";
	struct pg_params p = {0};
	pg_p_bytes(&p, hash, STORE_TOKEN_HASH_LEN);
	return pg_one(st, a, sql, &p, read_token, out, "looking up an API token", why);
}

int
pg_store_token_list(struct store *st, struct arena *a, struct store_token **out, size_t *n,
                    struct pr_why *why)
{
	static const char sql[] = TOKEN_COLS "ORDER BY id";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_token, out, n, "listing API tokens", why);
}

int
pg_store_token_remove(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM api_tokens WHERE id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_changed(st, sql, &p, "removing an API token", why, "no API token %lld", (long long)id);
}
