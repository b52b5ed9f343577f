/* store_pg_pop3.c - STUBS, generated: the PostgreSQL side of store_sqlite_pop3.c is not
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
pg_store_pop3_known_uidl(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why)
{
	return not_yet(why, "store_pop3_known_uidl");
}

int
pg_store_pop3_known_hash(struct store *st, const char *mailbox, const char *sha256_hex, struct pr_why *why)
{
	return not_yet(why, "store_pop3_known_hash");
}

int
pg_store_pop3_mark(struct store *st, const char *mailbox, const struct store_pop3_mark *marks, size_t n, struct pr_why *why)
{
	return not_yet(why, "store_pop3_mark");
}

int
pg_store_pop3_touch(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why)
{
	return not_yet(why, "store_pop3_touch");
}

int
pg_store_pop3_expire(struct store *st, time_t before, struct pr_why *why)
{
	return not_yet(why, "store_pop3_expire");
}

int
pg_pop3_record(struct store *st, const char *mailbox, const struct store_pop3_mark *mk, struct pr_why *why)
{
	return not_yet(why, "pg_pop3_record");
}

int
pg_pop3_stored_id(struct store *st, const char *mailbox, const char *sha256_hex, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "pg_pop3_stored_id");
}
