/* test-store-plan.c - costs that must not grow with the store (issue #12).
 *
 * 1. Query plans: a workload runs the store calls one path makes per
 *    message (the SMTP and POP3 intake below); then every statement the
 *    connection cached -- so every statement the workload ran, with no list
 *    to keep by hand -- is explained with EXPLAIN QUERY PLAN, and a full
 *    scan of a table fails the test.  To cover another path (the read
 *    commands), add a workload to `workloads[]` with the number of
 *    statements it is expected to run.
 * 2. The thread summaries (thread_places, thread_people) that replace
 *    reading a whole thread: after commits, duplicates, automatic mail and
 *    refiles, and after the migration rebuilds them, they say exactly what
 *    the old whole-thread queries say.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/settings.h"
#include "core/spool.h"
#include "route/route.h"
#include "store/store.h"
#include "store/store_sqlite.h"
#include "test.h"

static char dir[256], uri[300];

static struct store *
seeded(void)
{
	static int n;
	snprintf(uri, sizeof(uri), "sqlite:%s/p%d.db", dir, ++n);
	struct pr_why why;
	struct store *st = store_open(uri, &why);
	CHECK(st != NULL);
	const char *alice[] = {"alice@firm.example"};
	const char *bob[] = {"bob@firm.example"};
	const char *team[] = {"alice", "bob"};
	const char *client[] = {"x@client.example"};
	CHECK_INT(store_domain_add(st, "firm.example", &why), 0);
	CHECK_INT(store_user_add(st, "alice", "Alice", alice, 1, &why), 0);
	CHECK_INT(store_user_add(st, "bob", NULL, bob, 1, &why), 0);
	CHECK_INT(store_project_add(st, "1234", "Harbour", &why), 0);
	CHECK_INT(store_project_add(st, "5678", "Quay", &why), 0);
	CHECK_INT(store_project_grant(st, "1234", "alice", &why), 0);
	CHECK_INT(store_alias_add(st, "team@firm.example", team, 2, &why), 0);
	CHECK_INT(store_stakeholder_add(st, "client", client, 1, &why), 0);
	CHECK_INT(store_project_add_stakeholder(st, "1234", "client", &why), 0);
	return st;
}

/* A message from `from` with the given placements and people (From is
 * always one of them). */
static struct store_msg *
msg(struct arena *a, const char *msgid, const char *from, int64_t thread,
    const struct store_placement *pl, size_t npl, const char *const *cc, size_t ncc)
{
	struct store_msg *m = arena_alloc(a, sizeof(*m));
	static const char *rcpts[] = {"a1234@firm.example"};
	struct store_person *pp = arena_alloc(a, (ncc + 1) * sizeof(*pp));
	pp[0] = (struct store_person){from, "from", NULL, NULL};
	for (size_t i = 0; i < ncc; i++)
		pp[i + 1] = (struct store_person){cc[i], "cc", NULL, NULL};
	const char *body = arena_printf(a, "Message-ID: %s\r\nFrom: %s\r\n\r\nbody\r\n", msgid, from);
	m->source = "smtp";
	m->received_at = 1700000000;
	m->peer_ip = "127.0.0.1";
	m->helo = "client.example";
	m->mail_from = from;
	m->rcpts = rcpts;
	m->nrcpts = 1;
	m->raw = spool_from_bytes(a, NULL, body, strlen(body));
	m->message_id = msgid;
	m->subject = "Hello";
	m->from_addr = from;
	m->thread_id = thread;
	m->placements = pl;
	m->nplacements = npl;
	m->people = pp;
	m->npeople = ncc + 1;
	m->verdict = "accepted";
	return m;
}

static const struct store_placement in_1234[] = {{ROUTE_PROJECT, "1234", "a1234@firm.example"},
                                                 {ROUTE_USER, "bob", "team@firm.example"}};
static const struct store_placement in_unassigned[] = {{ROUTE_UNASSIGNED, "", "x@firm.example"}};

/* ---- 1. query plans ---- */

/* Every store call the SMTP intake makes for one message: recipient
 * lookups (route/, on the lookup threads), the sender and thread checks
 * (intake/policy.c), and the group commit with its duplicate check,
 * inserts, new stakeholders and log rows (intake/intake.c). */
