/* spf.c - RFC 7208 check_host(): record selection, term parsing and
 * evaluation.  See spf.h for why this is our own evaluator.
 *
 * Order of work, as the RFC asks: fetch the TXT RRset and select the one
 * "v=spf1" record (4.4, 4.5; several is permerror), parse the whole
 * record (a syntax error anywhere is permerror before anything is
 * evaluated, 4.6), then evaluate the mechanisms left to right; redirect=
 * applies only when none matched; exp= is expanded only for a fail.
 * Macros live in spf_macro.c.
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

static void
spf_why(struct spf_ctx *c, const char *fmt, const char *arg)
{
	if (c->detail == NULL)
		c->detail = arena_printf(c->a, fmt, arg);
}

/* ---- record selection ---- */

static int
fetch_record(struct dns *d, struct arena *a, const char *domain, const char **record_r,
             size_t *len_r)
{
	struct dns_answer ans;
	*record_r = NULL;
	enum dns_status st = dns_lookup(d, a, domain, DNS_T_TXT, &ans);
	if (st == DNS_TEMPFAIL)
		return -2;
	int found = 0;
	for (size_t i = 0; i < ans.n; i++) {
		const char *t = ans.rr[i].text;
		if (ans.rr[i].len >= 6 && strncasecmp(t, "v=spf1", 6) == 0 &&
		    (ans.rr[i].len == 6 || t[6] == ' ')) {
			*record_r = t;
			*len_r = ans.rr[i].len;
			found++;
		}
	}
	if (found > 1) {
		*record_r = NULL;
		return -1;
	}
	return found;
}

int
spf_fetch_record(struct dns *d, struct arena *a, const char *domain, const char **record_r)
{
	size_t len;
	return fetch_record(d, a, domain, record_r, &len);
}

/* ---- parsing ---- */

/* "/N": digits without a leading zero, at most max; -1 if bad. */
static int
parse_cidr(const char *s, size_t n, int max)
{
	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* dual-cidr-length = [ "/" ip4-cidr ] [ "//" ip6-cidr ] */
static int
parse_dual_cidr(const char *s, size_t n, struct spf_term *t)
{
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (n == 0)
		return 0;
	const char *v6 = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '/' && s[i + 1] == '/') {
			v6 = s + i;
			break;
		}
	size_t v4len = v6 ? (size_t)(v6 - s) : n;
	if (v4len > 0 && (s[0] != '/' || (t->cidr4 = parse_cidr(s + 1, v4len - 1, 32)) < 0))
		return -1;
	if (v6 && (t->cidr6 = parse_cidr(v6 + 2, n - v4len - 2, 128)) < 0)
		return -1;
	return 0;
}

/* Where the cidr suffix of "a:spec/24" begins: the first '/' outside %{}
 * after which a valid dual-cidr-length runs to the end; n if none (then
 * the whole is the domain-spec: "a:foo:bar/baz.example.com" is legal). */
static size_t
spec_end(const char *s, size_t n)
{
	int depth = 0;
	struct spf_term probe;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '{')
			depth++;
		else if (s[i] == '}')
			depth--;
		else if (s[i] == '/' && depth <= 0 && parse_dual_cidr(s + i, n - i, &probe) == 0)
			return i;
	}
	return n;
}

static int
parse_ip(const char *s, size_t n, struct spf_term *t)
{
	const char *slash = memchr(s, '/', n);
	size_t end = slash ? (size_t)(slash - s) : n;
	char ip[64];
	if (end == 0 || end >= sizeof(ip))
		return -1;
	memcpy(ip, s, end);
	ip[end] = '\0';
	int af = t->mech == M_IP4 ? AF_INET : AF_INET6;
	if (inet_pton(af, ip, t->net) != 1)
		return -1;
	if (end == n) {
		t->cidr4 = 32, t->cidr6 = 128;
		return 0;
	}
	int v = parse_cidr(s + end + 1, n - end - 1, af == AF_INET ? 32 : 128);
	if (v < 0)
		return -1;
	t->cidr4 = t->cidr6 = v;
	return 0;
}

static const struct {
	const char *name;
	enum spf_mech mech;
} mechs[] = {{"all", M_ALL}, {"include", M_INCLUDE}, {"a", M_A}, {"mx", M_MX}, {"ptr", M_PTR},
             {"ip4", M_IP4}, {"ip6", M_IP6}, {"exists", M_EXISTS}};

