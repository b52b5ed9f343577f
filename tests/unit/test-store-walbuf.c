/* test-store-walbuf.c - the VFS that batches the WAL's appends
 * (store/store_sqlite_walbuf.h), on real files: what a connection through
 * it commits is what a connection through SQLite's own unix VFS reads,
 * after every commit, with and without a sync at commit, through a
 * transaction larger than the buffer and one that spills pages mid-way,
 * and after the writer is killed right after its commits returned; and,
 * seen from a recording VFS under it, no commit's bytes are written after
 * that commit's sync. */
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

/* ---- a recording VFS under the one tested ----
 * Registered as the default before the walbuf VFS is first asked for, so
 * walbuf wraps it: it sees the calls walbuf makes on the real files.  For
 * WAL files it notes how far the file has been written and how big it
 * was at the last sync: a commit with synchronous=FULL must leave nothing
 * written after its sync (bytes written after it would not be durable). */
struct rec_file {
	sqlite3_file base;
	sqlite3_file *real;
	int is_wal;
};

static sqlite3_vfs *rec_under;
static sqlite3_vfs rec_vfs;
static sqlite3_int64 wal_written_end, wal_synced_size;
static int wal_syncs;

#define REAL(f) (((struct rec_file *)(f))->real)
static int rec_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int rec_read(sqlite3_file *f, void *p, int n, sqlite3_int64 o)
{ return REAL(f)->pMethods->xRead(REAL(f), p, n, o); }
static int
rec_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 o)
{
	if (((struct rec_file *)f)->is_wal && o + n > wal_written_end)
		wal_written_end = o + n;
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, o);
}
static int rec_truncate(sqlite3_file *f, sqlite3_int64 n)
{ return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int
rec_sync(sqlite3_file *f, int flags)
{
	if (((struct rec_file *)f)->is_wal) {
		wal_syncs++;
		REAL(f)->pMethods->xFileSize(REAL(f), &wal_synced_size);
	}
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int rec_size(sqlite3_file *f, sqlite3_int64 *n) { return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int rec_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int rec_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int rec_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int rec_fcntl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int rec_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int rec_dev(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int rec_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{ return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p); }
static int rec_shm_lock(sqlite3_file *f, int o, int n, int fl)
{ return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void rec_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int rec_shm_unmap(sqlite3_file *f, int d) { return REAL(f)->pMethods->xShmUnmap(REAL(f), d); }
static int rec_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{ return REAL(f)->pMethods->xFetch(REAL(f), o, n, p); }
static int rec_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{ return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }
#undef REAL

static const sqlite3_io_methods rec_methods = {
	3, rec_close, rec_read, rec_write, rec_truncate, rec_sync, rec_size, rec_lock, rec_unlock,
	rec_reserved, rec_fcntl, rec_sector, rec_dev, rec_shm_map, rec_shm_lock, rec_shm_barrier,
	rec_shm_unmap, rec_fetch, rec_unfetch,
};

static int
rec_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out)
{
	(void)vfs;
	struct rec_file *f = (struct rec_file *)file;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	int rc = rec_under->xOpen(rec_under, name, f->real, flags, out);
	if (rc != SQLITE_OK)
		return rc;
	f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
	f->base.pMethods = &rec_methods;
	return SQLITE_OK;
}

static void
rec_install(void)
{
	rec_under = sqlite3_vfs_find(NULL);
	rec_vfs = *rec_under;            /* everything but xOpen is the real one's */
	rec_vfs.zName = "test-recorder";
	rec_vfs.szOsFile = (int)sizeof(struct rec_file) + rec_under->szOsFile;
	rec_vfs.xOpen = rec_open;
	rec_vfs.pAppData = rec_under->pAppData;
	sqlite3_vfs_register(&rec_vfs, 1);
}

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

/* A commit's frames are all in the file before its sync: nothing is
 * written to the WAL after the last sync of a commit. */
TEST(frames_written_before_the_sync)
{
	sqlite3 *w = open_db(new_path(), sq_walbuf_vfs(), "FULL");
	CHECK(w != NULL);
	if (w == NULL)
		return;
	exec(w, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)");
	int ok = 0, syncs = wal_syncs;
	for (int i = 0; i < 50; i++) {
		exec(w, "INSERT INTO t(body) VALUES(randomblob(40000))");
		if (wal_synced_size >= wal_written_end && wal_written_end > 0)
			ok++;
	}
	CHECK_INT(ok, 50);
	CHECK(wal_syncs >= syncs + 50);
	sqlite3_close(w);
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
	rec_install();
	RUN(registered_and_named);
	RUN(frames_written_before_the_sync);
	RUN(reader_sees_every_commit_full);
	RUN(reader_sees_every_commit_normal);
	RUN(large_transaction_that_spills);
	RUN(killed_after_commit_loses_nothing);
	test_rmtree(dir);
	return test_summary("store-walbuf");
}
