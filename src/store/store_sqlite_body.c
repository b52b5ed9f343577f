/* store_sqlite_body.c - large message bodies as files beside the store.
 *
 * Why: a message's bytes in the group commit are written twice (the WAL,
 * then the database at checkpoint), and a 20 MiB message makes the one
 * writer's transaction long, so a 10 KiB message queued behind it waits
 * for its 250.  A body of PR_STORE_BODY_MIN bytes or more is therefore
 * written once, into a file of its own, by the worker thread that
 * prepared the message; the commit only inserts a small row naming it.
 *
 * Layout: <store>.bodies/ (0700), one file per body (0600) named
 * "<pid>-<32 hex digits>": the writing process and 128 random bits.  The
 * file holds the message as received (the spool); our prepended fields
 * (Received:, Authentication-Results:) are in the row (message_body:
 * message_id, name, prepend, size), so the stored message is prepend +
 * file, byte-exact, as message_raw holds it for small and older messages.
 * A small message gets no file; its message_raw bytes are read and
 * deflated here, in the worker (pack_body), so the commit only binds them.
 *
 * Order, the durability contract: the spool's file (unnamed, O_TMPFILE,
 * so a crash while the bytes stream in leaves nothing) is linked under its
 * name and its bytes synced (fdatasync) by the worker, before the message
 * goes to the committer; the committer syncs the directory -- once for
 * every body of its group -- before the transaction that names them, and
 * 250 follows that commit (sq_bodies_sync).  One directory sync per group
 * instead of one per body: on ext4 each is a device cache flush, which
 * cost 1 MiB messages a fifth of their rate (bench/smtp-intake --syncs).
 * So a crash between the link and the commit leaves an orphan (or, before
 * the directory sync, a file whose name is lost: either way no row names
 * it, no read can reach it -- every read starts from a row -- and no 250
 * promised it).
 * store_body_sweep removes orphans.  A body whose message was not
 * committed (refused, or a duplicate) is removed when its message is
 * freed -- unless its row went into a transaction: a failed COMMIT cannot
 * prove it left nothing durable, so that file is left to the sweep, which
 * asks the store.
 *
 * The sweep must never remove a live body (linked, its commit to come).
 * Only the writing process commits a body, so a file whose writer is gone
 * (its pid names no process) is an orphan if no row names it; a live
 * process's files are skipped, except this process's own made before the
 * oldest message it still has in flight.  (Processes sharing the store
 * must share a pid namespace: one host, as SQLite requires anyway.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/private.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#define BODY_HEX 32
#define BODY_NAME_MAX 48
#define BODY_CHUNK (64 * 1024)
/* File times come from a coarse clock that may lag the one time()
 * reads by a tick: a body is live if made less than this before. */
#define BODY_CLOCK_SLACK_S 2

struct store_body {
	char name[BODY_NAME_MAX];
	const char *path;
	uint64_t size;               /* bytes in the file (the spool) */
	bool created;                /* the name is ours: remove it on release */
	bool kept;                   /* a transaction took it: the sweep decides */
	struct sq_packed packed;     /* a short message: message_raw's bytes, no file */
	struct sq_ztext parsed_json; /* the JSON columns and References, */
	struct sq_ztext auth_json;   /* packed by the worker */
	struct sq_ztext references;
	struct sq_doc terms;         /* the search index's term lists */
	bool has_terms;
};

