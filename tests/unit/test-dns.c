/* test-dns.c - the DNS port: in-memory zone rules, and c-ares against a
 * real dnsmasq on loopback (started here, stopped by pid) plus a loopback
 * UDP socket that never answers (the timeout must hold).  The machine's
 * own resolver is never asked. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/dns.h"
#include "auth/dns_private.h"
#include "core/arena.h"
#include "dnsmasq.h"
#include "test.h"

TEST(memory_statuses)
{
	struct dns *d = dns_new_memory();
	struct arena *a = arena_new();
	struct dns_answer ans;
	dns_zone_add(d, "Example.ORG.", DNS_T_TXT, "v=spf1 -all", 11);
	dns_zone_add(d, "example.org", DNS_T_A, "192.0.2.1", 9);
	dns_zone_add(d, "example.org", DNS_T_MX, "10 mx.example.org", 17);
	dns_zone_add(d, "nul.example.org", DNS_T_TXT, "a\0b", 3);
	dns_zone_add(d, "none.example.org", DNS_T_TXT, NULL, 0);
	CHECK_INT(dns_lookup(d, a, "EXAMPLE.org", DNS_T_TXT, &ans), DNS_OK);
	CHECK_INT(ans.n, 1);
	CHECK_STR(ans.rr[0].text, "v=spf1 -all");
	CHECK_INT(dns_lookup(d, a, "example.org", DNS_T_A, &ans), DNS_OK);
	CHECK_INT(ans.rr[0].addr[0], 192);
	CHECK_INT(ans.rr[0].addr[3], 1);
	CHECK_INT(dns_lookup(d, a, "example.org", DNS_T_MX, &ans), DNS_OK);
	CHECK_INT(ans.rr[0].preference, 10);
	CHECK_STR(ans.rr[0].text, "mx.example.org");
	CHECK_INT(dns_lookup(d, a, "example.org", DNS_T_AAAA, &ans), DNS_NODATA);
	CHECK_INT(dns_lookup(d, a, "none.example.org", DNS_T_TXT, &ans), DNS_NODATA);
	CHECK_INT(dns_lookup(d, a, "nope.example.org", DNS_T_TXT, &ans), DNS_NXDOMAIN);
	CHECK_INT(dns_lookup(d, a, "nul.example.org", DNS_T_TXT, &ans), DNS_OK);
	CHECK_INT(ans.rr[0].len, 3);
	CHECK(memcmp(ans.rr[0].text, "a\0b", 3) == 0);
	CHECK_INT(dns_lookup(d, a, "a..b", DNS_T_TXT, &ans), DNS_BADNAME);
	CHECK_INT(dns_lookup(d, a, "x1234567890123456789012345678901234567890123456789012345678901234.org",
	                     DNS_T_TXT, &ans), DNS_BADNAME);
	CHECK_INT(dns_lookup_count(d), 9);
	dns_free(&d);
	CHECK(d == NULL);
	arena_free(&a);
}

TEST(memory_timeout_order_and_cname)
{
	struct dns *d = dns_new_memory();
	struct arena *a = arena_new();
	struct dns_answer ans;
	dns_zone_add(d, "t.example", DNS_T_A, "192.0.2.9", 9);
	dns_zone_timeout(d, "t.example");
	dns_zone_add(d, "t.example", DNS_T_TXT, "late", 4);
	CHECK_INT(dns_lookup(d, a, "t.example", DNS_T_A, &ans), DNS_OK);
	CHECK_INT(dns_lookup(d, a, "t.example", DNS_T_TXT, &ans), DNS_TEMPFAIL);
	CHECK_INT(dns_lookup(d, a, "t.example", DNS_T_MX, &ans), DNS_TEMPFAIL);
	dns_zone_add(d, "alias.example", DNS_T_CNAME, "real.example", 12);
	dns_zone_add(d, "real.example", DNS_T_TXT, "hello", 5);
	CHECK_INT(dns_lookup(d, a, "alias.example", DNS_T_TXT, &ans), DNS_OK);
	CHECK_STR(ans.rr[0].text, "hello");
	CHECK_INT(dns_lookup(d, a, "alias.example", DNS_T_A, &ans), DNS_NODATA);
	CHECK_INT(dns_lookup(d, a, "alias.example", DNS_T_CNAME, &ans), DNS_OK);
	dns_free(&d);
	arena_free(&a);
}

/* ---- c-ares against dnsmasq ---- */

