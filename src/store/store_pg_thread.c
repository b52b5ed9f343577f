/* store_pg_thread.c - STUBS, generated: the PostgreSQL side of store_sqlite_thread.c is not
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
pg_store_thread_placements(struct store *st, struct arena *a, int64_t thread_id, struct store_placement **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_thread_placements");
}

int
pg_store_thread_has_participant(struct store *st, int64_t thread_id, const char *addr, struct pr_why *why)
{
	return not_yet(why, "store_thread_has_participant");
}

int
pg_store_project_threads(struct store *st, struct arena *a, const char *project, size_t limit, int64_t before, struct store_thread_summary **out, size_t *n, struct pr_why *why)
{
	return not_yet(why, "store_project_threads");
}

int
pg_thread_place_added(struct store *st, int64_t message_id, const char *kind, const char *target, struct pr_why *why)
{
	return not_yet(why, "pg_thread_place_added");
}

int
pg_thread_places_removing(struct store *st, int64_t message_id, struct pr_why *why)
{
	return not_yet(why, "pg_thread_places_removing");
}

int
pg_thread_people_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	return not_yet(why, "pg_thread_people_add");
}
