/* dns_host.c - a host's addresses through postroom's own resolver, for
 * the clients that hand libcurl an address (CURLOPT_RESOLVE): the relay,
 * direct delivery's MX hosts, webhook receivers.  See dns.h. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>

#include "auth/dns.h"
#include "core/arena.h"

bool
dns_is_ip_literal(const char *host)
{
	unsigned char b[16];
	return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

size_t
dns_host_addresses(const char *server, int timeout_ms, const char *host, char addrs[][64], size_t max,
                   struct pr_why *why)
{
	if (max == 0)
		return 0;
	if (dns_is_ip_literal(host)) {
		snprintf(addrs[0], 64, "%s", host);
		return 1;
	}
	struct dns *d = dns_new_cares(server, timeout_ms, why);
	if (d == NULL)
		return 0;
	struct arena *a = arena_new();
	size_t n = 0;
	bool temp = false, exists = false;
	static const enum dns_type types[] = {DNS_T_A, DNS_T_AAAA};
	for (size_t t = 0; t < 2; t++) {
		struct dns_answer ans;
		enum dns_status st = dns_lookup(d, a, host, types[t], &ans);
		temp |= st == DNS_TEMPFAIL;
		exists |= st == DNS_OK || st == DNS_NODATA;
		for (size_t i = 0; st == DNS_OK && i < ans.n && n < max; i++)
			if (ans.rr[i].type == types[t])
				snprintf(addrs[n++], 64, "%s", ans.rr[i].text);
	}
	arena_free(&a);
	dns_free(&d);
	if (n == 0 && temp)
		pr_why_set(why, PR_E_DNS_TEMP, "the DNS lookup of '%s' failed or timed out", host);
	else if (n == 0)
		pr_why_set(why, PR_E_NOT_FOUND, exists ? "'%s' has no address (A or AAAA record)"
		                                       : "the name '%s' was not found in DNS", host);
	return n;
}