static void
intake_smtp(struct store *st)
{
	struct pr_why why;
	struct arena *a = arena_new();
	struct settings *set = settings_current();
	static const char *const rcpts[] = {"a1234@firm.example", "alice@firm.example", "team@firm.example",
	                                    "nobody@firm.example", "x@elsewhere.example", "a9@firm.example"};
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		struct route_target *t;
		size_t n;
		route_recipient(st, set, a, rcpts[i], &t, &n, &why);
	}
	settings_unref(&set);
	int64_t version, id, thread;
	CHECK_INT(store_settings_version(st, &version, &why), 0);
	struct store_user u;
	struct store_stakeholder k;
	struct store_project p;
	CHECK_INT(store_user_by_email(st, a, "alice@firm.example", &u, &why), 0);
	CHECK_INT(store_stakeholder_by_email(st, a, "x@client.example", &k, &why), 0);
	CHECK_INT(store_domain_served(st, "client.example", &why), 0);
	CHECK_INT(store_project_get(st, a, "1234", &p, &why), 0);
	CHECK_INT(store_project_is_member(st, "1234", "alice", &why), 1);
	struct store_person who = {"x@client.example", "cc", NULL, NULL};
	store_person_resolve(st, a, &who);
	CHECK_STR(who.stakeholder, "client");
	const char *dom;
	CHECK_INT(store_domain_first(st, a, &dom, &why), 0);
	/* a delivery report or our own sent copy (intake/bounce.c) */
	struct store_outbound row;
	struct store_message meta;
	CHECK_INT(store_outbound_get(st, a, 1, &row, &why), 1);
	CHECK_INT(store_outbound_by_msgid(st, a, "<sent@firm.example>", &row, &why), 1);
	CHECK_INT(store_message_meta(st, a, 1, &meta, &why), 1);
	static const char *const cc[] = {"x@client.example", "New@Client2.example"};
	struct store_msg *first = msg(a, "<t0@test>", "alice@firm.example", 0, in_1234, 2, cc, 2);
	static const char *ns[] = {"1234\tnew@client2.example"};
	first->new_stakeholders = ns;
	first->nnew_stakeholders = 1;
	struct store_log_entry refused = {.at = 1700000000, .source = "smtp", .mail_from = "eve@evil.example",
	                                  .rcpts = "a1234@firm.example", .verdict = "rejected",
	                                  .reason = PR_E_NOT_A_USER};
	const struct store_log_entry *log[] = {&refused};
	CHECK_INT(store_commit_group(st, &first, 1, log, 1, &why), 0);
	CHECK_INT(store_message_by_msgid(st, "<t0@test>", &id, &thread, &why), 0);
	CHECK_INT(store_thread_has_participant(st, thread, "x@client.example", &why), 1);
	struct store_placement *tp;
	size_t n;
	CHECK_INT(store_thread_placements(st, a, thread, &tp, &n, &why), 0);
	struct store_msg *batch[2] = {
		msg(a, "<t1@test>", "x@client.example", thread, tp, n, NULL, 0),
		msg(a, "<t0@test>", "alice@firm.example", 0, in_unassigned, 1, cc, 2),   /* a duplicate */
	};
	batch[0]->auto_reply = true;
	CHECK_INT(store_commit_group(st, batch, 2, NULL, 0, &why), 0);
	CHECK(batch[1]->duplicate_r);
	/* a large message: its body is put apart first, the commit links it */
	struct store_msg *big = msg(a, "<big@test>", "alice@firm.example", 0, in_1234, 2, NULL, 0);
	size_t len = 2 * 1024 * 1024;
	char *bytes = arena_alloc(a, len);
	memset(bytes, 'x', len);
	big->raw = spool_from_bytes(a, dir, bytes, len);
	CHECK_INT(store_body_put(st, a, big, &why), 0);
	CHECK(big->body != NULL);
	CHECK_INT(store_commit_batch(st, &big, 1, &why), 0);
	arena_free(&a);
}

/* What a POP3 round adds per message: its UIDL and hash records, a
 * collected message's commit, refusal marks. */
