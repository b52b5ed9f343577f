/* fuzz-spf.c - libFuzzer target for SPF evaluation (spf_check_host) over
 * an in-memory DNS zone.
 *
 * Input: the first line is the TXT record of example.com (the record under
 * test, bytes as they are).  Each further line adds a zone entry, "Tname
 * value" with T one of T (TXT), A, 6 (AAAA), M (MX "pref host"), P (PTR),
 * C (CNAME) or X (name times out).  A small fixed zone gives includes,
 * MX, PTR and exp= something to find.  Each input is checked for an IPv4
 * and an IPv6 client.  Checks beyond "no crash": the result is one of the
 * seven, fail has an explanation (detail may be NULL:
 * auth.c allows it), and the DNS work stays bounded (RFC 7208
 * 4.6.4 makes ~112 queries the most a record can cause).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dns.h"
#include "auth/spf.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const base[][3] = {
	{"A", "example.com", "192.0.2.1"},
	{"A", "mail.example.com", "192.0.2.10"},
	{"6", "mail.example.com", "2001:db8::10"},
	{"M", "example.com", "10 mail.example.com"},
	{"P", "1.2.0.192.in-addr.arpa", "mail.example.com"},
	{"T", "inc.example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"},
	{"T", "exp.example.com", "%{i} is not one of %{d}'s hosts (%{s}, %{h}, %{r})"},
};

static void
add(struct dns *d, struct arena *a, char t, const char *name, const char *v, size_t n)
{
	static const char types[] = "TA6MPC";
	static const enum dns_type map[] = {DNS_T_TXT, DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_PTR,
	                                    DNS_T_CNAME};
	const char *k = t ? strchr(types, t) : NULL;
	if (t == 'X')
		dns_zone_timeout(d, name);
	else if (k != NULL)
		dns_zone_add(d, name, map[k - types], arena_strndup(a, v, n), n);
}

/* "Tname value" lines after the first one. */
static void
zone_lines(struct dns *d, struct arena *a, const char *p, const char *end)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(e - p));
		if (sp != NULL && sp > p)
			add(d, a, p[0], arena_strndup(a, p + 1, (size_t)(sp - p - 1)), sp + 1,
			    (size_t)(e - sp - 1));
		p = e + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t rlen = nl ? (size_t)(nl - s) : size;
	for (int v6 = 0; v6 < 2; v6++) {
		struct arena *a = arena_new();
		struct dns *d = dns_new_memory();
		dns_zone_add(d, "example.com", DNS_T_TXT, s, rlen);
		for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
			add(d, a, base[i][0][0], base[i][1], base[i][2], strlen(base[i][2]));
		if (nl != NULL)
			zone_lines(d, a, nl + 1, s + size);
		struct spf_request rq = {
			.ip = v6 ? "2001:db8::1" : "192.0.2.1", .domain = "example.com",
			.sender = "user@example.com", .helo = "mail.example.com", .receiver = "mx.example.net",
		};
		struct spf_outcome out;
		enum spf_result r = spf_check_host(d, a, &rq, &out);
		if (r != out.result || r > SPF_PERMERROR || spf_result_name(r) == NULL ||
		    (r == SPF_FAIL && out.explanation == NULL) ||
		    dns_lookup_count(d) > 150)
			abort();
		dns_free(&d);
		arena_free(&a);
	}
	return 0;
}
