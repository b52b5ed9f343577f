/* spf.h - RFC 7208 check_host() over the DNS port.
 *
 * Why our own evaluator: libspf2, the C library of the field, passes only
 * 126 of the 203 RFC 7208 conformance tests on Debian 12, lacks the
 * CVE-2023-42118 fix and gives 127.0.0.1 an automatic pass, which would
 * make every loopback test pass SPF (see /work/shared/DEPENDENCIES.md).
 * This one runs over dns.h (c-ares in production, an in-memory zone for
 * the suite) and passes the whole openspf RFC 7208 suite
 * (tests/unit/test-spf.c), as Debian's python3-spf does.
 *
 * Limits (RFC 7208 4.6.4): 10 DNS-querying terms (include, a, mx, ptr,
 * exists, redirect) per check, 2 void lookups, 10 MX names per mx term
 * (more is permerror), the first 10 PTR names used.  A DNS failure is
 * temperror, never a match or a miss.  Allocates in the caller's arena.
 */
#ifndef PR_SPF_H
#define PR_SPF_H

#include <stdbool.h>

struct arena;
struct dns;

enum spf_result {
	SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR
};
const char *spf_result_name(enum spf_result r);   /* RFC 7208 words */

struct spf_request {
	const char *ip;          /* client address, IPv4 or IPv6 text */
	const char *domain;      /* MAIL FROM domain, or the HELO name */
	const char *sender;      /* MAIL FROM; "" or NULL: postmaster@domain */
	const char *helo;        /* %{h} */
	const char *receiver;    /* %{r}; NULL: "unknown" */
	const char *default_exp; /* explanation on fail without exp=; NULL: ours */
};

struct spf_outcome {
	enum spf_result result;
	const char *explanation;  /* on fail: the exp= text or default_exp */
	const char *detail;       /* plain words: why this result */
	const char *record;       /* the top-level record, NULL if none */
	const char *mechanism;    /* the term that matched, NULL if none */
	unsigned lookups;         /* DNS-querying terms evaluated */
	unsigned voids;           /* void lookups */
	bool too_many_lookups;    /* permerror from the 10-term limit */
};

enum spf_result spf_check_host(struct dns *d, struct arena *a, const struct spf_request *rq,
                               struct spf_outcome *out);

/* The domain's SPF record: 1 found (*record_r set), 0 none, -1 several
 * (permerror), -2 DNS trouble (temperror).  For `check domain`. */
int spf_fetch_record(struct dns *d, struct arena *a, const char *domain, const char **record_r);

#endif
