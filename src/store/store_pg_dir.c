/* store_pg_dir.c - STUBS, generated: the PostgreSQL side of store_sqlite_dir.c is not
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
pg_store_user_add(struct store *st, const char *name, const char *display, const char *const *emails, size_t nemails, struct pr_why *why)
{
	return not_yet(why, "store_user_add");
}

int
pg_store_user_remove(struct store *st, const char *name, struct pr_why *why)
{
	return not_yet(why, "store_user_remove");
}

int
pg_store_user_set_active(struct store *st, const char *name, bool active, struct pr_why *why)
{
	return not_yet(why, "store_user_set_active");
}

int
pg_store_user_list(struct store *st, struct arena *a, struct store_user **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_user_list");
}

int
pg_store_user_by_email(struct store *st, struct arena *a, const char *email, struct store_user *out, struct pr_why *why)
{
	return not_yet(why, "store_user_by_email");
}

int
pg_store_user_get(struct store *st, struct arena *a, const char *name, struct store_user *out, struct pr_why *why)
{
	return not_yet(why, "store_user_get");
}

int
pg_store_project_add(struct store *st, const char *id, const char *name, struct pr_why *why)
{
	return not_yet(why, "store_project_add");
}

int
pg_store_project_list(struct store *st, struct arena *a, struct store_project **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_project_list");
}

int
pg_store_project_get(struct store *st, struct arena *a, const char *id, struct store_project *out, struct pr_why *why)
{
	return not_yet(why, "store_project_get");
}

int
pg_store_project_grant(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	return not_yet(why, "store_project_grant");
}

int
pg_store_project_revoke(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	return not_yet(why, "store_project_revoke");
}

int
pg_store_project_is_member(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	return not_yet(why, "store_project_is_member");
}

int
pg_store_stakeholder_add(struct store *st, const char *name, const char *const *emails, size_t n, struct pr_why *why)
{
	return not_yet(why, "store_stakeholder_add");
}

int
pg_store_stakeholder_list(struct store *st, struct arena *a, struct store_stakeholder **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_stakeholder_list");
}

int
pg_store_stakeholder_by_email(struct store *st, struct arena *a, const char *email, struct store_stakeholder *out, struct pr_why *why)
{
	return not_yet(why, "store_stakeholder_by_email");
}

int
pg_store_stakeholder_get(struct store *st, struct arena *a, const char *name, struct store_stakeholder *out, struct pr_why *why)
{
	return not_yet(why, "store_stakeholder_get");
}

int
pg_store_project_add_stakeholder(struct store *st, const char *project, const char *name, struct pr_why *why)
{
	return not_yet(why, "store_project_add_stakeholder");
}

void
pg_store_person_resolve(struct store *st, struct arena *a, struct store_person *p)
{
}

int
pg_user_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why)
{
	return not_yet(why, "pg_user_id");
}

int
pg_project_exists(struct store *st, const char *id, struct pr_why *why)
{
	return not_yet(why, "pg_project_exists");
}
