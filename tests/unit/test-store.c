/* test-store.c - the store against a real temporary database:
 * directory, settings, group commit (several messages, byte-exact bytes,
 * a 1 MiB spool streamed), busy handling, log filters, reopen.
 *
 * SQLite by default; with POSTROOM_TEST_PG set to a PostgreSQL URI whose
 * user may create databases (tests/run sets it for its PostgreSQL pass),
 * the same cases run on PostgreSQL, each store a new database.  The few
 * statements a case runs behind the store's back (raw_sql, hold_writes)
 * are written for each backend; the SQLite-only migration cases are
 * skipped there. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_backend.h"  /* store_dircache_hits */
#include "store/store_pg.h"   /* round_trips: the connection, to trace it */
#include "test.h"
#include "test-pg.h"

static char dir[256], uri[600];
static const char *pg_admin;     /* POSTROOM_TEST_PG, or NULL: SQLite */

/* Run sql on the current store's database, beside the store. */
static int
raw_sql(const char *sql)
{
	if (pg_admin == NULL) {
		sqlite3 *db;
		int rc = sqlite3_open(uri + 7, &db);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_close(db);
		return rc == SQLITE_OK ? 0 : -1;
	}
	PGconn *c = PQconnectdb(uri);
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* The first column of the first row of sql on the current store's
 * database, beside the store; -1 on failure. */
static long long
raw_int(const char *sql)
{
	long long v = -1;
	if (pg_admin == NULL) {
		sqlite3 *db;
		sqlite3_stmt *s = NULL;
		if (sqlite3_open(uri + 7, &db) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		sqlite3_close(db);
		return v;
	}
	PGconn *c = PQconnectdb(uri);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

/* Another connection that holds the write lock until release_writes:
 * SQLite's one writer, PostgreSQL's tables locked against writes (reads
 * go on in both). */
static sqlite3 *held_sqlite;
static PGconn *held_pg;

static int
hold_writes(void)
{
	if (pg_admin == NULL)
		return sqlite3_open(uri + 7, &held_sqlite) == SQLITE_OK &&
		       sqlite3_exec(held_sqlite, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	held_pg = PQconnectdb(uri);
	PGresult *r = PQexec(held_pg, "BEGIN; LOCK TABLE messages, domains IN EXCLUSIVE MODE");
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(r);
	return rc;
}

static void
release_writes(void)
{
	if (held_sqlite) {
		sqlite3_exec(held_sqlite, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(held_sqlite);
		held_sqlite = NULL;
	}
	if (held_pg) {
		PQclear(PQexec(held_pg, "ROLLBACK"));
		PQfinish(held_pg);
		held_pg = NULL;
	}
}

static struct store *
fresh(void)
{
	static int n;
	char name[16];
	snprintf(name, sizeof(name), "t%d", ++n);
	test_store_uri(uri, sizeof(uri), dir, name);
	struct pr_why why;
	struct store *st = store_open(uri, &why);
	if (st == NULL)
		fprintf(stderr, "store_open: %s\n", why.detail);
	return st;
}

static void
seed(struct store *st)
{
	struct pr_why why;
	const char *alice[] = {"Alice@Firm.example", "a.archer@home.example"};
	const char *bob[] = {"bob@firm.example"};
	const char *team[] = {"alice", "bob"};
	CHECK_INT(store_domain_add(st, "Firm.Example", &why), 0);
	CHECK_INT(store_user_add(st, "alice", "Alice Archer", alice, 2, &why), 0);
	CHECK_INT(store_user_add(st, "bob", NULL, bob, 1, &why), 0);
	CHECK_INT(store_project_add(st, "1234", "Harbour", &why), 0);
	CHECK_INT(store_project_grant(st, "1234", "alice", &why), 0);
	CHECK_INT(store_alias_add(st, "Team@firm.example", team, 2, &why), 0);
}

/* What most tests start from: a new store holding seed()'s directory. */
static struct store *
seeded(void)
{
	struct store *st = fresh();
	seed(st);
	return st;
}

TEST(open_refuses)
{
	struct pr_why why;
	/* Nothing listens on port 1: a temporary fault that names the store
	 * (without its password). */
	CHECK(store_open("postgresql://pr:secret@127.0.0.1:1/postroom?connect_timeout=5", &why) == NULL);
	CHECK_INT(why.code, PR_E_STORE_BUSY);
	CHECK(strstr(why.detail, "cannot connect to the store postgresql://pr:***@127.0.0.1:1/") != NULL);
	CHECK(strstr(why.detail, "secret") == NULL);
	CHECK(store_open("mysql:x", &why) == NULL);
	CHECK_INT(why.code, PR_E_CONFIG);
	CHECK(store_open("sqlite:/nonexistent-dir/x/y.db", &why) == NULL);
	CHECK_INT(why.code, PR_E_STORE_FAILED);
}

TEST(directory)
{
	struct store *st = fresh();
	struct pr_why why;
	struct arena *a = arena_new();
	bool empty = false;
	CHECK_INT(store_is_empty(st, &empty, &why), 0);
	CHECK(empty);
	seed(st);
	CHECK_INT(store_is_empty(st, &empty, &why), 0);
	CHECK(!empty);
	const char *dup[] = {"ALICE@firm.example"};
	CHECK_INT(store_user_add(st, "alice2", NULL, dup, 1, &why), -1);
	CHECK_INT(why.code, PR_E_EXISTS);
	CHECK_INT(store_user_get(st, a, "alice2", &(struct store_user){0}, &why), 1);  /* rolled back */
	CHECK_INT(store_user_add(st, "bob", NULL, NULL, 0, &why), -1);
	CHECK_INT(why.code, PR_E_EXISTS);
	struct store_user u;
	CHECK_INT(store_user_by_email(st, a, "ALICE@FIRM.EXAMPLE", &u, &why), 0);
	CHECK_STR(u.name, "alice");
	CHECK_STR(u.display, "Alice Archer");
	CHECK_INT(u.nemails, 2);
	CHECK_STR(u.emails[0], "a.archer@home.example");
	CHECK_STR(u.emails[1], "alice@firm.example");
	CHECK_INT(store_user_by_email(st, a, "nobody@firm.example", &u, &why), 1);
	struct store_user *users;
	size_t n;
	CHECK_INT(store_user_list(st, a, &users, &n, &why), 0);
	CHECK_INT(n, 2);
	CHECK_STR(users[1].name, "bob");
	CHECK_INT(store_domain_served(st, "FIRM.example", &why), 1);
	CHECK_INT(store_domain_served(st, "other.example", &why), 0);
	CHECK_INT(store_project_is_member(st, "1234", "alice", &why), 1);
	CHECK_INT(store_project_is_member(st, "1234", "bob", &why), 0);
	CHECK_INT(store_project_grant(st, "9999", "bob", &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(store_project_grant(st, "1234", "zed", &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(store_project_revoke(st, "1234", "bob", &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	struct store_alias al;
	CHECK_INT(store_alias_get(st, a, "TEAM@firm.example", &al, &why), 0);
	CHECK_STR(al.address, "team@firm.example");
	CHECK_INT(al.nusers, 2);
	const char *ghost[] = {"ghost"};
	CHECK_INT(store_alias_add(st, "x@firm.example", ghost, 1, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(store_alias_get(st, a, "x@firm.example", &al, &why), 1);
	/* removing a user drops it from projects and aliases */
	CHECK_INT(store_user_remove(st, "alice", &why), 0);
	CHECK_INT(store_user_remove(st, "alice", &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(store_alias_get(st, a, "team@firm.example", &al, &why), 0);
	CHECK_INT(al.nusers, 1);
	struct store_project p;
	CHECK_INT(store_project_get(st, a, "1234", &p, &why), 0);
	CHECK_INT(p.nmembers, 0);
	/* what intake asks for a recipient: only whether the project is */
	CHECK_INT(store_project_exists(st, "1234", &why), 0);
	CHECK_INT(store_project_exists(st, "12345", &why), 1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(store_project_exists(st, "12\xff", &why), 1);
	CHECK_INT(store_alias_remove(st, "team@firm.example", &why), 0);
	CHECK_INT(store_domain_remove(st, "firm.example", &why), 0);
	CHECK_INT(store_domain_remove(st, "firm.example", &why), -1);
	arena_free(&a);
	store_close(&st);
}

TEST(stakeholders_and_settings)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	const char *em[] = {"Olga@Client.example"};
	CHECK_INT(store_stakeholder_add(st, "olga", em, 1, &why), 0);
	CHECK_INT(store_project_add_stakeholder(st, "1234", "olga", &why), 0);
	CHECK_INT(store_project_add_stakeholder(st, "1234", "nobody", &why), -1);
	struct store_stakeholder k;
	CHECK_INT(store_stakeholder_by_email(st, a, "olga@client.example", &k, &why), 0);
	CHECK_STR(k.name, "olga");
	struct store_project p;
	CHECK_INT(store_project_get(st, a, "1234", &p, &why), 0);
	CHECK_INT(p.nstakeholders, 1);
	CHECK_STR(p.stakeholders[0], "olga");
	int64_t v0, v1, v2;
	CHECK_INT(store_settings_version(st, &v0, &why), 0);
	CHECK_INT(store_setting_put(st, "max_recipients", "50", &why), 0);
	CHECK_INT(store_settings_version(st, &v1, &why), 0);
	CHECK_INT(store_setting_put(st, "max_recipients", "60", &why), 0);
	/* Every change moves the version another connection reads. */
	struct store *other = store_open(uri, &why);
	CHECK(other != NULL);
	CHECK_INT(store_settings_version(other, &v2, &why), 0);
	store_close(&other);
	CHECK(v0 != v1 && v1 != v2 && v0 != v2);
	/* Several keys: all in one transaction, the version moved once. */
	const struct store_setting two[] = {{"max_recipients", "70"}, {"unknown_recipient", "reject"}};
	int64_t v3;
	CHECK_INT(store_settings_put(st, two, 2, -1, &why), 0);
	CHECK_INT(store_settings_version(st, &v3, &why), 0);
	CHECK_INT(v3, v2 + 1);
	struct store_setting *set;
	size_t n;
	CHECK_INT(store_settings_load(st, a, &set, &n, &why), 0);
	CHECK_INT(n, 2);
	CHECK_STR(set[0].value, "70");
	CHECK_STR(set[1].value, "reject");
	/* Only from the version expected: a stale one stores nothing. */
	const struct store_setting eighty[] = {{"max_recipients", "80"}};
	int64_t v4;
	CHECK_INT(store_settings_put(st, eighty, 1, v2, &why), 1);
	CHECK_INT(store_settings_version(st, &v4, &why), 0);
	CHECK_INT(v4, v3);
	CHECK_INT(store_settings_load(st, a, &set, &n, &why), 0);
	CHECK_STR(set[0].value, "70");
	CHECK_INT(store_settings_put(st, eighty, 1, v3, &why), 0);
	CHECK_INT(store_settings_version(st, &v4, &why), 0);
	CHECK_INT(v4, v3 + 1);
	CHECK_INT(store_settings_load(st, a, &set, &n, &why), 0);
	CHECK_STR(set[0].value, "80");
	arena_free(&a);
	store_close(&st);
}

static struct store_msg *
make_msg(struct arena *a, const char *body, size_t len, const char *msgid, const char *project)
{
	struct store_msg *m = arena_alloc(a, sizeof(*m));
	static const char *rcpts[] = {"a1234@firm.example", "team@firm.example"};
	struct store_placement *pl = arena_alloc(a, 2 * sizeof(*pl));
	pl[0] = (struct store_placement){ROUTE_PROJECT, project, "a1234@firm.example"};
	pl[1] = (struct store_placement){ROUTE_USER, "bob", "team@firm.example"};
	struct store_person *pp = arena_alloc(a, sizeof(*pp));
	pp[0] = (struct store_person){"Alice@firm.example", "from", "alice", NULL};
	m->source = "smtp";
	m->received_at = 1700000000;
	m->peer_ip = "127.0.0.1";
	m->helo = "client.example";
	m->mail_from = "alice@firm.example";
	m->rcpts = rcpts;
	m->nrcpts = 2;
	m->prepend = "Received: from client.example\r\n";
	m->raw = spool_from_bytes(a, NULL, body, len);
	m->message_id = msgid;
	m->subject = "Hello";
	m->from_addr = "Alice@firm.example";
	m->placements = pl;
	m->nplacements = 2;
	m->people = pp;
	m->npeople = 1;
	return m;
}

TEST(commit_batch)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_msg *m[3];
	for (int i = 0; i < 3; i++)
		m[i] = make_msg(a, "Subject: x\r\n\r\nbody\r\n", 21, arena_printf(a, "<m%d@test>", i), "1234");
	m[2]->thread_id = 0;
	static const char *ns[] = {"1234\tNew@Client.example"};
	m[1]->new_stakeholders = ns;
	m[1]->nnew_stakeholders = 1;
	CHECK_INT(store_commit_batch(st, m, 3, &why), 0);
	CHECK(m[0]->id_r > 0 && m[1]->id_r == m[0]->id_r + 1 && m[2]->id_r == m[1]->id_r + 1);
	CHECK(m[0]->log_id_r > 0 && m[2]->log_id_r > m[0]->log_id_r);
	/* a reply joins m[0]'s thread */
	int64_t id, thread;
	CHECK_INT(store_message_by_msgid(st, "m0@test", &id, &thread, &why), 0);
	CHECK_INT(id, m[0]->id_r);
	CHECK_INT(thread, m[0]->id_r);
	CHECK_INT(store_message_by_msgid(st, "<nope@test>", &id, &thread, &why), 1);
	struct store_msg *r = make_msg(a, "reply\r\n", 7, "<r@test>", "1234");
	r->thread_id = thread;
	CHECK_INT(store_commit_batch(st, &r, 1, &why), 0);
	struct store_message got;
	CHECK_INT(store_message_get(st, a, r->id_r, &got, &why), 0);
	CHECK_INT(got.thread_id, m[0]->id_r);
	CHECK_INT(got.raw_len, 31 + 7);
	CHECK(memcmp(got.raw, "Received: from client.example\r\nreply\r\n", 38) == 0);
	CHECK_STR(got.s.placements, "project:1234,user:bob");
	CHECK_STR(got.rcpts, "a1234@firm.example,team@firm.example");
	CHECK_INT(store_thread_has_participant(st, thread, "ALICE@firm.example", &why), 1);
	CHECK_INT(store_thread_has_participant(st, thread, "eve@x.example", &why), 0);
	struct store_placement *tp;
	size_t n;
	CHECK_INT(store_thread_placements(st, a, thread, &tp, &n, &why), 0);
	CHECK_INT(n, 2);
	CHECK_INT(tp[0].kind, ROUTE_PROJECT);
	CHECK_INT(store_message_find_duplicate(st, "<m1@test>", spool_sha256_hex(m[1]->raw), &id, &why), 0);
	CHECK_INT(id, m[1]->id_r);
	CHECK_INT(store_message_find_duplicate(st, "<m1@test>", "00", &id, &why), 1);
	struct store_stakeholder k;
	CHECK_INT(store_stakeholder_by_email(st, a, "new@client.example", &k, &why), 0);
	struct store_project p;
	CHECK_INT(store_project_get(st, a, "1234", &p, &why), 0);
	CHECK_INT(p.nstakeholders, 1);
	arena_free(&a);
	store_close(&st);
}

/* A second copy (same Message-ID and bytes) is stored once: in the same
 * batch or later, it only adds the placements the first one lacked. */
TEST(commit_merges_duplicates)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	const char body[] = "Subject: d\r\n\r\nsame\r\n";
	struct store_msg *m[2];
	for (int i = 0; i < 2; i++)
		m[i] = make_msg(a, body, sizeof(body) - 1, "<dup@test>", "1234");
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);
	CHECK(!m[0]->duplicate_r && m[1]->duplicate_r);
	CHECK_INT(m[1]->id_r, m[0]->id_r);
	CHECK(m[1]->log_id_r > m[0]->log_id_r);
	struct store_msg *later = make_msg(a, body, sizeof(body) - 1, "<dup@test>", "1234");
	struct store_placement *pl = arena_alloc(a, sizeof(*pl));
	pl[0] = (struct store_placement){ROUTE_USER, "alice", "alice@firm.example"};
	later->placements = pl;
	later->nplacements = 1;
	CHECK_INT(store_commit_batch(st, &later, 1, &why), 0);
	CHECK(later->duplicate_r);
	CHECK_INT(later->id_r, m[0]->id_r);
	struct store_message got;
	CHECK_INT(store_message_get(st, a, m[0]->id_r, &got, &why), 0);
	CHECK_STR(got.s.placements, "project:1234,user:bob,user:alice");
	struct store_log_entry *le;
	size_t n;
	struct store_log_filter f = {.id = later->log_id_r};
	CHECK_INT(store_log_list(st, a, &f, &le, &n, &why), 0);
	CHECK_INT(n, 1);
	CHECK_INT(le[0].reason, PR_E_DUPLICATE);
	CHECK_INT(le[0].message_id, m[0]->id_r);
	/* once refiled by hand, a resend does not put it back */
	struct store_placement to = {ROUTE_PROJECT, "1234", "moved"};
	CHECK_INT(store_message_move(st, m[0]->id_r, &to, &why), 0);
	struct store_msg *again = make_msg(a, body, sizeof(body) - 1, "<dup@test>", "1234");
	CHECK_INT(store_commit_batch(st, &again, 1, &why), 0);
	CHECK(again->duplicate_r);
	CHECK_INT(store_message_get(st, a, m[0]->id_r, &got, &why), 0);
	CHECK_STR(got.s.placements, "project:1234");
	/* other bytes under the same Message-ID are a different message */
	struct store_msg *other = make_msg(a, "changed\r\n", 9, "<dup@test>", "1234");
	CHECK_INT(store_commit_batch(st, &other, 1, &why), 0);
	CHECK(!other->duplicate_r && other->id_r > m[0]->id_r);
	arena_free(&a);
	store_close(&st);
}

/* POP3 bookkeeping: a collected message is recorded by its own commit
 * (also as a duplicate), per mailbox; marks are all or nothing. */
TEST(pop3_records)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	const char *box = "ssl://pop.example:995 system";
	struct store_msg *m[2];
	for (int i = 0; i < 2; i++) {
		m[i] = make_msg(a, "Subject: p\r\n\r\nx\r\n", 18, "<pop@test>", "1234");
		m[i]->pop3_mailbox = box;
		m[i]->pop3_uidl = i ? "u2" : "u1";
	}
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);
	CHECK(m[1]->duplicate_r);
	CHECK_INT(store_pop3_known_uidl(st, box, "u1", &why), 1);
	CHECK_INT(store_pop3_known_uidl(st, box, "u2", &why), 1);
	CHECK_INT(store_pop3_known_uidl(st, "ssl://pop.example:995 other", "u1", &why), 0);
	CHECK_INT(store_pop3_known_hash(st, box, spool_sha256_hex(m[0]->raw), &why), 1);
	CHECK_INT(store_pop3_known_hash(st, "tcp://other:110 system", spool_sha256_hex(m[0]->raw), &why), 0);
	/* the same bytes without a Message-ID, committed by two rounds at once
	 * (two transactions): stored once */
	struct store_msg *bare[2];
	for (int i = 0; i < 2; i++) {
		bare[i] = make_msg(a, "Subject: b\r\n\r\ny\r\n", 18, NULL, "1234");
		bare[i]->pop3_mailbox = box;
		bare[i]->pop3_uidl = "u9";
		CHECK_INT(store_commit_batch(st, &bare[i], 1, &why), 0);
	}
	CHECK(!bare[0]->duplicate_r && bare[1]->duplicate_r);
	CHECK_INT(bare[1]->id_r, bare[0]->id_r);
	/* a failing mark (NULL hash breaks NOT NULL) leaves nothing behind and
	 * the connection can write again */
	struct store_pop3_mark mk[2] = {{"r1", "aa", "refused", 0}, {"r2", NULL, "refused", 0}};
	CHECK_INT(store_pop3_mark(st, box, mk, 2, &why), -1);
	CHECK_INT(store_pop3_known_uidl(st, box, "r1", &why), 0);
	mk[1].sha256 = "bb";
	CHECK_INT(store_pop3_mark(st, box, mk, 2, &why), 0);
	CHECK_INT(store_pop3_known_uidl(st, box, "r2", &why), 1);
	CHECK_INT(store_pop3_expire(st, time(NULL) - 3600, &why), 0);
	CHECK_INT(store_pop3_known_uidl(st, box, "r1", &why), 1);
	CHECK_INT(raw_sql("UPDATE pop3_collected SET at = 1"), 0);
	CHECK_INT(store_pop3_touch(st, box, "r1", &why), 0);    /* still listed */
	CHECK_INT(store_pop3_expire(st, time(NULL) - 3600, &why), 0);
	CHECK_INT(store_pop3_known_uidl(st, box, "r1", &why), 1);
	CHECK_INT(store_pop3_known_uidl(st, box, "r2", &why), 0);
	CHECK_INT(store_pop3_expire(st, time(NULL) + 3600, &why), 0);
	CHECK_INT(store_pop3_known_uidl(st, box, "r1", &why), 0);
	arena_free(&a);
	store_close(&st);
}

TEST(commit_failure_rolls_back)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_msg *m[2] = {make_msg(a, "x", 1, NULL, "1234"), make_msg(a, "y", 1, NULL, "1234")};
	/* a placement row with a bad kind cannot fail; use a bad spool instead */
	m[1]->raw = NULL;
	m[1]->prepend = NULL;
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);   /* empty message is allowed */
	struct store_message_summary *l;
	size_t n;
	CHECK_INT(store_message_list(st, a, NULL, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	arena_free(&a);
	store_close(&st);
}

TEST(large_spool_byte_exact)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	size_t len = 1024 * 1024 + 17;
	uint8_t *body = malloc(len);
	for (size_t i = 0; i < len; i++)
		body[i] = (uint8_t)(i * 131 + (i >> 9));
	struct store_msg *m = make_msg(a, "", 0, "<big@test>", "1234");
	m->raw = spool_new(a, dir);
	for (size_t off = 0; off < len; off += 10000)
		spool_write(m->raw, body + off, len - off < 10000 ? len - off : 10000);
	spool_finish(m->raw);
	CHECK(spool_memory(m->raw) == NULL);   /* spilled to a file: streamed path */
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	struct store_message got;
	CHECK_INT(store_message_get(st, a, m->id_r, &got, &why), 0);
	size_t plen = strlen(m->prepend);
	CHECK_INT(got.raw_len, plen + len);
	CHECK_INT(got.s.size, plen + len);
	CHECK(memcmp(got.raw, m->prepend, plen) == 0);
	CHECK(memcmp(got.raw + plen, body, len) == 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/raw.out", dir);
	FILE *f = fopen(path, "w+b");
	CHECK_INT(store_message_write_raw(st, m->id_r, f, &why), 0);
	CHECK_INT(ftell(f), (long)(plen + len));
	fclose(f);
	unlink(path);
	CHECK_INT(store_message_write_raw(st, 999, stdout, &why), 1);
	free(body);
	arena_free(&a);
	store_close(&st);
}

TEST(busy)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	CHECK_INT(hold_writes(), 0);
	store_set_busy_timeout(st, 50);
	struct store_msg *m = make_msg(a, "x\r\n", 3, "<busy@test>", "1234");
	CHECK_INT(store_commit_batch(st, &m, 1, &why), -1);
	CHECK_INT(why.code, PR_E_STORE_BUSY);
	CHECK(pr_err_is_temporary(why.code));
	CHECK_INT(m->id_r, 0);
	CHECK_INT(store_domain_add(st, "late.example", &why), -1);
	CHECK_INT(why.code, PR_E_STORE_BUSY);
	/* reading still works beside the writer (WAL; MVCC) */
	CHECK_INT(store_domain_served(st, "firm.example", &why), 1);
	release_writes();
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	CHECK(m->id_r > 0);
	arena_free(&a);
	store_close(&st);
}

/* PostgreSQL: a lock timeout that arrives in the middle of a pipelined
 * batch (message_search is written late in each message's rows) is
 * PR_E_STORE_BUSY like any other; the whole batch is rolled back, every
 * message gets the same error, and the connection then commits again,
 * with ids and log ids growing in batch order. */
TEST(busy_mid_pipeline)
{
	if (pg_admin == NULL)
		SKIP("the table locked is PostgreSQL's search table");
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	PGconn *held = PQconnectdb(uri);
	PGresult *r = PQexec(held, "BEGIN; LOCK TABLE message_search IN EXCLUSIVE MODE");
	CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	store_set_busy_timeout(st, 50);
	struct store_msg *m[3];
	for (int i = 0; i < 3; i++)
		m[i] = make_msg(a, "x\r\n", 3, arena_printf(a, "<mid%d@test>", i), "1234");
	CHECK_INT(store_commit_batch(st, m, 3, &why), -1);
	CHECK_INT(why.code, PR_E_STORE_BUSY);
	CHECK(strstr(why.detail, "indexing a message for search") != NULL);
	for (int i = 0; i < 3; i++)
		CHECK(m[i]->id_r == 0 && m[i]->log_id_r == 0);
	CHECK_INT(raw_int("SELECT count(*) FROM messages"), 0);
	PQclear(PQexec(held, "ROLLBACK"));
	PQfinish(held);
	CHECK_INT(store_commit_batch(st, m, 3, &why), 0);
	CHECK(m[0]->id_r > 0 && m[1]->id_r > m[0]->id_r && m[2]->id_r > m[1]->id_r);
	CHECK(m[0]->log_id_r > 0 && m[1]->log_id_r > m[0]->log_id_r && m[2]->log_id_r > m[1]->log_id_r);
	CHECK_INT(raw_int("SELECT count(*) FROM message_search"), 3);
	CHECK_INT(store_domain_served(st, "firm.example", &why), 1);
	arena_free(&a);
	store_close(&st);
}

/* How many times committing m[0..n) waited for the server, counted in
 * libpq's trace of st's connection: every Sync or simple Query is one
 * wait (a statement run alone ends in a Sync; a whole pipeline, in one). */
static int
round_trips(struct store *st, struct store_msg **m, size_t n)
{
	FILE *f = tmpfile();
	if (f == NULL)
		return -1;
	PQtrace(st->conn, f);
	PQsetTraceFlags(st->conn, PQTRACE_SUPPRESS_TIMESTAMPS);
	struct pr_why why;
	int rc = store_commit_batch(st, m, n, &why);
	PQuntrace(st->conn);
	rewind(f);
	char line[512];
	int trips = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (!strncmp(line, "F\t", 2) && (strstr(line, "\tSync") || strstr(line, "\tQuery\t")))
			trips++;
	fclose(f);
	return rc == 0 ? trips : -1;
}

/* PostgreSQL: a group commit of new messages waits for the server a few
 * times whatever the batch's size (pipeline mode), not once per statement
 * (about 22 a message). */
TEST(commit_round_trips)
{
	if (pg_admin == NULL)
		SKIP("SQLite has no round trips");
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct store_msg *m[40];
	for (int i = 0; i < 40; i++)
		m[i] = make_msg(a, "Subject: r\r\n\r\nround\r\n", 21, arena_printf(a, "<rt%d@test>", i), "1234");
	CHECK(round_trips(st, m, 2) > 0);   /* the statements get prepared */
	int ten = round_trips(st, m + 2, 10);
	int many = round_trips(st, m + 12, 28);
	CHECK(ten > 0 && ten <= 5);
	CHECK_INT(many, ten);
	arena_free(&a);
	store_close(&st);
}

TEST(log_and_list_filters)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_msg *m = make_msg(a, "x\r\n", 3, "<l@test>", "1234");
	CHECK_INT(store_commit_batch(st, &m, 1, &why), 0);
	struct store_log_entry e = {0};
	e.at = 1700000100;
	e.source = "smtp";
	e.mail_from = "Eve@evil.example";
	e.rcpts = "a1234@firm.example";
	e.verdict = "rejected";
	e.reason = PR_E_NOT_A_USER;
	e.detail = "sender eve@evil.example is not a postroom user";
	int64_t lid;
	CHECK_INT(store_log_append(st, &e, &lid, &why), 0);
	struct store_log_entry *l;
	size_t n;
	CHECK_INT(store_log_list(st, a, NULL, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	CHECK_INT(l[0].id, lid);
	CHECK_INT(l[0].reason, PR_E_NOT_A_USER);
	CHECK_STR(l[1].verdict, "accepted");
	CHECK_INT(l[1].message_id, m->id_r);
	struct store_log_filter f = {.verdict = "rejected"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 1);
	f = (struct store_log_filter){.sender = "eve@EVIL.example"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 1);
	f = (struct store_log_filter){.project = "1234"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 1);   /* only the placed one without project_local */
	f.project_local = "a1234";
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	f = (struct store_log_filter){.address = "team@firm.example"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 1);
	f = (struct store_log_filter){.since = 1700000050};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 1);
	f = (struct store_log_filter){.message_id_hdr = "<l@test>"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 1);
	struct store_message_filter mf = {.user = "bob"};
	struct store_message_summary *ms;
	CHECK_INT(store_message_list(st, a, &mf, &ms, &n, &why), 0);
	CHECK_INT(n, 1);
	mf = (struct store_message_filter){.unassigned = true};
	CHECK_INT(store_message_list(st, a, &mf, &ms, &n, &why), 0);
	CHECK_INT(n, 0);
	struct store_placement to = {ROUTE_UNASSIGNED, "", NULL};
	CHECK_INT(store_message_move(st, m->id_r, &to, &why), 0);
	CHECK_INT(store_message_list(st, a, &mf, &ms, &n, &why), 0);
	CHECK_INT(n, 1);
	CHECK_STR(ms[0].placements, "unassigned");
	to = (struct store_placement){ROUTE_PROJECT, "nope", NULL};
	CHECK_INT(store_message_move(st, m->id_r, &to, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	to = (struct store_placement){ROUTE_PROJECT, "1234", NULL};
	CHECK_INT(store_message_move(st, 4242, &to, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	arena_free(&a);
	store_close(&st);
}

/* Which of m[0..3) a search finds (bit i for m[i]), or -1 with why. */
static int
found(struct store *st, struct store_msg **m, const char *q, const char *project, int64_t before,
      struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message_filter f = {.search = q, .project = project, .before = before};
	struct store_message_summary *l;
	size_t n;
	int bits = store_message_list(st, a, &f, &l, &n, why) < 0 ? -1 : 0;
	for (size_t i = 0; bits >= 0 && i < n; i++)
		for (int j = 0; j < 3; j++)
			bits |= l[i].id == m[j]->id_r ? 1 << j : 0;
	arena_free(&a);
	return bits;
}

/* Full-text search finds the same on every backend: words as unicode61
 * cuts them (an address's parts, a phrase for "client.example"), any
 * case, without diacritics, prefixes, only the first
 * STORE_SEARCH_TEXT_MAX bytes of the text; the user's query syntax is
 * only words; keys that are not UTF-8 find nothing (no store error). */
TEST(message_search)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_msg *m[3];
	struct store_person *pp = arena_alloc(a, 2 * sizeof(*pp));
	pp[0] = (struct store_person){"Alice@firm.example", "from", "alice", NULL};
	pp[1] = (struct store_person){"carol.dunn@client.example", "cc", NULL, NULL};
	for (int i = 0; i < 3; i++)
		m[i] = make_msg(a, "x\r\n", 3, arena_printf(a, "<s%d@test>", i), "1234");
	m[0]->subject = "Harbour zebra plans";
	m[0]->search_text = "Nothing special. The \xc3\x89T\xc3\x89 report: foo-bar, x.y.z!";
	m[0]->people = pp;
	m[0]->npeople = 2;
	m[1]->subject = "Misc";
	m[1]->search_text = "kumquat and zebras";
	size_t big = STORE_SEARCH_TEXT_MAX + 100;
	char *text = arena_alloc(a, big + 1);
	for (size_t i = 0; i < big; i += 6)
		memcpy(text + i, "lorem ", big - i < 6 ? big - i : 6);
	memcpy(text, "headword caf\xff latte ", 20);
	memcpy(text + STORE_SEARCH_TEXT_MAX + 10, " tailword ", 10);
	text[big] = '\0';
	m[2]->search_text = text;
	CHECK_INT(store_commit_batch(st, m, 3, &why), 0);
	static const struct { const char *q; int bits; } cases[] = {
		{"zebra", 1}, {"zebra*", 3}, {"ZEBRA harbour", 1}, {"carol", 1}, {"client.example", 1},
		{"dunn@client", 1}, {"carol.dunn@client.example", 1}, {"example.client", 0},
		{"foo", 1}, {"foo-bar", 1}, {"bar-foo", 0}, {"x.y.z", 1}, {"ete", 1}, {"\xc3\xa9t\xc3\xa9", 1},
		{"kumquat zebra", 0}, {"kumquat", 2}, {"zebra OR kumquat", 0}, {"\"zebra", 1}, {"'zebra'", 1},
		{"zebra:*", 3}, {"!zebra", 1}, {"(zebra)", 1}, {"zebra & kumquat", 0}, {"zebra | kumquat", 0},
		{"zebra <-> harbour", 1}, {"x\\'y", 1}, {"subject:zebra", 0}, {"NEAR(zebra harbour)", 0},
		{"headword", 4}, {"latte", 4}, {"tailword", 0}, {"lor*", 4},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = found(st, m, cases[i].q, NULL, 0, &why);
		if (got != cases[i].bits)
			fprintf(stderr, "search '%s': %d, not %d\n", cases[i].q, got, cases[i].bits);
		CHECK_INT(got, cases[i].bits);
	}
	char *longword = arena_alloc(a, 3001);
	memset(longword, 'q', 3000);
	CHECK_INT(found(st, m, longword, NULL, 0, &why), 0);
	CHECK_INT(found(st, m, "zebra*", "1234", 0, &why), 3);
	CHECK_INT(found(st, m, "zebra*", "nope", 0, &why), 0);
	CHECK_INT(found(st, m, "zebra*", NULL, m[1]->id_r, &why), 1);   /* keyset: below m[1] */
	CHECK_INT(found(st, m, "* ( )", NULL, 0, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK(strstr(why.detail, "no word") != NULL);
	int64_t id, thread;
	CHECK_INT(store_message_by_msgid(st, "<caf\xff@test>", &id, &thread, &why), 1);
	CHECK_INT(store_message_find_duplicate(st, "<caf\xff@test>", "00", &id, &why), 1);
	CHECK_INT(found(st, m, "zebra", "caf\xff", 0, &why), 0);
	arena_free(&a);
	store_close(&st);
}

/* Search entries held for a later group (SQLite; PostgreSQL indexes every
 * group at once): a group committed while more are coming is stored but
 * not yet searchable; the next group committed without more coming writes
 * both; a group that rolls back takes only its own entries with it; and
 * entries lost with the process (a close without flush stands for a
 * crash) are found by store_search_unindexed and indexed again. */
TEST(search_held_for_a_later_group)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	bool held = pg_admin == NULL;
	struct store_msg *m[3];
	const char *words[3] = {"quince", "medlar", "loquat"};
	for (int i = 0; i < 3; i++) {
		m[i] = make_msg(a, "x\r\n", 3, arena_printf(a, "<h%d@test>", i), "1234");
		m[i]->search_text = words[i];
	}
	store_search_hold(st, 8, true);
	CHECK_INT(store_commit_batch(st, &m[0], 1, &why), 0);
	CHECK_INT(found(st, m, "quince", NULL, 0, &why), held ? 0 : 1);
	store_search_hold(st, 8, false);
	CHECK_INT(store_commit_batch(st, &m[1], 1, &why), 0);
	CHECK_INT(found(st, m, "quince", NULL, 0, &why), 1);
	CHECK_INT(found(st, m, "medlar", NULL, 0, &why), 2);
	/* A full batch is written although more are coming. */
	store_search_hold(st, 1, true);
	CHECK_INT(store_commit_batch(st, &m[2], 1, &why), 0);
	CHECK_INT(found(st, m, "loquat", NULL, 0, &why), 4);
	/* Held, then lost: the reopened store finds them missing. */
	struct store_msg *lost[2];
	for (int i = 0; i < 2; i++) {
		lost[i] = make_msg(a, "x\r\n", 3, arena_printf(a, "<lost%d@test>", i), "1234");
		lost[i]->search_text = "persimmon";
	}
	store_search_hold(st, 8, true);
	CHECK_INT(store_commit_batch(st, lost, 2, &why), 0);
	int64_t *ids;
	size_t n;
	CHECK_INT(store_search_unindexed(st, a, 100, &ids, &n, &why), 0);
	CHECK_INT(n, held ? 2 : 0);
	if (held)
		CHECK(n == 2 && ids[0] == lost[0]->id_r && ids[1] == lost[1]->id_r);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(store_import_search(st, ids[i], "persimmon", &why), 0);
	CHECK_INT(store_search_unindexed(st, a, 100, &ids, &n, &why), 0);
	CHECK_INT(n, 0);
	struct store_message_filter f = {.search = "persimmon"};
	struct store_message_summary *l;
	CHECK_INT(store_message_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	/* The held entries, written after all (another process recovered
	 * them while this one held them), are not indexed twice. */
	CHECK_INT(store_search_flush(st, &why), 0);
	CHECK_INT(store_message_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	arena_free(&a);
	store_close(&st);
}

/* A search across more messages than one walk of the PostgreSQL backend
 * (2,000 ids): hits on both sides of the window, newest first, each once,
 * and keyset pages that meet exactly. */
TEST(message_search_deep)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	enum { N = 2100, BATCH = 300 };
	int64_t ids[N];
	for (int i = 0; i < N; i += BATCH) {
		struct store_msg *m[BATCH];
		for (int j = 0; j < BATCH; j++) {
			m[j] = make_msg(a, "x\r\n", 3, arena_printf(a, "<d%d@test>", i + j), "1234");
			m[j]->search_text = (i + j) % 700 == 0 ? "sparse common" : "common";
		}
		CHECK_INT(store_commit_batch(st, m, BATCH, &why), 0);
		for (int j = 0; j < BATCH; j++)
			ids[i + j] = m[j]->id_r;
	}
	struct store_message_filter f = {.search = "sparse", .limit = 100};
	struct store_message_summary *l;
	size_t n;
	CHECK_INT(store_message_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 3);
	for (size_t k = 0; k < n && k < 3; k++)
		CHECK_INT(l[k].id, ids[1400 - 700 * (int)k]);
	f = (struct store_message_filter){.search = "common", .limit = 1000, .project = "1234"};
	size_t seen = 0;
	for (int page = 0; page < 5; page++) {
		CHECK_INT(store_message_list(st, a, &f, &l, &n, &why), 0);
		for (size_t k = 0; k < n; k++)
			CHECK_INT(l[k].id, ids[N - 1 - (int)(seen + k)]);
		seen += n;
		if (n < 1000)
			break;
		f.before = l[n - 1].id;
	}
	CHECK_INT(seen, N);
	arena_free(&a);
	store_close(&st);
}

/* Keyset paging: pages of 4 from below `before` see each of 25 rows once,
 * newest first, with the verdict filter applied inside every page. */
TEST(log_keyset_paging)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	for (int i = 0; i < 50; i++) {
		struct store_log_entry e = {.at = 1700000000 + i, .source = "smtp", .mail_from = "x@evil.example",
		                            .rcpts = "a1234@firm.example", .reason = PR_E_NOT_A_USER,
		                            .verdict = i % 2 ? "rejected" : "deferred"};
		CHECK_INT(store_log_append(st, &e, NULL, &why), 0);
	}
	struct store_log_filter f = {.verdict = "rejected", .limit = 4};
	int64_t seen[32], last = 0;
	size_t total = 0;
	for (int page = 0; page < 20; page++) {
		struct store_log_entry *l;
		size_t n;
		f.before = last;
		CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
		for (size_t i = 0; i < n && total < 32; i++) {
			CHECK(last == 0 || l[i].id < last);
			CHECK_STR(l[i].verdict, "rejected");
			last = seen[total++] = l[i].id;
		}
		if (n < 4)
			break;
	}
	CHECK_INT(total, 25);
	CHECK_INT(seen[0], 50);
	CHECK_INT(seen[24], 2);
	arena_free(&a);
	store_close(&st);
}

/* The address index of the intake log is keyed as SQLite keys it: the
 * sender whole (a comma in it is part of it), each recipient of the
 * comma-joined list, empty ones skipped, ASCII letters folded and no
 * others; pruning removes a row's address rows with it; a filter text
 * that is not UTF-8 finds nothing (no store error). */
TEST(log_address_index_and_prune)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_log_entry e = {.source = "smtp", .reason = PR_E_NOT_A_USER, .verdict = "rejected",
	                            .mail_from = "\"a,b\"@Evil.example",
	                            .rcpts = "Bob@Firm.example,,\xc3\x84ve@X.example,bob@firm.example"};
	for (int i = 0; i < 5; i++) {
		e.at = 1700000000 + i;
		CHECK_INT(store_log_append(st, &e, NULL, &why), 0);
	}
	CHECK_INT(raw_int("SELECT count(*) FROM intake_log_addr"), 15);
	struct store_log_entry *l;
	size_t n;
	struct store_log_filter f = {.address = "\"A,B\"@evil.example"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 5);
	f = (struct store_log_filter){.address = "b\"@evil.example"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 0);
	f = (struct store_log_filter){.recipient = "BOB@firm.example", .limit = 2};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	CHECK_INT(l[0].id, 5);
	f = (struct store_log_filter){.address = "\xc3\x84VE@x.example"};   /* Ä stays Ä */
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 5);
	f = (struct store_log_filter){.address = "\xc3\xa4ve@x.example"};   /* ä is another letter */
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 0);
	f = (struct store_log_filter){.sender = "\xff@evil.example"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 0);
	int64_t deleted = 0;
	CHECK_INT(store_log_prune(st, 1700000003, 2, &deleted, &why), 0);
	CHECK_INT(deleted, 3);
	CHECK_INT(raw_int("SELECT count(*) FROM intake_log_addr"), 6);
	CHECK_INT(raw_int("SELECT min(log_id) FROM intake_log_addr"), 4);
	f = (struct store_log_filter){.address = "bob@firm.example"};
	CHECK_INT(store_log_list(st, a, &f, &l, &n, &why), 0);
	CHECK_INT(n, 2);
	arena_free(&a);
	store_close(&st);
}

/* Console sign-in: passwords and admin flags, sessions (expiry, idle
 * time, a password change or disabling ends them), failed sign-ins. */
TEST(sessions)
{
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	struct store_login lg;
	CHECK_INT(store_user_login(st, a, "alice", &lg, &why), 0);
	CHECK(lg.hash == NULL && lg.active && !lg.admin);
	CHECK_INT(store_user_login(st, a, "nobody", &lg, &why), 1);
	CHECK_INT(store_user_login(st, a, "\xff", &lg, &why), 1);
	CHECK_INT(store_user_set_password(st, "nobody", "$argon2id$x", &why), -1);
	CHECK_STR(why.detail, "no user named 'nobody'");
	CHECK_INT(store_user_set_admin(st, "alice", true, &why), 0);
	CHECK_INT(store_user_set_password(st, "alice", "$argon2id$x", &why), 0);
	CHECK_INT(store_user_login(st, a, "alice", &lg, &why), 0);
	CHECK(lg.admin);
	CHECK_STR(lg.hash, "$argon2id$x");
	unsigned char h1[STORE_SESSION_HASH_LEN] = {1}, h2[STORE_SESSION_HASH_LEN] = {2};
	CHECK_INT(store_session_add(st, h1, lg.user_id, "c1", 1000, 5000, &why), 0);
	CHECK_INT(store_session_add(st, h1, lg.user_id, "c1", 1000, 5000, &why), -1);
	CHECK_INT(why.code, PR_E_EXISTS);
	CHECK_INT(store_session_add(st, h2, 4242, "c2", 1000, 5000, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_STR(why.detail, "a referenced item does not exist");
	struct store_session s;
	CHECK_INT(store_session_get(st, a, h1, 2000, 1000, &s, &why), 0);
	CHECK_STR(s.user, "alice");
	CHECK_STR(s.csrf, "c1");
	CHECK(s.admin && s.created_at == 1000 && s.expires_at == 5000 && s.last_seen == 1000);
	CHECK_INT(store_session_get(st, a, h1, 5000, 0, &s, &why), 1);      /* expired */
	CHECK_INT(store_session_get(st, a, h1, 2000, 1001, &s, &why), 1);   /* idle */
	CHECK_INT(store_session_touch(st, h1, 1500, &why), 0);
	CHECK_INT(store_session_get(st, a, h1, 2000, 1001, &s, &why), 0);
	CHECK_INT(store_user_set_active(st, "alice", false, &why), 0);
	CHECK_INT(store_session_get(st, a, h1, 2000, 0, &s, &why), 1);
	CHECK_INT(store_user_set_active(st, "alice", true, &why), 0);
	CHECK_INT(store_session_add(st, h2, lg.user_id, "c2", 1000, 9000, &why), 0);
	CHECK_INT(store_session_prune(st, 6000, 0, &why), 0);               /* h1 expired */
	CHECK_INT(store_session_get(st, a, h2, 2000, 0, &s, &why), 0);
	CHECK_INT(store_user_set_password(st, "alice", "$argon2id$y", &why), 0);
	CHECK_INT(store_session_get(st, a, h2, 2000, 0, &s, &why), 1);
	CHECK_INT(store_session_remove(st, h2, &why), 0);
	time_t at = 0;
	CHECK_INT(store_login_failed(st, "127.0.0.1", "alice", 100, 0, &why), 0);
	CHECK_INT(store_login_failed(st, "127.0.0.2", "alice", 110, 0, &why), 0);
	CHECK_INT(store_login_nth(st, "user", "alice", 0, 2, &at, &why), 0);
	CHECK_INT(at, 100);
	CHECK_INT(store_login_nth(st, "user", "alice", 0, 3, &at, &why), 1);
	CHECK_INT(store_login_nth(st, "addr", "127.0.0.1", 101, 1, &at, &why), 1);
	CHECK_INT(store_login_failed(st, "127.0.0.1", "bob", 120, 105, &why), 0);   /* forgets 100 */
	CHECK_INT(store_login_nth(st, "user", "alice", 0, 2, &at, &why), 1);
	CHECK_INT(store_login_clear(st, "alice", &why), 0);
	CHECK_INT(store_login_nth(st, "user", "alice", 0, 1, &at, &why), 1);
	CHECK_INT(store_login_nth(st, "addr", "127.0.0.1", 0, 1, &at, &why), 0);
	CHECK_INT(at, 120);
	struct store_depths d;
	CHECK_INT(store_queue_depths(st, &d, &why), 0);
	CHECK(d.outbound_queued == 0 && d.outbound_sending == 0 && d.webhook_pending == 0);
	arena_free(&a);
	store_close(&st);
}

TEST(reopen_keeps_data)
{
	struct store *st = seeded();
	struct pr_why why;
	store_close(&st);
	CHECK(st == NULL);
	st = store_open(uri, &why);
	CHECK(st != NULL);
	CHECK_INT(store_domain_served(st, "firm.example", &why), 1);
	store_close(&st);
}

/* A version-1 store with the collector's old pop3_seen table: its rows
 * survive migration 2 and still stop a re-download being stored again. */
TEST(migration_keeps_pop3_seen)
{
	if (pg_admin)
		SKIP("the pop3_seen table only ever existed in SQLite stores (migration 2)");
	struct store *st = fresh();
	store_close(&st);
	sqlite3 *db;
	CHECK_INT(sqlite3_open(uri + 7, &db), SQLITE_OK);
	/* What later migrations add goes too, or they could not run again. */
	CHECK_INT(sqlite3_exec(db, "DROP TABLE pop3_collected; PRAGMA user_version = 1;"
	                       "ALTER TABLE message_raw DROP COLUMN codec; DROP TABLE intake_log_addr;"
	                       "DROP INDEX messages_msgid_key; ALTER TABLE messages DROP COLUMN msgid_key;"
	                       "CREATE TABLE pop3_seen(uidl TEXT PRIMARY KEY, sha256 TEXT NOT NULL,"
	                       " state TEXT NOT NULL, message_id INTEGER NOT NULL DEFAULT 0,"
	                       " at INTEGER NOT NULL);"
	                       "INSERT INTO pop3_seen VALUES('u1', 'abc', 'stored', 3, strftime('%s','now'))",
	                       NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct pr_why why;
	st = store_open(uri, &why);
	CHECK(st != NULL);
	CHECK_INT(store_pop3_known_hash(st, "ssl://any:995 user", "abc", &why), 1);
	CHECK_INT(store_pop3_known_uidl(st, "ssl://any:995 user", "u1", &why), 0);
	store_close(&st);
}

/* The id store_message_by_msgid finds for msgid: 0 when none, -1 on an error. */
static int64_t
msgid_found(struct store *st, const char *msgid)
{
	struct pr_why why;
	int64_t id, thread;
	int rc = store_message_by_msgid(st, msgid, &id, &thread, &why);
	return rc == 0 ? id : rc == 1 ? 0 : -1;
}

/* Messages are found by an 8-byte key of their Message-ID (migration 22),
 * and the identifier itself decides: a row whose key matches but whose
 * identifier differs is never the answer.  A store from before the key
 * (schema 21: the text index, no column) gets keys for its rows. */
TEST(msgid_key_then_text)
{
	if (pg_admin)
		SKIP("the Message-ID key is SQLite's (PostgreSQL indexes the identifier's text)");
	struct store *st = seeded();
	struct pr_why why;
	struct arena *a = arena_new();
	static const char body_a[] = "Subject: a\r\n\r\na\r\n", body_b[] = "Subject: b\r\n\r\nb\r\n";
	struct store_msg *m[2] = {make_msg(a, body_b, sizeof(body_b) - 1, "<b@test>", "1234"),
	                          make_msg(a, body_a, sizeof(body_a) - 1, "<a@test>", "1234")};
	CHECK_INT(store_commit_batch(st, m, 2, &why), 0);
	CHECK_INT(msgid_found(st, "<a@test>"), m[1]->id_r);
	store_close(&st);
	/* b, the older row, now under a's key: a is still a, and b is not found by its own key */
	CHECK_INT(raw_sql("UPDATE messages SET msgid_key = (SELECT msgid_key FROM messages"
	                  " WHERE message_id = 'a@test') WHERE message_id = 'b@test'"), 0);
	CHECK((st = store_open(uri, &why)) != NULL);
	CHECK_INT(msgid_found(st, "<a@test>"), m[1]->id_r);
	CHECK_INT(msgid_found(st, "<b@test>"), 0);
	store_close(&st);
	/* as schema 21 left it: keys made again by the migration */
	CHECK_INT(raw_sql("DROP INDEX messages_msgid_key; ALTER TABLE messages DROP COLUMN msgid_key;"
	                  "CREATE INDEX messages_msgid ON messages(message_id); PRAGMA user_version = 21;"), 0);
	CHECK((st = store_open(uri, &why)) != NULL);
	CHECK_INT(msgid_found(st, "<b@test>"), m[0]->id_r);
	CHECK_INT(msgid_found(st, "<a@test>"), m[1]->id_r);
	struct store_msg *again = make_msg(a, body_a, sizeof(body_a) - 1, "<a@test>", "1234");
	CHECK_INT(store_commit_batch(st, &again, 1, &why), 0);
	CHECK(again->duplicate_r);
	CHECK_INT(again->id_r, m[1]->id_r);
	arena_free(&a);
	store_close(&st);
}

/* A store written by a newer postroom (a schema version past ours) is
 * refused with a message that says so, and left as it is. */
TEST(newer_store_refused)
{
	struct store *st = fresh();
	store_close(&st);
	CHECK_INT(raw_sql(pg_admin ? "INSERT INTO schema_version VALUES (9999, 0)"
	                           : "PRAGMA user_version = 9999"), 0);
	struct pr_why why;
	st = store_open(uri, &why);
	CHECK(st == NULL);
	CHECK_INT(why.code, PR_E_CONFIG);
	CHECK(strstr(why.detail, "schema version 9999") != NULL);
}

/* Intake's directory answers are kept between store_reads_begin and
 * store_reads_end while the directory is unchanged (store_dircache.c):
 * a change by any connection is seen by the next window, an answer
 * outlives the cache that gave it, and outside a window nothing is kept. */
TEST(directory_cache)
{
	struct store *st = seeded();
	CHECK(st != NULL);
	struct pr_why why;
	struct store *admin = store_open(uri, &why);
	CHECK(admin != NULL);
	struct arena *a = arena_new();
	struct store_user u;
	CHECK_INT(store_user_by_email(st, a, "bob@firm.example", &u, &why), 0);
	CHECK_INT(store_user_by_email(st, a, "bob@firm.example", &u, &why), 0);
	CHECK_INT(store_dircache_hits(st), 0);

	store_reads_begin(st);
	CHECK_INT(store_user_by_email(st, a, "alice@firm.example", &u, &why), 0);
	CHECK_INT(store_user_by_email(st, a, "alice@firm.example", &u, &why), 0);
	CHECK_STR(u.name, "alice");
	CHECK_INT(u.nemails, 2);
	CHECK(!u.admin);
	CHECK_INT(store_project_is_member(st, "1234", "alice", &why), 1);
	CHECK_INT(store_project_is_member(st, "1234", "alice", &why), 1);
	CHECK_INT(store_project_is_member(st, "1234", "bob", &why), 0);
	CHECK_INT(store_project_exists(st, "9999", &why), 1);
	struct pr_why first = why;
	memset(&why, 0, sizeof(why));
	CHECK_INT(store_project_exists(st, "9999", &why), 1);
	CHECK_INT(why.code, first.code);
	CHECK_STR(why.detail, first.detail);
	CHECK_INT(store_domain_served(st, "firm.example", &why), 1);
	CHECK_INT(store_domain_served(st, "firm.example", &why), 1);
	struct store_alias al;
	CHECK_INT(store_alias_get(st, a, "team@firm.example", &al, &why), 0);
	CHECK_INT(store_alias_get(st, a, "team@firm.example", &al, &why), 0);
	CHECK_INT(al.nusers, 2);
	store_reads_end(st);
	CHECK_INT(store_dircache_hits(st), 5);

	/* Changes by another connection, each to a different table. */
	CHECK_INT(store_project_revoke(admin, "1234", "alice", &why), 0);
	CHECK_INT(store_project_add(admin, "9999", "Pier", &why), 0);
	CHECK_INT(store_user_set_admin(admin, "alice", true, &why), 0);
	CHECK_INT(store_domain_remove(admin, "firm.example", &why), 0);
	const char *three[] = {"alice", "bob", "carol"};
	CHECK_INT(store_user_add(admin, "carol", NULL, (const char *[]){"carol@firm.example"}, 1, &why), 0);
	CHECK_INT(store_alias_remove(admin, "team@firm.example", &why), 0);
	CHECK_INT(store_alias_add(admin, "team@firm.example", three, 3, &why), 0);

	store_reads_begin(st);
	CHECK_INT(store_project_is_member(st, "1234", "alice", &why), 0);
	CHECK_INT(store_project_exists(st, "9999", &why), 0);
	CHECK_INT(store_domain_served(st, "firm.example", &why), 0);
	CHECK_INT(store_alias_get(st, a, "team@firm.example", &al, &why), 0);
	CHECK_INT(al.nusers, 3);
	struct store_user again;
	CHECK_INT(store_user_by_email(st, a, "alice@firm.example", &again, &why), 0);
	CHECK(again.admin);
	store_reads_end(st);
	CHECK_INT(store_dircache_hits(st), 5);
	/* The first window's answer was copied out: still whole. */
	CHECK_STR(u.name, "alice");
	CHECK_STR(u.emails[1], "alice@firm.example");

	CHECK_INT(store_user_remove(admin, "alice", &why), 0);
	store_reads_begin(st);
	CHECK_INT(store_user_by_email(st, a, "alice@firm.example", &again, &why), 1);
	store_reads_end(st);

	/* A window whose version cannot be read (here: no table to read it
	 * from): its directory calls fail at once with that reason, as a
	 * stalled store would make them, without asking again; outside a
	 * window they read the store as before. */
	CHECK_INT(raw_sql("DROP TABLE directory_version"), 0);
	store_reads_begin(st);
	CHECK_INT(store_user_by_email(st, a, "bob@firm.example", &again, &why), -1);
	CHECK(strstr(why.detail, "directory version") != NULL);
	CHECK_INT(store_domain_served(st, "firm.example", &why), -1);
	CHECK(strstr(why.detail, "directory version") != NULL);
	store_reads_end(st);
	CHECK_INT(store_user_by_email(st, a, "bob@firm.example", &again, &why), 0);
	arena_free(&a);
	store_close(&admin);
	store_close(&st);
}

int
main(void)
{
	pg_admin = test_pg_admin();
	snprintf(dir, sizeof(dir), "%s/store-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(open_refuses);
	RUN(directory);
	RUN(stakeholders_and_settings);
	RUN(commit_batch);
	RUN(commit_merges_duplicates);
	RUN(pop3_records);
	RUN(commit_failure_rolls_back);
	RUN(large_spool_byte_exact);
	RUN(busy);
	RUN(busy_mid_pipeline);
	RUN(commit_round_trips);
	RUN(log_and_list_filters);
	RUN(log_keyset_paging);
	RUN(log_address_index_and_prune);
	RUN(sessions);
	RUN(message_search);
	RUN(message_search_deep);
	RUN(search_held_for_a_later_group);
	RUN(reopen_keeps_data);
	RUN(migration_keeps_pop3_seen);
	RUN(msgid_key_then_text);
	RUN(newer_store_refused);
	RUN(directory_cache);
	test_pg_drop_all();
	test_rmtree(dir);
	return test_summary("store");
}
