/* store_sqlite_session.c - console sign-in over SQLite: users' password
 * hashes and admin flags, sessions, failed sign-ins.  See store.h.
 *
 * A session row is found by the SHA-256 of its id (primary key): one index
 * search per request.  Failed sign-ins are rows, not counters, so the
 * window slides (the count is the rows of the last N minutes) and a row
 * ages out by itself; every failure deletes what is older than the window,
 * so the table holds at most a window's worth of failures.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

static void
read_login(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_login *l = p;
	l->user_id = sqlite3_column_int64(s, 0);
	l->name = sq_col_str(a, s, 1);
	l->hash = sq_col_text(a, s, 2);
	l->active = sqlite3_column_int(s, 3) != 0;
	l->admin = sqlite3_column_int(s, 4) != 0;
}

int
sqlite_store_user_login(struct store *st, struct arena *a, const char *name, struct store_login *out,
                 struct pr_why *why)
{
	static const char sql[] = "SELECT u.id, u.name, c.password_hash, u.active, coalesce(c.admin, 0)"
	                          " FROM users u LEFT JOIN user_console c ON c.user_id = u.id WHERE u.name = ?1";
	return sq_get(st, a, sql, name, read_login, out, "looking up a user", why);
}

int
sq_user_sessions_end(struct store *st, const char *name, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM http_sessions"
	                          " WHERE user_id = (SELECT id FROM users WHERE name = ?1)";
	sqlite3_stmt *s = sq_prep_key(st, sql, name, why);
	return s ? sq_step_done(st, s, "ending a user's sessions", why) : -1;
}

int
sqlite_store_user_set_password(struct store *st, const char *name, const char *hash, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO user_console(user_id, password_hash)"
	                          " SELECT id, ?2 FROM users WHERE name = ?1"
	                          " ON CONFLICT(user_id) DO UPDATE SET password_hash = excluded.password_hash";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep_keys(st, sql, name, hash, why);
	if (s == NULL ||
	    sq_step_changed(st, s, "changing a password", why, "no user named '%s'", name) < 0 ||
	    sq_user_sessions_end(st, name, why) < 0) {
		sq_rollback(st);
		return -1;
	}
	return sq_commit(st, why);
}

int
sqlite_store_user_set_admin(struct store *st, const char *name, bool admin, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO user_console(user_id, admin) SELECT id, ?2 FROM users WHERE name = ?1"
	                          " ON CONFLICT(user_id) DO UPDATE SET admin = excluded.admin";
	sqlite3_stmt *s = sq_prep_key(st, sql, name, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 2, admin);
	return sq_step_changed(st, s, "changing the directory", why, "no user named '%s'", name);
}

/* ---- sessions ---- */

int
sqlite_store_session_add(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN],
                  int64_t user_id, const char *csrf, time_t now, time_t expires_at,
                  struct pr_why *why)
{
	static const char sql[] = "INSERT INTO http_sessions(id_hash, user_id, csrf, created_at,"
	                          " expires_at, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?4)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, hash, STORE_SESSION_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, user_id);
	sq_bind_text(s, 3, csrf);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)expires_at);
	return sq_step_insert(st, s, why, "a session with that id exists already");
}

static void
read_session(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_session *x = p;
	x->user = sq_col_str(a, s, 0);
	x->admin = sqlite3_column_int(s, 1) != 0;
	x->csrf = sq_col_str(a, s, 2);
	x->created_at = (time_t)sqlite3_column_int64(s, 3);
	x->expires_at = (time_t)sqlite3_column_int64(s, 4);
	x->last_seen = (time_t)sqlite3_column_int64(s, 5);
}

int
sqlite_store_session_get(struct store *st, struct arena *a, const unsigned char hash[STORE_SESSION_HASH_LEN],
                  time_t now, time_t idle_since, struct store_session *out, struct pr_why *why)
{
	static const char sql[] = "SELECT u.name, coalesce(c.admin, 0), s.csrf, s.created_at, s.expires_at,"
	                          " s.last_seen FROM http_sessions s JOIN users u ON u.id = s.user_id"
	                          " LEFT JOIN user_console c ON c.user_id = u.id"
	                          " WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND s.last_seen >= ?3"
	                          " AND u.active = 1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, hash, STORE_SESSION_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)idle_since);
	return sq_one(st, a, s, read_session, out, "looking up a session", why);
}

/* Run sql with ?1 the session hash and ?2, if it has one, a time. */
static int
session_step(struct store *st, const char *sql, const unsigned char hash[STORE_SESSION_HASH_LEN],
             time_t t, const char *what, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, hash, STORE_SESSION_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, (sqlite3_int64)t);
	return sq_step_done(st, s, what, why);
}

int
sqlite_store_session_touch(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now,
                    struct pr_why *why)
{
	static const char sql[] = "UPDATE http_sessions SET last_seen = ?2 WHERE id_hash = ?1";
	return session_step(st, sql, hash, now, "refreshing a session", why);
}

int
sqlite_store_session_remove(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN],
                     struct pr_why *why)
{
	static const char sql[] = "DELETE FROM http_sessions WHERE id_hash = ?1";
	return session_step(st, sql, hash, 0, "ending a session", why);
}

int
sqlite_store_session_prune(struct store *st, time_t now, time_t idle_since, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM http_sessions WHERE expires_at <= ?1 OR last_seen < ?2";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)idle_since);
	return sq_step_done(st, s, "removing expired sessions", why);
}

/* ---- failed sign-ins ---- */

static int
failure_add(struct store *st, const char *kind, const char *key, time_t now, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO login_failures(kind, key, at) VALUES(?1, ?2, ?3)";
	sqlite3_stmt *s = sq_prep_keys(st, sql, kind, key, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	return sq_step_done(st, s, "counting a failed sign-in", why);
}

int
sqlite_store_login_failed(struct store *st, const char *addr, const char *user, time_t now,
                   time_t forget_before, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM login_failures WHERE at < ?1";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)forget_before);
	if (sq_step_done(st, s, "forgetting old failed sign-ins", why) < 0 ||
	    failure_add(st, "addr", addr, now, why) < 0 || failure_add(st, "user", user, now, why) < 0)
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

int
sqlite_store_login_nth(struct store *st, const char *kind, const char *key, time_t since, int n,
                time_t *at_r, struct pr_why *why)
{
	static const char sql[] = "SELECT at FROM login_failures WHERE kind = ?1 AND key = ?2 AND at >= ?3"
	                          " ORDER BY at DESC LIMIT 1 OFFSET ?4";
	sqlite3_stmt *s = sq_prep_keys(st, sql, kind, key, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 3, (sqlite3_int64)since);
	sqlite3_bind_int(s, 4, n > 0 ? n - 1 : 0);
	int64_t at = 0;
	int rc = sq_one(st, NULL, s, sq_read_int64, &at, "counting failed sign-ins", why);
	*at_r = (time_t)at;
	return rc;
}

int
sqlite_store_login_clear(struct store *st, const char *user, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM login_failures WHERE kind = 'user' AND key = ?1";
	sqlite3_stmt *s = sq_prep_key(st, sql, user, why);
	return s ? sq_step_done(st, s, "clearing failed sign-ins", why) : -1;
}
