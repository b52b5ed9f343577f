/* spf.c - RFC 7208 check_host(): evaluation.  Record selection and term
 * parsing, and the cache of parsed records, are in spf_record.c; see spf.h
 * for why this is our own evaluator.
 *
 * Order of work, as the RFC asks: fetch the TXT RRset and select the one
 * "v=spf1" record (4.4, 4.5; several is permerror), parse the whole
 * record (a syntax error anywhere is permerror before anything is
 * evaluated, 4.6), then evaluate the mechanisms left to right; redirect=
 * applies only when none matched; exp= is expanded only for a fail.
 * Macros live in spf_macro.c, mechanisms other than include in spf_mech.c.
 */
#include "auth/spf_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"

static enum spf_result check_host(struct spf_ctx *c, const char *domain, const char **exp_r,
                                  bool *norecord_r);

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = {"none", "neutral", "pass", "fail", "softfail",
	                                    "temperror", "permerror"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}

void
spf_why(struct spf_ctx *c, const char *fmt, const char *arg)
{
	if (c->detail == NULL)
		c->detail = arena_printf(c->a, fmt, arg);
}

/* ---- evaluation ---- */

static enum spf_result
qual_result(char q)
{
	switch (q) {
	case '-': return SPF_FAIL;
	case '~': return SPF_SOFTFAIL;
	case '?': return SPF_NEUTRAL;
	default: return SPF_PASS;
	}
}

/* The target of a term: its expanded domain-spec, or the current domain. */
static const char *
term_target(struct spf_ctx *c, const struct spf_term *t, const char *domain)
{
	if (t->spec == NULL)
		return domain;
	const char *x = spf_macro_expand(c, t->spec, t->speclen, domain, false);
	return spf_domain_fit(c, x ? x : "");
}

/* exp=: one TXT record, expanded; NULL when anything is wrong (6.2: then
 * the default explanation is used).  These lookups are not counted. */
static const char *
explanation(struct spf_ctx *c, const char *exp, const char *domain)
{
	const char *x = spf_macro_expand(c, exp, strlen(exp), domain, false);
	if (x == NULL)
		return NULL;
	struct dns_answer ans;
	if (dns_lookup(c->d, c->a, spf_domain_fit(c, x), DNS_T_TXT, &ans) != DNS_OK || ans.n != 1)
		return NULL;
	return spf_macro_expand(c, ans.rr[0].text, ans.rr[0].len, domain, true);
}

static int
eval_include(struct spf_ctx *c, const char *target, enum spf_result *err_r)
{
	bool norecord = false;
	enum spf_result r = check_host(c, target, NULL, &norecord);
	switch (r) {
	case SPF_PASS:
		return EV_MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return EV_NOMATCH;
	case SPF_TEMPERROR:
		*err_r = SPF_TEMPERROR;
		return EV_ERROR;
	default:                 /* permerror; none is permerror here (5.2) */
		if (norecord && c->detail == NULL)
			c->detail = arena_printf(c->a, "include:%s names a domain without an SPF record", target);
		*err_r = SPF_PERMERROR;
		return EV_ERROR;
	}
}

bool
spf_mech_queries_dns(enum spf_mech m)
{
	return m == M_INCLUDE || m == M_A || m == M_MX || m == M_PTR || m == M_EXISTS;
}

/* Evaluates the parsed terms; returns the result, or -1 if none matched. */
static int
eval_terms(struct spf_ctx *c, const struct spf_record *r, const char *domain,
           const char **exp_r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct spf_term *t = &r->term[i];
		enum spf_result err = SPF_PERMERROR;
		if (spf_mech_queries_dns(t->mech) && !spf_count_lookup(c))
			return SPF_PERMERROR;
		const char *target = term_target(c, t, domain);
		int m = t->mech == M_INCLUDE ? eval_include(c, target, &err)
		                             : spf_eval_mech(c, t, target, &err);
		if (m == EV_ERROR)
			return (int)err;
		if (m == EV_NOMATCH)
			continue;
		enum spf_result res = qual_result(t->qual);
		c->mechanism = t->text;
		if (res == SPF_FAIL && exp_r && r->exp)
			*exp_r = explanation(c, r->exp, domain);
		return (int)res;
	}
	return -1;
}

