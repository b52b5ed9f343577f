/* store_pg_alias.c - aliases (an address at our domain that fans out to
 * several users) and the domains we accept mail for, over PostgreSQL
 * (store_sqlite_alias.c's twin).  Both are stored lowercased; lookups
 * lowercase their key, so matching is case-insensitive.  Lowercasing is
 * done in C (store_lower, ASCII only, as SQLite's lower()): PostgreSQL's
 * lower() folds other letters too and would find what SQLite does not.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

static void
read_domain(struct arena *a, PGresult *r, int row, void *p)
{
	*(const char **)p = pg_str(a, r, row, 0);
}

#define ALIAS_COLS "SELECT a.address, (SELECT string_agg(u.name, E'\\n' ORDER BY u.name COLLATE \"C\")" \
	" FROM alias_members m JOIN users u ON u.id = m.user_id WHERE m.alias = a.address)" \
	" FROM aliases a "

static void
read_alias(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_alias *al = p;
	memset(al, 0, sizeof(*al));
	al->address = pg_str(a, r, row, 0);
	store_split(a, pg_text(a, r, row, 1), &al->users, &al->nusers);
}

/* One parameter: key lowercased (in a). */
static void
lower_key(struct pg_params *p, struct arena *a, const char *key)
{
	pg_p_text(p, store_lower(a, key));
}

static int
add_members(struct store *st, const char *addr, const char *const *users, size_t n,
            struct pr_why *why)
{
	static const char sql[] = "INSERT INTO alias_members(alias, user_id) VALUES($1, $2)"
	                          " ON CONFLICT DO NOTHING";
	for (size_t i = 0; i < n; i++) {
		int64_t uid;
		if (pg_user_id(st, users[i], &uid, why) != 0)
			return -1;
		struct pg_params p = {0};
		pg_p_text(&p, addr);
		pg_p_int(&p, uid);
		if (pg_do(st, sql, &p, "adding an alias member", why) < 0)
			return -1;
	}
	return 0;
}

int
pg_store_alias_add(struct store *st, const char *address, const char *const *users, size_t nusers,
                   struct pr_why *why)
{
	static const char sql[] = "INSERT INTO aliases(address) VALUES($1)";
	if (!pg_text_ok(address))
		return pg_not_text("alias address", why);
	struct arena *a = arena_new();
	struct pg_params p = {0};
	char *addr = store_lower(a, address);
	pg_p_text(&p, addr);
	if (pg_begin(st, why) < 0)
		goto out;
	if (pg_insert(st, sql, &p, why, "alias %s exists already", addr) < 0 ||
	    add_members(st, addr, users, nusers, why) < 0)
		goto fail;
	arena_free(&a);
	return pg_commit(st, why);
fail:
	pg_rollback(st);
out:
	arena_free(&a);
	return -1;
}

/* DELETE of the one row whose key is key lowercased: 0, or -1 with
 * PR_E_NOT_FOUND and missing (a key that cannot be stored is missing). */
static int
remove_lower(struct store *st, const char *sql, const char *key, const char *what,
             const char *missing, struct pr_why *why)
{
	if (!pg_text_ok(key)) {
		pr_why_set(why, PR_E_NOT_FOUND, "%s", missing);
		return -1;
	}
	struct arena *a = arena_new();
	struct pg_params p = {0};
	lower_key(&p, a, key);
	int rc = pg_changed(st, sql, &p, what, why, "%s", missing);
	arena_free(&a);
	return rc;
}

int
pg_store_alias_remove(struct store *st, const char *address, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM aliases WHERE address = $1";
	char missing[PR_WHY_DETAIL_MAX];
	snprintf(missing, sizeof(missing), "no alias %s", address);
	return remove_lower(st, sql, address, "removing an alias", missing, why);
}

int
pg_store_alias_list(struct store *st, struct arena *a, struct store_alias **out, size_t *n,
                    struct pr_why *why)
{
	static const char sql[] = ALIAS_COLS "ORDER BY a.address COLLATE \"C\"";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_alias, out, n, "listing aliases", why);
}

int
pg_store_alias_get(struct store *st, struct arena *a, const char *address,
                   struct store_alias *out, struct pr_why *why)
{
	static const char sql[] = ALIAS_COLS "WHERE a.address = $1";
	if (!pg_text_ok(address))
		return 1;
	struct pg_params p = {0};
	lower_key(&p, a, address);
	return pg_one(st, a, sql, &p, read_alias, out, "looking up an alias", why);
}

/* ---- domains ---- */

int
pg_store_domain_add(struct store *st, const char *domain, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO domains(name) VALUES($1)";
	if (!pg_text_ok(domain))
		return pg_not_text("domain", why);
	struct arena *a = arena_new();
	struct pg_params p = {0};
	lower_key(&p, a, domain);
	int rc = pg_insert(st, sql, &p, why, "domain %s is served already", domain);
	arena_free(&a);
	return rc;
}

int
pg_store_domain_remove(struct store *st, const char *domain, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM domains WHERE name = $1";
	char missing[PR_WHY_DETAIL_MAX];
	snprintf(missing, sizeof(missing), "domain %s is not served", domain);
	return remove_lower(st, sql, domain, "removing a domain", missing, why);
}

int
pg_store_domain_list(struct store *st, struct arena *a, const char ***out, size_t *n,
                     struct pr_why *why)
{
	static const char sql[] = "SELECT name FROM domains ORDER BY name COLLATE \"C\"";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_domain, out, n, "listing domains", why);
}

/* The domain added first: ord is the insertion order (SQLite's rowid). */
int
pg_store_domain_first(struct store *st, struct arena *a, const char **out, struct pr_why *why)
{
	static const char sql[] = "SELECT name FROM domains ORDER BY ord LIMIT 1";
	*out = NULL;
	return pg_one(st, a, sql, NULL, read_domain, out, "reading the first domain", why);
}

int
pg_store_domain_served(struct store *st, const char *domain, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM domains WHERE name = $1";
	if (!pg_text_ok(domain))
		return 0;
	struct arena *a = arena_new();
	struct pg_params p = {0};
	lower_key(&p, a, domain);
	int rc = pg_exists(st, sql, &p, "looking up a domain", why);
	arena_free(&a);
	return rc;
}