/* The mechanism's argument after its name: rest[0..n). */
static int
parse_mech_arg(struct spf_term *t, const char *rest, size_t n)
{
	bool colon = n > 0 && rest[0] == ':';
	switch (t->mech) {
	case M_ALL:
		return n == 0 ? 0 : -1;
	case M_INCLUDE:
	case M_EXISTS:
		t->spec = rest + 1, t->speclen = n - 1;
		return colon && spf_domain_spec_ok(t->spec, t->speclen) ? 0 : -1;
	case M_IP4:
	case M_IP6:
		return colon ? parse_ip(rest + 1, n - 1, t) : -1;
	case M_PTR:
		if (n == 0)
			return 0;
		t->spec = rest + 1, t->speclen = n - 1;
		return colon && spf_domain_spec_ok(t->spec, t->speclen) ? 0 : -1;
	default: {              /* a, mx: [":" domain-spec] [dual-cidr] */
		size_t off = 0;
		if (colon) {
			size_t e = spec_end(rest + 1, n - 1);
			t->spec = rest + 1, t->speclen = e;
			if (!spf_domain_spec_ok(t->spec, e))
				return -1;
			off = e + 1;
		} else if (n > 0 && rest[0] != '/') {
			return -1;
		}
		return parse_dual_cidr(rest + off, n - off, t);
	}
	}
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static size_t
name_len(const char *s, size_t n)
{
	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	size_t i = 1;
	while (i < n && (isalnum((unsigned char)s[i]) || strchr("-_.", s[i])))
		i++;
	return i;
}

static int
parse_modifier(struct spf_ctx *c, struct spf_record *r, const char *s, size_t nl, size_t n)
{
	const char *v = s + nl + 1;
	size_t vl = n - nl - 1;
	bool redir = nl == 8 && strncasecmp(s, "redirect", 8) == 0;
	bool exp = nl == 3 && strncasecmp(s, "exp", 3) == 0;
	if (!redir && !exp)                  /* unknown modifier: checked, ignored */
		return spf_macro_check(v, vl, false);
	const char **slot = redir ? &r->redirect : &r->exp;
	if (*slot) {
		spf_why(c, "the record has two %s= modifiers", redir ? "redirect" : "exp");
		return -1;
	}
	if (!spf_domain_spec_ok(v, vl))
		return -1;
	*slot = arena_strndup(c->a, v, vl);
	return 0;
}

static int
parse_term(struct spf_ctx *c, struct spf_record *r, const char *s, size_t n)
{
	struct spf_term *t = &r->term[r->n];
	memset(t, 0, sizeof(*t));
	t->text = arena_strndup(c->a, s, n);
	t->qual = '+';
	size_t i = 0;
	if (strchr("+-~?", s[0]))
		t->qual = s[i++];
	size_t nl = name_len(s + i, n - i);
	if (nl == 0)
		return -1;
	if (i == 0 && nl < n && s[nl] == '=')
		return parse_modifier(c, r, s, nl, n);
	for (size_t k = 0; k < sizeof(mechs) / sizeof(mechs[0]); k++) {
		if (strlen(mechs[k].name) == nl && strncasecmp(s + i, mechs[k].name, nl) == 0) {
			t->mech = mechs[k].mech;
			if (parse_mech_arg(t, s + i + nl, n - i - nl) != 0)
				return -1;
			r->n++;
			return 0;
		}
	}
	return -1;
}

int
spf_parse_record(struct spf_ctx *c, const char *rec, struct spf_record *r)
{
	size_t len = strlen(rec);
	if (len > SPF_MAX_RECORD) {
		spf_why(c, "the SPF record is longer than %s bytes", "4096");
		return -1;
	}
	const char *p = rec + 6, *end = rec + len;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *e = p;
		while (e < end && *e != ' ')
			e++;
		if (e > p && r->n >= SPF_MAX_TERMS)
			return -1;
		if (e > p && parse_term(c, r, p, (size_t)(e - p)) != 0) {
			spf_why(c, "the SPF record has a syntax error at \"%s\"",
			        arena_strndup(c->a, p, (size_t)(e - p)));
			return -1;
		}
		p = e;
	}
	return 0;
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
	const char *rec;
	size_t len = 0;
	switch (fetch_record(c->d, c->a, domain, &rec, &len)) {
	case -2:
		spf_why(c, "DNS lookup of the SPF record of %s failed or timed out", domain);
		return SPF_TEMPERROR;
	case -1:
		spf_why(c, "%s publishes more than one SPF record", domain);
		return SPF_PERMERROR;
	case 0:
		*norecord_r = true;
		return SPF_NONE;
	}
	if (c->top_record == NULL)
		c->top_record = rec;
	if (memchr(rec, '\0', len)) {
		spf_why(c, "the SPF record of %s contains a NUL byte", domain);
		return SPF_PERMERROR;
	}
	struct spf_record *r = arena_alloc(c->a, sizeof(*r));
	if (spf_parse_record(c, rec, r) != 0)
		return SPF_PERMERROR;
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
