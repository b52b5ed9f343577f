/* test-store-lease.c - leases (store_lease_take/release) on a real store:
 * a temporary SQLite file, and PostgreSQL too when POSTROOM_TEST_PG names
 * a database (lease names carry this process's pid there, so runs sharing
 * one database do not meet).  Four connections racing for the same fresh
 * leases at the same moment: exactly one holds each. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "store/store.h"
#include "test.h"

#define RACERS 4
#define RACE_NAMES 25

static char dir[256], uri[300];
static const char *pg_uri;
static int serial;

/* A lease name no earlier run or backend used. */
static const char *
lease_name(struct arena *a, const char *what)
{
	return arena_printf(a, "%s:%ld:%d", what, (long)getpid(), ++serial);
}

static struct store *
open_store(void)
{
	struct pr_why why;
	struct store *st = store_open(uri, &why);
	if (st == NULL)
		fprintf(stderr, "store_open %s: %s\n", uri, why.detail);
	return st;
}

static void
expired_released_and_ours(void)
{
	struct store *st = open_store();
	CHECK(st != NULL);
	if (st == NULL)
		return;
	struct arena *a = arena_new();
	struct pr_why why;
	struct store_lease l;
	const char *n = lease_name(a, "pop3:ssl://pop.example:995 sys");
	/* New: taken, from nobody. */
	CHECK_INT(store_lease_take(st, a, n, "node-a:1", 1000, 10, &l, &why), 0);
	CHECK(l.held);
	CHECK_STR(l.holder, "node-a:1");
	CHECK_INT(l.until, 1010);
	CHECK(l.previous == NULL);
	/* Another node while it runs: refused, told whose and until when. */
	CHECK_INT(store_lease_take(st, a, n, "node-b:2", 1009, 10, &l, &why), 0);
	CHECK(!l.held);
	CHECK_STR(l.holder, "node-a:1");
	CHECK_INT(l.until, 1010);
	/* The owner renews it: still its own, no previous owner. */
	CHECK_INT(store_lease_take(st, a, n, "node-a:1", 1005, 10, &l, &why), 0);
	CHECK(l.held);
	CHECK_INT(l.until, 1015);
	CHECK(l.previous == NULL);
	/* The owner died: at its until, another node takes it over. */
	CHECK_INT(store_lease_take(st, a, n, "node-b:2", 1014, 10, &l, &why), 0);
	CHECK(!l.held);
	CHECK_INT(store_lease_take(st, a, n, "node-b:2", 1015, 10, &l, &why), 0);
	CHECK(l.held);
	CHECK_STR(l.holder, "node-b:2");
	CHECK_STR(l.previous, "node-a:1");
	CHECK(!l.previous_released);
	/* The old owner comes back: it is node-b's now. */
	CHECK_INT(store_lease_take(st, a, n, "node-a:1", 1016, 10, &l, &why), 0);
	CHECK(!l.held);
	CHECK_STR(l.holder, "node-b:2");
	CHECK_INT(l.until, 1025);
	/* A release by who does not hold it changes nothing. */
	CHECK_INT(store_lease_release(st, n, "node-a:1", &why), 0);
	CHECK_INT(store_lease_take(st, a, n, "node-c:3", 1017, 10, &l, &why), 0);
	CHECK(!l.held);
	/* A clean stop lets it go at once, and says so. */
	CHECK_INT(store_lease_release(st, n, "node-b:2", &why), 0);
	CHECK_INT(store_lease_take(st, a, n, "node-c:3", 1017, 10, &l, &why), 0);
	CHECK(l.held);
	CHECK_STR(l.previous, "node-b:2");
	CHECK(l.previous_released);
	arena_free(&a);
	store_close(&st);
}

struct racer {
	pthread_t tid;
	char owner[32];
	const char *const *names;
	bool held[RACE_NAMES];
	int failed;
	pthread_barrier_t *start;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct store *st = open_store();
	struct arena *a = arena_new();
	pthread_barrier_wait(r->start);
	for (int i = 0; st != NULL && i < RACE_NAMES; i++) {
		struct store_lease l;
		struct pr_why why;
		if (store_lease_take(st, a, r->names[i], r->owner, 5000, 30, &l, &why) < 0) {
			fprintf(stderr, "%s: %s\n", r->owner, why.detail);
			r->failed++;
		}
		r->held[i] = l.held;
	}
	r->failed += st == NULL;
	arena_free(&a);
	store_close(&st);
	return NULL;
}

static void
one_winner_per_race(void)
{
	struct arena *a = arena_new();
	const char *names[RACE_NAMES];
	for (int i = 0; i < RACE_NAMES; i++)
		names[i] = lease_name(a, "race");
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, RACERS);
	struct racer r[RACERS];
	memset(r, 0, sizeof(r));
	for (int t = 0; t < RACERS; t++) {
		snprintf(r[t].owner, sizeof(r[t].owner), "node-%d:%d", t, 100 + t);
		r[t].names = names;
		r[t].start = &start;
		CHECK_INT(pthread_create(&r[t].tid, NULL, race, &r[t]), 0);
	}
	for (int t = 0; t < RACERS; t++)
		pthread_join(r[t].tid, NULL);
	for (int t = 0; t < RACERS; t++)
		CHECK_INT(r[t].failed, 0);
	for (int i = 0; i < RACE_NAMES; i++) {
		int holders = 0;
		for (int t = 0; t < RACERS; t++)
			holders += r[t].held[i];
		CHECK_INT(holders, 1);
	}
	pthread_barrier_destroy(&start);
	arena_free(&a);
}

TEST(sqlite_lease)
{
	snprintf(uri, sizeof(uri), "sqlite:%s/lease.db", dir);
	expired_released_and_ours();
}

TEST(sqlite_race)
{
	snprintf(uri, sizeof(uri), "sqlite:%s/lease.db", dir);
	one_winner_per_race();
}

TEST(pg_lease)
{
	if (pg_uri == NULL)
		SKIP("POSTROOM_TEST_PG is not set (a PostgreSQL conninfo)");
	snprintf(uri, sizeof(uri), "%s", pg_uri);
	expired_released_and_ours();
}

TEST(pg_race)
{
	if (pg_uri == NULL)
		SKIP("POSTROOM_TEST_PG is not set (a PostgreSQL conninfo)");
	snprintf(uri, sizeof(uri), "%s", pg_uri);
	one_winner_per_race();
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s/lease-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	pg_uri = getenv("POSTROOM_TEST_PG");
	if (pg_uri != NULL && *pg_uri == '\0')
		pg_uri = NULL;
	RUN(sqlite_lease);
	RUN(sqlite_race);
	RUN(pg_lease);
	RUN(pg_race);
	test_rmtree(dir);
	return test_summary("store-lease");
}
