/* store_pg_dir.c - the directory over PostgreSQL: users and their
 * addresses, projects with members and stakeholders (store_sqlite_dir.c's
 * twin: the same results, errors and orders).
 *
 * Addresses are stored lowercased (ASCII only, as SQLite's lower() and
 * store_lower do: PostgreSQL's lower() would also fold other letters, and
 * then a lookup could miss what the other backend finds), so every
 * comparison is case-insensitive.  Names are kept exactly.  Lists of names
 * travel out of SQL as string_agg(..., E'\n') and are split in C.  Orders
 * are COLLATE "C" (bytes, as SQLite's BINARY), whatever the database's
 * collation.  A key that is not UTF-8 cannot be stored here, so a lookup
 * by it finds nothing without asking (pg_text_ok).
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

/* ---- lookups shared by the directory and message files ---- */

/* Run sql (one text parameter, one integer column) for key: 0 found (the
 * column in *id_r when id_r is not NULL), 1 none (why: PR_E_NOT_FOUND,
 * "no <what> '<key>'"), -1 error. */
static int
lookup_id(struct store *st, const char *sql, const char *key, const char *what, int64_t *id_r,
          struct pr_why *why)
{
	int64_t id = 0;
	int rc = 1;
	if (pg_text_ok(key)) {
		struct pg_params p = {0};
		char doing[64];
		pg_p_text(&p, key);
		snprintf(doing, sizeof(doing), "looking up a %s", what);
		rc = pg_int_of(st, sql, &p, &id, doing, why);
	}
	if (rc == 0 && id_r != NULL)
		*id_r = id;
	if (rc == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no %s '%s'", what, key);
	return rc;
}

int
pg_user_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why)
{
	return lookup_id(st, "SELECT id FROM users WHERE name = $1", name, "user", id_r, why);
}

static int
stakeholder_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why)
{
	return lookup_id(st, "SELECT id FROM stakeholders WHERE name = $1", name, "stakeholder", id_r, why);
}

/* 0 exists, 1 not (why: PR_E_NOT_FOUND), -1 error. */
int
pg_project_exists(struct store *st, const char *id, struct pr_why *why)
{
	return lookup_id(st, "SELECT 1 FROM projects WHERE id = $1", id, "project", NULL, why);
}

/* sql with $1 = key, read into out by read: 0, 1 none (also for a key
 * that cannot be stored), -1. */
static int
get_by(struct store *st, struct arena *a, const char *sql, const char *key, pg_read_fn read,
       void *out, const char *what, struct pr_why *why)
{
	if (!pg_text_ok(key))
		return 1;
	struct pg_params p = {0};
	pg_p_text(&p, key);
	return pg_one(st, a, sql, &p, read, out, what, why);
}

/* get_by with the address lowercased (a key that is not UTF-8 as it is:
 * it finds nothing). */
static int
get_by_address(struct store *st, struct arena *a, const char *sql, const char *email,
               pg_read_fn read, void *out, const char *what, struct pr_why *why)
{
	const char *key = pg_text_ok(email) ? store_lower(a, email) : email;
	return get_by(st, a, sql, key, read, out, what, why);
}

/* ---- users and stakeholders: a name with the addresses it sends from ---- */

/* What differs between adding a user and adding a stakeholder. */
struct owner_sql {
	const char *kind;           /* "user", "stakeholder": for messages */
	const char *insert;         /* $1 name [, $2 display] RETURNING id */
	const char *insert_email;   /* $1 address, $2 the new owner's id */
};

static const struct owner_sql user_sql = {
	"user", "INSERT INTO users(name, display) VALUES($1, $2) RETURNING id",
	"INSERT INTO user_emails(address, user_id) VALUES($1, $2)",
};
static const struct owner_sql stakeholder_sql = {
	"stakeholder", "INSERT INTO stakeholders(name) VALUES($1) RETURNING id",
	"INSERT INTO stakeholder_emails(address, stakeholder_id) VALUES($1, $2)",
};

/* Insert each address for an owner (user or stakeholder) id. */
static int
add_emails(struct store *st, const char *sql, int64_t owner, const char *const *emails, size_t n,
           struct pr_why *why)
{
	struct arena *a = arena_new();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct pg_params p = {0};
		pg_p_text(&p, store_lower(a, emails[i]));
		pg_p_int(&p, owner);
		rc = pg_insert(st, sql, &p, why, "the address %s is taken already", emails[i]);
	}
	arena_free(&a);
	return rc;
}

/* The owner and its addresses in one transaction, so a taken address
 * leaves no half-added owner behind.  display is passed only when not
 * NULL (stakeholders have none). */
static int
add_owner(struct store *st, const struct owner_sql *q, const char *name, const char *display,
          const char *const *emails, size_t n, struct pr_why *why)
{
	bool ok = pg_text_ok(name) && pg_text_ok(display);
	for (size_t i = 0; ok && i < n; i++)
		ok = pg_text_ok(emails[i]);
	if (!ok)
		return pg_not_text(display ? "name, display name or an address" : "name or an address", why);
	struct pg_params p = {0};
	int64_t id = 0;
	pg_p_text(&p, name);
	if (display != NULL)
		pg_p_text(&p, display);
	if (pg_begin(st, why) < 0)
		return -1;
	if (pg_insert_id(st, q->insert, &p, &id, why, "a %s named '%s' exists already", q->kind, name) < 0 ||
	    add_emails(st, q->insert_email, id, emails, n, why) < 0)
		goto fail;
	return pg_commit(st, why);
fail:
	pg_rollback(st);
	return -1;
}

