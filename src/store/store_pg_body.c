/* store_pg_body.c - STUBS, generated: the PostgreSQL side of store_sqlite_body.c is not
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
pg_store_body_put(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	return not_yet(why, "store_body_put");
}

int
pg_store_body_sweep(struct store *st, time_t live_since, int64_t *removed_r, struct pr_why *why)
{
	return not_yet(why, "store_body_sweep");
}
