/* store_pg_msg.c - STUBS, generated: the PostgreSQL side of store_sqlite_msg.c is not
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
pg_store_commit_batch(struct store *st, struct store_msg **msgs, size_t n, struct pr_why *why)
{
	return not_yet(why, "store_commit_batch");
}

int
pg_store_commit_group(struct store *st, struct store_msg **msgs, size_t n, const struct store_log_entry *const *log, size_t nlog, struct pr_why *why)
{
	return not_yet(why, "store_commit_group");
}

const char *
pg_msgid(struct arena *a, const char *msgid)
{
	return msgid;
}