static void
intake_pop3(struct store *st)
{
	struct pr_why why;
	struct arena *a = arena_new();
	const char *box = "ssl://pop.example:995 system";
	CHECK_INT(store_pop3_expire(st, 1600000000, &why), 0);
	CHECK_INT(store_pop3_known_uidl(st, box, "u1", &why), 0);
	struct store_msg *m = msg(a, "<p0@test>", "alice@firm.example", 0, in_1234, 2, NULL, 0);
	m->source = "pop3";
	m->pop3_mailbox = box;
	m->pop3_uidl = "u1";
	CHECK_INT(store_pop3_known_hash(st, box, spool_sha256_hex(m->raw), &why), 0);
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	struct store_pop3_mark mk = {"u2", "abc", "refused", 0};
	CHECK_INT(store_pop3_mark(st, box, &mk, 1, &why), 0);
	CHECK_INT(store_pop3_touch(st, box, "u1", &why), 0);
	arena_free(&a);
}

/* A thread long enough that reading all of it would show. */
static void
long_thread(struct store *st)
{
	struct pr_why why;
	struct arena *a = arena_new();
	int64_t thread = 0;
	for (int i = 0; i < 50; i++) {
		static const char *const cc[] = {"x@client.example"};
		struct store_msg *m = msg(a, arena_printf(a, "<l%d@test>", i), "alice@firm.example", thread,
		                          in_1234, 2, cc, i % 2);
		CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
		thread = thread ? thread : m->id_r;
	}
	arena_free(&a);
}

/* What placing a reply reads about its thread: these must be one search
 * each, whatever the thread's length (before, they joined every message
 * of the thread). */
static void
thread_reads(struct store *st)
{
	struct pr_why why;
	struct arena *a = arena_new();
	int64_t id, thread;
	CHECK_INT(store_message_by_msgid(st, "<l25@test>", &id, &thread, &why), 0);
	CHECK_INT(store_thread_has_participant(st, thread, "X@client.example", &why), 1);
	CHECK_INT(store_thread_has_participant(st, thread, "eve@client.example", &why), 0);
	struct store_placement *tp;
	size_t n;
	CHECK_INT(store_thread_placements(st, a, thread, &tp, &n, &why), 0);
	CHECK_INT(n, 2);
	arena_free(&a);
}

/* A SCAN of a table allowed in one statement, the reason in a comment. */
static const struct { const char *table, *sql; } allowed_scans[] = {
	/* the domains we serve: a handful, written by an admin; and
	 * store_domain_first stops at the first row */
	{"domains", "SELECT name FROM domains ORDER BY rowid LIMIT 1"},
	{NULL, NULL},
};

/* A SCAN of a table (with or without an index: walking a whole index
 * costs what walking the table does) fails.  Not scans of a table:
 * "SCAN CONSTANT ROW" (VALUES) and "SCAN (subquery-N)", the rows a
 * subquery produced -- its own steps are explained on their own lines. */
static bool
scan_allowed(const char *detail, const char *sql)
{
	if (strncmp(detail, "SCAN ", 5) != 0 || strcmp(detail, "SCAN CONSTANT ROW") == 0 ||
	    detail[5] == '(')
		return true;
	for (size_t i = 0; allowed_scans[i].table; i++) {
		size_t l = strlen(allowed_scans[i].table);
		if (strncmp(detail + 5, allowed_scans[i].table, l) == 0 &&
		    (detail[5 + l] == '\0' || detail[5 + l] == ' ') && strcmp(sql, allowed_scans[i].sql) == 0)
			return true;
	}
	return false;
}

/* Explain sql on db: 1 if every step of its plan is allowed -- and, if
 * one_search, if the plan is a single SEARCH (one index lookup: no join,
 * no scan, no grouping of many rows). */
