/* store_pg_alias.c - STUBS, generated: the PostgreSQL side of store_sqlite_alias.c is not
 * written yet.  Whoever owns this area replaces this file. */
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_pg.h"

static int
not_yet(struct pr_why *why, const char *call)
{
	pr_why_set(why, PR_E_STORE_FAILED, "%s is not built for PostgreSQL yet", call);
	return -1;
}

int
pg_store_alias_add(struct store *st, const char *address, const char *const *users, size_t nusers, struct pr_why *why)
{
	return not_yet(why, "store_alias_add");
}

int
pg_store_alias_remove(struct store *st, const char *address, struct pr_why *why)
{
	return not_yet(why, "store_alias_remove");
}

int
pg_store_alias_list(struct store *st, struct arena *a, struct store_alias **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_alias_list");
}

int
pg_store_alias_get(struct store *st, struct arena *a, const char *address, struct store_alias *out, struct pr_why *why)
{
	return not_yet(why, "store_alias_get");
}

int
pg_store_domain_add(struct store *st, const char *domain, struct pr_why *why)
{
	return not_yet(why, "store_domain_add");
}

int
pg_store_domain_remove(struct store *st, const char *domain, struct pr_why *why)
{
	return not_yet(why, "store_domain_remove");
}

int
pg_store_domain_list(struct store *st, struct arena *a, const char ***out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_domain_list");
}

int
pg_store_domain_first(struct store *st, struct arena *a, const char **out, struct pr_why *why)
{
	return not_yet(why, "store_domain_first");
}

int
pg_store_domain_served(struct store *st, const char *domain, struct pr_why *why)
{
	return not_yet(why, "store_domain_served");
}
