/* test-store-walbuf.c - the VFS that batches the WAL's appends
 * (store/store_sqlite_walbuf.h), on real files: what a connection through
 * it commits is what a connection through SQLite's own unix VFS reads,
 * after every commit, with and without a sync at commit, through a
 * transaction larger than the buffer and one that spills pages mid-way,
 * and after the writer is killed right after its commits returned. */
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store_sqlite_walbuf.h"
#include "test.h"

static char dir[256];
static int serial;

static sqlite3 *
open_db(const char *path, const char *vfs, const char *sync)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) != SQLITE_OK) {
		fprintf(stderr, "open %s: %s\n", path, db ? sqlite3_errmsg(db) : "no memory");
		sqlite3_close(db);
		return NULL;
	}
	char sql[200];
	snprintf(sql, sizeof(sql), "PRAGMA page_size=16384; PRAGMA journal_mode=WAL;"
	         " PRAGMA synchronous=%s; PRAGMA busy_timeout=5000", sync);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fprintf(stderr, "configure %s: %s\n", path, sqlite3_errmsg(db));
	return db;
}

static const char *
new_path(void)
{
	static char path[320];
	snprintf(path, sizeof(path), "%s/w%d.db", dir, ++serial);
	return path;
}

static long long
int_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return v;
}

static int
exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	return rc;
}

TEST(registered_and_named)
{
	const char *vfs = sq_walbuf_vfs();
	CHECK(vfs != NULL);
	CHECK(sq_walbuf_vfs() == vfs);   /* registered once */
	sqlite3 *db = open_db(new_path(), vfs, "FULL");
	CHECK(db != NULL);
	char *name = NULL;
	CHECK_INT(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &name), SQLITE_OK);
	CHECK(name != NULL && strncmp(name, "walbuf/", 7) == 0);
	sqlite3_free(name);
	sqlite3_close(db);
}

/* Each commit is seen by a reader on the plain VFS at once: with FULL the
 * commit's sync writes the buffer; with NORMAL there is no sync and only
 * the write before the index is published (xShmBarrier) puts the frames
 * in the file. */
static void
reader_sees_every_commit(const char *sync)
{
	const char *path = new_path();
	sqlite3 *w = open_db(path, sq_walbuf_vfs(), sync);
	CHECK(w != NULL);
	if (w == NULL)
		return;
	exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)");
	sqlite3 *r = open_db(path, NULL, "FULL");
	int seen = 0;
	for (int i = 1; i <= 200; i++) {
		char sql[120];
		/* Several pages a transaction, so frames pile up in the buffer. */
		snprintf(sql, sizeof(sql), "INSERT INTO t(body) VALUES(randomblob(%d))", 20000 + i);
		exec(w, sql);
		if (int_of(r, "SELECT count(*) FROM t") == i &&
		    int_of(r, "SELECT sum(length(body)) FROM t") == 20000LL * i + (long long)i * (i + 1) / 2)
			seen++;
	}
	CHECK_INT(seen, 200);
	CHECK_INT(int_of(r, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
	sqlite3_close(r);
	sqlite3_close(w);
}

TEST(reader_sees_every_commit_full)
{
	reader_sees_every_commit("FULL");
}

TEST(reader_sees_every_commit_normal)
{
	reader_sees_every_commit("NORMAL");
}

/* 8 MiB in one transaction (four buffers' worth) with a page cache of 20
 * pages: SQLite spills dirty pages into the WAL mid-transaction and reads
 * some back before the commit, through the buffer. */
TEST(large_transaction_that_spills)
{
	const char *path = new_path();
	sqlite3 *w = open_db(path, sq_walbuf_vfs(), "FULL");
	CHECK(w != NULL);
	if (w == NULL)
		return;
	exec(w, "PRAGMA cache_size=20; CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, body BLOB);"
	        " CREATE INDEX t_k ON t(k)");
	exec(w, "BEGIN");
	for (int i = 0; i < 512; i++)
		exec(w, "INSERT INTO t(k, body) VALUES(hex(randomblob(16)), zeroblob(16384))");
	CHECK_INT(int_of(w, "SELECT count(*) FROM t WHERE k IN (SELECT k FROM t ORDER BY k LIMIT 50)"), 50);
	CHECK_INT(exec(w, "COMMIT"), SQLITE_OK);
	sqlite3 *r = open_db(path, NULL, "FULL");
	CHECK_INT(int_of(r, "SELECT count(*) FROM t"), 512);
	CHECK_INT(int_of(r, "SELECT sum(length(body)) FROM t"), 512LL * 16384);
	CHECK_INT(int_of(r, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
	sqlite3_close(r);
	sqlite3_close(w);
}

/* A writer killed (SIGKILL, nothing closed) right after 50 commits
 * returned: every one of them is in the file. */
TEST(killed_after_commit_loses_nothing)
{
	const char *path = new_path();
	int ready[2];
	CHECK(pipe(ready) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		sqlite3 *w = open_db(path, sq_walbuf_vfs(), "FULL");
		if (w == NULL || exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)") != SQLITE_OK)
			_exit(2);
		for (int i = 0; i < 50; i++)
			if (exec(w, "INSERT INTO t(body) VALUES(randomblob(30000))") != SQLITE_OK)
				_exit(3);
		if (write(ready[1], "k", 1) != 1)
			_exit(4);
		pause();                 /* killed here, the connection open */
		_exit(5);
	}
	close(ready[1]);
	char c = 0;
	CHECK_INT(read(ready[0], &c, 1), 1);
	close(ready[0]);
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	sqlite3 *r = open_db(path, NULL, "FULL");
	CHECK_INT(int_of(r, "SELECT count(*) FROM t"), 50);
	CHECK_INT(int_of(r, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
	sqlite3_close(r);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "%s/walbuf-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(registered_and_named);
	RUN(reader_sees_every_commit_full);
	RUN(reader_sees_every_commit_normal);
	RUN(large_transaction_that_spills);
	RUN(killed_after_commit_loses_nothing);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary("store-walbuf");
}
