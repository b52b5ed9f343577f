/* spool.c - see spool.h. */
#include "core/sha256.h"
#include "core/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/text.h"

struct spool {
	char *dir;
	uint8_t *mem;
	size_t memlen, memcap;
	int fd;
	bool drop_cache;
	uint64_t size;
	enum pr_err err;
	EVP_MD_CTX *md;
	uint8_t digest[32];
	char hex[65];
};

static void
spool_cleanup(void *arg)
{
	struct spool *s = arg;
	/* Last of the message's cleanups (registered first), so the MIME
	 * parser's map of the file is gone: mapped pages are not dropped. */
	if (s->fd >= 0 && s->drop_cache)
		(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	EVP_MD_CTX_free(s->md);
}

struct spool *
spool_new(struct arena *a, const char *dir)
{
	struct spool *s = arena_alloc(a, sizeof(*s));
	s->fd = -1;
	s->dir = arena_strdup(a, dir ? dir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"));
	s->md = EVP_MD_CTX_new();
	if (s->md == NULL || EVP_DigestInit_ex(s->md, sha256_md(), NULL) != 1)
		pr_panic("cannot initialise SHA-256");
	arena_on_free(a, spool_cleanup, s);
	return s;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	while (n > 0) {
		ssize_t w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
spill(struct spool *s)
{
	/* O_TMPFILE: the file has no name, so a crash leaves nothing behind. */
	s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0 || write_all(s->fd, s->mem, s->memlen) < 0) {
		log_warn("spool: cannot write a spool file in %s: %s", s->dir, strerror(errno));
		s->err = PR_E_IO;
		return;
	}
	free(s->mem);
	s->mem = NULL;
	s->memlen = s->memcap = 0;
}

void
spool_write(struct spool *s, const void *p, size_t n)
{
	if (s->err != PR_OK || n == 0)
		return;
	EVP_DigestUpdate(s->md, p, n);
	s->size += n;
	if (s->fd < 0 && s->memlen + n > PR_SPOOL_MEMORY_MAX)
		spill(s);
	if (s->err != PR_OK)
		return;
	if (s->fd >= 0) {
		if (write_all(s->fd, p, n) < 0) {
			log_warn("spool: write failed: %s", strerror(errno));
			s->err = PR_E_IO;
		}
		return;
	}
	if (s->memlen + n > s->memcap) {
		size_t cap = s->memcap ? s->memcap : 4096;
		while (cap < s->memlen + n)
			cap *= 2;
		s->mem = xrealloc(s->mem, cap);
		s->memcap = cap;
	}
	memcpy(s->mem + s->memlen, p, n);
	s->memlen += n;
}

void
spool_finish(struct spool *s)
{
	unsigned int len = 0;
	EVP_DigestFinal_ex(s->md, s->digest, &len);
	text_hex(s->digest, 32, s->hex);
}

void
spool_start_writeback(struct spool *s)
{
	if (s->fd >= 0 && s->err == PR_OK)
		(void)sync_file_range(s->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

void spool_drop_cache_at_close(struct spool *s) { s->drop_cache = true; }
enum pr_err spool_error(const struct spool *s) { return s->err; }
uint64_t spool_size(const struct spool *s) { return s->size; }
const uint8_t *spool_sha256(const struct spool *s) { return s->digest; }
const char *spool_sha256_hex(const struct spool *s) { return s->hex; }
int spool_fd(const struct spool *s) { return s->fd; }

const uint8_t *
spool_memory(const struct spool *s)
{
	if (s->fd >= 0)
		return NULL;
	return s->mem ? s->mem : (const uint8_t *)"";
}

ssize_t
spool_read_at(struct spool *s, uint64_t off, void *buf, size_t n)
{
	if (off >= s->size)
		return 0;
	if (n > s->size - off)
		n = (size_t)(s->size - off);
	if (s->fd < 0) {
		memcpy(buf, s->mem + off, n);
		return (ssize_t)n;
	}
	ssize_t r;
	do
		r = pread(s->fd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}

int
spool_read_exact(struct spool *s, uint64_t off, void *buf, size_t n, struct pr_why *why)
{
	uint8_t *dst = buf;
	while (n > 0) {
		ssize_t r = spool_read_at(s, off, dst, n);
		if (r <= 0) {
			pr_why_set(why, PR_E_IO, "reading the spooled message failed");
			return -1;
		}
		off += (uint64_t)r;
		dst += r;
		n -= (size_t)r;
	}
	return 0;
}

int
spool_check_readable(struct spool *s, struct pr_why *why)
{
	if (s->fd < 0)
		return 0;
	uint8_t *buf = xmalloc(65536);
	uint64_t off = 0;
	ssize_t r = 0;
	while (off < s->size && (r = spool_read_at(s, off, buf, 65536)) > 0)
		off += (uint64_t)r;
	int err = errno;
	free(buf);
	if (off == s->size)
		return 0;
	pr_why_set(why, PR_E_IO, "reading the spooled message failed at byte %llu: %s",
	           (unsigned long long)off, r < 0 ? strerror(err) : "file shorter than written");
	return -1;
}

int
spool_copy_to(struct spool *s, int fd)
{
	if (s->fd < 0)
		return write_all(fd, s->mem ? s->mem : (const uint8_t *)"", s->memlen);
	uint8_t *chunk = xmalloc(65536);
	uint64_t off = 0;
	ssize_t r = 0;
	while (off < s->size && (r = spool_read_at(s, off, chunk, 65536)) > 0 &&
	       write_all(fd, chunk, (size_t)r) == 0)
		off += (uint64_t)r;
	free(chunk);
	if (off < s->size && r == 0)
		errno = EIO;             /* the file is shorter than what was written */
	return off == s->size ? 0 : -1;
}

struct spool *
spool_from_bytes(struct arena *a, const char *dir, const void *p, size_t n)
{
	struct spool *s = spool_new(a, dir);
	spool_write(s, p, n);
	spool_finish(s);
	return s;
}
