/* dmarc.c - DMARC evaluation (RFC 7489); see dmarc.h.
 *
 * Why our own and not libopendmarc: its store call can overwrite the From
 * domain (false alignment), and the whole of RFC 7489's evaluation is a
 * page of code over the DNS port and libpsl.  RFC 7489 mode (PSL
 * organisational domain) rather than RFC 9989's DNS tree walk: Debian's
 * publicsuffix package is maintained, and one query (two with the
 * fallback) per message is cheaper than up to eight.
 *
 * Policy discovery (6.6.3): TXT at _dmarc.<From domain>; records not
 * starting with exactly "v=DMARC1" are ignored; none left -> the same at
 * _dmarc.<organisational domain> (sp= applies there, else p=); more than
 * one DMARC record at a name -> no DMARC processing (result none), never
 * a fallback; a record without a valid p= counts as p=none if it has rua=,
 * else as no record.  A DNS failure is temperror, never none: "none"
 * would let forged mail through while the domain's DNS is down.
 * pct= does not change the result, only the policy acted on
 * (dmarc_effective_policy).  Parsed policies are cached per _dmarc name for
 * the TTL of their DNS answer (rec_cache.h), like SPF records.
 */
#include "auth/dmarc.h"

#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dns.h"
#include "auth/rec_cache.h"
#include "core/arena.h"

#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
/* TXT values at one _dmarc name beyond this are not worth reading. */
#define DMARC_MAX_TXT 16
#define DMARC_MAX_RECORD 2048
/* Parsed policies kept at once (rec_cache.h): small fixed-size values. */
#define DMARC_CACHE_MAX_ENTRIES 20000
#define DMARC_CACHE_MAX_BYTES (4u << 20)

static struct rec_cache dmarc_records = REC_CACHE_INIT(DMARC_CACHE_MAX_ENTRIES, DMARC_CACHE_MAX_BYTES);

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl;

static void
psl_init(void)
{
	psl_ctx_t *p = psl_latest(NULL);
	if (p == NULL)
		p = psl_load_file(PSL_FILE);
	psl = p ? p : psl_builtin();
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const names[] = {NULL, "none", "quarantine", "reject"};
	return (unsigned)p < 4 ? names[p] : NULL;
}

static char *
lower_domain(struct arena *a, const char *d)
{
	char *s = arena_strdup(a, d ? d : "");
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return s;
}

/* Each worker's last few organizational domains: a message asks for its
 * From domain's at least once, and mail comes in runs from the same
 * domains; libpsl's lookup and its UTF-8 lowering were a third of the
 * DMARC check.  The list is fixed for the process (psl_init). */
#define ORG_CACHE 8
#define ORG_CACHE_NAME 256

struct org_entry {
	char domain[ORG_CACHE_NAME], org[ORG_CACHE_NAME];
};

static _Thread_local struct org_entry org_cache[ORG_CACHE];
static _Thread_local unsigned org_next;

static const char *
org_domain_lookup(struct arena *a, const char *low)
{
	pthread_once(&psl_once, psl_init);
	char *utf = NULL;
	if (psl_str_to_utf8lower(low, "utf-8", NULL, &utf) == PSL_SUCCESS && utf != NULL) {
		low = arena_strdup(a, utf);
		psl_free_string(utf);
	}
	const char *reg = psl ? psl_registrable_domain(psl, low) : NULL;
	return reg ? reg : low;
}

const char *
dmarc_org_domain(struct arena *a, const char *domain)
{
	const char *low = lower_domain(a, domain);
	size_t n = strlen(low);
	for (int i = 0; i < ORG_CACHE && n < ORG_CACHE_NAME; i++)
		if (strcmp(org_cache[i].domain, low) == 0 && org_cache[i].org[0])
			return arena_strdup(a, org_cache[i].org);
	const char *org = org_domain_lookup(a, low);
	if (n > 0 && n < ORG_CACHE_NAME && strlen(org) < ORG_CACHE_NAME) {
		struct org_entry *e = &org_cache[org_next++ % ORG_CACHE];
		memcpy(e->domain, low, n + 1);
		memcpy(e->org, org, strlen(org) + 1);
	}
	return org;
}

/* The same name, ignoring case and trailing dots: no copies. */
static bool
same_domain(const char *x, const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);
	while (nx > 0 && x[nx - 1] == '.')
		nx--;
	while (ny > 0 && y[ny - 1] == '.')
		ny--;
	return nx == ny && strncasecmp(x, y, nx) == 0;
}

bool
dmarc_aligned(const char *domain_a, const char *domain_b, bool strict)
{
	if (domain_a == NULL || domain_b == NULL || !*domain_a || !*domain_b)
		return false;
	if (same_domain(domain_a, domain_b))
		return true;
	if (strict)
		return false;
	struct arena *a = arena_new();
	bool ok = strcmp(dmarc_org_domain(a, domain_a), dmarc_org_domain(a, domain_b)) == 0;
	arena_free(&a);
	return ok;
}

