/* fuzz-dmarc.c - libFuzzer target for DMARC record parsing and evaluation.
 *
 * The input is a TXT value: parsed directly (dmarc_parse_record), then
 * published as _dmarc.example.com and evaluated for From domains
 * example.com and its subdomain news.example.com (the sp= path) with one
 * aligned DKIM pass.  The first line of the input, as a From domain, also
 * goes through the organisational-domain lookup (libpsl).  Checks beyond
 * "no crash": the parsed pct is 0..100, and an accepted record has a p=.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "auth/dns.h"
#include "core/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct dmarc_record rec;
	int rc = dmarc_parse_record(s, size, &rec);
	if (rec.pct < 0 || rec.pct > 100 || (rc == 1 && rec.p == DMARC_P_UNSET))
		abort();
	struct arena *a = arena_new();
	struct dns *d = dns_new_memory();
	dns_zone_add(d, "_dmarc.example.com", DNS_T_TXT, s, size);
	static const char *const from[] = {"example.com", "news.example.com"};
	static const char *const dkim[] = {"mail.example.com"};
	for (size_t i = 0; i < 2; i++) {
		struct dmarc_result r;
		dmarc_eval(d, a, from[i], dkim, i, i ? NULL : "example.com", &r);
		if (r.detail == NULL)
			abort();
		(void)dmarc_effective_policy(&r, size % 100);
	}
	const char *nl = memchr(s, '\n', size);
	char *dom = arena_strndup(a, s, nl ? (size_t)(nl - s) : size);
	(void)dmarc_org_domain(a, dom);
	(void)dmarc_aligned(dom, "example.com", false);
	(void)dmarc_aligned(dom, "example.com", true);
	dns_free(&d);
	arena_free(&a);
	return 0;
}
