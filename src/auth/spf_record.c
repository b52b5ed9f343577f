/* spf_record.c - a domain's SPF record: fetched (record selection, RFC
 * 7208 4.5), parsed whole (a syntax error anywhere is permerror before
 * anything is evaluated, 4.6), and kept parsed in the process-wide cache
 * (rec_cache.h) for as long as the DNS answer is valid.
 *
 * Why a cache of parsed records: every message from a busy sender would
 * otherwise fetch (from the DNS cache) and re-parse the same record and its
 * includes.  A cached record skips both; it expires with the answer it was
 * parsed from, so a changed record is read again once the old answer's TTL
 * is over, as with any DNS cache.  Outcomes that do not depend on the
 * moment are cached too (no record, several records, a broken one); DNS
 * trouble never is.  The evaluation of a record (spf.c) depends on the
 * client and the sender, so it is not cached.
 */
#include "auth/spf_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "auth/dns_private.h"
#include "auth/rec_cache.h"
#include "core/arena.h"

/* Records kept at once, and their bytes: a few thousand sender domains and
 * their includes cost well under the budget; past it the oldest go. */
#define SPF_CACHE_MAX_ENTRIES 20000
#define SPF_CACHE_MAX_BYTES (8u << 20)

static struct rec_cache spf_records = REC_CACHE_INIT(SPF_CACHE_MAX_ENTRIES, SPF_CACHE_MAX_BYTES);

/* ---- record selection ---- */

/* 1 found (*record_r, *len_r), 0 none, -1 several, -2 DNS trouble; *ttl_r:
 * how long the answer stays valid. */
static int
fetch_record(struct dns *d, struct arena *a, const char *domain, const char **record_r,
             size_t *len_r, uint32_t *ttl_r)
{
	struct dns_answer ans;
	*record_r = NULL;
	enum dns_status st = dns_lookup(d, a, domain, DNS_T_TXT, &ans);
	*ttl_r = ans.ttl;
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
	uint32_t ttl;
	return fetch_record(d, a, domain, record_r, &len, &ttl);
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

/* Room for the terms: one per space-separated word, at most SPF_MAX_TERMS
 * (records are kept in the cache: no array of the maximum each). */
static size_t
count_words(const char *p, const char *end)
{
	size_t n = 0;
	bool in_word = false;
	for (; p < end && n < SPF_MAX_TERMS; p++) {
		if (*p == ' ')
			in_word = false;
		else if (!in_word)
			in_word = true, n++;
	}
	return n;
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
	size_t words = count_words(p, end);
	r->term = arena_alloc(c->a, (words ? words : 1) * sizeof(*r->term));
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

/* ---- loading, through the cache ---- */

/* The outcome of fetching and parsing, allocated in a. */
static struct spf_loaded *
load(struct spf_ctx *c, struct arena *a, int found, const char *rec, size_t len)
{
	struct spf_loaded *l = arena_alloc(a, sizeof(*l));
	l->status = found == 0 ? SPF_LOAD_NONE : found < 0 ? SPF_LOAD_MULTI : SPF_LOAD_OK;
	if (found != 1)
		return l;
	char *text = arena_alloc(a, len + 1);
	memcpy(text, rec, len);
	l->text = text;
	struct spf_ctx pc = {.d = c->d, .a = a};
	if (memchr(rec, '\0', len))
		l->status = SPF_LOAD_NUL;
	else if (spf_parse_record(&pc, text, &l->r) != 0)
		l->status = SPF_LOAD_BAD;
	l->detail = pc.detail;
	return l;
}

const struct spf_loaded *
spf_load(struct spf_ctx *c, const char *domain)
{
	const char *scope = dns_cache_scope(c->d);
	char name[256];
	if (scope && !dns_normalise(domain, name, sizeof(name)))
		scope = NULL;
	const struct spf_loaded *hit = scope ? rec_cache_get(&spf_records, scope, name, c->a) : NULL;
	if (hit)
		return hit;
	const char *rec;
	size_t len = 0;
	uint32_t ttl = 0;
	int found = fetch_record(c->d, c->a, domain, &rec, &len, &ttl);
	if (found == -2) {
		struct spf_loaded *l = arena_alloc(c->a, sizeof(*l));
		l->status = SPF_LOAD_TEMP;
		return l;
	}
	if (scope == NULL)
		return load(c, c->a, found, rec, len);
	struct arena *own = arena_new();
	const struct spf_loaded *l = load(c, own, found, rec, len);
	rec_cache_put(&spf_records, scope, name, ttl, &own, l, c->a);
	return l;
}

void
spf_cache_flush(void)
{
	rec_cache_flush(&spf_records);
}

void
spf_cache_stats(size_t *entries_r, size_t *bytes_r)
{
	rec_cache_stats(&spf_records, entries_r, bytes_r);
}
