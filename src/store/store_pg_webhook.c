/* store_pg_webhook.c - STUBS, generated: the PostgreSQL side of store_sqlite_webhook.c is not
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
pg_store_webhook_add(struct store *st, const char *url, const char *project, const char *secret, time_t now, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "store_webhook_add");
}

int
pg_store_webhook_remove(struct store *st, int64_t id, struct pr_why *why)
{
	return not_yet(why, "store_webhook_remove");
}

int
pg_store_webhook_list(struct store *st, struct arena *a, struct store_webhook **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_webhook_list");
}

int
pg_store_webhooks_exist(struct store *st, bool *any_r, struct pr_why *why)
{
	return not_yet(why, "store_webhooks_exist");
}

int
pg_store_webhook_deliveries(struct store *st, struct arena *a, const struct store_webhook_filter *f, struct store_webhook_delivery **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_webhook_deliveries");
}

int
pg_webhook_placed(struct store *st, int64_t message_id, const char *kind, const char *target, struct pr_why *why)
{
	return not_yet(why, "pg_webhook_placed");
}
