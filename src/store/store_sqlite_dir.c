/* store_sqlite_dir.c - the directory over SQLite: users and their
 * addresses, projects with members and stakeholders, aliases, domains.
 *
 * Addresses and domains are stored lowercased and looked up with lower(),
 * so every comparison is case-insensitive (what every real mailbox
 * provider does, RFC 5321 2.4 notwithstanding).  Names are kept exactly.
 * Lists of names travel out of SQL as group_concat(..., char(10)) and are
 * split in C: one query per list instead of one per row.
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* ---- lookups shared by the directory and message files ---- */

/* Run sql (one text parameter, one integer column) for key: 0 found (the
 * column in *id_r when id_r is not NULL), 1 none (why: PR_E_NOT_FOUND,
 * "no <what> '<key>'"), -1 error. */
static int
lookup_id(struct store *st, const char *sql, const char *key, const char *what, int64_t *id_r,
          struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep_key(st, sql, key, why);
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && id_r != NULL)
		*id_r = sqlite3_column_int64(s, 0);
	sq_done(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE) {
		char doing[64];
		snprintf(doing, sizeof(doing), "looking up a %s", what);
		return sq_fail(st, rc, doing, why);
	}
	pr_why_set(why, PR_E_NOT_FOUND, "no %s '%s'", what, key);
	return 1;
}

int
sq_user_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why)
{
	return lookup_id(st, "SELECT id FROM users WHERE name = ?1", name, "user", id_r, why);
}

static int
stakeholder_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why)
{
	return lookup_id(st, "SELECT id FROM stakeholders WHERE name = ?1", name, "stakeholder", id_r, why);
}

/* 0 exists, 1 not (why: PR_E_NOT_FOUND), -1 error. */
int
sq_project_exists(struct store *st, const char *id, struct pr_why *why)
{
	return lookup_id(st, "SELECT 1 FROM projects WHERE id = ?1", id, "project", NULL, why);
}

/* ---- users and stakeholders: a name with the addresses it sends from ---- */

/* What differs between adding a user and adding a stakeholder. */
struct owner_sql {
	const char *kind;           /* "user", "stakeholder": for messages */
	const char *insert;         /* ?1 name [, ?2 display] */
	const char *insert_email;   /* ?1 address, ?2 the new owner's id */
};

static const struct owner_sql user_sql = {
	"user", "INSERT INTO users(name, display) VALUES(?1, ?2)",
	"INSERT INTO user_emails(address, user_id) VALUES(?1, ?2)",
};
static const struct owner_sql stakeholder_sql = {
	"stakeholder", "INSERT INTO stakeholders(name) VALUES(?1)",
	"INSERT INTO stakeholder_emails(address, stakeholder_id) VALUES(?1, ?2)",
};

/* Insert each address for an owner (user or stakeholder) id. */
static int
add_emails(struct store *st, const char *sql, int64_t owner, const char *const *emails, size_t n,
           struct pr_why *why)
{
	struct arena *a = arena_new();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_stmt *s = sq_prep_key(st, sql, store_lower(a, emails[i]), why);
		if (s == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(s, 2, owner);
		rc = sq_step_insert(st, s, why, "the address %s is taken already", emails[i]);
	}
	arena_free(&a);
	return rc;
}

/* The owner and its addresses in one transaction, so a taken address
 * leaves no half-added owner behind.  display is bound only when not NULL
 * (stakeholders have none). */
