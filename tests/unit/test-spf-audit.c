/* test-spf-audit.c - the static SPF walk (spf_audit.c) against zones in
 * memory, and agreement with the evaluator: for the issue's record the
 * audit names the 11th lookup and spf_check_host() gives permerror to the
 * server only mx lists, after exactly the lookups the audit counted.
 */
#include <string.h>

#include "auth/dns.h"
#include "auth/spf.h"
#include "auth/spf_audit.h"
#include "core/arena.h"
#include "test.h"

static void
txt(struct dns *d, const char *name, const char *value)
{
	dns_zone_add(d, name, DNS_T_TXT, value, strlen(value));
}

static void
host(struct dns *d, const char *name, const char *ip)
{
	dns_zone_add(d, name, DNS_T_A, ip, strlen(ip));
}

/* The records of issue 13: include:a.example costs 5 (three includes, one
 * nested again), include:b.example 5 (four a terms), mx the 11th. */
static struct dns *
issue_zone(void)
{
	struct dns *d = dns_new_memory();
	txt(d, "client.example", "v=spf1 include:a.example include:b.example mx ?all");
	txt(d, "a.example", "v=spf1 include:a1.example include:a2.example include:a3.example -all");
	txt(d, "a1.example", "v=spf1 ip4:192.0.2.0/24 -all");
	txt(d, "a2.example", "v=spf1 include:a2x.example -all");
	txt(d, "a2x.example", "v=spf1 ip4:198.51.100.0/28 -all");
	txt(d, "a3.example", "v=spf1 ip4:198.51.100.64/28 -all");
	txt(d, "b.example", "v=spf1 a:b1.example a:b2.example a:b3.example a:b4.example -all");
	for (int i = 1; i <= 4; i++) {
		char n[32], ip[32];
		snprintf(n, sizeof(n), "b%d.example", i);
		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		host(d, n, ip);
	}
	dns_zone_add(d, "client.example", DNS_T_MX, "10 mx.client.example", 20);
	host(d, "mx.client.example", "203.0.113.200");
	return d;
}

static bool
has_note(const struct spf_audit *au, const char *part)
{
	for (size_t i = 0; i < au->nnotes; i++)
		if (strstr(au->notes[i], part))
			return true;
	return false;
}

TEST(issue_record_counts_eleven)
{
	struct dns *d = issue_zone();
	struct arena *a = arena_new();
	struct spf_audit au;
	CHECK_INT(spf_audit_domain(d, a, "client.example", &au), SPF_AUDIT_BROKEN);
	CHECK_INT(au.lookups, 11);
	CHECK_STR(au.over_path, "client.example \u2192 mx");
	CHECK(au.problem && strstr(au.problem, "more than 10 DNS lookups"));
	CHECK(au.problem && strstr(au.problem, "11 of 10 DNS lookups in the worst case"));
	CHECK_STR(au.all_term, "?all");
	CHECK_INT(au.unlisted, SPF_NEUTRAL);
	CHECK_STR(au.all_sentence, "the record ends in ?all: servers it does not list are neither "
	          "allowed nor refused");
	/* The tree: client (11), a (5) with a1 (1), a2 (2), a2x (1), a3 (1), b (5). */
	CHECK_INT(au.nnodes, 7);
	CHECK_STR(au.nodes[1].via, "include:a.example");
	CHECK_INT(au.nodes[1].cost, 5);
	CHECK_STR(au.nodes[3].via, "include:a2.example");
	CHECK_INT(au.nodes[3].cost, 2);
	CHECK_INT(au.nodes[4].depth, 3);
	CHECK_STR(au.nodes[6].via, "include:b.example");
	CHECK_INT(au.nodes[6].cost, 5);
	CHECK_INT(au.nodes[6].own, 4);
	CHECK_INT(au.nodes[0].cost, 11);
	/* b1..b4 have no AAAA: an IPv6 server hits the void limit at b3 */
	CHECK_INT(au.voids, 4);
	CHECK_STR(au.void_path, "client.example \u2192 include:b.example \u2192 a:b3.example (for a "
	          "server using IPv6)");

	/* The evaluator agrees: the mx host is refused with permerror after
	 * the 11th lookup; the nested include's network passes after 2. */
	struct spf_request rq = {.ip = "203.0.113.200", .domain = "client.example"};
	struct spf_outcome o;
	CHECK_INT(spf_check_host(d, a, &rq, &o), SPF_PERMERROR);
	CHECK(o.too_many_lookups);
	CHECK_INT(o.lookups, 11);
	rq.ip = "192.0.2.1";
	CHECK_INT(spf_check_host(d, a, &rq, &o), SPF_PASS);
	CHECK_INT(o.lookups, 2);
	rq.ip = "2001:db8::1";
	CHECK_INT(spf_check_host(d, a, &rq, &o), SPF_PERMERROR);
	CHECK_INT(o.voids, 3);
	arena_free(&a);
	dns_free(&d);
}