/* DELETE or UPDATE of the one row named by $1 (with p's other parameters):
 * 0, or -1 with PR_E_NOT_FOUND "no user named '<name>'". */
static int
change_user(struct store *st, const char *sql, struct pg_params *p, const char *name,
            struct pr_why *why)
{
	if (!pg_text_ok(name)) {
		pr_why_set(why, PR_E_NOT_FOUND, "no user named '%s'", name);
		return -1;
	}
	return pg_changed(st, sql, p, "changing the directory", why, "no user named '%s'", name);
}

/* ---- users ---- */

#define USER_COLS "SELECT u.id, u.name, u.display, u.active, (SELECT string_agg(address, E'\\n'" \
	" ORDER BY address COLLATE \"C\") FROM user_emails WHERE user_id = u.id)," \
	" coalesce(c.admin, 0), (c.password_hash IS NOT NULL)::int" \
	" FROM users u LEFT JOIN user_console c ON c.user_id = u.id "

static void
read_user(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_user *u = p;
	memset(u, 0, sizeof(*u));
	u->id = pg_int(r, row, 0);
	u->name = pg_str(a, r, row, 1);
	u->display = pg_str(a, r, row, 2);
	u->active = pg_int(r, row, 3) != 0;
	store_split(a, pg_text(a, r, row, 4), &u->emails, &u->nemails);
	u->admin = pg_int(r, row, 5) != 0;
	u->has_password = pg_int(r, row, 6) != 0;
}

int
pg_store_user_add(struct store *st, const char *name, const char *display,
                  const char *const *emails, size_t nemails, struct pr_why *why)
{
	return add_owner(st, &user_sql, name, display ? display : "", emails, nemails, why);
}

int
pg_store_user_remove(struct store *st, const char *name, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM users WHERE name = $1";
	struct pg_params p = {0};
	pg_p_text(&p, name);
	return change_user(st, sql, &p, name, why);
}

/* A disabled user's console sessions end with the change (same
 * transaction), so no node keeps serving them. */
int
pg_store_user_set_active(struct store *st, const char *name, bool active, struct pr_why *why)
{
	static const char sql[] = "UPDATE users SET active = $2 WHERE name = $1";
	struct pg_params p = {0};
	pg_p_text(&p, name);
	pg_p_bool(&p, active);
	if (pg_begin(st, why) < 0)
		return -1;
	if (change_user(st, sql, &p, name, why) < 0 ||
	    (!active && pg_user_sessions_end(st, name, why) < 0))
		goto fail;
	return pg_commit(st, why);
fail:
	pg_rollback(st);
	return -1;
}

int
pg_store_user_list(struct store *st, struct arena *a, struct store_user **out, size_t *n,
                   struct pr_why *why)
{
	static const char sql[] = USER_COLS "ORDER BY u.name COLLATE \"C\"";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_user, out, n, "listing users", why);
}

int
pg_store_user_by_email(struct store *st, struct arena *a, const char *email,
                       struct store_user *out, struct pr_why *why)
{
	static const char sql[] = USER_COLS
		"WHERE u.id = (SELECT user_id FROM user_emails WHERE address = $1)";
	return get_by_address(st, a, sql, email, read_user, out, "looking up a user", why);
}

int
pg_store_user_get(struct store *st, struct arena *a, const char *name,
                  struct store_user *out, struct pr_why *why)
{
	static const char sql[] = USER_COLS "WHERE u.name = $1";
	return get_by(st, a, sql, name, read_user, out, "looking up a user", why);
}

/* ---- projects ---- */

#define PROJECT_COLS "SELECT p.id, p.name," \
	" (SELECT string_agg(u.name, E'\\n' ORDER BY u.name COLLATE \"C\") FROM project_members m" \
	"  JOIN users u ON u.id = m.user_id WHERE m.project_id = p.id)," \
	" (SELECT string_agg(k.name, E'\\n' ORDER BY k.name COLLATE \"C\") FROM project_stakeholders ps" \
	"  JOIN stakeholders k ON k.id = ps.stakeholder_id WHERE ps.project_id = p.id)" \
	" FROM projects p "

static void
read_project(struct arena *a, PGresult *r, int row, void *out)
{
	struct store_project *p = out;
	memset(p, 0, sizeof(*p));
	p->id = pg_str(a, r, row, 0);
	p->name = pg_str(a, r, row, 1);
	store_split(a, pg_text(a, r, row, 2), &p->members, &p->nmembers);
	store_split(a, pg_text(a, r, row, 3), &p->stakeholders, &p->nstakeholders);
}