static int
plan_ok(sqlite3 *db, const char *sql, bool one_search)
{
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	sqlite3_stmt *s = NULL;
	int ok = 1, searches = 0, steps = 0;
	CHECK_INT(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
	while (s && sqlite3_step(s) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(s, 3);
		if (detail == NULL)
			continue;
		if (getenv("PLAN_VERBOSE"))
			fprintf(stderr, "    %s\n", detail);
		steps++;
		searches += strncmp(detail, "SEARCH ", 7) == 0;
		if (!scan_allowed(detail, sql)) {
			fprintf(stderr, "full scan: %s\n  in: %s\n", detail, sql);
			ok = 0;
		}
	}
	/* ORDER BY over the few rows found may add a temp b-tree step */
	if (one_search && searches != 1) {
		fprintf(stderr, "not one index lookup (%d searches, %d steps): %s\n", searches, steps, sql);
		ok = 0;
	}
	sqlite3_finalize(s);
	sqlite3_free(q);
	return ok;
}

static const struct workload {
	const char *name;
	void (*setup)(struct store *st);   /* its statements are not counted */
	void (*run)(struct store *st);
	int statements;              /* how many distinct statements run adds */
	bool one_search;             /* each of them must be one index lookup */
} workloads[] = {
	{"intake_smtp", NULL, intake_smtp, 31, false},   /* 31: indexing for search */
	{"intake_pop3", NULL, intake_pop3, 17, false},
	{"thread_reads", long_thread, thread_reads, 3, true},
};

/* Every statement the connection cached is explained (the seeding's and
 * setup's too); the count and the one-search rule apply to those the
 * workload itself added. */
TEST(hot_statements_use_indexes)
{
	for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++) {
		struct store *st = seeded();
		if (workloads[w].setup)
			workloads[w].setup(st);
		int before = 0;
		while (sq_cached_sql(st, before))
			before++;
		workloads[w].run(st);
		sqlite3 *db;
		CHECK_INT(sqlite3_open_v2(uri + 7, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		CHECK_INT(sq_terms_register(db), SQLITE_OK);   /* to explain statements on message_terms */
		int checked = 0, bad = 0;
		const char *sql;
		for (int i = 0; (sql = sq_cached_sql(st, i)) != NULL; i++, checked++) {
			if (getenv("PLAN_VERBOSE"))
				fprintf(stderr, "%s\n", sql);
			bad += !plan_ok(db, sql, workloads[w].one_search && i >= before);
		}
		sqlite3_close(db);
		fprintf(stderr, "%s: %d statements explained (%d before the workload), %d bad plans\n",
		        workloads[w].name, checked, before, bad);
		CHECK_INT(bad, 0);
		CHECK_INT(checked - before, workloads[w].statements);
		store_close(&st);
	}
}

/* ---- 2. the thread summaries say what the whole thread says ---- */

/* The queries the summaries replace, run over every message of a thread. */
static const char old_places[] = "SELECT p.kind, p.target FROM placements p JOIN messages m"
	" ON m.id = p.message_id WHERE m.thread_id = ?1 AND p.kind <> 'fallback'"
	" GROUP BY p.kind, p.target ORDER BY min(p.rowid)";
static const char old_participant[] = "SELECT 1 FROM people p JOIN messages m ON m.id = p.message_id"
	" WHERE m.thread_id = ?1 AND m.auto_reply = 0 AND p.address = lower(?2)"
	" UNION ALL SELECT 1 FROM messages WHERE thread_id = ?1 AND auto_reply = 0"
	" AND from_addr = lower(?2) LIMIT 1";

/* Every thread's places (in order) and every address's participation
 * agree with the whole-thread queries; returns how many were compared. */
static int
agree(struct store *st)
{
	sqlite3 *db;
	CHECK_INT(sqlite3_open_v2(uri + 7, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *threads, *places, *addrs, *part;
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT DISTINCT thread_id FROM messages", -1, &threads, NULL), 0);
	CHECK_INT(sqlite3_prepare_v2(db, old_places, -1, &places, NULL), 0);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT address FROM people UNION SELECT 'nobody@x.example'"
	                             " UNION SELECT from_addr FROM messages", -1, &addrs, NULL), 0);
	CHECK_INT(sqlite3_prepare_v2(db, old_participant, -1, &part, NULL), 0);
	struct arena *a = arena_new();
	struct pr_why why;
	int compared = 0;
	while (sqlite3_step(threads) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(threads, 0);
		struct store_placement *tp;
		size_t n, i = 0;
		CHECK_INT(store_thread_placements(st, a, t, &tp, &n, &why), 0);
		sqlite3_bind_int64(places, 1, t);
		for (; sqlite3_step(places) == SQLITE_ROW; i++, compared++) {
			CHECK(i < n);
			if (i >= n)
				break;
			CHECK_STR(route_kind_name(tp[i].kind), (const char *)sqlite3_column_text(places, 0));
			CHECK_STR(tp[i].target, (const char *)sqlite3_column_text(places, 1));
		}
		CHECK_INT(i, n);
		sqlite3_reset(places);
		while (sqlite3_step(addrs) == SQLITE_ROW) {
			const char *addr = (const char *)sqlite3_column_text(addrs, 0);
			if (addr == NULL)
				continue;
			sqlite3_bind_int64(part, 1, t);
			sqlite3_bind_text(part, 2, addr, -1, SQLITE_TRANSIENT);
			int want = sqlite3_step(part) == SQLITE_ROW;
			sqlite3_reset(part);
			CHECK_INT(store_thread_has_participant(st, t, addr, &why), want);
			compared++;
		}
		sqlite3_reset(addrs);
	}
	sqlite3_finalize(threads);
	sqlite3_finalize(places);
	sqlite3_finalize(addrs);
	sqlite3_finalize(part);
	sqlite3_close(db);
	arena_free(&a);
	return compared;
}

static int64_t
commit(struct store *st, struct store_msg *m)
{
	struct pr_why why;
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	CHECK_INT(agree(st) > 0, 1);
	return m->id_r;
}

/* Commits, a reply from an outsider, an auto-reply (no participant), a
 * duplicate adding a place, Fallback (never a thread's place), refiles
 * that add a place and take the last use of one away; then the migration
 * rebuilds the tables from the rows and they still agree. */
TEST(thread_summaries_agree)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	static const char *const cc[] = {"X@Client.example", "y@client.example"};
	int64_t t = commit(st, msg(a, "<a@test>", "Alice@firm.example", 0, in_1234, 2, cc, 2));
	commit(st, msg(a, "<other@test>", "bob@firm.example", 0, in_unassigned, 1, NULL, 0));
	int64_t b = commit(st, msg(a, "<b@test>", "x@client.example", t, in_unassigned, 1, NULL, 0));
	struct store_msg *c = msg(a, "<c@test>", "robot@auto.example", t, in_unassigned, 1, cc, 1);
	c->auto_reply = true;
	int64_t cid = commit(st, c);
	CHECK_INT(store_thread_has_participant(st, t, "robot@auto.example", &why), 0);
	CHECK_INT(store_thread_has_participant(st, t, "y@CLIENT.example", &why), 1);
	static const struct store_placement alice[] = {{ROUTE_USER, "alice", "alice@firm.example"}};
	commit(st, msg(a, "<a@test>", "Alice@firm.example", 0, alice, 1, cc, 2));   /* duplicate */
	static const struct store_placement fb[] = {{ROUTE_FALLBACK, "", "x@firm.example"}};
	commit(st, msg(a, "<d@test>", "bob@firm.example", t, fb, 1, NULL, 0));
	struct store_placement to = {ROUTE_PROJECT, "5678", NULL};
	CHECK_INT(store_message_move(st, b, &to, &why), 0);
	CHECK(agree(st) > 0);
	struct store_placement *tp;
	size_t n;
	CHECK_INT(store_thread_placements(st, a, t, &tp, &n, &why), 0);
	CHECK_INT(n, 5);                      /* 1234, bob, unassigned (c), alice, 5678 */
	to = (struct store_placement){ROUTE_USER, "bob", NULL};
	CHECK_INT(store_message_move(st, cid, &to, &why), 0);
	CHECK(agree(st) > 0);
	CHECK_INT(store_thread_placements(st, a, t, &tp, &n, &why), 0);
	CHECK_INT(n, 4);                      /* Unassigned's last use moved away */
	for (size_t i = 0; i < n; i++)
		CHECK(tp[i].kind != ROUTE_UNASSIGNED);
	store_close(&st);
	/* an older store: the tables are rebuilt from the messages */
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "DROP TABLE thread_places; DROP TABLE thread_people;"
	                       "DROP INDEX stakeholder_emails_stakeholder; PRAGMA user_version = 4;"
	                       "ALTER TABLE message_raw DROP COLUMN codec; DROP TABLE intake_log_addr;"
	                       "DROP INDEX messages_msgid_key; ALTER TABLE messages DROP COLUMN msgid_key",
	                       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = store_open(uri, &why);
	CHECK(st != NULL);
	CHECK(agree(st) > 0);
	CHECK_INT(store_thread_placements(st, a, t, &tp, &n, &why), 0);
	CHECK_INT(n, 4);
	CHECK_INT(store_thread_has_participant(st, t, "x@client.example", &why), 1);
	CHECK_INT(store_thread_has_participant(st, t, "robot@auto.example", &why), 0);
	arena_free(&a);
	store_close(&st);
}

/* The search index merges at 16 segments a level (migrations 15, 18): less
 * merge work inside the intake commit.  FTS5 keeps the setting in its
 * config table; a value it refused would leave no row. */
TEST(search_index_merges_lazily)
{
	struct store *st = seeded();
	store_close(&st);
	sqlite3 *db;
	sqlite3_stmt *s;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT v FROM message_terms_config WHERE k = 'automerge'", -1, &s,
	                             NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(s, 0), 16);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* A group commit adds one segment to the search index, not one per
 * message: FTS5 writes out what it holds whenever a later statement of
 * the transaction opens a statement savepoint (placements and people
 * are such statements), so the index rows are added after all of them
 * (store_sqlite_msg.c).  One segment is one leaf row of
 * message_terms_data beside its two bookkeeping rows; 20 segments
 * would be 20 leaves, or the merges of them. */
TEST(search_index_one_segment_per_group)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	enum { GROUP = 20 };
	static const char *const cc[] = {"x@client.example"};
	struct store_msg *group[GROUP];
	for (int i = 0; i < GROUP; i++)
		group[i] = msg(a, arena_printf(a, "<seg%d@test>", i), "alice@firm.example", 0, in_1234, 2, cc, 1);
	CHECK_INT(store_commit_group(st, group, GROUP, NULL, 0, &why), 0);
	store_close(&st);
	arena_free(&a);
	sqlite3 *db;
	sqlite3_stmt *s;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*), (SELECT count(*) FROM messages)"
	                             " FROM message_terms_data", -1, &s, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(s, 1), GROUP);
	CHECK_INT(sqlite3_column_int(s, 0), 3);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* The tokenizer's terms, in order, joined by '|' into out. */
