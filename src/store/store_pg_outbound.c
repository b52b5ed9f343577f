/* store_pg_outbound.c - STUBS, generated: the PostgreSQL side of store_sqlite_outbound.c is not
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
pg_store_outbound_enqueue(struct store *st, struct store_msg *m, struct pr_why *why)
{
	return not_yet(why, "store_outbound_enqueue");
}

int
pg_store_outbound_get(struct store *st, struct arena *a, int64_t id, struct store_outbound *out, struct pr_why *why)
{
	return not_yet(why, "store_outbound_get");
}

int
pg_store_outbound_by_message(struct store *st, struct arena *a, int64_t message_id, struct store_outbound *out, struct pr_why *why)
{
	return not_yet(why, "store_outbound_by_message");
}

int
pg_store_outbound_by_msgid(struct store *st, struct arena *a, const char *msgid, struct store_outbound *out, struct pr_why *why)
{
	return not_yet(why, "store_outbound_by_msgid");
}

int
pg_store_outbound_list(struct store *st, struct arena *a, const struct store_outbound_filter *f, struct store_outbound **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_outbound_list");
}

int
pg_outbound_insert(struct store *st, struct store_msg *m, struct pr_why *why)
{
	return not_yet(why, "pg_outbound_insert");
}
