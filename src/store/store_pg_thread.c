/* store_pg_thread.c - what placing a reply needs to know about its
 * thread, kept up to date as the thread grows (the PostgreSQL side of
 * store_sqlite_thread.c: read its header for why).
 *
 *   thread_places(ord, thread_id, kind, target, uses, last_id): the
 *     distinct places of a thread's messages (Fallback excluded), in the
 *     order they first appeared -- ord, an identity, where SQLite has its
 *     rowid: ON CONFLICT DO UPDATE keeps a row's ord, so a place keeps its
 *     rank however often it is used again.
 *   thread_people(thread_id, address): every address in From/To/Cc of a
 *     message that is not automatic.
 *
 * Both are written in the commit's transaction.  Two nodes filing into
 * the same thread at once meet on the unique keys: ON CONFLICT makes the
 * second wait for the first's row and then count on it, so no use is
 * lost and no place appears twice.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

/* The thread of a stored message, read by primary key inside the
 * statements below, so a duplicate (whose placements go to the earlier
 * copy) and a refile need no thread id from their caller. */
#define THREAD_OF "(SELECT thread_id FROM messages WHERE id = $1::bigint)"

int
pg_thread_place_added(struct store *st, int64_t message_id, const char *kind, const char *target,
                      struct pr_why *why)
{
	static const char sql[] = "INSERT INTO thread_places(thread_id, kind, target, uses, last_id)"
		" SELECT thread_id, $2::text, $3::text, 1, $1::bigint FROM messages"
		" WHERE id = $1::bigint AND $2::text <> 'fallback'"
		" ON CONFLICT(thread_id, kind, target) DO UPDATE SET uses = thread_places.uses + 1,"
		" last_id = greatest(thread_places.last_id, excluded.last_id)";
	struct pg_params p = {0};
	pg_p_int(&p, message_id);
	pg_p_text(&p, kind);
	pg_p_text(&p, target ? target : "");
	return pg_queue(st, sql, &p, "noting a thread's place", why);
}

/* Before a message's placements are deleted: each takes one use from its
 * place, and a place nobody uses any more leaves the thread.  Both
 * statements touch the thread's few places, not its messages. */
int
pg_thread_places_removing(struct store *st, int64_t message_id, struct pr_why *why)
{
	static const char dec[] = "UPDATE thread_places SET uses = uses - (SELECT count(*) FROM placements p"
		" WHERE p.message_id = $1::bigint AND p.kind = thread_places.kind"
		" AND p.target = thread_places.target) WHERE thread_id = " THREAD_OF;
	static const char gone[] = "DELETE FROM thread_places WHERE thread_id = " THREAD_OF " AND uses <= 0";
	const char *sqls[] = {dec, gone};
	for (int i = 0; i < 2; i++) {
		struct pg_params p = {0};
		pg_p_int(&p, message_id);
		if (pg_do(st, sqls[i], &p, "updating a thread's places", why) < 0)
			return -1;
	}
	return 0;
}

static int
add_participant(struct store *st, struct arena *a, int64_t thread, const char *addr, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO thread_people(thread_id, address) VALUES($1, $2)"
	                          " ON CONFLICT DO NOTHING";
	if (addr == NULL || *addr == '\0')
		return 0;
	struct pg_params p = {0};
	pg_p_int(&p, thread);
	pg_p_text(&p, store_lower(a, addr));
	return pg_queue(st, sql, &p, "noting a thread's participant", why);
}

int
pg_thread_people_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	/* Automatic messages do not count: their headers are the sender's
	 * word alone, and their sender never answered anything (issue #10). */
	if (m->auto_reply)
		return 0;
	int64_t thread = m->thread_id ? m->thread_id : m->id_r;   /* as the commit stores it */
	if (add_participant(st, a, thread, m->from_addr, why) < 0)
		return -1;
	for (size_t i = 0; i < m->npeople; i++)
		if (add_participant(st, a, thread, m->people[i].address, why) < 0)
			return -1;
	return 0;
}

