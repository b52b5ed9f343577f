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
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, key);
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

/* A statement that deletes or updates one named thing: 0 if it did,
 * PR_E_NOT_FOUND with `missing` if nothing matched. */
static int
step_changed(struct store *st, sqlite3_stmt *s, const char *missing, struct pr_why *why)
{
	if (sq_step_done(st, s, "changing the directory", why) < 0)
		return -1;
	if (sqlite3_changes(st->db) > 0)
		return 0;
	pr_why_set(why, PR_E_NOT_FOUND, "%s", missing);
	return -1;
}

/* Insert each address for an owner (user or stakeholder) id. */
static int
add_emails(struct store *st, const char *sql, int64_t owner, const char *const *emails, size_t n,
           struct pr_why *why)
{
	struct arena *a = arena_new();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		sqlite3_stmt *s = sq_prep(st, sql, why);
		if (s == NULL) {
			rc = -1;
			break;
		}
		sq_bind_text(s, 1, sq_lower(a, emails[i]));
		sqlite3_bind_int64(s, 2, owner);
		char *msg = arena_printf(a, "the address %s is taken already", emails[i]);
		rc = sq_step_insert(st, s, msg, why);
	}
	arena_free(&a);
	return rc;
}

/* ---- users ---- */

#define USER_COLS "SELECT u.id, u.name, u.display, u.active, (SELECT group_concat(address, char(10))" \
	" FROM (SELECT address FROM user_emails WHERE user_id = u.id ORDER BY address)) FROM users u "

static void
read_user(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_user *u = p;
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(s, 0);
	u->name = sq_col_str(a, s, 1);
	u->display = sq_col_str(a, s, 2);
	u->active = sqlite3_column_int(s, 3) != 0;
	sq_split(a, sq_col_text(a, s, 4), &u->emails, &u->nemails);
}

int
store_user_add(struct store *st, const char *name, const char *display,
               const char *const *emails, size_t nemails, struct pr_why *why)
{
	static const char ins[] = "INSERT INTO users(name, display) VALUES(?1, ?2)";
	static const char mail[] = "INSERT INTO user_emails(address, user_id) VALUES(?1, ?2)";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, ins, why);
	if (s == NULL)
		goto fail;
	sq_bind_text(s, 1, name);
	sq_bind_text(s, 2, display ? display : "");
	char exists[300];
	snprintf(exists, sizeof(exists), "a user named '%s' exists already", name);
	if (sq_step_insert(st, s, exists, why) < 0 ||
	    add_emails(st, mail, sqlite3_last_insert_rowid(st->db), emails, nemails, why) < 0)
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

int
store_user_remove(struct store *st, const char *name, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM users WHERE name = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, name);
	char missing[300];
	snprintf(missing, sizeof(missing), "no user named '%s'", name);
	return step_changed(st, s, missing, why);
}

int
store_user_set_active(struct store *st, const char *name, bool active, struct pr_why *why)
{
	static const char sql[] = "UPDATE users SET active = ?2 WHERE name = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, name);
	sqlite3_bind_int(s, 2, active);
	char missing[300];
	snprintf(missing, sizeof(missing), "no user named '%s'", name);
	return step_changed(st, s, missing, why);
}

int
store_user_list(struct store *st, struct arena *a, struct store_user **out, size_t *n,
                struct pr_why *why)
{
	static const char sql[] = USER_COLS "ORDER BY u.name";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*n = 0;
	return s ? sq_collect(st, a, s, sizeof(**out), read_user, out, n, "listing users", why) : -1;
}

/* Run a one-row user query with ?1 bound to key: 0 found, 1 none. */
static int
user_one(struct store *st, struct arena *a, const char *sql, const char *key,
         struct store_user *out, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, key);
	return sq_one(st, a, s, read_user, out, "looking up a user", why);
}

int
store_user_by_email(struct store *st, struct arena *a, const char *email,
                    struct store_user *out, struct pr_why *why)
{
	static const char sql[] = USER_COLS
		"WHERE u.id = (SELECT user_id FROM user_emails WHERE address = lower(?1))";
	return user_one(st, a, sql, email, out, why);
}

int
store_user_get(struct store *st, struct arena *a, const char *name,
               struct store_user *out, struct pr_why *why)
{
	static const char sql[] = USER_COLS "WHERE u.name = ?1";
	return user_one(st, a, sql, name, out, why);
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
	sq_split(a, sq_col_text(a, s, 2), &p->members, &p->nmembers);
	sq_split(a, sq_col_text(a, s, 3), &p->stakeholders, &p->nstakeholders);
}

