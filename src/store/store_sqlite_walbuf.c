/* store_sqlite_walbuf.c - the unix VFS with the WAL's appends batched
 * (see store_sqlite_walbuf.h for why and when the bytes are written).
 *
 * Every file this VFS opens is a struct wb_file wrapping the file of the
 * VFS underneath (allocated right after it, SQLite sizes it by szOsFile).
 * Only WAL files buffer; the main database's wrapper exists so that its
 * xShmBarrier can write its WAL's buffer first.  A connection and its
 * files are used by one thread at a time (SQLITE_OPEN_NOMUTEX, one
 * connection per thread), so the buffer needs no lock. */
#include "store/store_sqlite_walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* One transaction's frames, as a rule: a group commit at a million
 * messages was about 60 pages of 16 KiB (now 4 KiB pages, fewer bytes).  A longer run of appends is
 * written in pieces of this size. */
#define WALBUF_MAX (2 * 1024 * 1024)
#define WALBUF_FIRST (128 * 1024)
/* The unix VFS writes at most 128 KiB - 1 a call (it masks the length
 * with 0x1ffff: its writes are pages), so the buffer goes in pieces. */
#define WALBUF_CALL (124 * 1024)

struct wb_file {
	sqlite3_file base;           /* pMethods = &wb_methods */
	sqlite3_file *real;          /* the underlying VFS's file, after us */
	bool is_wal;
	struct wb_file *wal;         /* main database: its open WAL */
	struct wb_file *db;          /* WAL: its main database */
	unsigned char *buf;          /* WAL: appends not yet written */
	size_t len, cap;
	sqlite3_int64 off;           /* file offset of buf[0] */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wb_vfs;
static const sqlite3_io_methods wb_methods;

static struct wb_file *
wb(sqlite3_file *f)
{
	return (struct wb_file *)f;
}

/* Write what is buffered; the buffer is empty afterwards either way (a
 * failed write is reported, and SQLite then rolls the transaction back
 * or fails the sync: it never counts on those frames). */
static int
wb_flush(struct wb_file *f)
{
	if (f->len == 0)
		return SQLITE_OK;
	int rc = SQLITE_OK;
	for (size_t done = 0; done < f->len && rc == SQLITE_OK; done += WALBUF_CALL) {
		size_t n = f->len - done < WALBUF_CALL ? f->len - done : WALBUF_CALL;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n, f->off + (sqlite3_int64)done);
	}
	f->len = 0;
	return rc;
}

/* Room for at least need bytes (need <= WALBUF_MAX): the buffer starts
 * small and doubles, so a connection that writes little (a CLI command,
 * an HTTP worker) never holds the whole maximum. */
static int
grow(struct wb_file *f, size_t need)
{
	size_t cap = f->cap ? f->cap : WALBUF_FIRST;
	while (cap < need)
		cap *= 2;
	if (cap > WALBUF_MAX)
		cap = WALBUF_MAX;
	unsigned char *b = realloc(f->buf, cap);
	if (b == NULL)
		return -1;
	f->buf = b;
	f->cap = cap;
	return 0;
}

static int
wb_close(sqlite3_file *file)
{
	struct wb_file *f = wb(file);
	int frc = wb_flush(f);
	if (f->is_wal && f->db != NULL)
		f->db->wal = NULL;
	if (!f->is_wal && f->wal != NULL)
		f->wal->db = NULL;
	free(f->buf);
	f->buf = NULL;
	int rc = f->real->pMethods->xClose(f->real);
	return frc != SQLITE_OK ? frc : rc;
}

static int
wb_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	struct wb_file *f = wb(file);
	if (f->len > 0 && off < f->off + (sqlite3_int64)f->len && off + n > f->off) {
		int rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	return f->real->pMethods->xRead(f->real, p, n, off);
}

static int
wb_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
	struct wb_file *f = wb(file);
	if (!f->is_wal)
		return f->real->pMethods->xWrite(f->real, p, n, off);
	bool appends = f->len > 0 && off == f->off + (sqlite3_int64)f->len;
	if (!appends || f->len + (size_t)n > WALBUF_MAX) {
		int rc = wb_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t)n > WALBUF_CALL)
		return f->real->pMethods->xWrite(f->real, p, n, off);
	if (f->len + (size_t)n > f->cap && grow(f, f->len + (size_t)n) < 0)
		return f->real->pMethods->xWrite(f->real, p, n, off);
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	return SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct wb_file *f = wb(file);
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *file, int flags)
{
	struct wb_file *f = wb(file);
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int
wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct wb_file *f = wb(file);
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *file, int level)
{
	return wb(file)->real->pMethods->xLock(wb(file)->real, level);
}

