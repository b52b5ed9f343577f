/* arena.h - region allocator: one per session, one per message.
 *
 * Everything a session or a message needs is allocated from its arena and
 * released at once by arena_free().  Non-memory resources (spool files,
 * descriptors, prepared statements) are registered with arena_on_free() so
 * the same single call releases them too.  Allocation never fails: on OOM
 * the process dies (xmalloc), which is safe because a 250 is only ever sent
 * after the message is committed -- the client simply retries.
 */
#ifndef PR_ARENA_H
#define PR_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Frees every block and runs the cleanups (last registered first); NULLs *a. */
void arena_free(struct arena **a);

void *arena_alloc(struct arena *a, size_t size);          /* zeroed */
/* Not zeroed: for a buffer that is written before it is read. */
void *arena_alloc_raw(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);
void arena_on_free(struct arena *a, void (*fn)(void *), void *arg);
/* Bytes handed out so far (for limits and memory accounting). */
size_t arena_used(const struct arena *a);

/* Heap helpers that abort on OOM instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
