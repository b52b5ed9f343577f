/* store_sqlite_thread.c - what placing a reply needs to know about its
 * thread, kept up to date as the thread grows instead of recomputed from
 * all of its messages.
 *
 * A reply lands where its thread lives (store_thread_placements) and an
 * outsider may answer only a thread they took part in
 * (store_thread_has_participant).  Both used to read every message of the
 * thread: with a few long threads (a busy matter, two auto-responders
 * answering each other) intake fell from ~1,100 to 58 msgs/s by 60,000
 * messages (issue #12).  So each thread keeps two small tables, written in
 * the same transaction as the rows they summarise:
 *
 *   thread_places(thread_id, kind, target, uses): the distinct places of
 *     its messages (Fallback excluded: a reply never follows a message
 *     there), in the order they first appeared (rowid), with the number of
 *     placement rows behind each, so a refile (store_message_move) can take
 *     a place away once no message of the thread is left there.
 *     last_id is the newest message of the thread filed there: a project's
 *     threads are listed by it, newest activity first
 *     (store_project_threads), one index walk.
 *   thread_people(thread_id, address): every address in From/To/Cc of a
 *     message that is not automatic -- an auto-reply or bounce makes no
 *     participant (issue #10).  Only grows: messages are never removed.
 *
 * Every read is one search of a unique index: its cost does not depend on
 * the thread's length (tests/unit/test-store-plan.c checks the plans).
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* The thread of a stored message, read by primary key inside the
 * statements below, so a duplicate (whose placements go to the earlier
 * copy) and a refile need no thread id from their caller. */
#define THREAD_OF "(SELECT thread_id FROM messages WHERE id = ?1)"

int
sq_thread_place_added(struct store *st, int64_t message_id, const char *kind, const char *target,
                      struct pr_why *why)
{
	static const char sql[] = "INSERT INTO thread_places(thread_id, kind, target, uses, last_id)"
		" SELECT thread_id, ?2, ?3, 1, ?1 FROM messages WHERE id = ?1 AND ?2 <> 'fallback'"
		" ON CONFLICT(thread_id, kind, target) DO UPDATE SET uses = uses + 1,"
		" last_id = max(last_id, excluded.last_id)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, message_id);
	sq_bind_text(s, 2, kind);
	sq_bind_text(s, 3, target ? target : "");
	return sq_step_done(st, s, "noting a thread's place", why);
}

/* Before a message's placements are deleted: each takes one use from its
 * place, and a place nobody uses any more leaves the thread.  Both
 * statements touch the thread's few places, not its messages. */
int
sq_thread_places_removing(struct store *st, int64_t message_id, struct pr_why *why)
{
	static const char dec[] = "UPDATE thread_places SET uses = uses - (SELECT count(*) FROM placements p"
		" WHERE p.message_id = ?1 AND p.kind = thread_places.kind AND p.target = thread_places.target)"
		" WHERE thread_id = " THREAD_OF;
	static const char gone[] = "DELETE FROM thread_places WHERE thread_id = " THREAD_OF " AND uses <= 0";
	const char *sqls[] = {dec, gone};
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *s = sq_prep(st, sqls[i], why);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, message_id);
		if (sq_step_done(st, s, "updating a thread's places", why) < 0)
			return -1;
	}
	return 0;
}

static int
add_participant(struct store *st, struct arena *a, int64_t thread, const char *addr, struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO thread_people(thread_id, address) VALUES(?1, ?2)";
	if (addr == NULL || *addr == '\0')
		return 0;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, thread);
	sq_bind_text(s, 2, store_lower(a, addr));
	return sq_step_done(st, s, "noting a thread's participant", why);
}

int
sq_thread_people_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	/* Automatic messages do not count: their headers are the sender's
	 * word alone, and their sender never answered anything (issue #10). */
	if (m->auto_reply)
		return 0;
	int64_t thread = m->thread_id ? m->thread_id : m->id_r;   /* as insert_row stores it */
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
read_placement(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_placement *pl = p;
	pl->kind = kind_from_name((const char *)sqlite3_column_text(s, 0));
	pl->target = sq_col_str(a, s, 1);
	pl->via = "";
}

int
sqlite_store_thread_placements(struct store *st, struct arena *a, int64_t thread_id,
                        struct store_placement **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = "SELECT kind, target FROM thread_places WHERE thread_id = ?1"
	                          " ORDER BY rowid";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, thread_id);
	return sq_collect(st, a, s, sizeof(**out), read_placement, out, n, "reading a thread", why);
}

int
sqlite_store_thread_has_participant(struct store *st, int64_t thread_id, const char *addr,
                             struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM thread_people WHERE thread_id = ?1 AND address = lower(?2)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, thread_id);
	sq_bind_text(s, 2, addr);
	return sq_exists(st, s, "reading a thread", why);
}

static void
read_thread(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_thread_summary *t = p;
	t->thread_id = sqlite3_column_int64(s, 0);
	t->last_id = sqlite3_column_int64(s, 1);
	t->messages = sqlite3_column_int64(s, 2);
	t->subject = sq_col_text(a, s, 3);
	t->last_at = (time_t)sqlite3_column_int64(s, 4);
}

static void
read_address(struct arena *a, sqlite3_stmt *s, void *p)
{
	*(const char **)p = sq_col_str(a, s, 0);
}

/* At most STORE_THREAD_PEOPLE of the thread's participants, by address. */
static int
thread_people(struct store *st, struct arena *a, struct store_thread_summary *t, struct pr_why *why)
{
	static const char sql[] = "SELECT address FROM thread_people WHERE thread_id = ?1"
	                          " ORDER BY address LIMIT ?2";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->thread_id);
	sqlite3_bind_int(s, 2, STORE_THREAD_PEOPLE);
	return sq_collect(st, a, s, sizeof(*t->participants), read_address, &t->participants,
	                  &t->nparticipants, "reading a thread's participants", why);
}

/* Walks thread_places_activity down from before: each row then reads
 * its first message (the thread's id is its first message's), its last
 * one and at most STORE_THREAD_PEOPLE participants, all by key. */
int
sqlite_store_project_threads(struct store *st, struct arena *a, const char *project, size_t limit,
                      int64_t before, struct store_thread_summary **out, size_t *n,
                      struct pr_why *why)
{
	static const char sql[] = "SELECT t.thread_id, t.last_id, t.uses,"
		" (SELECT subject FROM messages WHERE id = t.thread_id),"
		" (SELECT received_at FROM messages WHERE id = t.last_id)"
		" FROM thread_places t WHERE t.kind = 'project' AND t.target = ?1 AND t.last_id < ?2"
		" ORDER BY t.last_id DESC LIMIT ?3";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, project);
	sqlite3_bind_int64(s, 2, store_before(before));
	sqlite3_bind_int64(s, 3, limit ? (sqlite3_int64)limit : 50);
	if (sq_collect(st, a, s, sizeof(**out), read_thread, out, n, "listing a project's threads", why) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (thread_people(st, a, &(*out)[i], why) < 0)
			return -1;
	return 0;
}
