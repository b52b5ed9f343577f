/* store_pg_outq.c - STUBS, generated: the PostgreSQL side of store_sqlite_outq.c is not
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
pg_store_outbound_claim(struct store *st, struct arena *a, const char *owner, time_t now, int lease_seconds, size_t max, struct store_outbound **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_outbound_claim");
}

int
pg_store_outbound_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now, const struct store_outbound_rcpt_result *r, size_t nr, time_t next_at, const char *reply, struct pr_why *why)
{
	return not_yet(why, "store_outbound_result");
}

int
pg_store_outbound_retry(struct store *st, int64_t id, time_t now, time_t retry_for, struct pr_why *why)
{
	return not_yet(why, "store_outbound_retry");
}

int
pg_store_outbound_cancel(struct store *st, int64_t id, time_t now, struct pr_why *why)
{
	return not_yet(why, "store_outbound_cancel");
}
