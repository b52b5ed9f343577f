/* spool.h - the bytes of one message in flight.
 *
 * Held in memory up to PR_SPOOL_MEMORY_MAX, then spilled to an unlinked
 * temporary file in the spool directory, so a 20 MiB message costs a file,
 * not 20 MiB of heap per reader.  The SHA-256 of everything written is
 * computed as the bytes stream in.  Owned by an arena: the file is closed
 * when the arena is freed.  Errors are sticky: check spool_error() once.
 */
#ifndef PR_SPOOL_H
#define PR_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct arena;
struct spool;

/* dir NULL means $TMPDIR or /tmp. */
struct spool *spool_new(struct arena *a, const char *dir);
void spool_write(struct spool *s, const void *p, size_t n);
/* Complete the SHA-256; no writes after this. */
void spool_finish(struct spool *s);
enum pr_err spool_error(const struct spool *s);
uint64_t spool_size(const struct spool *s);
/* After spool_finish: the digest and its lowercase hex (65 bytes). */
const uint8_t *spool_sha256(const struct spool *s);
const char *spool_sha256_hex(const struct spool *s);

/* Read up to n bytes at off; returns bytes read, 0 at end, -1 on error. */
ssize_t spool_read_at(struct spool *s, uint64_t off, void *buf, size_t n);
/* Read exactly n bytes at off: 0, or -1 with why (PR_E_IO) if they
 * cannot all be read. */
int spool_read_exact(struct spool *s, uint64_t off, void *buf, size_t n, struct pr_why *why);
/* Read every byte once: 0, or -1 with PR_E_IO if the spool file cannot
 * be read (a disk error), so a parse failure is not mistaken for a
 * malformed message. */
int spool_check_readable(struct spool *s, struct pr_why *why);
/* Write every byte of the finished spool to fd (at its offset): 0, or
 * -1 with errno set. */
int spool_copy_to(struct spool *s, int fd);
/* The whole message if it is in memory, else NULL (then use the fd). */
const uint8_t *spool_memory(const struct spool *s);
/* A spool spilled to a file: start writing it to disk now, without
 * waiting (sync_file_range), so that the sync a kept message needs before
 * its 250 finds the bytes on their way.  Only a hint: no effect on a
 * spool in memory, and a failure here is found by that sync. */
void spool_start_writeback(struct spool *s);
/* The spool's file is now a stored body, synced: when the spool is
 * freed, ask the kernel to drop its cached pages (POSIX_FADV_DONTNEED)
 * instead of keeping them.  No effect on a spool in memory. */
void spool_drop_cache_at_close(struct spool *s);
/* The backing file descriptor, or -1 while in memory. */
int spool_fd(const struct spool *s);

/* Convenience for small inputs (tests, POP3): a finished spool holding p. */
struct spool *spool_from_bytes(struct arena *a, const char *dir, const void *p, size_t n);

#endif
