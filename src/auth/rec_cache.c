/* rec_cache.c - the parsed-record cache; see rec_cache.h.
 *
 * A hash table of entries keyed "scope|name", with a FIFO of insertion
 * order for eviction (as dns_cache.c: the oldest go first, and expired
 * ones are swept when the table is full).  An entry owns an arena holding
 * its value; it is freed when it is out of the table AND no reader holds a
 * reference, whichever happens last.  Monotonic time: a clock step must
 * not keep a stale record alive.
 */
#include "auth/rec_cache.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dns_private.h"
#include "core/arena.h"

#define REC_CACHE_BUCKETS 1024
#define REC_KEY_MAX 1024

struct rec_entry {
	struct rec_entry *next;             /* bucket chain */
	struct rec_entry *older, *newer;    /* insertion order */
	struct rec_cache *cache;
	unsigned bucket;
	unsigned refs;                      /* readers' arenas holding it */
	bool linked;                        /* in the table */
	char *key;
	int64_t expires;
	size_t bytes;
	struct arena *arena;                /* owns the value */
	const void *value;
};

static int64_t
rec_now(void)
{
	return dns_cache_now();
}

/* "scope|name" into key (REC_KEY_MAX); false if it does not fit (then
 * the name is not cached: no resolver address or DNS name is that long). */
static bool
rec_key(char *key, const char *scope, const char *name, unsigned *bucket)
{
	int n = snprintf(key, REC_KEY_MAX, "%s|%s", scope, name);
	if (n < 0 || n >= REC_KEY_MAX)
		return false;
	*bucket = dns_key_hash(key) % REC_CACHE_BUCKETS;
	return true;
}

static void
entry_free(struct rec_entry *e)
{
	arena_free(&e->arena);
	free(e->key);
	free(e);
}

/* Out of the table and the FIFO (lock held); freed now unless a reader
 * holds it, then by the last release. */
static void
unlink_entry(struct rec_cache *c, struct rec_entry *e)
{
	struct rec_entry **pp = &c->tab[e->bucket];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	e->linked = false;
	c->count--;
	c->bytes -= e->bytes;
	if (e->refs == 0)
		entry_free(e);
}

static void
release(void *arg)
{
	struct rec_entry *e = arg;
	struct rec_cache *c = e->cache;
	pthread_mutex_lock(&c->lock);
	bool gone = --e->refs == 0 && !e->linked;
	pthread_mutex_unlock(&c->lock);
	if (gone)
		entry_free(e);
}

/* A reference for holder (lock held). */
static void
hold(struct rec_entry *e, struct arena *holder)
{
	e->refs++;
	arena_on_free(holder, release, e);
}

const void *
rec_cache_get(struct rec_cache *c, const char *scope, const char *name, struct arena *holder)
{
	unsigned b;
	char key[REC_KEY_MAX];
	if (!rec_key(key, scope, name, &b))
		return NULL;
	const void *v = NULL;
	int64_t now = rec_now();
	pthread_mutex_lock(&c->lock);
	for (struct rec_entry *e = c->tab ? c->tab[b] : NULL; e; e = e->next)
		if (strcmp(e->key, key) == 0) {
			if (e->expires > now) {
				hold(e, holder);
				v = e->value;
			}
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* Room for an entry of `need` bytes (lock held): expired entries first
 * when the count is at its bound, then the oldest. */
static void
make_room(struct rec_cache *c, size_t need, int64_t now)
{
	if (c->count >= c->max_entries)
		for (struct rec_entry *e = c->oldest, *nx; e; e = nx) {
			nx = e->newer;
			if (e->expires <= now)
				unlink_entry(c, e);
		}
	while (c->oldest && (c->count >= c->max_entries || c->bytes + need > c->max_bytes))
		unlink_entry(c, c->oldest);
}

void
rec_cache_put(struct rec_cache *c, const char *scope, const char *name, uint32_t ttl,
              struct arena **owned, const void *value, struct arena *holder)
{
	char key[REC_KEY_MAX];
	struct rec_entry *e = xcalloc(1, sizeof(*e));
	e->cache = c;
	if (!rec_key(key, scope, name, &e->bucket))
		ttl = 0;                     /* held by the caller only */
	e->key = xstrdup(key);
	e->arena = *owned;
	*owned = NULL;
	e->value = value;
	e->bytes = sizeof(*e) + strlen(e->key) + 1 + arena_used(e->arena);
	int64_t now = rec_now();
	e->expires = now + (ttl > DNS_CACHE_MAX_TTL ? DNS_CACHE_MAX_TTL : ttl);
	pthread_mutex_lock(&c->lock);
	hold(e, holder);
	if (ttl == 0 || e->bytes > c->max_bytes / 4 || c->max_entries == 0) {
		pthread_mutex_unlock(&c->lock);     /* the holder's reference frees it */
		return;
	}
	if (c->tab == NULL)
		c->tab = xcalloc(REC_CACHE_BUCKETS, sizeof(*c->tab));
	for (struct rec_entry *o = c->tab[e->bucket]; o; o = o->next)
		if (strcmp(o->key, e->key) == 0) {
			unlink_entry(c, o);        /* a newer answer for the name */
			break;
		}
	make_room(c, e->bytes, now);
	e->linked = true;
	e->next = c->tab[e->bucket];
	c->tab[e->bucket] = e;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->count++;
	c->bytes += e->bytes;
	pthread_mutex_unlock(&c->lock);
}

void
rec_cache_flush(struct rec_cache *c)
{
	pthread_mutex_lock(&c->lock);
	while (c->oldest)
		unlink_entry(c, c->oldest);
	pthread_mutex_unlock(&c->lock);
}

void
rec_cache_stats(struct rec_cache *c, size_t *entries_r, size_t *bytes_r)
{
	pthread_mutex_lock(&c->lock);
	*entries_r = c->count;
	*bytes_r = c->bytes;
	pthread_mutex_unlock(&c->lock);
}
