/* store_pg_whq.c - STUBS, generated: the PostgreSQL side of store_sqlite_whq.c is not
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
pg_store_webhook_claim(struct store *st, struct arena *a, const char *owner, time_t now, int lease_seconds, size_t max, struct store_webhook_delivery **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_webhook_claim");
}

int
pg_store_webhook_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now, bool ok, int status, const char *error, time_t next_at, time_t retry_for, struct pr_why *why)
{
	return not_yet(why, "store_webhook_result");
}

int
pg_store_webhook_retry(struct store *st, int64_t id, time_t now, struct pr_why *why)
{
	return not_yet(why, "store_webhook_retry");
}
