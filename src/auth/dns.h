/* dns.h - the DNS port SPF, DKIM and DMARC evaluate against.
 *
 * Two implementations behind one call: c-ares (production; server and
 * port configurable so tests point it at a loopback dnsmasq; bounded
 * timeout; a TTL-honouring cache shared by all channels in the process)
 * and an in-memory zone (conformance suites: RFC 7208, DKIM vectors).
 *
 * A struct dns is used by one thread at a time (a c-ares channel is not
 * thread-safe in 1.18): each intake worker owns one.
 */
#ifndef PR_DNS_H
#define PR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;
struct dns;

enum dns_type {
	DNS_T_A = 1, DNS_T_CNAME = 5, DNS_T_PTR = 12, DNS_T_MX = 15,
	DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SPF = 99
};

enum dns_status {
	DNS_OK,          /* at least one record of the type */
	DNS_NXDOMAIN,    /* the name does not exist */
	DNS_NODATA,      /* the name exists, no record of this type */
	DNS_TEMPFAIL,    /* timeout, SERVFAIL, unreachable: try again later */
	DNS_BADNAME,     /* not a valid name to ask about (label > 63, ...) */
};

struct dns_rr {
	enum dns_type type;
	uint32_t ttl;
	/* TXT: the character-strings concatenated (may hold NULs: use len);
	 * MX/PTR/CNAME: the target name; A/AAAA: the textual address. */
	const char *text;
	size_t len;
	uint8_t addr[16];    /* A: 4 bytes, AAAA: 16 bytes */
	int preference;      /* MX */
};

struct dns_answer {
	enum dns_status status;
	struct dns_rr *rr;   /* allocated in the caller's arena */
	size_t n;
	/* Seconds the answer stays valid (what is left of it when it comes from
	 * the cache; NXDOMAIN/NODATA: the negative-caching time). */
	uint32_t ttl;
};

/* server: "ADDR:PORT", or "" for /etc/resolv.conf.  timeout_ms bounds one
 * lookup in total (all tries). */
struct dns *dns_new_cares(const char *server, int timeout_ms, struct pr_why *why);
/* An empty in-memory zone; fill with dns_zone_add / dns_zone_timeout. */
struct dns *dns_new_memory(void);
/* value: TXT text, A/AAAA address, "pref name" for MX, a name for PTR/CNAME. */
void dns_zone_add(struct dns *d, const char *name, enum dns_type t, const char *value, size_t len);
/* Lookups of name (any type) answer DNS_TEMPFAIL. */
void dns_zone_timeout(struct dns *d, const char *name);
void dns_free(struct dns **d);

/* A host's addresses (A, then AAAA) as text, asked of server as
 * dns_new_cares does (so a test's loopback DNS answers, never the
 * machine's): up to max.  An IP literal is its own one address.  0 with
 * why: PR_E_NOT_FOUND (no such name, or no address), PR_E_DNS_TEMP. */
size_t dns_host_addresses(const char *server, int timeout_ms, const char *host, char addrs[][64], size_t max,
                          struct pr_why *why);
/* host is an IPv4 or IPv6 address written out (without brackets). */
bool dns_is_ip_literal(const char *host);

/* Never blocks longer than the timeout.  Always fills out; returns
 * out->status. */
enum dns_status dns_lookup(struct dns *d, struct arena *a, const char *name, enum dns_type t,
                           struct dns_answer *out);
/* A time budget for all the lookups of one message (RFC 7208 4.6.4 gives
 * SPF 20 s): until dns_budget_end, no lookup runs past budget_ms from now,
 * and one that would is answered DNS_TEMPFAIL without asking.  domain is
 * the sender domain: lookups that miss the cache go through a per-domain
 * gate (dns_gate.c) that lets at most domain_cap of them be in flight. */
void dns_budget_begin(struct dns *d, const char *domain, int budget_ms, int domain_cap);
/* True if the budget ran out (or the gate refused): the verdict is 451. */
bool dns_budget_spent(const struct dns *d);
void dns_budget_end(struct dns *d);
/* The process-wide cache's byte budget (dns_cache_size setting). */
void dns_cache_limit(size_t bytes);

/* What answers through d may be cached under beyond the DNS cache (parsed
 * SPF/DMARC records, rec_cache.h): the resolver for c-ares, NULL for an
 * in-memory zone (its records change between tests under the same name). */
const char *dns_cache_scope(const struct dns *d);

/* Count of lookups made through d (the SPF 10-lookup limit, tests). */
unsigned dns_lookup_count(const struct dns *d);

#endif