static int
wb_unlock(sqlite3_file *file, int level)
{
	return wb(file)->real->pMethods->xUnlock(wb(file)->real, level);
}

static int
wb_check_reserved(sqlite3_file *file, int *out)
{
	return wb(file)->real->pMethods->xCheckReservedLock(wb(file)->real, out);
}

static int
wb_file_control(sqlite3_file *file, int op, void *arg)
{
	struct wb_file *f = wb(file);
	if (op == SQLITE_FCNTL_VFSNAME) {
		/* Say which VFS this is, then what it wraps. */
		int rc = f->real->pMethods->xFileControl(f->real, op, arg);
		if (rc == SQLITE_OK)
			*(char **)arg = sqlite3_mprintf("walbuf/%z", *(char **)arg);
		return rc;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector_size(sqlite3_file *file)
{
	return wb(file)->real->pMethods->xSectorSize(wb(file)->real);
}

static int
wb_device_characteristics(sqlite3_file *file)
{
	return wb(file)->real->pMethods->xDeviceCharacteristics(wb(file)->real);
}

static int
wb_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **p)
{
	return wb(file)->real->pMethods->xShmMap(wb(file)->real, page, size, extend, p);
}

static int
wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return wb(file)->real->pMethods->xShmLock(wb(file)->real, offset, n, flags);
}

/* SQLite writes the index header around this barrier when it publishes
 * frames: they must be in the file first.  A barrier cannot fail, so a
 * failed write is logged; with synchronous=FULL (postroom's setting) the
 * commit's sync has written them already and the buffer is empty here. */
static void
wb_shm_barrier(sqlite3_file *file)
{
	struct wb_file *f = wb(file);
	if (f->wal != NULL && wb_flush(f->wal) != SQLITE_OK)
		log_error("store: cannot write the write-ahead log before publishing its frames");
	f->real->pMethods->xShmBarrier(f->real);
}

static int
wb_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return wb(file)->real->pMethods->xShmUnmap(wb(file)->real, delete_flag);
}

static int
wb_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **p)
{
	struct wb_file *f = wb(file);
	int rc = wb_flush(f);
	return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, off, n, p);
}

static int
wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return wb(file)->real->pMethods->xUnfetch(wb(file)->real, off, p);
}

static const sqlite3_io_methods wb_methods = {
	3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,
	wb_check_reserved, wb_file_control, wb_sector_size, wb_device_characteristics,
	wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

static int
wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out_flags)
{
	(void)vfs;
	struct wb_file *f = wb(file);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;             /* base.pMethods stays NULL: no xClose */
	if (f->real->pMethods == NULL || f->real->pMethods->iVersion < 3) {
		/* Not a file we can wrap faithfully: refuse, SQLite reports it. */
		if (f->real->pMethods != NULL)
			f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	f->base.pMethods = &wb_methods;
	if ((flags & SQLITE_OPEN_WAL) && name != NULL) {
		sqlite3_file *db = sqlite3_database_file_object(name);
		if (db != NULL && db->pMethods == &wb_methods) {
			f->is_wal = true;
			f->db = wb(db);
			wb(db)->wal = f;
		}
	}
	return SQLITE_OK;
}

static pthread_once_t wb_once = PTHREAD_ONCE_INIT;
static bool wb_ready;

static void
wb_register(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL || real_vfs->iVersion < 2)
		return;
	/* The rest of the VFS is the real one's, its methods and its
	 * pAppData (the unix VFS's methods other than xOpen ignore which VFS
	 * they are called through; xOpen is called with the real one). */
	wb_vfs = *real_vfs;
	wb_vfs.pNext = NULL;
	wb_vfs.szOsFile = (int)sizeof(struct wb_file) + real_vfs->szOsFile;
	wb_vfs.zName = "postroom-walbuf";
	wb_vfs.xOpen = wb_open;
	wb_ready = sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK;
}

const char *
sq_walbuf_vfs(void)
{
	pthread_once(&wb_once, wb_register);
	return wb_ready ? wb_vfs.zName : NULL;
}
