/* store_sqlite.c - the embedded SQLite backend: connection, schema,
 * settings.  The statement cache, error mapping and row helpers live in
 * store_sqlite_stmt.c, directory calls in store_sqlite_dir.c and
 * store_sqlite_alias.c, messages and the group commit in
 * store_sqlite_msg.c, reading them back in store_sqlite_read.c, the
 * intake log in store_sqlite_log.c, POP3 bookkeeping in
 * store_sqlite_pop3.c.
 *
 * Durability: WAL journal with synchronous=FULL, so a COMMIT returns only
 * after the WAL is fsynced; that is what lets SMTP answer 250 after commit.
 * Several processes (serve, the CLI) share the file: writers queue on
 * busy_timeout; a writer that still cannot get the lock reports
 * PR_E_STORE_BUSY, which SMTP turns into a 4xx so the client retries.
 *
 * Schema changes are migrations numbered by PRAGMA user_version; each runs
 * once, inside the same write transaction that bumps the version.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/private.h"
#include "store/store_sqlite.h"
#include "store/store_sqlite_walbuf.h"

#define SQ_BUSY_TIMEOUT_MS 5000

static void sqlite_store_close(struct store *st);

/* Migration 21's three triggers on directory table t. */
#define DIRECTORY_TRIGGER(t, when) \
	"CREATE TRIGGER IF NOT EXISTS " t "_" when "_directory_version AFTER " when " ON " t \
	" BEGIN UPDATE directory_version SET version = version + 1 WHERE id = 1; END;"
#define DIRECTORY_TRIGGERS(t) \
	DIRECTORY_TRIGGER(t, "INSERT") DIRECTORY_TRIGGER(t, "UPDATE") DIRECTORY_TRIGGER(t, "DELETE")

