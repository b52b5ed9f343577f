/* pop3_seen.c - the UIDLs and content hashes of collected messages.
 *
 * Why a table of our own: the message and its pop3_seen row are written
 * in two transactions (intake commits the message; then we record it), and
 * only after both does the collector send DELE.  So at any crash point:
 *   - before the intake commit: nothing stored; the message is still in
 *     the mailbox and is collected next round (no loss);
 *   - after the commit, before the row: the next round downloads it again
 *     and intake's duplicate check (Message-ID + SHA-256) files it once;
 *   - after the row, before QUIT: the server forgets the DELE; the next
 *     round finds the UIDL here and deletes it without storing it again.
 * The content hash catches a server that renumbered its UIDLs.
 *
 * It is a separate SQLite connection to the store's database file (WAL, a
 * busy timeout), so it needs nothing from the store backend.  A PostgreSQL
 * store would need these calls in store/; until then only sqlite: works.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "pop3/pop3_private.h"

struct pop3_seen {
	sqlite3 *db;
	sqlite3_stmt *has_uidl, *has_hash, *add;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS pop3_seen ("
    " uidl TEXT PRIMARY KEY,"
    " sha256 TEXT NOT NULL,"
    " state TEXT NOT NULL,"          /* stored | refused */
    " message_id INTEGER NOT NULL DEFAULT 0,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS pop3_seen_sha ON pop3_seen(sha256);";

static int
fail(struct pop3_seen *s, const char *what, struct pr_why *why)
{
	int rc = sqlite3_errcode(s->db);
	pr_why_set(why, rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? PR_E_STORE_BUSY : PR_E_STORE_FAILED,
	           "pop3_seen %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

static int
prepare(struct pop3_seen *s, const char *sql, sqlite3_stmt **st, struct pr_why *why)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return fail(s, "prepare", why);
	return 0;
}

struct pop3_seen *
pop3_seen_open(const char *store_uri, struct pr_why *why)
{
	if (store_uri == NULL || strncmp(store_uri, "sqlite:", 7) != 0) {
		pr_why_set(why, PR_E_CONFIG, "POP3 collection needs a sqlite: store for now");
		return NULL;
	}
	struct pop3_seen *s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(store_uri + 7, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		fail(s, "open", why);
		pop3_seen_close(&s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* synchronous=FULL: the row must survive a power cut before DELE. */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
	                 NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    prepare(s, "SELECT 1 FROM pop3_seen WHERE uidl = ?", &s->has_uidl, why) < 0 ||
	    prepare(s, "SELECT 1 FROM pop3_seen WHERE sha256 = ?", &s->has_hash, why) < 0 ||
	    prepare(s, "INSERT OR REPLACE INTO pop3_seen(uidl, sha256, state, message_id, at)"
	               " VALUES (?, ?, ?, ?, strftime('%s','now'))", &s->add, why) < 0) {
		if (why->code == PR_OK)
			fail(s, "schema", why);
		pop3_seen_close(&s);
		return NULL;
	}
	return s;
}

void
pop3_seen_close(struct pop3_seen **sp)
{
	struct pop3_seen *s = *sp;
	if (s == NULL)
		return;
	sqlite3_finalize(s->has_uidl);
	sqlite3_finalize(s->has_hash);
	sqlite3_finalize(s->add);
	sqlite3_close(s->db);
	free(s);
	*sp = NULL;
}

static int
exists(struct pop3_seen *s, sqlite3_stmt *st, const char *key, struct pr_why *why)
{
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(s, "lookup", why);
}

int
pop3_seen_has_uidl(struct pop3_seen *s, const char *uidl, struct pr_why *why)
{
	return exists(s, s->has_uidl, uidl, why);
}

int
pop3_seen_has_hash(struct pop3_seen *s, const char *sha256_hex, struct pr_why *why)
{
	return exists(s, s->has_hash, sha256_hex, why);
}

int
pop3_seen_add(struct pop3_seen *s, const char *uidl, const char *sha256_hex, const char *state,
              int64_t message_id, struct pr_why *why)
{
	sqlite3_stmt *st = s->add;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, uidl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha256_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, message_id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(s, "insert", why);
}

int
pop3_seen_expire(struct pop3_seen *s, time_t before, struct pr_why *why)
{
	char *sql = sqlite3_mprintf("DELETE FROM pop3_seen WHERE at < %lld", (long long)before);
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	sqlite3_free(sql);
	return rc == SQLITE_OK ? 0 : fail(s, "expire", why);
}

int
pop3_seen_begin(struct pop3_seen *s, struct pr_why *why)
{
	return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0
	       : fail(s, "begin", why);
}

int
pop3_seen_commit(struct pop3_seen *s, struct pr_why *why)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	fail(s, "commit", why);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