static int
io_fail(struct pr_why *why, const char *what, const char *path)
{
	pr_why_set(why, PR_E_IO, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

static const char *
bodies_path(struct store *st)
{
	if (st->bodies == NULL) {
		size_t n = strlen(st->path) + sizeof(".bodies");
		st->bodies = xmalloc(n);
		snprintf(st->bodies, n, "%s.bodies", st->path);
	}
	return st->bodies;
}

/* The directory, created (0700) on first use by a writer. */
static int
bodies_open(struct store *st, struct pr_why *why)
{
	if (st->bodies_fd >= 0)
		return 0;
	const char *dir = bodies_path(st);
	if (private_dir(dir, why) < 0)
		return -1;
	st->bodies_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return st->bodies_fd < 0 ? io_fail(why, "cannot open the body directory", dir) : 0;
}

/* "<pid>-<32 hex>", and nothing else: a name read from a row or the
 * directory never leads outside it. */
static bool
valid_name(const char *name, long *pid_r)
{
	char *end;
	errno = 0;
	long pid = strtol(name, &end, 10);
	if (errno || end == name || pid <= 0 || *end != '-' || !(name[0] >= '1' && name[0] <= '9'))
		return false;
	size_t n = strlen(end + 1);
	if (n != BODY_HEX || strspn(end + 1, "0123456789abcdef") != n)
		return false;
	*pid_r = pid;
	return true;
}

static int
make_name(struct store_body *b, struct pr_why *why)
{
	uint8_t rnd[BODY_HEX / 2];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		pr_why_set(why, PR_E_IO, "cannot name a message body (getrandom): %s", strerror(errno));
		return -1;
	}
	int n = snprintf(b->name, sizeof(b->name), "%ld-", (long)getpid());
	for (size_t i = 0; i < sizeof(rnd); i++)
		n += snprintf(b->name + n, sizeof(b->name) - (size_t)n, "%02x", rnd[i]);
	return 0;
}

static void
body_release(void *arg)
{
	struct store_body *b = arg;
	free(b->packed.bytes);
	free(b->parsed_json.bytes);
	free(b->auth_json.bytes);
	free(b->references.bytes);
	if (b->created && !b->kept && unlink(b->path) < 0 && errno != ENOENT)
		log_warn("store: cannot remove the unused message body %s: %s (the sweep will)", b->path,
		         strerror(errno));
}

/* Give the spool's unnamed file a name: no byte is copied.  Through
 * /proc (linkat's AT_EMPTY_PATH needs a capability on older kernels). */
static int
link_spool(struct store *st, int fd, const char *name)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, st->bodies_fd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return linkat(fd, "", st->bodies_fd, name, AT_EMPTY_PATH);
}

/* Each body is then written twice: say so once per process.  Returns 0. */
static int
warn_copy(struct store *st)
{
	static atomic_bool warned;
	if (!atomic_exchange(&warned, true))
		log_warn("store: cannot link spool files into %s (%s): large messages are copied there; "
		         "put the spool directory on the store's file system", st->bodies, strerror(errno));
	return 0;
}

/* A spool held in memory (or on another file system): write a file. */
static int
write_body(struct store *st, struct store_body *b, struct spool *sp, struct pr_why *why)
{
	int fd = openat(st->bodies_fd, b->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return io_fail(why, "cannot create the message body", b->path);
	b->created = true;
	int rc = spool_copy_to(sp, fd) == 0 && fdatasync(fd) == 0 ? 0 : io_fail(why, "cannot write", b->path);
	if (rc == 0)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);     /* why: body_file */
	close(fd);
	return rc;
}

/* A short message stays in message_raw, but its bytes are read and
 * deflated here, in the worker, not inside the group commit
 * (store_sqlite_zraw.c). */
static int
pack_body(struct store_msg *m, struct store_body *b, struct pr_why *why)
{
	if (store_msg_size(m) > SQ_BIND_MAX)
		return 0;                /* streamed into message_raw by the commit */
	return sq_raw_pack(m, &b->packed, why);
}

bool
sq_body_is_file(const struct store_msg *m)
{
	return m->body != NULL && m->body->name[0] != '\0';
}

const struct sq_packed *
sq_body_packed(const struct store_msg *m)
{
	return m->body != NULL && m->body->packed.bytes != NULL ? &m->body->packed : NULL;
}

const struct sq_doc *
sq_body_terms(const struct store_msg *m)
{
	return m->body != NULL && m->body->has_terms ? &m->body->terms : NULL;
}

const struct sq_ztext *
sq_body_parsed_json(const struct store_msg *m)
{
	return m->body != NULL ? &m->body->parsed_json : NULL;
}

const struct sq_ztext *
sq_body_auth_json(const struct store_msg *m)
{
	return m->body != NULL ? &m->body->auth_json : NULL;
}

const struct sq_ztext *
sq_body_references(const struct store_msg *m)
{
	return m->body != NULL ? &m->body->references : NULL;
}

/* A large message: its spool file linked (or copied) into the body
 * directory and synced; the row naming it is the committer's. */