static const char *const migrations[] = {
	/* 1: directory, settings, messages, placements, people, intake log */
	"CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" display TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE user_emails(address TEXT PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE);"
	"CREATE INDEX user_emails_user ON user_emails(user_id);"
	"CREATE TABLE projects(id TEXT PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE project_members(project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, PRIMARY KEY(project_id, user_id));"
	"CREATE TABLE stakeholders(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE stakeholder_emails(address TEXT PRIMARY KEY,"
	" stakeholder_id INTEGER NOT NULL REFERENCES stakeholders(id) ON DELETE CASCADE);"
	"CREATE TABLE project_stakeholders(project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	" stakeholder_id INTEGER NOT NULL REFERENCES stakeholders(id) ON DELETE CASCADE,"
	" PRIMARY KEY(project_id, stakeholder_id));"
	"CREATE TABLE aliases(address TEXT PRIMARY KEY);"
	"CREATE TABLE alias_members(alias TEXT NOT NULL REFERENCES aliases(address) ON DELETE CASCADE,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, PRIMARY KEY(alias, user_id));"
	"CREATE TABLE domains(name TEXT PRIMARY KEY);"
	"CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE messages(id INTEGER PRIMARY KEY, thread_id INTEGER NOT NULL DEFAULT 0,"
	" received_at INTEGER NOT NULL, source TEXT, peer_ip TEXT, helo TEXT, mail_from TEXT, rcpts TEXT,"
	" message_id TEXT, in_reply_to TEXT, refs TEXT, subject TEXT, from_addr TEXT, date TEXT,"
	" sha256 TEXT, size INTEGER NOT NULL, parsed_json TEXT, auth_json TEXT,"
	" unreadable INTEGER NOT NULL DEFAULT 0, auto_reply INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX messages_msgid ON messages(message_id);"
	"CREATE INDEX messages_thread ON messages(thread_id);"
	/* The bytes live apart so listing messages never pages through them. */
	"CREATE TABLE message_raw(message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	" raw BLOB NOT NULL);"
	"CREATE TABLE placements(message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL, target TEXT NOT NULL, via TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX placements_msg ON placements(message_id);"
	"CREATE INDEX placements_target ON placements(kind, target);"
	"CREATE TABLE people(message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" address TEXT NOT NULL, role TEXT NOT NULL, user_name TEXT, stakeholder_name TEXT);"
	"CREATE INDEX people_msg ON people(message_id);"
	"CREATE INDEX people_addr ON people(address);"
	"CREATE TABLE intake_log(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, source TEXT, peer_ip TEXT,"
	" helo TEXT, mail_from TEXT, rcpts TEXT, size INTEGER NOT NULL DEFAULT 0, verdict TEXT NOT NULL,"
	" reason TEXT NOT NULL, detail TEXT, message_id_hdr TEXT, message_id INTEGER);"
	"CREATE INDEX intake_log_at ON intake_log(at);"
	"CREATE INDEX intake_log_msg ON intake_log(message_id);",
	/* 2: POP3 bookkeeping moves into the store, keyed by mailbox (it was
	 * pop3_seen, written by the collector on a connection of its own).
	 * Its rows are kept under mailbox '' -- which mailbox they came from
	 * is unknown, so they match by content hash only (see
	 * store_sqlite_pop3.c). */
	"CREATE TABLE pop3_collected(mailbox TEXT NOT NULL, uidl TEXT NOT NULL,"
	" sha256 TEXT NOT NULL, state TEXT NOT NULL, message_id INTEGER NOT NULL DEFAULT 0,"
	" at INTEGER NOT NULL, PRIMARY KEY(mailbox, uidl));"
	"CREATE INDEX pop3_collected_sha ON pop3_collected(mailbox, sha256);"
	"CREATE INDEX pop3_collected_at ON pop3_collected(at);"
	"CREATE TABLE IF NOT EXISTS pop3_seen(uidl TEXT PRIMARY KEY, sha256 TEXT NOT NULL,"
	" state TEXT NOT NULL, message_id INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL);"
	"INSERT INTO pop3_collected(mailbox, uidl, sha256, state, message_id, at)"
	" SELECT '', uidl, sha256, state, message_id, at FROM pop3_seen;"
	"DROP TABLE pop3_seen;",
	/* 3: a counter bumped with every settings change, so every serve (on
	 * any node sharing the store) sees a change with one cheap read. */
	"CREATE TABLE IF NOT EXISTS settings_version(id INTEGER PRIMARY KEY CHECK (id = 1),"
	" version INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO settings_version(id, version) VALUES (1, 0);",
	/* 4: the outbound queue (store_sqlite_outbound.c): one row per message
	 * we send, one per envelope recipient.  lease_until 0 means free.  IF NOT
	 * EXISTS: a store rewound to an older version (tests) migrates again. */
	"CREATE TABLE IF NOT EXISTS outbound(id INTEGER PRIMARY KEY,"
	" message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	" msgid TEXT NOT NULL UNIQUE, mail_from TEXT NOT NULL, project TEXT, sent_by TEXT,"
	" state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
	" next_attempt_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, done_at INTEGER,"
	" last_reply TEXT, lease_owner TEXT, lease_until INTEGER NOT NULL DEFAULT 0,"
	" lease INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS outbound_due ON outbound(state, next_attempt_at);"
	"CREATE INDEX IF NOT EXISTS outbound_message ON outbound(message_id);"
	"CREATE TABLE IF NOT EXISTS outbound_rcpts(outbound_id INTEGER NOT NULL REFERENCES outbound(id) ON DELETE CASCADE,"
	" address TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, reply TEXT,"
	" PRIMARY KEY(outbound_id, address));",
	/* 5: a thread's places and participants, kept as it grows (see
	 * store_sqlite_thread.c), filled from the messages stored so far.
	 * Places are inserted in the order they first appeared (their rowid
	 * is that order); uses counts placement rows.  Both are derived from
	 * the messages, so they are rebuilt whole if they exist.  And a
	 * stakeholder's addresses are read by stakeholder (store_stakeholder_by_email,
	 * on every message naming one): without an index that walked them all. */
	"DROP TABLE IF EXISTS thread_places; DROP TABLE IF EXISTS thread_people;"
	"CREATE TABLE thread_places(thread_id INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,"
	" uses INTEGER NOT NULL, UNIQUE(thread_id, kind, target));"
	"INSERT INTO thread_places(thread_id, kind, target, uses)"
	" SELECT m.thread_id, p.kind, p.target, count(*) FROM placements p JOIN messages m"
	" ON m.id = p.message_id WHERE p.kind <> 'fallback'"
	" GROUP BY m.thread_id, p.kind, p.target ORDER BY min(p.rowid);"
	"CREATE TABLE thread_people(thread_id INTEGER NOT NULL, address TEXT NOT NULL,"
	" PRIMARY KEY(thread_id, address)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO thread_people(thread_id, address)"
	" SELECT m.thread_id, p.address FROM people p JOIN messages m ON m.id = p.message_id"
	" WHERE m.auto_reply = 0 AND p.address <> '';"
	"INSERT OR IGNORE INTO thread_people(thread_id, address)"
	" SELECT thread_id, from_addr FROM messages WHERE auto_reply = 0 AND from_addr <> '';"
	"CREATE INDEX IF NOT EXISTS stakeholder_emails_stakeholder ON stakeholder_emails(stakeholder_id);",
	/* 6: large bodies are files beside the store, written before the
	 * commit; the row names the file and keeps our prepended fields
	 * (store_sqlite_body.c).  name is looked up by the orphan sweep. */
	"CREATE TABLE IF NOT EXISTS message_body(message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL UNIQUE, prepend BLOB NOT NULL, size INTEGER NOT NULL);",
	/* 7: how the stored bytes are kept (store_sqlite_zraw.c); rows written
	 * before are plain. */
	"ALTER TABLE message_raw ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;",
	/* 8: each intake attempt under every address it names (sender and
	 * recipients, lowercased as lower() does), so `why ADDRESS` is an index
	 * search however long the log (store_sqlite_log.c); older rows too. */
	"CREATE TABLE IF NOT EXISTS intake_log_addr(address TEXT NOT NULL, log_id INTEGER NOT NULL,"
	" PRIMARY KEY(address, log_id)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO intake_log_addr SELECT lower(mail_from), id FROM intake_log"
	" WHERE mail_from IS NOT NULL AND mail_from <> '';"
	"WITH RECURSIVE s(id, rest, addr) AS (SELECT id, rcpts || ',', NULL FROM intake_log"
	"  WHERE rcpts IS NOT NULL AND rcpts <> ''"
	" UNION ALL SELECT id, substr(rest, instr(rest, ',') + 1), substr(rest, 1, instr(rest, ',') - 1)"
	"  FROM s WHERE rest <> '')"
	" INSERT OR IGNORE INTO intake_log_addr SELECT lower(addr), id FROM s WHERE addr <> '';",
	/* 9: API tokens for the HTTP API, kept only as the SHA-256 of the
	 * token (store_sqlite_token.c). */
	"CREATE TABLE IF NOT EXISTS api_tokens(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" scope TEXT NOT NULL CHECK(scope IN ('admin', 'read')), hash BLOB NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL);",
	/* 10: webhooks and their deliveries (store_sqlite_webhook.c,
	 * store_sqlite_whq.c).  A delivery is one placement for one webhook;
	 * its queue is (webhook_id, project) -- project '' for placements
	 * outside projects -- ordered by seq.  The partial index holds only
	 * the deliveries still to send, so finding a queue's head or asking
	 * whether it has one costs the same however long its history. */
	"CREATE TABLE IF NOT EXISTS webhooks(id INTEGER PRIMARY KEY, url TEXT NOT NULL, project TEXT,"
	" secret TEXT NOT NULL, created_at INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE IF NOT EXISTS webhook_deliveries(id INTEGER PRIMARY KEY,"
	" webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,"
	" project TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL, event TEXT NOT NULL, state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, lease_owner TEXT,"
	" lease_until INTEGER NOT NULL DEFAULT 0, lease INTEGER NOT NULL DEFAULT 0, last_status INTEGER,"
	" last_error TEXT, created_at INTEGER NOT NULL, retry_from INTEGER NOT NULL, delivered_at INTEGER,"
	" UNIQUE(webhook_id, project, seq));"
	"CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);"
	"CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries(webhook_id, project, seq)"
	" WHERE state IN ('queued','delivering','waiting');",
	/* 11: full-text search (store_sqlite_search.c): an FTS5 index of each
	 * message's subject, From/To/Cc addresses and text, keyed by message
	 * id; contentless (content=''), so the text is not stored a second
	 * time -- the index only points at messages.  Messages stored before
	 * it get their subject and addresses indexed here; their text is not
	 * (it is in the MIME bytes, which SQL cannot read).  And a thread's
	 * latest message in each place (last_id), so a project's threads list
	 * newest activity first by an index (store_project_threads). */
	"DROP TABLE IF EXISTS message_search;"
	"CREATE VIRTUAL TABLE message_search USING fts5(subject, addresses, body, content='',"
	" tokenize='unicode61 remove_diacritics 2');"
	"INSERT INTO message_search(rowid, subject, addresses, body) SELECT m.id, coalesce(m.subject, ''),"
	" coalesce(m.from_addr, '') || ' ' || coalesce((SELECT group_concat(address, ' ') FROM people"
	" WHERE message_id = m.id), ''), '' FROM messages m;"
	"ALTER TABLE thread_places ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;"
	"UPDATE thread_places SET last_id = coalesce((SELECT max(p.message_id) FROM placements p"
	" JOIN messages m ON m.id = p.message_id WHERE m.thread_id = thread_places.thread_id"
	" AND p.kind = thread_places.kind AND p.target = thread_places.target), 0);"
	"CREATE INDEX thread_places_activity ON thread_places(kind, target, last_id);",
	/* 12: a user's projects by user (the HTTP API narrows a member's
	 * `log`, `why` and outbox to them, store_sqlite_log.c). */
	"CREATE INDEX IF NOT EXISTS project_members_user ON project_members(user_id);",
	/* 13: console sign-in (store_sqlite_session.c): a user's Argon2id
	 * password hash (encoded, "$argon2id$..."; NULL: cannot sign in) and
	 * administrator flag, in a table beside users (a row only for users
	 * who have either: a migration must run again on a rewound store, and
	 * SQLite has no ADD COLUMN IF NOT EXISTS); sessions kept only as the
	 * SHA-256 of their id; failed sign-ins by client address and by user
	 * name, for the rate limit every node sharing the store applies. */
	"CREATE TABLE IF NOT EXISTS user_console(user_id INTEGER PRIMARY KEY"
	" REFERENCES users(id) ON DELETE CASCADE, password_hash TEXT, admin INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS http_sessions(id_hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, csrf TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS http_sessions_user ON http_sessions(user_id);"
	"CREATE INDEX IF NOT EXISTS http_sessions_expires ON http_sessions(expires_at);"
	"CREATE TABLE IF NOT EXISTS login_failures(kind TEXT NOT NULL, key TEXT NOT NULL,"
	" at INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures(kind, key, at);"
	"CREATE INDEX IF NOT EXISTS login_failures_at ON login_failures(at);",
	/* 14: leases (store_sqlite_lease.c): work one node does at a time
	 * (POP3 collection of a mailbox), held by owner until a time; since:
	 * when the owner took it.  until 0: released. */
	"CREATE TABLE IF NOT EXISTS leases(name TEXT PRIMARY KEY, owner TEXT NOT NULL,"
	" until INTEGER NOT NULL, since INTEGER NOT NULL);",
	/* 15: the search index merges its segments less eagerly.  Each group
	 * commit writes a new small FTS5 segment and, by default, merges as
	 * soon as 4 lie at a level: work done inside the intake commit, the
	 * one serial step.  Merging at 16 (the most FTS5 allows) rewrites
	 * each indexed word fewer times; a search reads a few more segments
	 * (bench/README.md, "growth": intake about +4% at 150,000 messages,
	 * two runs each). */
	"INSERT INTO message_search(message_search, rank) VALUES('automerge', 16);",
	/* 16: nothing to change in the tables, but rows may now hold what an
	 * older postroom cannot read: message_raw codec 2 and deflated JSON
	 * blobs in messages.parsed_json and auth_json (store_sqlite_zraw.c).
	 * The version says so, and an older postroom refuses the store. */
	"SELECT 1;",
	/* 17: the same for messages.refs, now a deflated blob too when that
	 * saves a tenth, and messages.sha256, now the digest's 32 bytes
	 * rather than its 64 hex digits (store_sqlite_stmt.c). */
	"SELECT 1;",
	/* 18: the search index without word positions (FTS5 detail=none)
	 * and with postroom's tokenizer, which also indexes two words joined
	 * by punctuation as one term (store_sqlite_terms.c): about a quarter
	 * of the bytes and of the merge work.  Messages indexed before stay
	 * in message_search, which gets no new rows; a search reads it after
	 * message_terms (all its ids are lower: store_sqlite_search.c). */
	"CREATE VIRTUAL TABLE IF NOT EXISTS message_terms USING fts5(text, addresses, subject, content='', detail=none,"
	" tokenize='postroom');"
	"INSERT INTO message_terms(message_terms, rank) VALUES('automerge', 16);",
	/* 19: messages(thread_id) had no reader left (a thread's places and
	 * people have tables of their own since 5), yet every message paid
	 * for it in the intake commit: a leaf among 10,000 threads' keys, and
	 * a root's entry moved when its thread id is set (bench/README.md,
	 * "growth"). */
	"DROP INDEX IF EXISTS messages_thread;",
	/* 20: people(address) has no reader either (`why ADDRESS` reads
	 * intake_log_addr, a thread's people are thread_people), yet each
	 * person of each message put a key in it: at a million messages a
	 * leaf of its own for nearly every outside correspondent, one more
	 * page the intake commit writes (bench/README.md, "growth").  Nor
	 * has intake_log(message_id): the log is read by time and address,
	 * and its filters reach placements from a row, never the reverse. */
	"DROP INDEX IF EXISTS people_addr;"
	"DROP INDEX IF EXISTS intake_log_msg;",
	/* 21: a counter every change of the directory bumps, in the change's
	 * own transaction (a trigger on each of its tables, so no writer can
	 * forget it): a connection keeps the answers intake asks for every
	 * message while it is unchanged (store_dircache.c). */
	"CREATE TABLE IF NOT EXISTS directory_version(id INTEGER PRIMARY KEY CHECK (id = 1),"
	" version INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO directory_version(id, version) VALUES (1, 0);"
	DIRECTORY_TRIGGERS("users")
	DIRECTORY_TRIGGERS("user_emails")
	DIRECTORY_TRIGGERS("user_console")
	DIRECTORY_TRIGGERS("projects")
	DIRECTORY_TRIGGERS("project_members")
	DIRECTORY_TRIGGERS("stakeholders")
	DIRECTORY_TRIGGERS("stakeholder_emails")
	DIRECTORY_TRIGGERS("project_stakeholders")
	DIRECTORY_TRIGGERS("aliases")
	DIRECTORY_TRIGGERS("alias_members")
	DIRECTORY_TRIGGERS("domains")
	"",
	/* 22: messages are found by Message-ID through an 8-byte key (the
	 * first eight bytes of its SHA-256, store_sqlite_msgid.c) instead of
	 * the identifier's text: the index is a third of the size, and at a
	 * million messages fits the committer's page cache again.  Every
	 * lookup still compares the identifier itself. */
	"ALTER TABLE messages ADD COLUMN msgid_key INTEGER;"
	"UPDATE messages SET msgid_key = postroom_msgid_key(message_id) WHERE message_id IS NOT NULL;"
	"DROP INDEX IF EXISTS messages_msgid;"
	"CREATE INDEX IF NOT EXISTS messages_msgid_key ON messages(msgid_key);",
	/* 23: nothing to change in the tables, but new rows are packed with
	 * zstd (message_raw codec 3, JSON and References blobs of type 2,
	 * store_sqlite_zstd.c), which an older postroom cannot read: the
	 * version says so, and it refuses the store. */
	"SELECT 1;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
