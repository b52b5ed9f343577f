/* dns_cache.c - the process-wide DNS cache shared by every c-ares channel.
 *
 * Each intake worker owns a channel (c-ares 1.18 channels are not
 * thread-safe), but the answers are worth sharing: one mutex guards one
 * hash table keyed by (server, type, name).  Positive answers live for
 * their TTL (capped at DNS_CACHE_MAX_TTL), NXDOMAIN/NODATA for
 * DNS_CACHE_NEG_TTL; temporary failures are never cached, so a retry asks
 * again.  When the table is full, expired entries go first, then all.
 * Monotonic time: a clock step must not keep stale answers alive.
 *
 * The cache also has a byte budget (dns_cache_size): TXT records are
 * attacker-chosen (any sender domain can publish kilobytes of them), so the
 * count of entries alone does not bound memory.  Each entry knows its size;
 * past the budget the oldest entries (insertion order, a FIFO list) are
 * evicted until the new one fits.
 */
#include "auth/dns_private.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"

#define CACHE_BUCKETS 4096

struct cache_entry {
	struct cache_entry *next;
	struct cache_entry *older, *newer;  /* insertion order, for eviction */
	unsigned bucket;
	size_t bytes;                       /* what this entry costs us */
	char *key;                  /* "server|type|name" */
	time_t expires;
	enum dns_status status;
	size_t n;
	struct dns_rr *rr;          /* text heap-owned */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry *cache_tab[CACHE_BUCKETS];
static size_t cache_count;
static size_t cache_bytes, cache_limit = 16u << 20;
static struct cache_entry *cache_oldest, *cache_newest;

static _Atomic int64_t clock_skew;

int64_t
dns_cache_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec + atomic_load(&clock_skew);
}

void
dns_cache_clock_skew(int64_t seconds)
{
	atomic_store(&clock_skew, seconds);
}

static time_t
cache_now(void)
{
	return (time_t)dns_cache_now();
}

static char *
cache_key(const char *server, const char *name, enum dns_type t, unsigned *bucket)
{
	size_t n = strlen(server) + strlen(name) + 16;
	char *k = xmalloc(n);
	snprintf(k, n, "%s|%d|%s", server, (int)t, name);
	*bucket = dns_key_hash(k) % CACHE_BUCKETS;
	return k;
}

static void
cache_entry_free(struct cache_entry *e)
{
	for (size_t i = 0; i < e->n; i++)
		free((char *)e->rr[i].text);
	free(e->rr);
	free(e->key);
	free(e);
}

/* Unlink *pp (in its bucket) from the table and the FIFO, and free it. */
static void
cache_drop(struct cache_entry **pp)
{
	struct cache_entry *e = *pp;
	*pp = e->next;
	if (e->older)
		e->older->newer = e->newer;
	else
		cache_oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		cache_newest = e->older;
	cache_count--;
	cache_bytes -= e->bytes;
	cache_entry_free(e);
}

/* Drop expired entries, or everything when expired_only is false. */
static void
cache_sweep(bool expired_only, time_t now)
{
	for (unsigned b = 0; b < CACHE_BUCKETS; b++) {
		struct cache_entry **pp = &cache_tab[b];
		while (*pp) {
			if (!expired_only || (*pp)->expires <= now)
				cache_drop(pp);
			else
				pp = &(*pp)->next;
		}
	}
}

/* Evict the oldest entries until `need` more bytes fit in the budget. */
static void
cache_evict_for(size_t need)
{
	while (cache_oldest != NULL && cache_bytes + need > cache_limit) {
		struct cache_entry **pp = &cache_tab[cache_oldest->bucket];
		while (*pp != cache_oldest)
			pp = &(*pp)->next;
		cache_drop(pp);
	}
}

void
dns_cache_set_limit(size_t bytes)
{
	pthread_mutex_lock(&cache_lock);
	cache_limit = bytes;
	cache_evict_for(0);
	pthread_mutex_unlock(&cache_lock);
}

size_t
dns_cache_bytes(void)
{
	pthread_mutex_lock(&cache_lock);
	size_t n = cache_bytes;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

bool
dns_cache_get(const char *server, const char *name, enum dns_type t, struct dns_rrset *out)
{
	unsigned b;
	char *key = cache_key(server, name, t, &b);
	bool hit = false;
	time_t now = cache_now();
	pthread_mutex_lock(&cache_lock);
	for (struct cache_entry *e = cache_tab[b]; e; e = e->next) {
		if (strcmp(e->key, key) != 0 || e->expires <= now)
			continue;
		dns_rrset_clear(out);
		for (size_t i = 0; i < e->n; i++) {
			const struct dns_rr *r = &e->rr[i];
			dns_rrset_add(out, r->type, (uint32_t)(e->expires - now), r->text, r->len, r->addr,
			              r->preference);
		}
		out->status = e->status;
		out->ttl = (uint32_t)(e->expires - now);   /* what is left, also when negative */
		hit = true;
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	free(key);
	return hit;
}

void
dns_cache_put(const char *server, const char *name, enum dns_type t, const struct dns_rrset *s)
{
	uint32_t ttl = s->status == DNS_OK ? s->ttl : DNS_CACHE_NEG_TTL;
	if (s->status == DNS_TEMPFAIL || s->status == DNS_BADNAME || ttl == 0)
		return;
	if (ttl > DNS_CACHE_MAX_TTL)
		ttl = DNS_CACHE_MAX_TTL;
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	unsigned b;
	e->key = cache_key(server, name, t, &b);
	e->bucket = b;
	e->status = s->status;
	e->n = s->n;
	e->rr = xcalloc(s->n ? s->n : 1, sizeof(*e->rr));
	e->bytes = sizeof(*e) + strlen(e->key) + 1 + (s->n ? s->n : 1) * sizeof(*e->rr);
	for (size_t i = 0; i < s->n; i++) {
		e->rr[i] = s->rr[i];
		char *txt = xmalloc(s->rr[i].len + 1);
		memcpy(txt, s->rr[i].text, s->rr[i].len + 1);
		e->rr[i].text = txt;
		e->bytes += s->rr[i].len + 1;
	}
	time_t now = cache_now();
	e->expires = now + (time_t)ttl;
	pthread_mutex_lock(&cache_lock);
	if (e->bytes > cache_limit / 4) {          /* never let one answer flush the rest */
		pthread_mutex_unlock(&cache_lock);
		cache_entry_free(e);
		return;
	}
	if (cache_count >= DNS_CACHE_MAX_ENTRIES)
		cache_sweep(true, now);
	if (cache_count >= DNS_CACHE_MAX_ENTRIES)
		cache_sweep(false, now);
	cache_evict_for(e->bytes);
	e->next = cache_tab[b];
	cache_tab[b] = e;
	e->older = cache_newest;
	if (cache_newest)
		cache_newest->newer = e;
	else
		cache_oldest = e;
	cache_newest = e;
	cache_count++;
	cache_bytes += e->bytes;
	pthread_mutex_unlock(&cache_lock);
}

void
dns_cache_flush(void)
{
	pthread_mutex_lock(&cache_lock);
	cache_sweep(false, 0);
	pthread_mutex_unlock(&cache_lock);
}