TEST(within_limit_and_all_terms)
{
	struct dns *d = dns_new_memory();
	txt(d, "ok.example", "v=spf1 ip4:192.0.2.1 include:inc.example mx -all a:after.example");
	txt(d, "inc.example", "v=spf1 ip4:198.51.100.0/24 ~all");
	dns_zone_add(d, "ok.example", DNS_T_MX, "10 mx.ok.example", 16);
	host(d, "mx.ok.example", "192.0.2.25");
	txt(d, "soft.example", "v=spf1 a ~all");
	host(d, "soft.example", "192.0.2.26");
	txt(d, "open.example", "v=spf1 +all");
	txt(d, "noall.example", "v=spf1 ip4:192.0.2.2");
	txt(d, "redir.example", "v=spf1 ip4:192.0.2.3 redirect=ok.example");
	struct arena *a = arena_new();
	struct spf_audit au;
	CHECK_INT(spf_audit_domain(d, a, "ok.example", &au), SPF_AUDIT_OK);
	CHECK_INT(au.lookups, 2);       /* nothing after -all counts */
	CHECK(au.over_path == NULL);
	CHECK_STR(au.all_term, "-all");
	CHECK_INT(au.unlisted, SPF_FAIL);
	CHECK_INT(spf_audit_domain(d, a, "soft.example", &au), SPF_AUDIT_OK);
	CHECK_INT(au.unlisted, SPF_SOFTFAIL);
	CHECK_INT(spf_audit_domain(d, a, "open.example", &au), SPF_AUDIT_OK);
	CHECK_INT(au.unlisted, SPF_PASS);
	CHECK(strstr(au.all_sentence, "lets any server send"));
	CHECK_INT(spf_audit_domain(d, a, "noall.example", &au), SPF_AUDIT_OK);
	CHECK(au.all_term == NULL);
	CHECK_INT(au.unlisted, SPF_NEUTRAL);
	CHECK(strstr(au.all_sentence, "no all term"));
	/* redirect: one lookup for itself, the target's cost, its all term */
	CHECK_INT(spf_audit_domain(d, a, "redir.example", &au), SPF_AUDIT_OK);
	CHECK_INT(au.lookups, 3);
	CHECK_STR(au.all_term, "-all");
	CHECK(strstr(au.all_sentence, "through redirect= to ok.example"));
	CHECK_INT(spf_audit_domain(d, a, "none.example", &au), SPF_AUDIT_NONE);
	arena_free(&a);
	dns_free(&d);
}

