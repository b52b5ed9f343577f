/* store_sqlite_walbuf.h - SQLite's unix VFS, with the WAL's writes batched
 * (private to the SQLite backend).
 *
 * SQLite appends a WAL frame with two write calls (its 24-byte header,
 * then the page) and a transaction is as many frames as it dirtied pages:
 * at a million stored messages an intake group commit dirties about 60
 * pages, 120 pwrite calls, each paying the kernel's per-call cost (ext4,
 * page-cache locks), most of it in the one serial thread of intake.  This
 * VFS keeps a WAL file's contiguous appends in memory (up to
 * WALBUF_MAX) and writes them with one call before anything could need
 * them on disk or in the file:
 *   - xSync (a commit with synchronous=FULL, or a checkpoint): durability
 *     is only ever promised after a sync, so nothing durable changes;
 *   - xShmBarrier of the database: SQLite publishes new frames to other
 *     connections through the shared-memory index, whose header it writes
 *     around a barrier, so the bytes are in the file before any reader can
 *     look for them (this matters only without a sync at commit);
 *   - a read, size, truncate or close of the WAL, or a write that is not
 *     the next append.
 * The file's bytes, and therefore its crash safety (frames are
 * checksummed and salted; recovery stops at the first bad one), are
 * exactly SQLite's.  Other processes and tools open the same files with
 * the plain unix VFS. */
#ifndef PR_STORE_SQLITE_WALBUF_H
#define PR_STORE_SQLITE_WALBUF_H

/* The VFS's name, registered (once, thread-safely) on the first call;
 * NULL if SQLite has no default VFS to wrap (then use the default). */
const char *sq_walbuf_vfs(void);

#endif