static int
collect_term(void *p, int flags, const char *term, int n, int start, int end)
{
	struct buf *out = p;
	(void)flags, (void)start, (void)end;
	if (out->len)
		buf_addch(out, '|');
	buf_add(out, term, (size_t)n);
	return SQLITE_OK;
}

/* Words as unicode61 cuts them (folded, accents gone), and a pair for two
 * words only 1-4 printable ASCII characters apart: not across a blank, a
 * line end, a non-ASCII mark or a long run of punctuation, and not when
 * the two are over 128 bytes together. */
TEST(terms_of_text)
{
	sqlite3 *db;
	CHECK_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
	CHECK_INT(sq_terms_register(db), SQLITE_OK);
	char longw[200], longtext[420];
	memset(longw, 'x', 100), longw[100] = '\0';
	snprintf(longtext, sizeof(longtext), "%s.%s a.b", longw, "yy");
	static char want_long[400];
	snprintf(want_long, sizeof(want_long), "%s|%s yy|yy|a|a b|b", longw, longw);
	char longer[300];
	memset(longer, 'z', 127), longer[127] = '\0';
	char longer_text[300], want_longer[300];
	snprintf(longer_text, sizeof(longer_text), "%s.q", longer);
	snprintf(want_longer, sizeof(want_longer), "%s|q", longer);
	const struct { const char *text, *want; } cases[] = {
		{"Alice@Example.COM", "alice|alice example|example|example com|com"},
		{"Zürich e-mail", "zurich|e|e mail|mail"},
		{"one , two", "one|two"},
		{"a,b\r\nc", "a|a b|b|c"},
		{"x-----y", "x|y"},
		{"x--->y", "x|x y|y"},
		{"a\xe2\x80\x93" "b", "a|b"},           /* an en dash: not ASCII */
		{"\"quoted\"@x", "quoted|quoted x|x"},
		{"", ""},
		{longtext, want_long},
		{longer_text, want_longer},
	};
	int ran = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++, ran++) {
		struct buf out;
		buf_init(&out, 4096);
		CHECK_INT(sq_terms_split(db, cases[i].text, strlen(cases[i].text), collect_term, &out), SQLITE_OK);
		buf_addch(&out, '\0');
		CHECK_STR((const char *)out.data, cases[i].want);
		buf_free(&out);
	}
	CHECK_INT(ran, 11);
	sqlite3_close(db);
}