static enum spf_result
check_host(struct spf_ctx *c, const char *domain, const char **exp_r, bool *norecord_r)
{
	const struct spf_loaded *l = spf_load(c, domain);
	switch (l->status) {
	case SPF_LOAD_TEMP:
		spf_why(c, "DNS lookup of the SPF record of %s failed or timed out", domain);
		return SPF_TEMPERROR;
	case SPF_LOAD_MULTI:
		spf_why(c, "%s publishes more than one SPF record", domain);
		return SPF_PERMERROR;
	case SPF_LOAD_NONE:
		*norecord_r = true;
		return SPF_NONE;
	default:
		break;
	}
	if (c->top_record == NULL)
		c->top_record = l->text;
	if (l->status == SPF_LOAD_NUL) {
		spf_why(c, "the SPF record of %s contains a NUL byte", domain);
		return SPF_PERMERROR;
	}
	if (l->status == SPF_LOAD_BAD) {
		if (c->detail == NULL)
			c->detail = l->detail;
		return SPF_PERMERROR;
	}
	const struct spf_record *r = &l->r;
	int res = eval_terms(c, r, domain, exp_r);
	if (res >= 0)
		return (enum spf_result)res;
	if (r->redirect == NULL)
		return SPF_NEUTRAL;
	if (!spf_count_lookup(c))
		return SPF_PERMERROR;
	const char *x = spf_macro_expand(c, r->redirect, strlen(r->redirect), domain, false);
	const char *target = spf_domain_fit(c, x ? x : "");
	bool norecord = false;
	enum spf_result rr = check_host(c, target, exp_r, &norecord);
	if (norecord) {
		spf_why(c, "redirect=%s names a domain without an SPF record", target);
		return SPF_PERMERROR;
	}
	return rr;
}

/* 4.3: a domain we can ask about: at least two labels of 1..63 octets. */
static bool
domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0, labels = 0;
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			labels++;
			label = 0;
		} else if ((unsigned char)d[i] <= ' ' || strchr("[]:@", d[i])) {
			return false;
		} else {
			label++;
		}
	}
	return labels >= 2;
}

static bool
parse_client(struct spf_ctx *c, const char *ip)
{
	if (ip && inet_pton(AF_INET, ip, c->ip) == 1) {
		c->family = AF_INET;
		return true;
	}
	if (ip == NULL || inet_pton(AF_INET6, ip, c->ip) != 1)
		return false;
	c->family = AF_INET6;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(c->ip, mapped, 12) == 0) {    /* ::ffff:a.b.c.d is IPv4 (5) */
		memmove(c->ip, c->ip + 12, 4);
		c->family = AF_INET;
	}
	return true;
}

static void
set_sender(struct spf_ctx *c, const struct spf_request *rq)
{
	const char *s = rq->sender && rq->sender[0] ? rq->sender : NULL;
	const char *at = s ? strrchr(s, '@') : NULL;
	if (s == NULL || at == NULL) {
		c->sender = arena_printf(c->a, "postmaster@%s", rq->domain);
		c->local = "postmaster";
		c->sender_domain = rq->domain;
		return;
	}
	c->sender = s;
	c->local = at == s ? "postmaster" : arena_strndup(c->a, s, (size_t)(at - s));
	c->sender_domain = at + 1;
}

enum spf_result
spf_check_host(struct dns *d, struct arena *a, const struct spf_request *rq,
               struct spf_outcome *out)
{
	struct spf_ctx c = {.d = d, .a = a, .rq = rq};
	memset(out, 0, sizeof(*out));
	const char *domain = rq->domain ? rq->domain : "";
	if (!parse_client(&c, rq->ip)) {
		out->detail = "the client address is unknown";
		return out->result = SPF_NONE;
	}
	if (!domain_ok(domain)) {
		out->detail = arena_printf(a, "\"%s\" is not a domain SPF can be checked for", domain);
		return out->result = SPF_NONE;
	}
	set_sender(&c, rq);
	const char *exp = NULL;
	bool norecord = false;
	out->result = check_host(&c, domain, &exp, &norecord);
	if (norecord)
		c.detail = arena_printf(a, "%s publishes no SPF record", domain);
	if (out->result == SPF_FAIL)
		out->explanation = exp ? exp
		                 : rq->default_exp ? rq->default_exp
		                 : arena_printf(a, "%s is not allowed to send mail for %s", rq->ip, domain);
	out->detail = c.detail;
	out->record = c.top_record;
	out->mechanism = c.mechanism;
	out->lookups = c.lookups;
	out->voids = c.voids;
	out->too_many_lookups = c.too_many;
	return out->result;
}