static int
body_file(struct store *st, struct arena *a, struct store_body *b, struct store_msg *m, struct pr_why *why)
{
	if (bodies_open(st, why) < 0 || make_name(b, why) < 0)
		return -1;
	b->path = arena_printf(a, "%s/%s", st->bodies, b->name);
	b->size = spool_size(m->raw);
	/* Named first, then synced: a crash in between leaves a file no row
	 * names (an orphan, like any other).  fdatasync: the bytes and the
	 * size, which is all a read needs; the name is made durable by the
	 * committer's directory sync (sq_bodies_sync) before any row names it. */
	int fd = spool_fd(m->raw);
	bool linked = fd >= 0 && link_spool(st, fd, b->name) == 0;
	if (linked)
		b->created = true;
	else if ((fd >= 0 && warn_copy(st)) || write_body(st, b, m->raw, why) < 0)
		return -1;
	if (linked && fdatasync(fd) < 0)
		return io_fail(why, "cannot sync the message body", b->path);
	/* A stored body is seldom read soon after intake: keeping its pages
	 * cached would only grow the page cache by every byte received and
	 * push out the database's pages (and on a VM, each fresh page is
	 * slower to fill than one reused; bench/smtp-intake --loads 1MiB). */
	if (linked)
		spool_drop_cache_at_close(m->raw);
	return 0;
}

/* Packed here so the committer only binds: the JSON columns and the
 * References of every message, the bytes of a short one, and the terms
 * the search index keeps of it. */
int
sqlite_store_body_put(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	struct store_body *b = arena_alloc(a, sizeof(*b));
	memset(b, 0, sizeof(*b));
	arena_on_free(a, body_release, b);
	sq_text_pack(m->parsed_json, &b->parsed_json);
	sq_text_pack(m->auth_json, &b->auth_json);
	sq_text_pack(m->references, &b->references);
	b->has_terms = sq_search_terms(st, a, m, &b->terms);
	m->body = b;
	if (m->raw == NULL)
		return 0;
	if (spool_size(m->raw) < PR_STORE_BODY_MIN)
		return pack_body(m, b, why);
	return body_file(st, a, b, m, why);
}

int
sq_bodies_sync(struct store *st, struct store_msg *const *msgs, size_t n, struct pr_why *why)
{
	bool any = false;
	for (size_t i = 0; i < n && !any; i++)
		any = sq_body_is_file(msgs[i]);
	if (!any)
		return 0;
	if (bodies_open(st, why) < 0)
		return -1;
	return fsync(st->bodies_fd) < 0 ? io_fail(why, "cannot sync the body directory", st->bodies) : 0;
}

int
sq_body_link(struct store *st, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO message_body(message_id, name, prepend, size)"
	                          " VALUES(?1, ?2, ?3, ?4)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	size_t plen = m->prepend ? strlen(m->prepend) : 0;
	sqlite3_bind_int64(s, 1, m->id_r);
	sq_bind_text(s, 2, m->body->name);
	sqlite3_bind_blob64(s, 3, plen ? m->prepend : "", plen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)(plen + m->body->size));
	m->body->kept = true;        /* from here on only the sweep may remove it */
	return sq_step_done(st, s, "storing a message body's name", why);
}

/* ---- reading a body back ---- */

struct body_row {
	const char *name;
	const uint8_t *prepend;
	size_t plen;
	uint64_t size;               /* prepend + file */
};

static void
read_body_row(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct body_row *r = p;
	r->name = sq_col_str(a, s, 0);
	r->plen = (size_t)sqlite3_column_bytes(s, 1);
	uint8_t *pre = arena_alloc(a, r->plen + 1);
	if (r->plen)
		memcpy(pre, sqlite3_column_blob(s, 1), r->plen);
	r->prepend = pre;
	r->size = (uint64_t)sqlite3_column_int64(s, 2);
}

/* 0 with the open file in *fd_r, 1 the message has no body file (its
 * bytes are in message_raw), -1 with why. */
