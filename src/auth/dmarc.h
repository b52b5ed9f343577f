/* dmarc.h - DMARC (RFC 7489) for one message's From domain.
 *
 * A pure function over the DNS port: fetch _dmarc.<from-domain>, else
 * _dmarc.<organisational domain> (Public Suffix List via libpsl, Debian's
 * publicsuffix file), parse the record, check relaxed/strict alignment of
 * the passing DKIM d= domains and the passing SPF domain with the From
 * domain.  RFC 7489, not RFC 9989: no DNS tree walk, no psd=, and np= /
 * t= are parsed and reported but not applied (np needs an existence query
 * RFC 7489 does not have).
 */
#ifndef PR_DMARC_H
#define PR_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

struct arena;
struct dns;

enum dmarc_policy {
	DMARC_P_UNSET = 0, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT
};
const char *dmarc_policy_name(enum dmarc_policy p);   /* "none", ...; NULL for UNSET */

struct dmarc_record {
	enum dmarc_policy p, sp, np;   /* sp/np UNSET when absent */
	bool adkim_strict, aspf_strict;
	int pct;                       /* 0..100, default 100 */
	bool testing;                  /* t=y (RFC 9989; reported only) */
	bool has_rua;                  /* rua= present (a record without a valid
	                                  p= then counts as p=none, 6.6.3) */
};

struct dmarc_result {
	enum auth_result result;       /* AUTH_PASS, AUTH_FAIL, AUTH_NONE,
	                                  AUTH_TEMPERROR, AUTH_PERMERROR */
	enum dmarc_policy policy;      /* p, sp or np that applies; UNSET if no record */
	const char *domain;            /* the From domain (lowercased) */
	const char *org_domain;        /* its organisational domain */
	const char *policy_domain;     /* the domain whose record was used, or NULL */
	struct dmarc_record record;
	bool dkim_aligned, spf_aligned;
	const char *dkim_aligned_domain;  /* the first aligned passing d=, or NULL */
	const char *spf_aligned_domain;   /* spf_pass_domain if aligned, or NULL */
	const char *detail;            /* plain words, never NULL */
};

/* dkim_pass_domains: d= of signatures that passed (n of them);
 * spf_pass_domain: the domain SPF passed for, or NULL.  Allocates in a. */
void dmarc_eval(struct dns *dns, struct arena *a, const char *from_domain,
                const char *const *dkim_pass_domains, size_t n,
                const char *spf_pass_domain, struct dmarc_result *out);

/* The policy to act on after pct= sampling; roll is uniform in 0..99.
 * Out-of-sample reject -> quarantine, quarantine -> none (RFC 7489 6.6.4). */
enum dmarc_policy dmarc_effective_policy(const struct dmarc_result *r, unsigned roll);

/* RFC 7489 3.1: strict = same name (case-insensitive); relaxed = same
 * organisational domain.  Used by auth.c for "DKIM aligned with From". */
bool dmarc_aligned(const char *domain_a, const char *domain_b, bool strict);

/* The organisational domain (registrable domain per the PSL), lowercased,
 * allocated in a; the name itself if it has none (a public suffix). */
const char *dmarc_org_domain(struct arena *a, const char *domain);

/* Parse a TXT value.  Returns 1 if it is a DMARC record (v=DMARC1 first),
 * 0 if not one (ignore it), -1 if it is one but broken (invalid p=). */
int dmarc_parse_record(const char *txt, size_t len, struct dmarc_record *r);

/* Drops the parsed policies cached from DNS answers (tests). */
void dmarc_cache_flush(void);

#endif
