/* store_pg_session.c - console sign-in over PostgreSQL: users' password
 * hashes and admin flags, sessions, failed sign-ins.  See store.h; mirrors
 * store_sqlite_session.c statement for statement.
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
#include "store/store_pg.h"

static void
read_login(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_login *l = p;
	l->user_id = pg_int(r, row, 0);
	l->name = pg_str(a, r, row, 1);
	l->hash = pg_text(a, r, row, 2);
	l->active = pg_int(r, row, 3) != 0;
	l->admin = pg_int(r, row, 4) != 0;
}

int
pg_store_user_login(struct store *st, struct arena *a, const char *name, struct store_login *out,
                    struct pr_why *why)
{
	static const char sql[] = "SELECT u.id, u.name, c.password_hash, u.active, coalesce(c.admin, 0)"
	                          " FROM users u LEFT JOIN user_console c ON c.user_id = u.id WHERE u.name = $1";
	if (!pg_text_ok(name))
		return 1;   /* no user has such a name (see pg_text_ok) */
	struct pg_params p = {0};
	pg_p_text(&p, name);
	return pg_one(st, a, sql, &p, read_login, out, "looking up a user", why);
}

int
pg_user_sessions_end(struct store *st, const char *name, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM http_sessions"
	                          " WHERE user_id = (SELECT id FROM users WHERE name = $1)";
	struct pg_params p = {0};
	pg_p_text(&p, name);
	return pg_do(st, sql, &p, "ending a user's sessions", why) < 0 ? -1 : 0;
}

/* A name that is not UTF-8 names no user (see pg_text_ok). */
static int
no_user(const char *name, struct pr_why *why)
{
	pr_why_set(why, PR_E_NOT_FOUND, "no user named '%s'", name);
	return -1;
}

int
pg_store_user_set_password(struct store *st, const char *name, const char *hash, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO user_console(user_id, password_hash)"
	                          " SELECT id, $2::text FROM users WHERE name = $1"
	                          " ON CONFLICT(user_id) DO UPDATE SET password_hash = excluded.password_hash";
	struct pg_params p = {0};
	pg_p_text(&p, name);
	pg_p_text(&p, hash);
	if (!pg_text_ok(name))
		return no_user(name, why);
	if (pg_begin(st, why) < 0)
		return -1;
	if (pg_changed(st, sql, &p, "changing a password", why, "no user named '%s'", name) < 0 ||
	    pg_user_sessions_end(st, name, why) < 0) {
		pg_rollback(st);
		return -1;
	}
	return pg_commit(st, why);
}

int
pg_store_user_set_admin(struct store *st, const char *name, bool admin, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO user_console(user_id, admin) SELECT id, $2::integer FROM users"
	                          " WHERE name = $1 ON CONFLICT(user_id) DO UPDATE SET admin = excluded.admin";
	struct pg_params p = {0};
	pg_p_text(&p, name);
	pg_p_bool(&p, admin);
	if (!pg_text_ok(name))
		return no_user(name, why);
	return pg_changed(st, sql, &p, "changing the directory", why, "no user named '%s'", name);
}

/* ---- sessions ---- */

int
pg_store_session_add(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN],
                     int64_t user_id, const char *csrf, time_t now, time_t expires_at,
                     struct pr_why *why)
{
	static const char sql[] = "INSERT INTO http_sessions(id_hash, user_id, csrf, created_at,"
	                          " expires_at, last_seen) VALUES($1, $2, $3, $4, $5, $4)";
	struct pg_params p = {0};
	pg_p_bytes(&p, hash, STORE_SESSION_HASH_LEN);
	pg_p_int(&p, user_id);
	pg_p_text(&p, csrf);
	pg_p_int(&p, (int64_t)now);
	pg_p_int(&p, (int64_t)expires_at);
	return pg_insert(st, sql, &p, why, "a session with that id exists already");
}

static void
read_session(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_session *x = p;
	x->user = pg_str(a, r, row, 0);
	x->admin = pg_int(r, row, 1) != 0;
	x->csrf = pg_str(a, r, row, 2);
	x->created_at = (time_t)pg_int(r, row, 3);
	x->expires_at = (time_t)pg_int(r, row, 4);
	x->last_seen = (time_t)pg_int(r, row, 5);
}