static int
body_open(struct store *st, struct arena *a, int64_t id, struct body_row *r, int *fd_r,
          struct pr_why *why)
{
	static const char sql[] = "SELECT name, prepend, size FROM message_body WHERE message_id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	int rc = sq_one(st, a, s, read_body_row, r, "reading a message body's name", why);
	if (rc != 0)
		return rc;
	long pid;
	if (!valid_name(r->name, &pid) || r->size < r->plen) {
		pr_why_set(why, PR_E_STORE_FAILED, "message %lld: its body record is damaged", (long long)id);
		return -1;
	}
	const char *path = arena_printf(a, "%s/%s", bodies_path(st), r->name);
	struct stat sb;
	*fd_r = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd_r < 0 || fstat(*fd_r, &sb) < 0 || (uint64_t)sb.st_size != r->size - r->plen) {
		pr_why_set(why, PR_E_STORE_FAILED, "message %lld: its body %s is %s; restore it from a backup",
		           (long long)id, path, *fd_r < 0 ? strerror(errno) : "not the size stored");
		if (*fd_r >= 0)
			close(*fd_r);
		return -1;
	}
	return 0;
}

/* Read exactly n bytes at off. */
static int
read_exact(int fd, uint8_t *dst, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, dst, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		dst += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int
sq_body_read(struct store *st, struct arena *a, int64_t id, const uint8_t **raw_r, size_t *len_r,
             struct pr_why *why)
{
	struct body_row r;
	int fd = -1;
	int rc = body_open(st, a, id, &r, &fd, why);
	if (rc != 0)
		return rc;
	uint8_t *raw = arena_alloc(a, (size_t)r.size + 1);
	memcpy(raw, r.prepend, r.plen);
	rc = read_exact(fd, raw + r.plen, (size_t)(r.size - r.plen), 0);
	close(fd);
	if (rc < 0) {
		pr_why_set(why, PR_E_STORE_FAILED, "message %lld: reading its body %s failed", (long long)id,
		           r.name);
		return -1;
	}
	*raw_r = raw;
	*len_r = (size_t)r.size;
	return 0;
}

int
sq_body_write(struct store *st, int64_t id, FILE *out, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct body_row r;
	int fd = -1;
	int rc = body_open(st, a, id, &r, &fd, why);
	if (rc != 0) {
		arena_free(&a);
		return rc;
	}
	uint8_t *chunk = xmalloc(BODY_CHUNK);
	if (fwrite(r.prepend, 1, r.plen, out) != r.plen)
		rc = -1;
	for (uint64_t off = 0, left = r.size - r.plen; rc == 0 && left > 0;) {
		size_t n = left < BODY_CHUNK ? (size_t)left : BODY_CHUNK;
		if (read_exact(fd, chunk, n, off) < 0) {
			pr_why_set(why, PR_E_STORE_FAILED, "message %lld: reading its body %s failed",
			           (long long)id, r.name);
			rc = -2;
		} else if (fwrite(chunk, 1, n, out) != n)
			rc = -1;
		off += n;
		left -= n;
	}
	if (rc == -1)
		pr_why_set(why, PR_E_IO, "writing the message failed");
	free(chunk);
	close(fd);
	arena_free(&a);
	return rc < 0 ? -1 : 0;
}

/* ---- the sweep ---- */

/* Might a commit still take this file?  Then it stays. */
static bool
body_live(int dfd, const char *name, long pid, time_t live_since)
{
	if (pid != (long)getpid())
		return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
	struct stat sb;
	/* Linking a body sets its ctime: a body of a message still in
	 * flight was linked after that message was submitted. */
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return true;
	return sb.st_ctim.tv_sec >= live_since - BODY_CLOCK_SLACK_S;
}

static int
remove_orphan(struct store *st, int dfd, const char *name, int64_t *removed_r, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM message_body WHERE name = ?1";
	sqlite3_stmt *s = sq_prep_key(st, sql, name, why);
	int used = s ? sq_exists(st, s, "looking up a message body", why) : -1;
	if (used != 0)
		return used < 0 ? -1 : 0;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return io_fail(why, "cannot remove the orphan message body", name);
	(*removed_r)++;
	return 0;
}

int
sqlite_store_body_sweep(struct store *st, time_t live_since, int64_t *removed_r, struct pr_why *why)
{
	*removed_r = 0;
	const char *dir = bodies_path(st);
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : io_fail(why, "cannot read the body directory", dir);
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		long pid;
		if (valid_name(e->d_name, &pid) && !body_live(dirfd(d), e->d_name, pid, live_since))
			rc = remove_orphan(st, dirfd(d), e->d_name, removed_r, why);
	}
	closedir(d);
	return rc;
}