static enum route_kind
kind_from_name(const char *name)
{
	static const enum route_kind kinds[] = {ROUTE_PROJECT, ROUTE_USER, ROUTE_UNASSIGNED, ROUTE_FALLBACK};
	for (size_t i = 0; name && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(route_kind_name(kinds[i]), name) == 0)
			return kinds[i];
	return ROUTE_NONE;
}

static void
read_placement(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_placement *pl = p;
	pl->kind = kind_from_name(PQgetisnull(r, row, 0) ? NULL : PQgetvalue(r, row, 0));
	pl->target = pg_str(a, r, row, 1);
	pl->via = "";
}

int
pg_store_thread_placements(struct store *st, struct arena *a, int64_t thread_id,
                           struct store_placement **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = "SELECT kind, target FROM thread_places WHERE thread_id = $1"
	                          " ORDER BY ord";
	struct pg_params p = {0};
	pg_p_int(&p, thread_id);
	return pg_collect(st, a, sql, &p, sizeof(**out), read_placement, out, n, "reading a thread", why);
}

int
pg_store_thread_has_participant(struct store *st, int64_t thread_id, const char *addr,
                                struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM thread_people WHERE thread_id = $1 AND address = lower($2)";
	struct pg_params p = {0};
	pg_p_int(&p, thread_id);
	pg_p_text(&p, addr);
	return pg_exists(st, sql, &p, "reading a thread", why);
}

static void
read_thread(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_thread_summary *t = p;
	t->thread_id = pg_int(r, row, 0);
	t->last_id = pg_int(r, row, 1);
	t->messages = pg_int(r, row, 2);
	t->subject = pg_text(a, r, row, 3);
	t->last_at = (time_t)pg_int(r, row, 4);
}

static void
read_address(struct arena *a, PGresult *r, int row, void *p)
{
	*(const char **)p = pg_str(a, r, row, 0);
}

/* At most STORE_THREAD_PEOPLE of the thread's participants, by address
 * (COLLATE "C": byte order, as SQLite's BINARY compares). */
static int
thread_people(struct store *st, struct arena *a, struct store_thread_summary *t, struct pr_why *why)
{
	static const char sql[] = "SELECT address FROM thread_people WHERE thread_id = $1"
	                          " ORDER BY address COLLATE \"C\" LIMIT $2";
	struct pg_params p = {0};
	pg_p_int(&p, t->thread_id);
	pg_p_int(&p, STORE_THREAD_PEOPLE);
	return pg_collect(st, a, sql, &p, sizeof(*t->participants), read_address, &t->participants,
	                  &t->nparticipants, "reading a thread's participants", why);
}

/* Walks thread_places_activity down from before: each row then reads
 * its first message (the thread's id is its first message's), its last
 * one and at most STORE_THREAD_PEOPLE participants, all by key. */
int
pg_store_project_threads(struct store *st, struct arena *a, const char *project, size_t limit,
                         int64_t before, struct store_thread_summary **out, size_t *n,
                         struct pr_why *why)
{
	static const char sql[] = "SELECT t.thread_id, t.last_id, t.uses,"
		" (SELECT subject FROM messages WHERE id = t.thread_id),"
		" (SELECT received_at FROM messages WHERE id = t.last_id)"
		" FROM thread_places t WHERE t.kind = 'project' AND t.target = $1 AND t.last_id < $2"
		" ORDER BY t.last_id DESC LIMIT $3";
	struct pg_params p = {0};
	pg_p_text(&p, project);
	pg_p_int(&p, store_before(before));
	pg_p_int(&p, limit ? (int64_t)limit : 50);
	if (pg_collect(st, a, sql, &p, sizeof(**out), read_thread, out, n, "listing a project's threads",
	               why) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (thread_people(st, a, &(*out)[i], why) < 0)
			return -1;
	return 0;
}