TEST(problems_found_statically)
{
	struct dns *d = dns_new_memory();
	/* three names that do not exist: the 3rd void lookup is a permerror */
	txt(d, "void.example", "v=spf1 a:gone1.example mx:gone2.example exists:gone3.example -all");
	txt(d, "loop.example", "v=spf1 include:loop2.example -all");
	txt(d, "loop2.example", "v=spf1 include:loop.example -all");
	txt(d, "noinc.example", "v=spf1 include:norecord.example -all");
	host(d, "norecord.example", "192.0.2.9");
	txt(d, "nested.example", "v=spf1 include:bad.example -all");
	txt(d, "bad.example", "v=spf1 ip4:1.2.3.4 frob -all");
	txt(d, "plus.example", "v=spf1 include:open.example -all");
	txt(d, "open.example", "v=spf1 +all");
	txt(d, "macro.example", "v=spf1 include:%{i}._spf.example ptr -all");
	txt(d, "manymx.example", "v=spf1 mx -all");
	for (int i = 0; i < 11; i++) {
		char v[40];
		snprintf(v, sizeof(v), "%d mx%d.manymx.example", i, i);
		dns_zone_add(d, "manymx.example", DNS_T_MX, v, strlen(v));
	}
	struct arena *a = arena_new();
	struct spf_audit au;
	CHECK_INT(spf_audit_domain(d, a, "void.example", &au), SPF_AUDIT_BROKEN);
	CHECK_INT(au.voids, 3);
	CHECK_STR(au.void_path, "void.example \u2192 exists:gone3.example");
	CHECK_INT(spf_audit_domain(d, a, "loop.example", &au), SPF_AUDIT_BROKEN);
	CHECK(au.problem && strstr(au.problem, "loop"));
	CHECK_INT(spf_audit_domain(d, a, "noinc.example", &au), SPF_AUDIT_BROKEN);
	CHECK(au.problem && strstr(au.problem, "without an SPF record"));
	CHECK_INT(spf_audit_domain(d, a, "nested.example", &au), SPF_AUDIT_BROKEN);
	CHECK(au.problem && strstr(au.problem, "frob"));
	CHECK(au.problem && strstr(au.problem, "include:bad.example"));
	CHECK_INT(spf_audit_domain(d, a, "plus.example", &au), SPF_AUDIT_OK);
	CHECK(has_note(&au, "include:open.example lets any server send"));
	CHECK_INT(spf_audit_domain(d, a, "macro.example", &au), SPF_AUDIT_OK);
	CHECK(au.dynamic);
	CHECK_INT(au.lookups, 2);
	CHECK(has_note(&au, "depends on the sender"));
	CHECK(has_note(&au, "ptr is slow"));
	CHECK_INT(spf_audit_domain(d, a, "manymx.example", &au), SPF_AUDIT_BROKEN);
	CHECK(au.problem && strstr(au.problem, "11 MX hosts"));
	arena_free(&a);
	dns_free(&d);
}

TEST(dns_trouble_is_not_missing)
{
	struct dns *d = dns_new_memory();
	txt(d, "t.example", "v=spf1 include:slow.example -all");
	dns_zone_timeout(d, "slow.example");
	dns_zone_timeout(d, "top-slow.example");
	struct arena *a = arena_new();
	struct spf_audit au;
	CHECK_INT(spf_audit_domain(d, a, "t.example", &au), SPF_AUDIT_DNS);
	CHECK(au.problem && strstr(au.problem, "slow.example"));
	CHECK_INT(spf_audit_domain(d, a, "top-slow.example", &au), SPF_AUDIT_DNS);
	arena_free(&a);
	dns_free(&d);
}

/* Records that would make a naive walker run away: a chain 50 deep. */
TEST(bounded_walk)
{
	struct dns *d = dns_new_memory();
	for (int i = 0; i < 50; i++) {
		char n[32], v[64];
		snprintf(n, sizeof(n), "c%d.example", i);
		snprintf(v, sizeof(v), "v=spf1 include:c%d.example -all", i + 1);
		txt(d, n, v);
	}
	struct arena *a = arena_new();
	struct spf_audit au;
	CHECK_INT(spf_audit_domain(d, a, "c0.example", &au), SPF_AUDIT_BROKEN);
	CHECK(au.lookups_capped);
	CHECK(au.lookups > 10);
	CHECK(au.problem && strstr(au.problem, "at least"));
	arena_free(&a);
	dns_free(&d);
}

int
main(void)
{
	RUN(issue_record_counts_eleven);
	RUN(within_limit_and_all_terms);
	RUN(problems_found_statically);
	RUN(dns_trouble_is_not_missing);
	RUN(bounded_walk);
	return test_summary("spf-audit");
}
