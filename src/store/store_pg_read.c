/* store_pg_read.c - STUBS, generated: the PostgreSQL side of store_sqlite_read.c is not
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
pg_store_message_by_msgid(struct store *st, const char *msgid, int64_t *id_r, int64_t *thread_r, struct pr_why *why)
{
	return not_yet(why, "store_message_by_msgid");
}

int
pg_store_message_find_duplicate(struct store *st, const char *msgid, const char *sha256_hex, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "store_message_find_duplicate");
}

int
pg_store_message_list(struct store *st, struct arena *a, const struct store_message_filter *f, struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_message_list");
}

int
pg_store_message_get(struct store *st, struct arena *a, int64_t id, struct store_message *out, struct pr_why *why)
{
	return not_yet(why, "store_message_get");
}

int
pg_store_message_meta(struct store *st, struct arena *a, int64_t id, struct store_message *out, struct pr_why *why)
{
	return not_yet(why, "store_message_meta");
}

int
pg_store_message_write_raw(struct store *st, int64_t id, FILE *out, struct pr_why *why)
{
	return not_yet(why, "store_message_write_raw");
}

int
pg_store_message_move(struct store *st, int64_t id, const struct store_placement *to, struct pr_why *why)
{
	return not_yet(why, "store_message_move");
}