int
pg_store_session_get(struct store *st, struct arena *a, const unsigned char hash[STORE_SESSION_HASH_LEN],
                     time_t now, time_t idle_since, struct store_session *out, struct pr_why *why)
{
	static const char sql[] = "SELECT u.name, coalesce(c.admin, 0), s.csrf, s.created_at, s.expires_at,"
	                          " s.last_seen FROM http_sessions s JOIN users u ON u.id = s.user_id"
	                          " LEFT JOIN user_console c ON c.user_id = u.id"
	                          " WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen >= $3"
	                          " AND u.active = 1";
	struct pg_params p = {0};
	pg_p_bytes(&p, hash, STORE_SESSION_HASH_LEN);
	pg_p_int(&p, (int64_t)now);
	pg_p_int(&p, (int64_t)idle_since);
	return pg_one(st, a, sql, &p, read_session, out, "looking up a session", why);
}

int
pg_store_session_touch(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now,
                       struct pr_why *why)
{
	static const char sql[] = "UPDATE http_sessions SET last_seen = $2 WHERE id_hash = $1";
	struct pg_params p = {0};
	pg_p_bytes(&p, hash, STORE_SESSION_HASH_LEN);
	pg_p_int(&p, (int64_t)now);
	return pg_do(st, sql, &p, "refreshing a session", why) < 0 ? -1 : 0;
}

int
pg_store_session_remove(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN],
                        struct pr_why *why)
{
	static const char sql[] = "DELETE FROM http_sessions WHERE id_hash = $1";
	struct pg_params p = {0};
	pg_p_bytes(&p, hash, STORE_SESSION_HASH_LEN);
	return pg_do(st, sql, &p, "ending a session", why) < 0 ? -1 : 0;
}

int
pg_store_session_prune(struct store *st, time_t now, time_t idle_since, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM http_sessions WHERE expires_at <= $1 OR last_seen < $2";
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)now);
	pg_p_int(&p, (int64_t)idle_since);
	return pg_do(st, sql, &p, "removing expired sessions", why) < 0 ? -1 : 0;
}

/* ---- failed sign-ins ---- */

static int
failure_add(struct store *st, const char *kind, const char *key, time_t now, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO login_failures(kind, key, at) VALUES($1, $2, $3)";
	struct pg_params p = {0};
	pg_p_text(&p, kind);
	pg_p_text(&p, key);
	pg_p_int(&p, (int64_t)now);
	return pg_do(st, sql, &p, "counting a failed sign-in", why) < 0 ? -1 : 0;
}

int
pg_store_login_failed(struct store *st, const char *addr, const char *user, time_t now,
                      time_t forget_before, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM login_failures WHERE at < $1";
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)forget_before);
	if (pg_begin(st, why) < 0)
		return -1;
	if (pg_do(st, sql, &p, "forgetting old failed sign-ins", why) < 0 ||
	    failure_add(st, "addr", addr, now, why) < 0 || failure_add(st, "user", user, now, why) < 0) {
		pg_rollback(st);
		return -1;
	}
	return pg_commit(st, why);
}

int
pg_store_login_nth(struct store *st, const char *kind, const char *key, time_t since, int n,
                   time_t *at_r, struct pr_why *why)
{
	static const char sql[] = "SELECT at FROM login_failures WHERE kind = $1 AND key = $2 AND at >= $3"
	                          " ORDER BY at DESC LIMIT 1 OFFSET $4";
	struct pg_params p = {0};
	pg_p_text(&p, kind);
	pg_p_text(&p, key);
	pg_p_int(&p, (int64_t)since);
	pg_p_int(&p, n > 0 ? n - 1 : 0);
	int64_t at = 0;
	int rc = pg_int_of(st, sql, &p, &at, "counting failed sign-ins", why);
	*at_r = (time_t)at;
	return rc;
}

int
pg_store_login_clear(struct store *st, const char *user, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM login_failures WHERE kind = 'user' AND key = $1";
	struct pg_params p = {0};
	pg_p_text(&p, user);
	return pg_do(st, sql, &p, "clearing failed sign-ins", why) < 0 ? -1 : 0;
}
