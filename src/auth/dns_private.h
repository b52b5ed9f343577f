/* dns_private.h - what dns.c, dns_zone.c, dns_cares.c and dns_cache.c share.
 *
 * A lookup result travels between the backends, the cache and the caller
 * as a heap-owned struct dns_rrset; dns.c copies it into the caller's arena
 * so callers never see heap ownership.
 */
#ifndef PR_DNS_PRIVATE_H
#define PR_DNS_PRIVATE_H

#include <ares.h>
#include <pthread.h>
#include <stdbool.h>

#include "auth/dns.h"

/* A TXT RRset larger than this is refused (an SPF or DKIM record is a few
 * hundred bytes; RFC 7208 3.4 even asks publishers to stay under 450). */
#define DNS_MAX_RR 64
/* Cache: entries kept at most this long, whatever the TTL says, and at
 * most this many entries in the process (then expired ones are dropped,
 * and if that is not enough, the whole cache). */
#define DNS_CACHE_MAX_TTL 3600
#define DNS_CACHE_NEG_TTL 60
#define DNS_CACHE_MAX_ENTRIES 20000

struct dns_rrset {
	enum dns_status status;
	uint32_t ttl;            /* min over the records used (negative: fixed) */
	size_t n;
	struct dns_rr rr[DNS_MAX_RR];   /* text fields heap-owned */
};

struct dns_zone;

enum dns_kind { DNS_KIND_CARES, DNS_KIND_MEMORY };

struct dns {
	enum dns_kind kind;
	unsigned count;
	int timeout_ms;
	/* The message's budget (dns_budget_begin); deadline 0: none. */
	int64_t budget_deadline_ms;
	bool budget_spent;
	int domain_cap;
	char domain[256];            /* the sender domain the gate is keyed on */
	ares_channel channel;        /* DNS_KIND_CARES */
	char *server;
	struct dns_zone *zone;       /* DNS_KIND_MEMORY */
};

void dns_rrset_clear(struct dns_rrset *s);
/* Lowercase copy without a trailing dot into out (outsz: 256 holds any);
 * false when the name cannot be asked about.  Also the key of the caches. */
bool dns_normalise(const char *name, char *out, size_t outsz);
/* Append a record (copies text); returns false when full. */
bool dns_rrset_add(struct dns_rrset *s, enum dns_type t, uint32_t ttl, const char *text,
                   size_t len, const uint8_t *addr, int pref);

/* dns_zone.c */
struct dns_zone *dns_zone_new(void);
void dns_zone_free(struct dns_zone **z);
void dns_zone_lookup(struct dns_zone *z, const char *name, enum dns_type t, struct dns_rrset *out);

/* dns_cares.c: name already validated and lowercased. */
void dns_cares_lookup(struct dns *d, const char *name, enum dns_type t, struct dns_rrset *out);

/* Monotonic milliseconds. */
int64_t dns_now_ms(void);
/* Deadline of one lookup starting now: its timeout, cut by the budget. */
int64_t dns_deadline_ms(const struct dns *d);

/* dns_gate.c: lookups of one sender domain that miss the cache.  enter:
 * 0 (then leave exactly once), or -1: refused, answer TEMPFAIL. */
int dns_gate_enter(const char *domain, int cap, int64_t deadline_ms);
void dns_gate_leave(const char *domain, bool timed_out);

/* dns_cache.c: process-wide, mutex-protected. */
bool dns_cache_get(const char *server, const char *name, enum dns_type t, struct dns_rrset *out);
void dns_cache_put(const char *server, const char *name, enum dns_type t, const struct dns_rrset *s);
void dns_cache_flush(void);
/* The byte budget (dns_cache_size); past it the oldest entries go. */
void dns_cache_set_limit(size_t bytes);
size_t dns_cache_bytes(void);           /* what the cache holds now (tests) */
/* FNV-1a of a cache key: both caches' bucket hash. */
static inline uint32_t
dns_key_hash(const char *k)
{
	uint32_t h = 2166136261u;
	for (const char *p = k; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}
/* The clock both caches (answers, parsed records) expire by: monotonic
 * seconds, plus what tests add with dns_cache_clock_skew to expire a TTL. */
int64_t dns_cache_now(void);
void dns_cache_clock_skew(int64_t seconds);

#endif