/* The index keeps words and, for two words joined by punctuation, the
 * pair (store_sqlite_terms.c): no positions (detail=none), so a typed
 * address or e-mail is found through its pairs, and only where its words
 * stand joined.  Text, addresses and subject are all searched.  The same
 * whether the commit tokenizes the text or binds the term lists an intake
 * worker made (store_body_put, worker_terms): a third message, whose text
 * repeats its words and starts with the list mark, is indexed as text. */
static void
pairs_case(bool worker_terms)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	static const char *const cc[] = {"x@client.example"};
	struct store_msg *m = msg(a, "<pair@test>", "alice@firm.example", 0, in_1234, 2, cc, 1);
	m->search_text = "Quarterly zebrafish report, by e-mail. Rev 2.5; mail e.g. later";
	m->subject = "Zürich office";
	struct store_msg *other = msg(a, "<other@test>", "bob@firm.example", 0, in_1234, 2, cc, 1);
	other->search_text = "firm alice example, e mail 2 5";
	struct store_msg *forged = msg(a, "<forged@test>", "carol@firm.example", 0, in_1234, 2, cc, 1);
	struct buf t;
	buf_init(&t, 1 << 20);
	buf_addstr(&t, "\x01\x01Walrus\nnot a term\n");
	for (int i = 0; i < 3000; i++)
		buf_printf(&t, "walrus w%d,w%d ", i % 1500, i % 7);
	forged->search_text = buf_cstr(&t);
	struct store_msg *group[] = {m, other, forged};
	for (int i = 0; worker_terms && i < 3; i++) {
		CHECK_INT(store_body_put(st, a, group[i], &why), 0);
		CHECK(sq_body_terms(group[i]) != NULL);
	}
	CHECK_INT(store_commit_group(st, group, 3, NULL, 0, &why), 0);
	buf_free(&t);
	static const struct { const char *search; int hits; } cases[] = {
		{"zebrafish", 1}, {"ZEBRAFISH report", 1}, {"zurich", 1}, {"x@client.example", 3},
		{"alice@firm.example", 1}, {"firm.example", 3}, {"alice", 2}, {"e-mail", 1}, {"e.mail", 1},
		{"2.5", 1}, {"rev 2.5", 1}, {"alice@firm.ex*", 1}, {"zebra*", 1}, {"e-m*", 1},
		{"bob@client.example", 0}, {"mail.e", 0}, {"5.2", 0}, {"firm-alice", 0},
		{"walrus", 1}, {"w1499", 1}, {"w1499,w1", 1}, {"w1498,w1", 0}, {"not", 1},
	};
	int ran = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++, ran++) {
		struct store_message_filter f = {.search = cases[i].search, .limit = 10};
		struct store_message_summary *out = NULL;
		size_t n = 0;
		CHECK_INT(store_message_list(st, a, &f, &out, &n, &why), 0);
		if ((int)n != cases[i].hits)
			fprintf(stderr, "search %s: %zu hits, want %d\n", cases[i].search, n, cases[i].hits);
		CHECK_INT(n, cases[i].hits);
	}
	CHECK_INT(ran, 23);
	store_close(&st);
	sqlite3 *db;
	sqlite3_stmt *s;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(sq_terms_register(db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, message_terms, row)",
	                       NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT term, doc FROM temp.v WHERE term IN ('e mail', 'firm example',"
	                             " 'alice firm', 'zebrafish report', 'mail e') ORDER BY term", -1, &s, NULL),
	          SQLITE_OK);
	static const struct { const char *term; int docs; } want[] = {
		{"alice firm", 1}, {"e mail", 1}, {"firm example", 3}, {"mail e", 0},
	};
	for (int i = 0; i < 4; i++) {
		if (want[i].docs == 0)
			continue;
		CHECK_INT(sqlite3_step(s), SQLITE_ROW);
		CHECK_STR((const char *)sqlite3_column_text(s, 0), want[i].term);
		CHECK_INT(sqlite3_column_int(s, 1), want[i].docs);
	}
	CHECK_INT(sqlite3_step(s), SQLITE_DONE);   /* no "zebrafish report": a blank is not a join */
	sqlite3_finalize(s);
	/* The forged list was taken as text: no unfolded or blank-joined
	 * term from it, and its words once each however often repeated. */
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*), sum(term = 'walrus' AND doc = 1),"
	                             " sum(term IN ('Walrus', 'not a term')) FROM temp.v", -1, &s, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK(sqlite3_column_int(s, 0) > 3000);
	CHECK_INT(sqlite3_column_int(s, 1), 1);
	CHECK_INT(sqlite3_column_int(s, 2), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	arena_free(&a);
}

