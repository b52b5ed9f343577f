/* store_pg_stats.c - STUBS, generated: the PostgreSQL side of store_sqlite_stats.c is not
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
pg_store_queue_depths(struct store *st, struct store_depths *out, struct pr_why *why)
{
	return not_yet(why, "store_queue_depths");
}
