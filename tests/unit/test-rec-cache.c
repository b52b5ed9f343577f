/* test-rec-cache.c - the cache of parsed SPF and DMARC records: the cache
 * itself (hit, expiry by TTL, bounds, replacement, references that outlive
 * eviction, threads), then SPF and DMARC over c-ares against a real
 * dnsmasq on loopback (started here, stopped by pid): a cached record costs
 * no DNS lookup, and a changed record is read again once its TTL is over.
 * The machine's own resolver is never asked. */
#include <pthread.h>
#include <stdint.h>

#include "auth/dmarc.h"
#include "auth/dns.h"
#include "auth/dns_private.h"
#include "auth/rec_cache.h"
#include "auth/spf.h"
#include "auth/spf_private.h"
#include "core/arena.h"
#include "dnsmasq.h"
#include "test.h"

/* A value as the callers make one: allocated in the arena the cache owns. */
static const char *
put_text(struct rec_cache *c, const char *scope, const char *name, uint32_t ttl, const char *text,
         struct arena *holder)
{
	struct arena *own = arena_new();
	const char *v = arena_strdup(own, text);
	rec_cache_put(c, scope, name, ttl, &own, v, holder);
	CHECK(own == NULL);
	return v;
}

TEST(hit_and_scope)
{
	static struct rec_cache c = REC_CACHE_INIT(100, 1u << 20);
	struct arena *a = arena_new();
	const char *v = put_text(&c, "127.0.0.1:53", "a.example", 60, "v=spf1 -all", a);
	CHECK(rec_cache_get(&c, "127.0.0.1:53", "a.example", a) == v);
	CHECK(rec_cache_get(&c, "127.0.0.1:5353", "a.example", a) == NULL);   /* another resolver */
	CHECK(rec_cache_get(&c, "127.0.0.1:53", "b.example", a) == NULL);
	size_t n, bytes;
	rec_cache_stats(&c, &n, &bytes);
	CHECK_INT(n, 1);
	CHECK(bytes > 0);
	rec_cache_flush(&c);
	rec_cache_stats(&c, &n, &bytes);
	CHECK_INT(n, 0);
	CHECK_INT(bytes, 0);
	arena_free(&a);
}

TEST(expiry_by_ttl)
{
	static struct rec_cache c = REC_CACHE_INIT(100, 1u << 20);
	struct arena *a = arena_new();
	put_text(&c, "s", "ttl.example", 60, "short", a);
	put_text(&c, "s", "long.example", 1000000, "capped", a);
	dns_cache_clock_skew(59);
	CHECK(rec_cache_get(&c, "s", "ttl.example", a) != NULL);
	dns_cache_clock_skew(60);
	CHECK(rec_cache_get(&c, "s", "ttl.example", a) == NULL);
	CHECK(rec_cache_get(&c, "s", "long.example", a) != NULL);
	dns_cache_clock_skew(DNS_CACHE_MAX_TTL);       /* no TTL outlives the cap */
	CHECK(rec_cache_get(&c, "s", "long.example", a) == NULL);
	dns_cache_clock_skew(0);
	/* A TTL of 0 is not cached, but the caller still holds its value. */
	const char *v = put_text(&c, "s", "zero.example", 0, "once", a);
	CHECK(rec_cache_get(&c, "s", "zero.example", a) == NULL);
	CHECK_STR(v, "once");
	rec_cache_flush(&c);
	arena_free(&a);
}

TEST(bound_by_entries)
{
	static struct rec_cache c = REC_CACHE_INIT(4, 1u << 20);
	struct arena *a = arena_new();
	char name[32];
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		put_text(&c, "s", name, 60, name, a);
	}
	size_t n, bytes;
	rec_cache_stats(&c, &n, &bytes);
	CHECK_INT(n, 4);
	CHECK(rec_cache_get(&c, "s", "n0.example", a) == NULL);     /* the oldest went */
	CHECK(rec_cache_get(&c, "s", "n1.example", a) == NULL);
	CHECK_STR(rec_cache_get(&c, "s", "n5.example", a), "n5.example");
	CHECK_STR(rec_cache_get(&c, "s", "n2.example", a), "n2.example");
	rec_cache_flush(&c);
	arena_free(&a);
}

/* Whoever controls a sender domain chooses its records' size: the byte
 * budget holds, evicting the oldest, never the newest; one value larger
 * than a quarter of the budget is not kept at all. */
