/* store_pg_bounce.c - STUBS, generated: the PostgreSQL side of store_sqlite_bounce.c is not
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
pg_store_outbound_bounced(struct store *st, int64_t id, const char *rcpt, const char *reply, time_t now, struct pr_why *why)
{
	return not_yet(why, "store_outbound_bounced");
}