TEST(search_pairs_stand_for_phrases)
{
	pairs_case(false);
}

TEST(search_terms_made_on_the_worker)
{
	pairs_case(true);
}

/* A store indexed before migration 18 keeps those messages in
 * message_search (word positions, unicode61); a search reads them after
 * message_terms, in the same newest-first order, across pages. */
TEST(search_reads_the_older_index)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	static const char *const cc[] = {"x@client.example"};
	struct store_msg *old1 = msg(a, "<old1@test>", "alice@firm.example", 0, in_1234, 2, cc, 1);
	struct store_msg *old2 = msg(a, "<old2@test>", "alice@firm.example", 0, in_1234, 2, cc, 1);
	struct store_msg *group[] = {old1, old2};
	CHECK_INT(store_commit_group(st, group, 2, NULL, 0, &why), 0);
	store_close(&st);
	/* rewind: as a stop-25 postroom left it, both messages in message_search */
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	CHECK_INT(sq_terms_register(db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "DROP TABLE message_terms; PRAGMA user_version = 17;"
	                       "DROP INDEX messages_msgid_key; ALTER TABLE messages DROP COLUMN msgid_key;"
	                       "INSERT INTO message_search(rowid, subject, addresses, body) SELECT id,"
	                       " 'older walrus e-mail', from_addr, '' FROM messages", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = store_open(uri, &why);
	CHECK(st != NULL);
	struct store_msg *young = msg(a, "<young@test>", "alice@firm.example", 0, in_1234, 2, cc, 1);
	young->search_text = "newer walrus e-mail";
	CHECK_INT(store_commit_group(st, &young, 1, NULL, 0, &why), 0);
	static const char *const searches[] = {"walrus", "e-mail", "alice@firm.example"};
	for (int i = 0; i < 3; i++) {
		struct store_message_filter f = {.search = searches[i], .limit = 10};
		struct store_message_summary *out = NULL;
		size_t n = 0;
		CHECK_INT(store_message_list(st, a, &f, &out, &n, &why), 0);
		CHECK_INT(n, 3);
		CHECK(out[0].id > out[1].id && out[1].id > out[2].id);
		/* page by page, one a page */
		int64_t before = 0;
		for (size_t k = 0; k < 3; k++) {
			struct store_message_filter pg = {.search = searches[i], .limit = 1, .before = before};
			struct store_message_summary *one = NULL;
			size_t got = 0;
			CHECK_INT(store_message_list(st, a, &pg, &one, &got, &why), 0);
			CHECK_INT(got, 1);
			CHECK_INT(one[0].id, out[k].id);
			before = one[0].id;
		}
	}
	store_close(&st);
	arena_free(&a);
}

/* Every index on a table the intake commit writes costs each message a
 * key, and at a million messages a key in a random place costs a page.
 * So each index here is listed with what reads it; one without a reader
 * (messages_thread, people_addr, intake_log_msg: migrations 19, 20) must go, and a new
 * index must be added to this list with its reader. */
TEST(intake_tables_keep_only_read_indexes)
{
	static const char *const read_indexes[] = {
		"intake_log_at",       /* log pages by time, prune */
		"messages_msgid_key",  /* threading: In-Reply-To, duplicates (the Message-ID's key) */
		"people_msg",          /* a message's people (show, export) */
		"placements_msg",      /* a message's places */
		"placements_target",   /* a mailbox's messages */
		"thread_places_activity", /* a mailbox's threads by activity */
	};
	struct store *st = seeded();
	store_close(&st);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	sqlite3_stmt *s;
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
	                             " AND tbl_name IN ('messages','message_raw','message_body','people','placements',"
	                             "'intake_log','intake_log_addr','thread_places','thread_people') ORDER BY name",
	                             -1, &s, NULL), SQLITE_OK);
	size_t n = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		bool listed = false;
		for (size_t i = 0; i < sizeof(read_indexes) / sizeof(read_indexes[0]); i++)
			listed |= strcmp(name, read_indexes[i]) == 0;
		if (!listed)
			fprintf(stderr, "index %s: no reader listed\n", name);
		CHECK(listed);
		n++;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	CHECK_INT(n, sizeof(read_indexes) / sizeof(read_indexes[0]));
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s/store-plan-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(hot_statements_use_indexes);
	RUN(thread_summaries_agree);
	RUN(search_index_merges_lazily);
	RUN(search_index_one_segment_per_group);
	RUN(terms_of_text);
	RUN(search_pairs_stand_for_phrases);
	RUN(search_terms_made_on_the_worker);
	RUN(search_reads_the_older_index);
	RUN(intake_tables_keep_only_read_indexes);
	test_rmtree(dir);
	return test_summary("store-plan");
}