TEST(bound_by_bytes)
{
	static struct rec_cache c = REC_CACHE_INIT(10000, 64 * 1024);
	struct arena *a = arena_new();
	char text[4000], name[32];
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	size_t n, bytes;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "big%d.example", i);
		put_text(&c, "s", name, 300, text, a);
		rec_cache_stats(&c, &n, &bytes);
		CHECK(bytes <= 64 * 1024);
	}
	CHECK(rec_cache_get(&c, "s", "big99.example", a) != NULL);
	CHECK(rec_cache_get(&c, "s", "big0.example", a) == NULL);
	CHECK(bytes > 32 * 1024);                   /* evicts what it must, not all */
	char huge[20000];
	memset(huge, 'y', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	put_text(&c, "s", "huge.example", 300, huge, a);
	CHECK(rec_cache_get(&c, "s", "huge.example", a) == NULL);
	CHECK(rec_cache_get(&c, "s", "big99.example", a) != NULL);
	rec_cache_flush(&c);
	arena_free(&a);
}

/* A newer answer for a name replaces the entry; a reader of the old one
 * keeps it (ASan: no use after free) until its arena is freed. */
TEST(replace_and_references)
{
	static struct rec_cache c = REC_CACHE_INIT(100, 1u << 20);
	struct arena *reader = arena_new(), *a = arena_new();
	put_text(&c, "s", "r.example", 60, "v=spf1 ip4:192.0.2.1 -all", a);
	const char *old = rec_cache_get(&c, "s", "r.example", reader);
	put_text(&c, "s", "r.example", 60, "v=spf1 -all", a);
	size_t n, bytes;
	rec_cache_stats(&c, &n, &bytes);
	CHECK_INT(n, 1);
	CHECK_STR(rec_cache_get(&c, "s", "r.example", a), "v=spf1 -all");
	rec_cache_flush(&c);
	CHECK_STR(old, "v=spf1 ip4:192.0.2.1 -all");
	arena_free(&reader);
	arena_free(&a);
}

static struct rec_cache shared = REC_CACHE_INIT(8, 1u << 20);

static void *
hammer(void *arg)
{
	int bad = 0;
	static _Atomic unsigned seeds = 1;
	unsigned seed = seeds++;
	(void)arg;
	char name[32];
	for (int i = 0; i < 3000; i++) {
		struct arena *a = arena_new();
		seed = seed * 1103515245u + 12345u;
		snprintf(name, sizeof(name), "t%u.example", (seed >> 16) % 20);
		const char *v = rec_cache_get(&shared, "s", name, a);
		if (v == NULL)
			v = put_text(&shared, "s", name, 60, name, a);
		if (strcmp(v, name) != 0)
			bad++;
		if (i % 500 == 0)
			rec_cache_flush(&shared);
		arena_free(&a);
	}
	return (void *)(intptr_t)bad;
}

TEST(threads)
{
	CHECK_INT(test_in_threads(4, hammer, NULL), 0);
	size_t n, bytes;
	rec_cache_stats(&shared, &n, &bytes);
	CHECK(n <= 8);
	rec_cache_flush(&shared);
}

/* ---- SPF and DMARC over c-ares and dnsmasq ---- */

static struct test_dnsmasq dnsmasq = {.pid = -1};

static const char zone_v1[] =
	"txt-record=s.example.test,\"v=spf1 ip4:192.0.2.0/24 include:inc.example.test -all\"\n"
	"txt-record=inc.example.test,\"v=spf1 ip4:127.0.0.1 -all\"\n"
	"txt-record=_dmarc.s.example.test,\"v=DMARC1; p=reject\"\n";
/* The same names, changed records. */
static const char zone_v2[] =
	"txt-record=s.example.test,\"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"txt-record=inc.example.test,\"v=spf1 ip4:127.0.0.1 -all\"\n"
	"txt-record=_dmarc.s.example.test,\"v=DMARC1; p=none\"\n";

static struct dns *
cares(void)
{
	char server[64];
	struct pr_why why;
	snprintf(server, sizeof(server), "127.0.0.1:%d", dnsmasq.port);
	return dns_new_cares(server, 2000, &why);
}

static enum spf_result
spf(struct dns *d, struct arena *a)
{
	struct spf_request rq = {.ip = "127.0.0.1", .domain = "s.example.test",
	                         .sender = "news@s.example.test", .helo = "mta.example.test"};
	struct spf_outcome o;
	return spf_check_host(d, a, &rq, &o);
}