int
store_project_add(struct store *st, const char *id, const char *name, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO projects(id, name) VALUES(?1, ?2)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, id);
	sq_bind_text(s, 2, name ? name : "");
	char exists[300];
	snprintf(exists, sizeof(exists), "project %s exists already", id);
	return sq_step_insert(st, s, exists, why);
}

int
store_project_list(struct store *st, struct arena *a, struct store_project **out, size_t *n,
                   struct pr_why *why)
{
	/* Numeric ids sort as numbers, then the rest by text. */
	static const char sql[] = PROJECT_COLS "ORDER BY length(p.id), p.id";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*n = 0;
	return s ? sq_collect(st, a, s, sizeof(**out), read_project, out, n, "listing projects", why) : -1;
}

int
store_project_get(struct store *st, struct arena *a, const char *id,
                  struct store_project *out, struct pr_why *why)
{
	static const char sql[] = PROJECT_COLS "WHERE p.id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, id);
	return sq_one(st, a, s, read_project, out, "looking up a project", why);
}

int
store_project_grant(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO project_members(project_id, user_id) VALUES(?1, ?2)";
	int64_t uid;
	if (sq_project_exists(st, id, why) != 0 || sq_user_id(st, user, &uid, why) != 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, uid);
	return sq_step_done(st, s, "granting access", why);
}

int
store_project_revoke(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM project_members WHERE project_id = ?1"
	                          " AND user_id = (SELECT id FROM users WHERE name = ?2)";
	int64_t uid;
	if (sq_project_exists(st, id, why) != 0 || sq_user_id(st, user, &uid, why) != 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, id);
	sq_bind_text(s, 2, user);
	char missing[300];
	snprintf(missing, sizeof(missing), "%s is not a member of project %s", user, id);
	return step_changed(st, s, missing, why);
}

int
store_project_is_member(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM project_members m JOIN users u ON u.id = m.user_id"
	                          " WHERE m.project_id = ?1 AND u.name = ?2";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, id);
	sq_bind_text(s, 2, user);
	int rc = sqlite3_step(s);
	sq_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_fail(st, rc, "checking membership", why);
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
	sq_split(a, sq_col_text(a, s, 2), &k->emails, &k->nemails);
}

int
store_stakeholder_add(struct store *st, const char *name, const char *const *emails, size_t n,
                      struct pr_why *why)
{
	static const char ins[] = "INSERT INTO stakeholders(name) VALUES(?1)";
	static const char mail[] = "INSERT INTO stakeholder_emails(address, stakeholder_id) VALUES(?1, ?2)";
	if (sq_begin(st, why) < 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, ins, why);
	if (s == NULL)
		goto fail;
	sq_bind_text(s, 1, name);
	char exists[300];
	snprintf(exists, sizeof(exists), "a stakeholder named '%s' exists already", name);
	if (sq_step_insert(st, s, exists, why) < 0 ||
	    add_emails(st, mail, sqlite3_last_insert_rowid(st->db), emails, n, why) < 0)
		goto fail;
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

int
store_stakeholder_list(struct store *st, struct arena *a, struct store_stakeholder **out,
                       size_t *n, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS "ORDER BY k.name";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*n = 0;
	return s ? sq_collect(st, a, s, sizeof(**out), read_stakeholder, out, n, "listing stakeholders", why) : -1;
}

int
store_stakeholder_by_email(struct store *st, struct arena *a, const char *email,
                           struct store_stakeholder *out, struct pr_why *why)
{
	static const char sql[] = STAKE_COLS
		"WHERE k.id = (SELECT stakeholder_id FROM stakeholder_emails WHERE address = lower(?1))";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, email);
	return sq_one(st, a, s, read_stakeholder, out, "looking up a stakeholder", why);
}

int
store_project_add_stakeholder(struct store *st, const char *project, const char *name,
                              struct pr_why *why)
{
	static const char sql[] = "INSERT OR IGNORE INTO project_stakeholders(project_id, stakeholder_id)"
	                          " VALUES(?1, ?2)";
	int64_t kid = 0;
	if (sq_project_exists(st, project, why) != 0 || stakeholder_id(st, name, &kid, why) != 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, project);
	sqlite3_bind_int64(s, 2, kid);
	return sq_step_done(st, s, "adding a stakeholder", why);
}