enum dmarc_policy
dmarc_effective_policy(const struct dmarc_result *r, unsigned roll)
{
	if (r->result != AUTH_FAIL || roll < (unsigned)r->record.pct)
		return r->policy;
	if (r->policy == DMARC_P_REJECT)
		return DMARC_P_QUARANTINE;
	return r->policy == DMARC_P_QUARANTINE ? DMARC_P_NONE : r->policy;
}

static bool
wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && wsp(**p))
		(*p)++, (*n)--;
	while (*n > 0 && wsp((*p)[*n - 1]))
		(*n)--;
}

static bool
word(const char *v, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(v, w, n) == 0;
}

/* -1 for a value that is not a policy. */
static int
policy_of(const char *v, size_t n)
{
	if (word(v, n, "none"))
		return DMARC_P_NONE;
	if (word(v, n, "quarantine"))
		return DMARC_P_QUARANTINE;
	return word(v, n, "reject") ? DMARC_P_REJECT : -1;
}

struct rstate {
	bool bad_p, bad_sp;
};

static void
apply_tag(struct dmarc_record *r, struct rstate *st, const char *k, size_t kn,
          const char *v, size_t vn)
{
	int pol;
	if (word(k, kn, "p")) {
		pol = policy_of(v, vn);
		st->bad_p = pol < 0;
		r->p = pol < 0 ? DMARC_P_UNSET : (enum dmarc_policy)pol;
	} else if (word(k, kn, "sp") || word(k, kn, "np")) {
		pol = policy_of(v, vn);
		if (kn == 2 && (k[0] == 's' || k[0] == 'S'))
			st->bad_sp = pol < 0;
		enum dmarc_policy *dst = (k[0] == 's' || k[0] == 'S') ? &r->sp : &r->np;
		*dst = pol < 0 ? DMARC_P_UNSET : (enum dmarc_policy)pol;
	} else if (word(k, kn, "adkim"))
		r->adkim_strict = word(v, vn, "s");
	else if (word(k, kn, "aspf"))
		r->aspf_strict = word(v, vn, "s");
	else if (word(k, kn, "t"))
		r->testing = word(v, vn, "y");
	else if (word(k, kn, "rua"))
		r->has_rua = memchr(v, ':', vn) != NULL;
	else if (word(k, kn, "pct")) {
		char tmp[8] = {0};
		char *end = NULL;
		memcpy(tmp, v, vn < 7 ? vn : 7);
		long pct = strtol(tmp, &end, 10);
		if (vn > 0 && vn < 4 && end && *end == '\0' && pct >= 0 && pct <= 100)
			r->pct = (int)pct;
	}
}

int
dmarc_parse_record(const char *txt, size_t len, struct dmarc_record *r)
{
	struct rstate st = {false, false};
	memset(r, 0, sizeof(*r));
	r->pct = 100;
	size_t i = 0, nspec = 0;
	while (i <= len) {
		const char *semi = memchr(txt + i, ';', len - i);
		size_t end = semi ? (size_t)(semi - txt) : len;
		const char *spec = txt + i, *eq = memchr(spec, '=', end - i);
		size_t sn = end - i;
		i = end + 1;
		trim(&spec, &sn);
		if (sn == 0)
			continue;
		if (eq == NULL)
			return nspec == 0 ? 0 : -1;
		const char *k = spec, *v = eq + 1;
		size_t kn = (size_t)(eq - spec), vn = (size_t)(spec + sn - v);
		trim(&k, &kn);
		trim(&v, &vn);
		if (nspec++ == 0) {
			if (!word(k, kn, "v") || vn != 6 || memcmp(v, "DMARC1", 6) != 0)
				return 0;
			continue;
		}
		apply_tag(r, &st, k, kn, v, vn);
	}
	if (nspec == 0)
		return 0;
	if (r->p == DMARC_P_UNSET || st.bad_sp) {
		if (!r->has_rua)
			return -1;
		r->p = DMARC_P_NONE;       /* 6.6.3: act as p=none, keep processing */
		if (st.bad_sp)
			r->sp = DMARC_P_UNSET;
	}
	return 1;
}

enum fetch { F_FOUND, F_NONE, F_TEMP, F_MULTI, F_BROKEN };

/* What one _dmarc name gave: kept in the cache of parsed records. */
struct fetched {
	enum fetch f;
	struct dmarc_record rec;
};

/* The TXT RRset at name made into a policy (6.6.3). */
static void
select_record(const struct dns_answer *ans, struct fetched *out)
{
	int found = 0, last = 0;
	for (size_t i = 0; i < ans->n && i < DMARC_MAX_TXT; i++) {
		struct dmarc_record r;
		if (ans->rr[i].type != DNS_T_TXT || ans->rr[i].len > DMARC_MAX_RECORD)
			continue;
		int k = dmarc_parse_record(ans->rr[i].text, ans->rr[i].len, &r);
		if (k != 0) {
			found++;
			last = k;
			out->rec = r;
		}
	}
	out->f = found > 1 ? F_MULTI : found == 0 ? F_NONE : last < 0 ? F_BROKEN : F_FOUND;
}

