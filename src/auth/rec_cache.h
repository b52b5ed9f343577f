/* rec_cache.h - parsed DNS records (SPF, DMARC) shared by every intake
 * worker, so a busy sender's records are fetched and parsed once per TTL
 * rather than once per message.
 *
 * dns_cache.c keeps the answers; this keeps what was made of them.  An
 * entry is keyed by (DNS scope, name): the scope is the resolver the
 * answer came from (dns_cache_scope), so two resolvers never share, and a
 * struct dns without one (the in-memory zones of the conformance suites)
 * never caches.  An entry lives as long as the DNS answer it was parsed
 * from (its remaining TTL when fetched, at most DNS_CACHE_MAX_TTL): then
 * the record is asked for again, and a changed answer is parsed anew.
 * Time is the DNS cache's clock (dns_cache_now), so one skew in a test
 * expires both.  Bounded by a count of entries and a byte budget (records are chosen by
 * whoever controls the sender domain); past either the oldest go.
 *
 * Entries are immutable once put and shared by reference: a reader's
 * reference is held by its arena (released by arena_free), so an entry
 * evicted or replaced while a worker evaluates it stays valid until that
 * message is done.  One mutex per cache guards the table and the counts.
 */
#ifndef PR_REC_CACHE_H
#define PR_REC_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct rec_entry;

struct rec_cache {
	pthread_mutex_t lock;
	struct rec_entry **tab;          /* REC_CACHE_BUCKETS, made on first put */
	struct rec_entry *oldest, *newest;
	size_t count, bytes;
	size_t max_entries, max_bytes;
};

#define REC_CACHE_INIT(entries, bytes) \
	{PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL, 0, 0, (entries), (bytes)}

/* The value cached for (scope, name) if one is live: a reference is taken
 * for `holder` (dropped when it is freed).  NULL on a miss. */
const void *rec_cache_get(struct rec_cache *c, const char *scope, const char *name,
                          struct arena *holder);

/* Cache value (allocated in *owned, which the cache now owns: the entry is
 * freed with arena_free) for ttl seconds under (scope, name), replacing an
 * entry of that key.  holder gets a reference, so value stays valid for
 * the caller however the cache evicts.  ttl 0, or a value too large for
 * the budget, is not cached (the caller still holds it). */
void rec_cache_put(struct rec_cache *c, const char *scope, const char *name, uint32_t ttl,
                   struct arena **owned, const void *value, struct arena *holder);

/* Empties the cache (references held stay valid). */
void rec_cache_flush(struct rec_cache *c);
/* Entries and bytes held now (tests, accounting). */
void rec_cache_stats(struct rec_cache *c, size_t *entries_r, size_t *bytes_r);

#endif
