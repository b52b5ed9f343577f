/* store_sqlite.h - what the SQLite backend's files share (private).
 *
 * struct store is one SQLite connection plus a cache of prepared
 * statements keyed by the address of their SQL text (each statement is a
 * static string in the file that uses it), so a hot statement is prepared
 * once per connection and then only reset.
 */
#ifndef PR_STORE_SQLITE_H
#define PR_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "core/err.h"

struct arena;

#define SQ_MAX_STMTS 96

struct sq_cached {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	char *path;
	struct sq_cached cache[SQ_MAX_STMTS];
	int ncache;
};

/* The cached statement for sql (prepared on first use), or NULL with why. */
sqlite3_stmt *sq_prep(struct store *st, const char *sql, struct pr_why *why);
/* Reset and unbind after use, so the statement holds no read lock. */
void sq_done(sqlite3_stmt *s);
/* Classify an SQLite failure into why: busy/locked -> PR_E_STORE_BUSY,
 * else PR_E_STORE_FAILED.  Always returns -1. */
int sq_fail(struct store *st, int rc, const char *what, struct pr_why *why);
/* Step a statement that returns no rows; 0 or -1 with why. */
int sq_step_done(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why);
int sq_exec(struct store *st, const char *sql, struct pr_why *why);
int sq_begin(struct store *st, struct pr_why *why);      /* BEGIN IMMEDIATE */
int sq_commit(struct store *st, struct pr_why *why);
void sq_rollback(struct store *st);

void sq_bind_text(sqlite3_stmt *s, int i, const char *v);   /* NULL binds NULL */
/* Column as an arena string; NULL stays NULL. */
const char *sq_col_text(struct arena *a, sqlite3_stmt *s, int col);
/* Column as an arena string; NULL becomes "". */
const char *sq_col_str(struct arena *a, sqlite3_stmt *s, int col);
/* Split a '\n'-joined group_concat() into an arena array. */
void sq_split(struct arena *a, const char *joined, const char ***out, size_t *n);
/* ASCII-lowercased arena copy (addresses and domains are stored so). */
char *sq_lower(struct arena *a, const char *s);

/* Grow an arena array of elem-sized items to hold n+1; returns the array. */
void *sq_grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t elem);
/* Step an INSERT; a UNIQUE/PRIMARY KEY clash is PR_E_EXISTS with the
 * text `exists`, a foreign key failure PR_E_NOT_FOUND. */
int sq_step_insert(struct store *st, sqlite3_stmt *s, const char *exists, struct pr_why *why);

/* Reads one row into the element at p. */
typedef void (*sq_read_fn)(struct arena *a, sqlite3_stmt *s, void *p);
/* Step a prepared, bound query to the end, reading every row into a
 * growing arena array of elem-sized items.  0 or -1 with why. */
int sq_collect(struct store *st, struct arena *a, sqlite3_stmt *s, size_t elem, sq_read_fn read,
               void *out, size_t *n, const char *what, struct pr_why *why);
/* Step a prepared, bound query once: 0 row read into out, 1 none, -1. */
int sq_one(struct store *st, struct arena *a, sqlite3_stmt *s, sq_read_fn read, void *out,
           const char *what, struct pr_why *why);

/* Look up an id by name; 0 found, 1 none (why set to PR_E_NOT_FOUND with
 * the text "no <kind> named <name>"), -1 error. */
int sq_user_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why);
int sq_project_exists(struct store *st, const char *id, struct pr_why *why);

/* Message-ID as stored and looked up: without <> and surrounding blanks. */
const char *sq_msgid(struct arena *a, const char *msgid);

/* Insert one intake-log row (store_sqlite_log.c); used by the commit too. */
struct store_log_entry;
int sq_log_insert(struct store *st, const struct store_log_entry *e, int64_t *id_r,
                  struct pr_why *why);

#endif
