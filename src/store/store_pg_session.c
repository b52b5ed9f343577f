/* store_pg_session.c - STUBS, generated: the PostgreSQL side of store_sqlite_session.c is not
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
pg_store_user_login(struct store *st, struct arena *a, const char *name, struct store_login *out, struct pr_why *why)
{
	return not_yet(why, "store_user_login");
}

int
pg_store_user_set_password(struct store *st, const char *name, const char *hash, struct pr_why *why)
{
	return not_yet(why, "store_user_set_password");
}

int
pg_store_user_set_admin(struct store *st, const char *name, bool admin, struct pr_why *why)
{
	return not_yet(why, "store_user_set_admin");
}

int
pg_store_session_add(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], int64_t user_id, const char *csrf, time_t now, time_t expires_at, struct pr_why *why)
{
	return not_yet(why, "store_session_add");
}

int
pg_store_session_get(struct store *st, struct arena *a, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now, time_t idle_since, struct store_session *out, struct pr_why *why)
{
	return not_yet(why, "store_session_get");
}

int
pg_store_session_touch(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now, struct pr_why *why)
{
	return not_yet(why, "store_session_touch");
}

int
pg_store_session_remove(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], struct pr_why *why)
{
	return not_yet(why, "store_session_remove");
}

int
pg_store_session_prune(struct store *st, time_t now, time_t idle_since, struct pr_why *why)
{
	return not_yet(why, "store_session_prune");
}

int
pg_store_login_failed(struct store *st, const char *addr, const char *user, time_t now, time_t forget_before, struct pr_why *why)
{
	return not_yet(why, "store_login_failed");
}

int
pg_store_login_nth(struct store *st, const char *kind, const char *key, time_t since, int n, time_t *at_r, struct pr_why *why)
{
	return not_yet(why, "store_login_nth");
}

int
pg_store_login_clear(struct store *st, const char *user, struct pr_why *why)
{
	return not_yet(why, "store_login_clear");
}

int
pg_user_sessions_end(struct store *st, const char *name, struct pr_why *why)
{
	return not_yet(why, "pg_user_sessions_end");
}