static enum dmarc_policy
dmarc_policy(struct dns *d, struct arena *a)
{
	struct dmarc_result r;
	dmarc_eval(d, a, "s.example.test", NULL, 0, "s.example.test", &r);
	return r.result == AUTH_PASS ? r.policy : DMARC_P_UNSET;
}

static void
flush_all(void)
{
	dns_cache_flush();
	spf_cache_flush();
	dmarc_cache_flush();
}

/* The second message from a sender asks DNS nothing: the record and its
 * include come parsed from the cache, for any worker's channel. */
TEST(spf_dmarc_parsed_once)
{
	if (dnsmasq.pid <= 0)
		SKIP("dnsmasq (/usr/sbin/dnsmasq) could not be started");
	flush_all();
	struct dns *d1 = cares(), *d2 = cares();
	struct arena *a = arena_new();
	CHECK_INT(spf(d1, a), SPF_PASS);
	CHECK_INT(dmarc_policy(d1, a), DMARC_P_REJECT);
	unsigned first = dns_lookup_count(d1);
	CHECK_INT(first, 3);                       /* record, include, _dmarc */
	size_t n, bytes;
	spf_cache_stats(&n, &bytes);
	CHECK_INT(n, 2);
	CHECK_INT(spf(d1, a), SPF_PASS);
	CHECK_INT(dmarc_policy(d1, a), DMARC_P_REJECT);
	CHECK_INT(spf(d2, a), SPF_PASS);
	CHECK_INT(dmarc_policy(d2, a), DMARC_P_REJECT);
	CHECK_INT(dns_lookup_count(d1), first);
	CHECK_INT(dns_lookup_count(d2), 0);
	dns_free(&d1);
	dns_free(&d2);
	arena_free(&a);
	flush_all();
}

/* The records change at the server: within their TTL the cached ones hold
 * (as any DNS cache would), once it is over the new ones are read. */
TEST(changed_record_reread)
{
	if (dnsmasq.pid <= 0)
		SKIP("dnsmasq (/usr/sbin/dnsmasq) could not be started");
	flush_all();
	struct dns *d = cares();
	struct arena *a = arena_new();
	CHECK_INT(spf(d, a), SPF_PASS);
	CHECK_INT(dmarc_policy(d, a), DMARC_P_REJECT);
	int port = dnsmasq.port;
	test_dnsmasq_stop(&dnsmasq);
	if (!test_dnsmasq_start(&dnsmasq, zone_v2, port))
		SKIP("dnsmasq could not be restarted on its port");
	dns_cache_clock_skew(30);
	CHECK_INT(spf(d, a), SPF_PASS);
	CHECK_INT(dmarc_policy(d, a), DMARC_P_REJECT);
	dns_cache_clock_skew(61);                  /* dnsmasq's local-ttl is 60 */
	CHECK_INT(spf(d, a), SPF_FAIL);
	CHECK_INT(dmarc_policy(d, a), DMARC_P_NONE);
	dns_cache_clock_skew(0);
	dns_free(&d);
	arena_free(&a);
	flush_all();
}

/* The conformance suites' in-memory zones reuse names with other records:
 * they are never cached. */
TEST(memory_zone_not_cached)
{
	struct dns *d = dns_new_memory();
	struct arena *a = arena_new();
	dns_zone_add(d, "s.example.test", DNS_T_TXT, "v=spf1 ip4:127.0.0.1 -all", 25);
	CHECK_INT(spf(d, a), SPF_PASS);
	CHECK_INT(spf(d, a), SPF_PASS);
	CHECK_INT(dns_lookup_count(d), 2);
	size_t n, bytes;
	spf_cache_stats(&n, &bytes);
	CHECK_INT(n, 0);
	dns_free(&d);
	arena_free(&a);
}

int
main(void)
{
	RUN(hit_and_scope);
	RUN(expiry_by_ttl);
	RUN(bound_by_entries);
	RUN(bound_by_bytes);
	RUN(replace_and_references);
	RUN(threads);
	test_dnsmasq_start(&dnsmasq, zone_v1, 0);
	RUN(spf_dmarc_parsed_once);
	RUN(changed_record_reread);
	RUN(memory_zone_not_cached);
	test_dnsmasq_stop(&dnsmasq);
	return test_summary("rec-cache");
}