int
pg_store_project_add(struct store *st, const char *id, const char *name, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO projects(id, name) VALUES($1, $2)";
	if (!pg_text_ok(id) || !pg_text_ok(name))
		return pg_not_text("project id or name", why);
	struct pg_params p = {0};
	pg_p_text(&p, id);
	pg_p_text(&p, name ? name : "");
	return pg_insert(st, sql, &p, why, "project %s exists already", id);
}

int
pg_store_project_list(struct store *st, struct arena *a, struct store_project **out, size_t *n,
                      struct pr_why *why)
{
	/* Numeric ids sort as numbers, then the rest by text.  length() counts
	 * characters in both backends. */
	static const char sql[] = PROJECT_COLS "ORDER BY length(p.id), p.id COLLATE \"C\"";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_project, out, n, "listing projects", why);
}

int
pg_store_project_get(struct store *st, struct arena *a, const char *id,
                     struct store_project *out, struct pr_why *why)
{
	static const char sql[] = PROJECT_COLS "WHERE p.id = $1";
	return get_by(st, a, sql, id, read_project, out, "looking up a project", why);
}

int
pg_store_project_exists(struct store *st, const char *id, struct pr_why *why)
{
	return pg_project_exists(st, id, why);
}

/* Insert a link row: $1 the text key (project), $2 an id. */
static int
link(struct store *st, const char *sql, const char *key, int64_t id, const char *what,
     struct pr_why *why)
{
	struct pg_params p = {0};
	pg_p_text(&p, key);
	pg_p_int(&p, id);
	return pg_do(st, sql, &p, what, why) < 0 ? -1 : 0;
}

int
pg_store_project_grant(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO project_members(project_id, user_id) VALUES($1, $2)"
	                          " ON CONFLICT DO NOTHING";
	int64_t uid;
	if (pg_project_exists(st, id, why) != 0 || pg_user_id(st, user, &uid, why) != 0)
		return -1;
	return link(st, sql, id, uid, "granting access", why);
}

int
pg_store_project_revoke(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM project_members WHERE project_id = $1"
	                          " AND user_id = (SELECT id FROM users WHERE name = $2)";
	int64_t uid;
	if (pg_project_exists(st, id, why) != 0 || pg_user_id(st, user, &uid, why) != 0)
		return -1;
	struct pg_params p = {0};
	pg_p_text(&p, id);
	pg_p_text(&p, user);
	return pg_changed(st, sql, &p, "changing the directory", why,
	                  "%s is not a member of project %s", user, id);
}

int
pg_store_project_is_member(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id"
	                          " WHERE m.project_id = $1 AND u.name = $2";
	if (!pg_text_ok(id) || !pg_text_ok(user))
		return 0;
	struct pg_params p = {0};
	pg_p_text(&p, id);
	pg_p_text(&p, user);
	return pg_exists(st, sql, &p, "checking membership", why);
}

/* ---- stakeholders ---- */

#define STAKE_COLS "SELECT k.id, k.name, (SELECT string_agg(address, E'\\n'" \
	" ORDER BY address COLLATE \"C\") FROM stakeholder_emails WHERE stakeholder_id = k.id)" \
	" FROM stakeholders k "

static void
read_stakeholder(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_stakeholder *k = p;
	memset(k, 0, sizeof(*k));
	k->id = pg_int(r, row, 0);
	k->name = pg_str(a, r, row, 1);
	store_split(a, pg_text(a, r, row, 2), &k->emails, &k->nemails);
}

int
pg_store_stakeholder_add(struct store *st, const char *name, const char *const *emails, size_t n,
                         struct pr_why *why)
{
	return add_owner(st, &stakeholder_sql, name, NULL, emails, n, why);
}

int
pg_store_stakeholder_list(struct store *st, struct arena *a, struct store_stakeholder **out,
                          size_t *n, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS "ORDER BY k.name COLLATE \"C\"";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_stakeholder, out, n,
	                  "listing stakeholders", why);
}

int
pg_store_stakeholder_by_email(struct store *st, struct arena *a, const char *email,
                              struct store_stakeholder *out, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS
		"WHERE k.id = (SELECT stakeholder_id FROM stakeholder_emails WHERE address = $1)";
	return get_by_address(st, a, sql, email, read_stakeholder, out, "looking up a stakeholder", why);
}

int
pg_store_stakeholder_get(struct store *st, struct arena *a, const char *name,
                         struct store_stakeholder *out, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS "WHERE k.name = $1";
	return get_by(st, a, sql, name, read_stakeholder, out, "looking up a stakeholder", why);
}

int
pg_store_project_add_stakeholder(struct store *st, const char *project, const char *name,
                                 struct pr_why *why)
{
	static const char sql[] = "INSERT INTO project_stakeholders(project_id, stakeholder_id)"
	                          " VALUES($1, $2) ON CONFLICT DO NOTHING";
	int64_t kid = 0;
	if (pg_project_exists(st, project, why) != 0 || stakeholder_id(st, name, &kid, why) != 0)
		return -1;
	return link(st, sql, project, kid, "adding a stakeholder", why);
}

void
pg_store_person_resolve(struct store *st, struct arena *a, struct store_person *p)
{
	store_person_by_address(st, a, p);
}