/* Through the cache of parsed records (rec_cache.h) when the DNS port has
 * a scope: a busy sender's policy is fetched and parsed once per TTL.  DNS
 * trouble is never cached. */
static enum fetch
fetch(struct dns *dns, struct arena *a, const char *domain, struct dmarc_record *rec)
{
	char *name = arena_printf(a, "_dmarc.%s", domain);
	const char *scope = strlen(name) < 256 ? dns_cache_scope(dns) : NULL;
	const struct fetched *hit = scope ? rec_cache_get(&dmarc_records, scope, name, a) : NULL;
	if (hit) {
		*rec = hit->rec;
		return hit->f;
	}
	struct dns_answer ans;
	enum dns_status s = dns_lookup(dns, a, name, DNS_T_TXT, &ans);
	if (s == DNS_TEMPFAIL)
		return F_TEMP;
	struct fetched local;
	struct arena *own = scope ? arena_new() : NULL;
	struct fetched *got = own ? arena_alloc(own, sizeof(*got)) : memset(&local, 0, sizeof(local));
	got->f = F_NONE;
	if (s == DNS_OK)
		select_record(&ans, got);
	*rec = got->rec;
	enum fetch f = got->f;
	if (own)
		rec_cache_put(&dmarc_records, scope, name, ans.ttl, &own, got, a);
	return f;
}

void
dmarc_cache_flush(void)
{
	rec_cache_flush(&dmarc_records);
}

static void
align(struct arena *a, struct dmarc_result *out, const char *const *dk, size_t n, const char *spf)
{
	for (size_t i = 0; i < n && out->dkim_aligned_domain == NULL; i++) {
		const char *d = lower_domain(a, dk[i]);
		if (strcmp(d, out->domain) == 0
		    || (!out->record.adkim_strict && *d && strcmp(dmarc_org_domain(a, d), out->org_domain) == 0))
			out->dkim_aligned_domain = dk[i];
	}
	if (spf != NULL && *spf) {
		const char *d = lower_domain(a, spf);
		if (strcmp(d, out->domain) == 0
		    || (!out->record.aspf_strict && strcmp(dmarc_org_domain(a, d), out->org_domain) == 0))
			out->spf_aligned_domain = spf;
	}
	out->dkim_aligned = out->dkim_aligned_domain != NULL;
	out->spf_aligned = out->spf_aligned_domain != NULL;
}

static const char *
no_policy_detail(struct arena *a, enum fetch f, const char *name)
{
	switch (f) {
	case F_TEMP:
		return arena_printf(a, "the DNS lookup of _dmarc.%s failed", name);
	case F_MULTI:
		return arena_printf(a, "_dmarc.%s publishes more than one DMARC record", name);
	case F_BROKEN:
		return arena_printf(a, "the DMARC record at _dmarc.%s has no valid p=", name);
	default:
		return "the domain publishes no DMARC record";
	}
}

void
dmarc_eval(struct dns *dns, struct arena *a, const char *from_domain,
           const char *const *dkim_pass_domains, size_t n,
           const char *spf_pass_domain, struct dmarc_result *out)
{
	memset(out, 0, sizeof(*out));
	out->result = AUTH_NONE;
	out->domain = lower_domain(a, from_domain);
	if (*out->domain == '\0') {
		out->result = AUTH_PERMERROR;
		out->detail = "the message has no From domain to check";
		return;
	}
	out->org_domain = dmarc_org_domain(a, out->domain);
	const char *where = out->domain;
	enum fetch f = fetch(dns, a, where, &out->record);
	bool sub = false;
	if (f == F_NONE && strcmp(out->org_domain, out->domain) != 0) {
		where = out->org_domain;
		f = fetch(dns, a, where, &out->record);
		sub = true;
	}
	if (f != F_FOUND) {
		out->result = f == F_TEMP ? AUTH_TEMPERROR : AUTH_NONE;
		out->detail = no_policy_detail(a, f, where);
		memset(&out->record, 0, sizeof(out->record));
		return;
	}
	out->policy_domain = where;
	out->policy = sub && out->record.sp != DMARC_P_UNSET ? out->record.sp : out->record.p;
	align(a, out, dkim_pass_domains, n, spf_pass_domain);
	out->result = out->dkim_aligned || out->spf_aligned ? AUTH_PASS : AUTH_FAIL;
	out->detail = out->result == AUTH_PASS
	    ? arena_printf(a, "aligned %s passed for %s", out->dkim_aligned ? "DKIM" : "SPF", out->domain)
	    : arena_printf(a, "neither DKIM nor SPF passed aligned with %s (policy %s)",
	                   out->domain, dmarc_policy_name(out->policy));
}