static struct test_dnsmasq dnsmasq = {.pid = -1};

static const char zone[] =
	"txt-record=example.test,\"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"txt-record=split.example.test,\"part one \",\"part two\"\n"
	"host-record=mx.example.test,192.0.2.25,2001:db8::25\n"
	"mx-host=example.test,mx.example.test,10\n"
	"cname=alias.example.test,mx.example.test\n"
	"ptr-record=25.2.0.192.in-addr.arpa,mx.example.test\n";

static void
dnsmasq_stop(void)
{
	test_dnsmasq_stop(&dnsmasq);
}

static struct dns *
cares_for_test(int port, int timeout_ms)
{
	char server[64];
	struct pr_why why;
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	return dns_new_cares(server, timeout_ms, &why);
}

TEST(cares_records)
{
	if (dnsmasq.pid <= 0)
		SKIP("dnsmasq (/usr/sbin/dnsmasq) could not be started");
	struct dns *d = cares_for_test(dnsmasq.port, 2000);
	struct arena *a = arena_new();
	struct dns_answer ans;
	CHECK(d != NULL);
	CHECK_INT(dns_lookup(d, a, "example.test", DNS_T_TXT, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "v=spf1 ip4:192.0.2.0/24 -all");
	CHECK(ans.n && ans.rr[0].ttl > 0 && ans.rr[0].ttl <= 60);
	CHECK_INT(dns_lookup(d, a, "split.example.test", DNS_T_TXT, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "part one part two");
	CHECK_INT(dns_lookup(d, a, "example.test", DNS_T_MX, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "mx.example.test");
	CHECK_INT(ans.n ? ans.rr[0].preference : 0, 10);
	CHECK_INT(dns_lookup(d, a, "mx.example.test", DNS_T_A, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "192.0.2.25");
	CHECK_INT(dns_lookup(d, a, "mx.example.test", DNS_T_AAAA, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "2001:db8::25");
	CHECK_INT(dns_lookup(d, a, "alias.example.test", DNS_T_A, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "192.0.2.25");
	CHECK_INT(dns_lookup(d, a, "25.2.0.192.in-addr.arpa", DNS_T_PTR, &ans), DNS_OK);
	CHECK_STR(ans.n ? ans.rr[0].text : "", "mx.example.test");
	CHECK_INT(dns_lookup(d, a, "nothing.example.test", DNS_T_TXT, &ans), DNS_NXDOMAIN);
	CHECK_INT(dns_lookup(d, a, "mx.example.test", DNS_T_TXT, &ans), DNS_NODATA);
	dns_free(&d);
	arena_free(&a);
}

TEST(cares_cache_shared)
{
	if (dnsmasq.pid <= 0)
		SKIP("dnsmasq (/usr/sbin/dnsmasq) could not be started");
	struct dns *d1 = cares_for_test(dnsmasq.port, 2000), *d2 = cares_for_test(dnsmasq.port, 2000);
	struct arena *a = arena_new();
	struct dns_answer ans;
	dns_cache_flush();
	CHECK_INT(dns_lookup(d1, a, "example.test", DNS_T_TXT, &ans), DNS_OK);
	CHECK_INT(dns_lookup(d1, a, "nothing.example.test", DNS_T_TXT, &ans), DNS_NXDOMAIN);
	/* dnsmasq gone: the second channel must answer from the shared cache. */
	dnsmasq_stop();
	dnsmasq.pid = -1;
	CHECK_INT(dns_lookup(d2, a, "example.test", DNS_T_TXT, &ans), DNS_OK);
	CHECK_INT(dns_lookup(d2, a, "nothing.example.test", DNS_T_TXT, &ans), DNS_NXDOMAIN);
	dns_free(&d1);
	dns_free(&d2);
	arena_free(&a);
}

TEST(cares_timeout_bounded)
{
	int silent_fd = -1;
	int port = test_free_udp_port(&silent_fd);   /* bound, never read: no answer */
	struct dns *d = cares_for_test(port, 400);
	struct arena *a = arena_new();
	struct dns_answer ans;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(dns_lookup(d, a, "example.test", DNS_T_TXT, &ans), DNS_TEMPFAIL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 150 && ms < 1200);
	/* A temporary failure is not cached: asking again still times out. */
	CHECK_INT(dns_lookup(d, a, "example.test", DNS_T_TXT, &ans), DNS_TEMPFAIL);
	close(silent_fd);
	dns_free(&d);
	arena_free(&a);
}

TEST(cache_honours_ttl)
{
	struct dns_rrset put, got;
	memset(&put, 0, sizeof(put));
	memset(&got, 0, sizeof(got));
	put.status = DNS_OK;
	dns_rrset_add(&put, DNS_T_TXT, 1, "short-lived", 11, NULL, 0);
	dns_cache_put("test", "ttl.example", DNS_T_TXT, &put);
	CHECK(dns_cache_get("test", "ttl.example", DNS_T_TXT, &got));
	CHECK_STR(got.n ? got.rr[0].text : "", "short-lived");
	CHECK(!dns_cache_get("other-server", "ttl.example", DNS_T_TXT, &got));
	struct timespec ts = {1, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	CHECK(!dns_cache_get("test", "ttl.example", DNS_T_TXT, &got));
	dns_rrset_clear(&put);
	dns_rrset_clear(&got);
}

/* An attacker publishes kilobytes of TXT under many names: the cache keeps
 * to its byte budget by evicting the oldest entries, never the newest. */
TEST(cache_byte_budget)
{
	char text[1000], name[64];
	memset(text, 'x', sizeof(text));
	dns_cache_flush();
	dns_cache_set_limit(64 * 1024);
	for (int i = 0; i < 500; i++) {
		struct dns_rrset put;
		memset(&put, 0, sizeof(put));
		put.status = DNS_OK;
		dns_rrset_add(&put, DNS_T_TXT, 300, text, sizeof(text), NULL, 0);
		snprintf(name, sizeof(name), "big%d.example", i);
		dns_cache_put("budget", name, DNS_T_TXT, &put);
		dns_rrset_clear(&put);
		CHECK(dns_cache_bytes() <= 64 * 1024);
	}
	struct dns_rrset got;
	memset(&got, 0, sizeof(got));
	CHECK(dns_cache_get("budget", "big499.example", DNS_T_TXT, &got));
	dns_rrset_clear(&got);
	CHECK(!dns_cache_get("budget", "big0.example", DNS_T_TXT, &got));
	CHECK(dns_cache_bytes() > 32 * 1024);       /* evicts what it must, not all */
	dns_cache_set_limit(16u << 20);
	dns_cache_flush();
	CHECK(dns_cache_bytes() == 0);
}

/* Several threads, one channel each, one shared cache: results stay right
 * (and ASan/UBSan see no race on the cache's memory). */
static void *
thread_lookups(void *arg)
{
	int port = *(int *)arg, bad = 0;
	struct dns *d = cares_for_test(port, 2000);
	struct arena *a = arena_new();
	for (int i = 0; i < 200; i++) {
		struct dns_answer ans;
		const char *name = i % 2 ? "example.test" : "mx.example.test";
		enum dns_type t = i % 2 ? DNS_T_TXT : DNS_T_A;
		if (dns_lookup(d, a, name, t, &ans) != DNS_OK || ans.n != 1)
			bad++;
		if (i % 50 == 0)
			dns_cache_flush();
	}
	dns_free(&d);
	arena_free(&a);
	return (void *)(intptr_t)bad;
}

TEST(cares_threads_share_cache)
{
	if (dnsmasq.pid <= 0)
		SKIP("dnsmasq (/usr/sbin/dnsmasq) could not be started");
	CHECK_INT(test_in_threads(4, thread_lookups, &dnsmasq.port), 0);
}

TEST(cares_bad_server)
{
	struct pr_why why;
	pr_why_clear(&why);
	struct dns *d = dns_new_cares("not an address", 1000, &why);
	CHECK(d == NULL);
	CHECK_INT(why.code, PR_E_CONFIG);
}

int
main(void)
{
	RUN(memory_statuses);
	RUN(memory_timeout_order_and_cname);
	test_dnsmasq_start(&dnsmasq, zone, 0);
	RUN(cares_records);
	RUN(cares_threads_share_cache);
	RUN(cares_cache_shared);
	RUN(cares_timeout_bounded);
	RUN(cares_bad_server);
	RUN(cache_honours_ttl);
	RUN(cache_byte_budget);
	dnsmasq_stop();
	return test_summary("dns");
}
