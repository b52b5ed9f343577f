/* store_pg_log.c - STUBS, generated: the PostgreSQL side of store_sqlite_log.c is not
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
pg_store_log_append(struct store *st, const struct store_log_entry *e, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "store_log_append");
}

int
pg_store_log_prune(struct store *st, time_t before, size_t batch, int64_t *deleted_r, struct pr_why *why)
{
	return not_yet(why, "store_log_prune");
}

int
pg_store_log_prune_days(struct store *st, time_t now, long long days, int64_t *deleted_r, struct pr_why *why)
{
	return not_yet(why, "store_log_prune_days");
}

int
pg_store_log_list(struct store *st, struct arena *a, const struct store_log_filter *f, struct store_log_entry **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_log_list");
}

int
pg_log_insert(struct store *st, const struct store_log_entry *e, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "pg_log_insert");
}