sq_migrations_known(void)
{
	return NMIGRATIONS;
}

/* -wal and -shm files an older version left readable by others. */
static int
private_wal(const char *path, struct pr_why *why)
{
	char side[4096];
	for (int i = 0; i < 2; i++) {
		int n = snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
		if (n < 0 || (size_t)n >= sizeof(side) || private_file(side, false, why) < 0)
			return n < 0 || (size_t)n >= sizeof(side) ? 0 : -1;
	}
	return 0;
}

static int
pragma_int(struct store *st, const char *sql, int *v, struct pr_why *why)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		*v = sqlite3_column_int(s, 0), rc = SQLITE_OK;
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : sq_fail(st, rc, sql, why);
}

static int
migrate(struct store *st, struct pr_why *why)
{
	int version = 0;
	if (pragma_int(st, "PRAGMA user_version", &version, why) < 0)
		return -1;
	/* A newer postroom wrote this store: this binary does not know what
	 * its tables mean now, and writing would corrupt them. */
	if (version > NMIGRATIONS) {
		pr_why_set(why, PR_E_CONFIG, "%s: the store has schema version %d, this postroom knows only up "
		           "to %d: run the newer postroom that wrote it (or restore a backup)",
		           st->path, version, NMIGRATIONS);
		return -1;
	}
	if (version == NMIGRATIONS)
		return 0;
	/* Re-read under the write lock: another process may have migrated. */
	if (sq_begin(st, why) < 0 || pragma_int(st, "PRAGMA user_version", &version, why) < 0)
		goto fail;
	for (int v = version; v < NMIGRATIONS; v++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
		if (sq_exec(st, migrations[v], why) < 0 || sq_exec(st, bump, why) < 0)
			goto fail;
	}
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

#define WAL_CHECKPOINT_BYTES (128 * 1024 * 1024)

/* The store's page size (an older store keeps the one it was made with). */
static int
page_size(struct store *st)
{
	sqlite3_stmt *s = NULL;
	int n = 0;
	if (sqlite3_prepare_v2(st->db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK
	    && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n >= 512 ? n : 4096;
}

static int
configure(struct store *st, struct pr_why *why)
{
	sqlite3_busy_timeout(st->db, SQ_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 1);
	char mode[16] = "";
	sqlite3_stmt *s = NULL;
	/* 4 KiB pages (SQLite's default).  A commit rewrites every page it
	 * touches: each index's insert point, the messages and log tables'
	 * last leaf, the search index's new segment.  With 16 KiB pages (kept
	 * while large bodies were stored in the database, now files of their
	 * own) that was 124 KiB of WAL for a 10 KiB message; with 4 KiB, 49
	 * KiB, and bench/growth reads and writes 3.4 times fewer bytes a
	 * message (bench/README.md, "growth").  Only takes effect when the
	 * file is new: an older store keeps its page size. */
	if (sq_exec(st, "PRAGMA page_size=4096", why) < 0)
		return -1;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(s, 0));
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return sq_fail(st, rc, "switching to WAL", why);
	if (strcmp(mode, "wal") != 0) {
		pr_why_set(why, PR_E_STORE_FAILED, "%s: cannot use WAL mode (got %s); put the store on a local disk",
		           st->path, mode);
		return -1;
	}
	/* A checkpoint every 128 MiB of WAL (32,768 pages of 4 KiB), not
	 * SQLite's 1,000 pages: a page the commits keep dirtying (an index's
	 * insert point, the search index's newest segment) is copied into the
	 * database once a checkpoint, and the checkpoint runs inside a commit.  Writes per
	 * message and the 1,000,000-message growth run both improved
	 * (bench/README.md, "growth").  The -wal file stays that size.
	 * secure_delete FAST: Debian builds SQLite to zero every freed page,
	 * which rewrote each page of every search segment a merge let go of;
	 * FAST still zeroes deleted cells in pages written anyway.  postroom
	 * never deletes a message; what a merge frees is copied into the
	 * merged segment. */
	char checkpoint[64];
	snprintf(checkpoint, sizeof(checkpoint), "PRAGMA wal_autocheckpoint=%d",
	         (int)(WAL_CHECKPOINT_BYTES / page_size(st)));
	if (sq_exec(st, checkpoint, why) < 0 ||
	    sq_exec(st, "PRAGMA secure_delete=FAST", why) < 0 ||
	    sq_exec(st, "PRAGMA synchronous=FULL", why) < 0 ||
	    sq_exec(st, "PRAGMA foreign_keys=ON", why) < 0)
		return -1;
	if ((rc = sq_terms_register(st->db)) != SQLITE_OK)
		return sq_fail(st, rc, "adding the search index's tokenizer", why);
	if ((rc = sq_msgid_key_register(st->db)) != SQLITE_OK)
		return sq_fail(st, rc, "adding the Message-ID key function", why);
	return migrate(st, why);
}

/* The process-wide SQLite settings, before the library initialises (any
 * other SQLite call would make this too late, so it runs first).  Memory
 * statistics off: with them on, every sqlite3_malloc and free of every
 * connection (committer, workers, lookups, HTTP) takes one global mutex;
 * nothing here reads the statistics. */
static pthread_once_t library_once = PTHREAD_ONCE_INIT;

static void
library_setup(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		log_warn("sqlite: memory statistics stay on (the library was initialised already)");
}

/* One try at opening.  *transient: it failed in a way a moment may
 * cure -- another process closing the store's last connection deletes
 * its -wal and -shm files as we open them, and SQLite then answers
 * "unable to open database file" (or a shared-memory protocol error)
 * once; seen in CI, a `collect --once` started while a reader closed.
 * Busy is not retried here: the busy timeout has waited already. */
static struct store *
open_once(const char *path, bool *transient, struct pr_why *why)
{
	pthread_once(&library_once, library_setup);
	struct store *st = xcalloc(1, sizeof(*st));
	st->head.ops = &sqlite_store_ops;
	st->path = xstrdup(path);
	st->bodies_fd = -1;
	/* Mail at rest is the owner's alone: the file is created 0600 before
	 * SQLite opens it (its -wal and -shm take the same mode). */
	struct pr_why w;
	if (private_file(st->path, true, &w) < 0 || private_wal(st->path, &w) < 0) {
		pr_why_set(why, PR_E_STORE_FAILED, "cannot open store %s: %s", st->path, w.detail);
		sqlite_store_close(st);
		return NULL;
	}
	int rc = sqlite3_open_v2(st->path, &st->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         sq_walbuf_vfs());
	if (rc != SQLITE_OK) {
		pr_why_set(why, PR_E_STORE_FAILED, "cannot open store %s: %s", st->path,
		           st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		sqlite_store_close(st);
		return NULL;
	}
	if (configure(st, why) < 0) {
		int prim = sqlite3_extended_errcode(st->db) & 0xff;
		*transient = prim == SQLITE_CANTOPEN || prim == SQLITE_PROTOCOL;
		sqlite_store_close(st);
		st = NULL;
	}
	return st;
}

/* A store that cannot be opened for good (no such directory, a full
 * disk) is reported after about 0.7 s of tries. */
#define SQ_OPEN_TRIES 8

struct store *
sqlite_store_open(const char *path, struct pr_why *why)
{
	for (int attempt = 1;; attempt++) {
		bool transient = false;
		struct store *st = open_once(path, &transient, why);
		if (st != NULL || !transient || attempt == SQ_OPEN_TRIES)
			return st;
		usleep(20000 * attempt);
	}
}

static void
sqlite_store_close(struct store *st)
{
	for (int i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sq_held_free(st);
	sq_terms_free(&st->terms);
	sqlite3_close(st->db);
	if (st->bodies_fd >= 0)
		close(st->bodies_fd);
	free(st->bodies);
	free(st->path);
	free(st);
}

void
sqlite_store_set_busy_timeout(struct store *st, int ms)
{
	sqlite3_busy_timeout(st->db, ms);
}

void
sqlite_store_set_cache(struct store *st, int kib)
{
	char sql[48];
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib > 0 ? kib : 2000);
	sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

void
sqlite_store_reads_begin(struct store *st)
{
	st->reads_open = sqlite3_get_autocommit(st->db) &&
	                 sqlite3_exec(st->db, "BEGIN DEFERRED", NULL, NULL, NULL) == SQLITE_OK;
}

void
sqlite_store_reads_end(struct store *st)
{
	if (!st->reads_open)
		return;
	st->reads_open = false;
	/* A read transaction has nothing to lose: if COMMIT fails, roll back
	 * so the connection never keeps an old snapshot (and the WAL). */
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sq_rollback(st);
}

int
sqlite_store_is_empty(struct store *st, bool *empty_r, struct pr_why *why)
{
	static const char sql[] = "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM projects)"
	                          " + (SELECT count(*) FROM domains)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*empty_r = sqlite3_column_int64(s, 0) == 0;
	sq_done(s);
	return rc == SQLITE_ROW ? 0 : sq_fail(st, rc, "counting the directory", why);
}

static void
read_setting(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_setting *kv = p;
	kv->key = sq_col_str(a, s, 0);
	kv->value = sq_col_str(a, s, 1);
}

int
sqlite_store_settings_load(struct store *st, struct arena *a, struct store_setting **out, size_t *n,
                    struct pr_why *why)
{
	static const char sql[] = "SELECT key, value FROM settings ORDER BY key";
	return sq_list(st, a, sql, sizeof(**out), read_setting, out, n, "reading settings", why);
}

/* The values and the version bump commit together: a serve that sees the
 * new version always reads every new value, and a change of several keys
 * (which the cross-field checks judged together) is never seen half done. */
int
sqlite_store_settings_put(struct store *st, const struct store_setting *kv, size_t n, int64_t expect_version,
                          struct pr_why *why)
{
	static const char sql[] = "INSERT INTO settings(key, value) VALUES(?1, ?2)"
	                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
	/* The bump first, and only from the version expected: under the write
	 * lock, so no other change can come between the check and the values. */
	static const char bump[] = "UPDATE settings_version SET version = version + 1"
	                           " WHERE id = 1 AND (?1 < 0 OR version = ?1)";
	sqlite3_stmt *s;
	if (sq_begin(st, why) < 0)
		return -1;
	if ((s = sq_prep(st, bump, why)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, expect_version);
	if (sq_step_done(st, s, "counting a settings change", why) < 0)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		sq_rollback(st);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((s = sq_prep(st, sql, why)) == NULL)
			goto fail;
		sq_bind_text(s, 1, kv[i].key);
		sq_bind_text(s, 2, kv[i].value);
		if (sq_step_done(st, s, "saving a setting", why) < 0)
			goto fail;
	}
	return sq_commit(st, why);
fail:
	sq_rollback(st);
	return -1;
}

int
sqlite_store_setting_put(struct store *st, const char *key, const char *value, struct pr_why *why)
{
	struct store_setting kv = {key, value};
	return store_settings_put(st, &kv, 1, -1, why);
}

/* The one value a version table's single row holds. */
static int
version_of(struct store *st, const char *sql, const char *what, int64_t *version_r, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	*version_r = 0;
	if (s == NULL)
		return -1;
	return sq_one(st, NULL, s, sq_read_int64, version_r, what, why) < 0 ? -1 : 0;
}

int
sqlite_store_directory_version(struct store *st, int64_t *version_r, struct pr_why *why)
{
	return version_of(st, "SELECT version FROM directory_version WHERE id = 1",
	                  "reading the directory version", version_r, why);
}

int
sqlite_store_settings_version(struct store *st, int64_t *version_r, struct pr_why *why)
{
	return version_of(st, "SELECT version FROM settings_version WHERE id = 1",
	                  "reading the settings version", version_r, why);
}

const struct store_ops sqlite_store_ops = {
	.name = "sqlite",
	.close = sqlite_store_close,
#define SQLITE_OP(ret, name, params, args) .name = sqlite_store_##name,
	STORE_CALLS(SQLITE_OP)
#undef SQLITE_OP
};
