/* arena.c - see arena.h.  Blocks are chained; large requests get a block of
 * their own so a 20 MiB allocation does not waste a standard block. */
#include "core/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct arena {
	struct arena_block *head;
	struct arena_cleanup *cleanups;
	size_t total;
};

static void
oom(size_t n)
{
	fprintf(stderr, "postroom: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

struct arena *
arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

static struct arena_block *
block_new(size_t size)
{
	struct arena_block *b = xmalloc(sizeof(*b) + size);
	b->used = 0;
	b->size = size;
	b->next = NULL;
	return b;
}

/* size bytes, not cleared: for callers that fill them at once (a copy
 * of a 1 MiB body need not be zeroed first). */
static void *
arena_take(struct arena *a, size_t size)
{
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < size)
		oom(size);
	struct arena_block *b = a->head;
	if (b == NULL || b->size - b->used < need) {
		if (need > ARENA_BLOCK / 4) {
			/* Big request: private block, linked behind the head
			 * so the head keeps serving small requests. */
			struct arena_block *big = block_new(need);
			big->used = need;
			if (b == NULL) {
				a->head = big;
			} else {
				big->next = b->next;
				b->next = big;
			}
			a->total += need;
			return big->data;
		}
		b = block_new(ARENA_BLOCK);
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	return p;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	void *p = arena_take(a, size);
	memset(p, 0, size);
	return p;
}

void *
arena_alloc_raw(struct arena *a, size_t size)
{
	return arena_take(a, size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = arena_take(a, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	/* Format into a stack buffer first: most strings fit, and measuring
	 * with vsnprintf(NULL, 0) trips gcc's -Wformat-truncation at -O2. */
	char small[256];
	if (fmt == NULL)        /* never by contract; keeps gcc's UBSan build quiet */
		fmt = "";
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	char *p = arena_alloc(a, (size_t)n + 1);
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_on_free(struct arena *a, void (*fn)(void *), void *arg)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t
arena_used(const struct arena *a)
{
	return a->total;
}

void
arena_free(struct arena **ap)
{
	struct arena *a = *ap;
	if (a == NULL)
		return;
	/* Cleanups live inside the blocks: run them all before freeing. */
	for (struct arena_cleanup *c = a->cleanups; c != NULL; c = c->next)
		c->fn(c->arg);
	struct arena_block *b = a->head;
	while (b != NULL) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
	*ap = NULL;
}
