/* store_sqlite_alias.c - aliases (an address at our domain that fans out
 * to several users) and the domains we accept mail for.  Both are stored
 * lowercased; lookups lowercase their key, so matching is case-insensitive.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

static void
read_domain(struct arena *a, sqlite3_stmt *s, void *p)
{
	*(const char **)p = sq_col_str(a, s, 0);
}

#define ALIAS_COLS "SELECT a.address, (SELECT group_concat(name, char(10)) FROM (SELECT u.name" \
	" FROM alias_members m JOIN users u ON u.id = m.user_id WHERE m.alias = a.address" \
	" ORDER BY u.name)) FROM aliases a "

static void
read_alias(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_alias *al = p;
	memset(al, 0, sizeof(*al));
	al->address = sq_col_str(a, s, 0);
	store_split(a, sq_col_text(a, s, 1), &al->users, &al->nusers);
}

static int
add_members(struct store *st, const char *addr, const char *const *users, size_t n,
            struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO alias_members(alias, user_id) VALUES(?1, ?2)";
	for (size_t i = 0; i < n; i++) {
		int64_t uid;
		if (sq_user_id(st, users[i], &uid, why) != 0 ||
		    sq_link(st, sql, addr, uid, "adding an alias member", why) < 0)
			return -1;
	}
	return 0;
}

int
sqlite_store_alias_add(struct store *st, const char *address, const char *const *users, size_t nusers,
                struct pr_why *why)
{
	static const char sql[] = "INSERT INTO aliases(address) VALUES(?1)";
	struct arena *a = arena_new();
	char *addr = store_lower(a, address);
	if (sq_begin(st, why) < 0)
		goto out;
	sqlite3_stmt *s = sq_prep_key(st, sql, addr, why);
	if (s == NULL)
		goto fail;
	if (sq_step_insert(st, s, why, "alias %s exists already", addr) < 0 ||
	    add_members(st, addr, users, nusers, why) < 0)
		goto fail;
	arena_free(&a);
	return sq_commit(st, why);
fail:
	sq_rollback(st);
out:
	arena_free(&a);
	return -1;
}

int
sqlite_store_alias_remove(struct store *st, const char *address, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM aliases WHERE address = lower(?1)";
	sqlite3_stmt *s = sq_prep_key(st, sql, address, why);
	return s ? sq_step_changed(st, s, "removing an alias", why, "no alias %s", address) : -1;
}

int
sqlite_store_alias_list(struct store *st, struct arena *a, struct store_alias **out, size_t *n,
                 struct pr_why *why)
{
	static const char sql[] = ALIAS_COLS "ORDER BY a.address";
	return sq_list(st, a, sql, sizeof(**out), read_alias, out, n, "listing aliases", why);
}

int
sqlite_store_alias_get(struct store *st, struct arena *a, const char *address,
                struct store_alias *out, struct pr_why *why)
{
	static const char sql[] = ALIAS_COLS "WHERE a.address = lower(?1)";
	return sq_get(st, a, sql, address, read_alias, out, "looking up an alias", why);
}

/* ---- domains ---- */

int
sqlite_store_domain_add(struct store *st, const char *domain, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO domains(name) VALUES(lower(?1))";
	sqlite3_stmt *s = sq_prep_key(st, sql, domain, why);
	return s ? sq_step_insert(st, s, why, "domain %s is served already", domain) : -1;
}

int
sqlite_store_domain_remove(struct store *st, const char *domain, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM domains WHERE name = lower(?1)";
	sqlite3_stmt *s = sq_prep_key(st, sql, domain, why);
	return s ? sq_step_changed(st, s, "removing a domain", why, "domain %s is not served", domain) : -1;
}

int
sqlite_store_domain_list(struct store *st, struct arena *a, const char ***out, size_t *n,
                  struct pr_why *why)
{
	static const char sql[] = "SELECT name FROM domains ORDER BY name";
	return sq_list(st, a, sql, sizeof(**out), read_domain, out, n, "listing domains", why);
}

int
sqlite_store_domain_first(struct store *st, struct arena *a, const char **out, struct pr_why *why)
{
	static const char sql[] = "SELECT name FROM domains ORDER BY rowid LIMIT 1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*out = NULL;
	return s ? sq_one(st, a, s, read_domain, out, "reading the first domain", why) : -1;
}

int
sqlite_store_domain_served(struct store *st, const char *domain, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM domains WHERE name = lower(?1)";
	sqlite3_stmt *s = sq_prep_key(st, sql, domain, why);
	return s ? sq_exists(st, s, "looking up a domain", why) : -1;
}
