/* store_pg_search.c - STUBS, generated: the PostgreSQL side of store_sqlite_search.c is not
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
pg_search_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	return not_yet(why, "pg_search_add");
}

int
pg_message_search(struct store *st, struct arena *a, const struct store_message_filter *f, struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "pg_message_search");
}
