/* test-pg.h - a store for a unit test on either backend.
 *
 * test_store_uri() gives an SQLite file under dir by default; with
 * POSTROOM_TEST_PG set (tests/run's PostgreSQL pass: a URI whose user may
 * create databases) a new PostgreSQL database each time, which
 * test_pg_drop_all() drops at the end.  A test that means exactly the
 * same on both backends calls these instead of building "sqlite:" URIs.
 */
#ifndef PR_TEST_PG_H
#define PR_TEST_PG_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char test_pg_dbs[256][64];     /* databases made, dropped at the end */
static int test_pg_ndbs;

/* POSTROOM_TEST_PG when usable, else NULL (SQLite). */
static inline const char *
test_pg_admin(void)
{
	const char *admin = getenv("POSTROOM_TEST_PG");
	if (admin == NULL || !*admin)
		return NULL;
	if (strrchr(admin, '/') == NULL || strlen(admin) > 400) {
		fprintf(stderr, "POSTROOM_TEST_PG must be a postgresql://.../DB URI\n");
		exit(1);
	}
	return admin;
}

/* A new store's URI into uri: sqlite:<dir>/<name>.db, or a new database. */
static inline void
test_store_uri(char *uri, size_t cap, const char *dir, const char *name)
{
	const char *admin = test_pg_admin();
	if (admin == NULL) {
		snprintf(uri, cap, "sqlite:%s/%s.db", dir, name);
		return;
	}
	if (test_pg_ndbs == 256) {
		fprintf(stderr, "test-pg.h: more than 256 databases in one test program\n");
		exit(1);
	}
	const char *slash = strrchr(admin, '/');
	const char *query = strchr(admin, '?');
	char *db = test_pg_dbs[test_pg_ndbs++];
	snprintf(db, 64, "prunit_%d_%d", (int)getpid(), test_pg_ndbs);
	PGconn *c = PQconnectdb(admin);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	PQclear(PQexec(c, sql));
	PQfinish(c);
	snprintf(uri, cap, "%.*s/%s%s", (int)(slash - admin), admin, db, query ? query : "");
}

static inline void
test_pg_drop_all(void)
{
	const char *admin = test_pg_admin();
	if (admin == NULL || test_pg_ndbs == 0)
		return;
	PGconn *c = PQconnectdb(admin);
	for (int i = 0; i < test_pg_ndbs; i++) {
		char sql[160];
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", test_pg_dbs[i]);
		PQclear(PQexec(c, sql));
	}
	PQfinish(c);
}

#endif