static int
add_owner(struct store *st, const struct owner_sql *q, const char *name, const char *display,
          const char *const *emails, size_t n, struct pr_why *why)
{
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep_key(st, q->insert, name, why);
	if (s == NULL)
		goto fail;
	if (display != NULL)
		sq_bind_text(s, 2, display);
	if (sq_step_insert(st, s, why, "a %s named '%s' exists already", q->kind, name) < 0 ||
	    add_emails(st, q->insert_email, sqlite3_last_insert_rowid(st->db), emails, n, why) < 0)
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

/* ---- users ---- */

#define USER_COLS "SELECT u.id, u.name, u.display, u.active, (SELECT group_concat(address, char(10))" \
	" FROM (SELECT address FROM user_emails WHERE user_id = u.id ORDER BY address))," \
	" coalesce(c.admin, 0), c.password_hash IS NOT NULL" \
	" FROM users u LEFT JOIN user_console c ON c.user_id = u.id "

static void
read_user(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_user *u = p;
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(s, 0);
	u->name = sq_col_str(a, s, 1);
	u->display = sq_col_str(a, s, 2);
	u->active = sqlite3_column_int(s, 3) != 0;
	store_split(a, sq_col_text(a, s, 4), &u->emails, &u->nemails);
	u->admin = sqlite3_column_int(s, 5) != 0;
	u->has_password = sqlite3_column_int(s, 6) != 0;
}

int
sqlite_store_user_add(struct store *st, const char *name, const char *display,
               const char *const *emails, size_t nemails, struct pr_why *why)
{
	return add_owner(st, &user_sql, name, display ? display : "", emails, nemails, why);
}

int
sqlite_store_user_remove(struct store *st, const char *name, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM users WHERE name = ?1";
	sqlite3_stmt *s = sq_prep_key(st, sql, name, why);
	return s ? sq_step_changed(st, s, "changing the directory", why, "no user named '%s'", name) : -1;
}

/* A disabled user's console sessions end with the change (same
 * transaction), so no node keeps serving them. */
int
sqlite_store_user_set_active(struct store *st, const char *name, bool active, struct pr_why *why)
{
	static const char sql[] = "UPDATE users SET active = ?2 WHERE name = ?1";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep_key(st, sql, name, why);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int(s, 2, active);
	if (sq_step_changed(st, s, "changing the directory", why, "no user named '%s'", name) < 0 ||
	    (!active && sq_user_sessions_end(st, name, why) < 0))
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

int
sqlite_store_user_list(struct store *st, struct arena *a, struct store_user **out, size_t *n,
                struct pr_why *why)
{
	static const char sql[] = USER_COLS "ORDER BY u.name";
	return sq_list(st, a, sql, sizeof(**out), read_user, out, n, "listing users", why);
}

int
sqlite_store_user_by_email(struct store *st, struct arena *a, const char *email,
                    struct store_user *out, struct pr_why *why)
{
	static const char sql[] = USER_COLS
		"WHERE u.id = (SELECT user_id FROM user_emails WHERE address = lower(?1))";
	return sq_get(st, a, sql, email, read_user, out, "looking up a user", why);
}

int
sqlite_store_user_get(struct store *st, struct arena *a, const char *name,
               struct store_user *out, struct pr_why *why)
{
	static const char sql[] = USER_COLS "WHERE u.name = ?1";
	return sq_get(st, a, sql, name, read_user, out, "looking up a user", why);
}

/* ---- projects ---- */

#define PROJECT_COLS "SELECT p.id, p.name," \
	" (SELECT group_concat(name, char(10)) FROM (SELECT u.name FROM project_members m" \
	"  JOIN users u ON u.id = m.user_id WHERE m.project_id = p.id ORDER BY u.name))," \
	" (SELECT group_concat(name, char(10)) FROM (SELECT k.name FROM project_stakeholders ps" \
	"  JOIN stakeholders k ON k.id = ps.stakeholder_id WHERE ps.project_id = p.id ORDER BY k.name))" \
	" FROM projects p "

static void
read_project(struct arena *a, sqlite3_stmt *s, void *out)
{
	struct store_project *p = out;
	memset(p, 0, sizeof(*p));
	p->id = sq_col_str(a, s, 0);
	p->name = sq_col_str(a, s, 1);
	store_split(a, sq_col_text(a, s, 2), &p->members, &p->nmembers);
	store_split(a, sq_col_text(a, s, 3), &p->stakeholders, &p->nstakeholders);
}

int
sqlite_store_project_add(struct store *st, const char *id, const char *name, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO projects(id, name) VALUES(?1, ?2)";
	sqlite3_stmt *s = sq_prep_key(st, sql, id, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 2, name ? name : "");
	return sq_step_insert(st, s, why, "project %s exists already", id);
}

int
sqlite_store_project_list(struct store *st, struct arena *a, struct store_project **out, size_t *n,
                   struct pr_why *why)
{
	/* Numeric ids sort as numbers, then the rest by text. */
	static const char sql[] = PROJECT_COLS "ORDER BY length(p.id), p.id";
	return sq_list(st, a, sql, sizeof(**out), read_project, out, n, "listing projects", why);
}

int
sqlite_store_project_get(struct store *st, struct arena *a, const char *id,
                  struct store_project *out, struct pr_why *why)
{
	static const char sql[] = PROJECT_COLS "WHERE p.id = ?1";
	return sq_get(st, a, sql, id, read_project, out, "looking up a project", why);
}

int
sqlite_store_project_exists(struct store *st, const char *id, struct pr_why *why)
{
	return sq_project_exists(st, id, why);
}

int
sqlite_store_project_grant(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO project_members(project_id, user_id) VALUES(?1, ?2)";
	int64_t uid;
	if (sq_project_exists(st, id, why) != 0 || sq_user_id(st, user, &uid, why) != 0)
		return -1;
	return sq_link(st, sql, id, uid, "granting access", why);
}

int
sqlite_store_project_revoke(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM project_members WHERE project_id = ?1"
	                          " AND user_id = (SELECT id FROM users WHERE name = ?2)";
	int64_t uid;
	if (sq_project_exists(st, id, why) != 0 || sq_user_id(st, user, &uid, why) != 0)
		return -1;
	sqlite3_stmt *s = sq_prep_key(st, sql, id, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 2, user);
	return sq_step_changed(st, s, "changing the directory", why,
	                       "%s is not a member of project %s", user, id);
}

int
sqlite_store_project_is_member(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id"
	                          " WHERE m.project_id = ?1 AND u.name = ?2";
	sqlite3_stmt *s = sq_prep_keys(st, sql, id, user, why);
	return s == NULL ? -1 : sq_exists(st, s, "checking membership", why);
}

/* ---- stakeholders ---- */

#define STAKE_COLS "SELECT k.id, k.name, (SELECT group_concat(address, char(10)) FROM" \
	" (SELECT address FROM stakeholder_emails WHERE stakeholder_id = k.id ORDER BY address))" \
	" FROM stakeholders k "

static void
read_stakeholder(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_stakeholder *k = p;
	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(s, 0);
	k->name = sq_col_str(a, s, 1);
	store_split(a, sq_col_text(a, s, 2), &k->emails, &k->nemails);
}

int
sqlite_store_stakeholder_add(struct store *st, const char *name, const char *const *emails, size_t n,
                      struct pr_why *why)
{
	return add_owner(st, &stakeholder_sql, name, NULL, emails, n, why);
}

int
sqlite_store_stakeholder_list(struct store *st, struct arena *a, struct store_stakeholder **out,
                       size_t *n, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS "ORDER BY k.name";
	return sq_list(st, a, sql, sizeof(**out), read_stakeholder, out, n, "listing stakeholders", why);
}

int
sqlite_store_stakeholder_by_email(struct store *st, struct arena *a, const char *email,
                           struct store_stakeholder *out, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS
		"WHERE k.id = (SELECT stakeholder_id FROM stakeholder_emails WHERE address = lower(?1))";
	return sq_get(st, a, sql, email, read_stakeholder, out, "looking up a stakeholder", why);
}

int
sqlite_store_stakeholder_get(struct store *st, struct arena *a, const char *name,
                      struct store_stakeholder *out, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS "WHERE k.name = ?1";
	return sq_get(st, a, sql, name, read_stakeholder, out, "looking up a stakeholder", why);
}

int
sqlite_store_project_add_stakeholder(struct store *st, const char *project, const char *name,
                              struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO project_stakeholders(project_id, stakeholder_id)"
	                          " VALUES(?1, ?2)";
	int64_t kid = 0;
	if (sq_project_exists(st, project, why) != 0 || stakeholder_id(st, name, &kid, why) != 0)
		return -1;
	return sq_link(st, sql, project, kid, "adding a stakeholder", why);
}

void
sqlite_store_person_resolve(struct store *st, struct arena *a, struct store_person *p)
{
	store_person_by_address(st, a, p);
}
