/* store_pg_token.c - STUBS, generated: the PostgreSQL side of store_sqlite_token.c is not
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
pg_store_token_add(struct store *st, const char *name, const char *scope, const unsigned char hash[STORE_TOKEN_HASH_LEN], time_t now, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "store_token_add");
}

int
pg_store_token_find(struct store *st, struct arena *a, const unsigned char hash[STORE_TOKEN_HASH_LEN], struct store_token *out, struct pr_why *why)
{
	return not_yet(why, "store_token_find");
}

int
pg_store_token_list(struct store *st, struct arena *a, struct store_token **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_token_list");
}

int
pg_store_token_remove(struct store *st, int64_t id, struct pr_why *why)
{
	return not_yet(why, "store_token_remove");
}
