/* spf_audit.c - the static walk behind spf_audit.h.
 *
 * Evaluation order is the RFC's: terms left to right, an include's record
 * entirely before the next term, redirect= only when no term matched (so
 * never in a record with an all term), nothing after all.  A server the
 * record does not list is matched by no term but all, so it pays for every
 * DNS-querying term before the first all of each record it reaches: that
 * sum is the worst case, and the order of the walk is the order in which
 * spf_check_host() would count, so the lookup that passes 10 is named
 * exactly.  Records are parsed by the evaluator's own parser
 * (spf_parse_record), so the audit and the verdict never disagree on
 * syntax.
 */
#include "auth/spf_audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/spf_private.h"
#include "core/arena.h"

struct walk {
	struct dns *d;
	struct arena *a;
	struct spf_audit *out;
	unsigned count;              /* lookups so far, in evaluation order */
	unsigned voids4, voids6;     /* void lookups for an IPv4 / IPv6 client */
	unsigned records;
	size_t nodes_cap;
	size_t depth;                /* index of the current record in the path */
	const char *label[SPF_AUDIT_MAX_DEPTH + 1];
	const char *dom[SPF_AUDIT_MAX_DEPTH + 1];
};

/* What a record says about servers it does not list. */
struct all_info {
	char qual;                   /* + - ~ ?, or 0: no all term */
	const char *where;           /* the record's domain */
};

static void
note(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct walk *w, const char *fmt, ...)
{
	struct spf_audit *o = w->out;
	if (o->nnotes >= SPF_AUDIT_MAX_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	o->notes[o->nnotes++] = arena_vprintf(w->a, fmt, ap);
	va_end(ap);
}

/* A reason the record is a permerror for some server: the first is the
 * problem, the rest become notes. */
static void
broken(struct walk *w, const char *text)
{
	struct spf_audit *o = w->out;
	o->status = SPF_AUDIT_BROKEN;
	if (o->problem == NULL)
		o->problem = text;
	else
		note(w, "%s", text);
}

static void
dns_trouble(struct walk *w, const char *text)
{
	struct spf_audit *o = w->out;
	if (o->status != SPF_AUDIT_BROKEN)
		o->status = SPF_AUDIT_DNS;
	if (o->problem == NULL)
		o->problem = text;
	else
		note(w, "%s", text);
}

/* "client.example → include:b.example → a:b4.example" */
static const char *
path_text(struct walk *w, const char *last)
{
	const char *s = w->label[0];
	for (size_t i = 1; i <= w->depth; i++)
		s = arena_printf(w->a, "%s \u2192 %s", s, w->label[i]);
	return last ? arena_printf(w->a, "%s \u2192 %s", s, last) : s;
}

static void
count_lookup(struct walk *w, const char *term)
{
	if (++w->count == SPF_MAX_DNS_TERMS + 1 && w->out->over_path == NULL)
		w->out->over_path = path_text(w, term);
}

/* Void lookups are counted per client family: a name with an A record
 * but no AAAA is void for every IPv6 client (the evaluator asks AAAA). */
static void
count_void(struct walk *w, bool v4, bool v6, const char *term)
{
	bool past4 = v4 && ++w->voids4 == SPF_MAX_VOID + 1;
	bool past6 = v6 && ++w->voids6 == SPF_MAX_VOID + 1;
	if ((past4 || past6) && w->out->void_path == NULL)
		w->out->void_path = arena_printf(w->a, "%s%s", path_text(w, term),
		                                 past4 && past6 ? "" : past4 ? " (for a server using IPv4)"
		                                                              : " (for a server using IPv6)");
}

static size_t
add_node(struct walk *w, const char *via)
{
	struct spf_audit *o = w->out;
	if (o->nnodes == w->nodes_cap) {
		size_t cap = w->nodes_cap ? w->nodes_cap * 2 : 16;
		struct spf_audit_node *n = arena_alloc(w->a, cap * sizeof(*n));
		if (o->nnodes)
			memcpy(n, o->nodes, o->nnodes * sizeof(*n));
		o->nodes = n;
		w->nodes_cap = cap;
	}
	struct spf_audit_node *n = &o->nodes[o->nnodes];
	memset(n, 0, sizeof(*n));
	n->via = via;
	n->depth = (unsigned)w->depth;
	return o->nnodes++;
}

static bool
has_macro(const char *s, size_t n)
{
	return s && memchr(s, '%', n) != NULL;
}

/* A domain-spec without macros as a name to look up (trailing dot off). */
static const char *
spec_name(struct walk *w, const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	return arena_strndup(w->a, s, n);
}

static bool
in_path(const struct walk *w, const char *domain)
{
	for (size_t i = 0; i <= w->depth; i++)
		if (w->dom[i] && strcasecmp(w->dom[i], domain) == 0)
			return true;
	return false;
}

static bool
is_void(enum dns_status st)
{
	return st == DNS_NXDOMAIN || st == DNS_NODATA;
}

/* a, mx, exists with a fixed target: would the lookup be void (4.6.4),
 * does the mx name more than 10 hosts?  ptr depends on the client. */
static void
check_target(struct walk *w, const struct spf_term *t, const char *target)
{
	struct dns_answer ans;
	enum dns_status st4, st6;
	switch (t->mech) {
	case M_A:
		st4 = dns_lookup(w->d, w->a, target, DNS_T_A, &ans);
		st6 = dns_lookup(w->d, w->a, target, DNS_T_AAAA, &ans);
		if (st4 == DNS_TEMPFAIL || st6 == DNS_TEMPFAIL)
			dns_trouble(w, arena_printf(w->a, "the DNS lookup of %s failed or timed out", target));
		count_void(w, is_void(st4), is_void(st6), t->text);
		return;
	case M_EXISTS:
		st4 = dns_lookup(w->d, w->a, target, DNS_T_A, &ans);
		if (st4 == DNS_TEMPFAIL)
			dns_trouble(w, arena_printf(w->a, "the DNS lookup of %s failed or timed out", target));
		count_void(w, is_void(st4), is_void(st4), t->text);
		return;
	case M_MX:
		st4 = dns_lookup(w->d, w->a, target, DNS_T_MX, &ans);
		if (st4 == DNS_TEMPFAIL)
			dns_trouble(w, arena_printf(w->a, "the DNS lookup of the MX of %s failed or timed out",
			                            target));
		count_void(w, is_void(st4), is_void(st4), t->text);
		if (st4 == DNS_OK && ans.n > SPF_MAX_MX)
			broken(w, arena_printf(w->a, "%s: %s has %zu MX hosts; more than 10 is a permerror "
			                       "(RFC 7208 4.6.4)", path_text(w, t->text), target, ans.n));
		return;
	case M_PTR:
		note(w, "%s: ptr is slow and unreliable, and RFC 7208 5.5 says not to use it (only the "
		     "first 10 names of the client's PTR are tried); list the servers with ip4/ip6 or a",
		     path_text(w, t->text));
		return;
	default:
		return;
	}
}

static void
check_wide(struct walk *w, const struct spf_term *t)
{
	if (t->qual != '+')
		return;
	if ((t->mech == M_IP4 && t->cidr4 < 8) || (t->mech == M_IP6 && t->cidr6 < 16))
		note(w, "%s allows a vast part of the Internet to send", path_text(w, t->text));
}

static unsigned walk_record(struct walk *w, const char *domain, const char *via,
                            struct all_info *all_r);

/* Into an include or redirect target (label: the term as written).
 * Returns the lookups inside it; the term itself is counted by the caller. */
static unsigned
walk_into(struct walk *w, const char *spec, size_t speclen, const char *label,
          struct all_info *all_r)
{
	all_r->qual = 0;
	all_r->where = NULL;
	if (has_macro(spec, speclen)) {
		w->out->dynamic = true;
		note(w, "%s depends on the sender (macros): the lookups inside it are not counted",
		     path_text(w, label));
		return 0;
	}
	const char *target = spec_name(w, spec, speclen);
	if (in_path(w, target)) {
		broken(w, arena_printf(w->a, "the records include each other in a loop: %s",
		                       path_text(w, label)));
		return 0;
	}
	if (w->depth + 1 > SPF_AUDIT_MAX_DEPTH) {
		w->out->lookups_capped = true;
		return 0;
	}
	w->depth++;
	unsigned inner = walk_record(w, target, label, all_r);
	w->depth--;
	return inner;
}

/* The terms of one parsed record; returns their worst-case lookups. */
static unsigned
walk_terms(struct walk *w, const char *domain, const struct spf_record *r, unsigned *own_r,
           struct all_info *all_r)
{
	unsigned cost = 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct spf_term *t = &r->term[i];
		if (t->mech == M_ALL) {
			all_r->qual = t->qual;
			all_r->where = domain;
			return cost;         /* nothing after all is ever evaluated */
		}
		check_wide(w, t);
		if (!spf_mech_queries_dns(t->mech))
			continue;
		count_lookup(w, t->text);
		cost++;
		if (t->mech == M_INCLUDE) {
			struct all_info inc;
			cost += walk_into(w, t->spec, t->speclen, t->text, &inc);
			if (inc.qual == '+' && t->qual == '+')
				note(w, "%s lets any server send: %s's record ends in +all",
				     path_text(w, t->text), inc.where);
			continue;
		}
		(*own_r)++;
		if (t->spec && has_macro(t->spec, t->speclen))
			w->out->dynamic = true;
		else
			check_target(w, t, t->spec ? spec_name(w, t->spec, t->speclen) : domain);
	}
	if (r->redirect == NULL)
		return cost;
	const char *label = arena_printf(w->a, "redirect=%s", r->redirect);
	count_lookup(w, label);
	return cost + 1 + walk_into(w, r->redirect, strlen(r->redirect), label, all_r);
}

/* Fetch, parse and walk one record.  Returns the lookups of its terms
 * (not the include/redirect that led here). */
static unsigned
walk_record(struct walk *w, const char *domain, const char *via, struct all_info *all_r)
{
	size_t ni = add_node(w, via);
	w->label[w->depth] = via;
	w->dom[w->depth] = domain;
	all_r->qual = 0;
	all_r->where = NULL;
	if (++w->records > SPF_AUDIT_MAX_RECORDS) {
		w->out->lookups_capped = true;
		w->out->nodes[ni].problem = "not followed (the audit reads at most 40 records)";
		return 0;
	}
	const char *rec, *problem = NULL;
	switch (spf_fetch_record(w->d, w->a, domain, &rec)) {
	case -2:
		problem = arena_printf(w->a, "the DNS lookup of the SPF record of %s failed or timed out",
		                       domain);
		dns_trouble(w, problem);
		break;
	case -1:
		problem = arena_printf(w->a, "%s publishes more than one SPF record (permerror)", domain);
		broken(w, problem);
		break;
	case 0:
		if (w->depth == 0) {
			w->out->status = SPF_AUDIT_NONE;
			return 0;
		}
		problem = arena_printf(w->a, "%s names a domain without an SPF record (permerror when "
		                       "it is reached)", path_text(w, NULL));
		broken(w, problem);
		break;
	}
	if (problem != NULL) {
		w->out->nodes[ni].problem = problem;
		return 0;
	}
	if (w->depth == 0)
		w->out->record = rec;
	struct spf_ctx c = {.d = w->d, .a = w->a};
	struct spf_record *r = arena_alloc(w->a, sizeof(*r));
	if (strlen(rec) < 6 || spf_parse_record(&c, rec, r) != 0) {
		problem = arena_printf(w->a, "%s: %s", path_text(w, NULL),
		                       c.detail ? c.detail : "the SPF record has a syntax error");
		broken(w, problem);
		w->out->nodes[ni].problem = problem;
		return 0;
	}
	unsigned own = 0;
	unsigned cost = walk_terms(w, domain, r, &own, all_r);
	w->out->nodes[ni].own = own;
	w->out->nodes[ni].cost = cost + (w->depth > 0 ? 1 : 0);
	return cost;
}

static void
judge_all(struct arena *a, struct spf_audit *o, const struct all_info *ai)
{
	const char *who = ai->where == NULL || strcasecmp(ai->where, o->domain) == 0
	                  ? "the record" : arena_printf(a, "the record (through redirect= to %s)", ai->where);
	static const char *const q[] = {"+all", "-all", "~all", "?all"};
	switch (ai->qual) {
	case '-':
		o->unlisted = SPF_FAIL;
		o->all_sentence = arena_printf(a, "%s ends in -all: servers it does not list are refused", who);
		break;
	case '~':
		o->unlisted = SPF_SOFTFAIL;
		o->all_sentence = arena_printf(a, "%s ends in ~all: servers it does not list get softfail "
		                               "(suspicious, yet most receivers still accept the mail)", who);
		break;
	case '?':
		o->unlisted = SPF_NEUTRAL;
		o->all_sentence = arena_printf(a, "%s ends in ?all: servers it does not list are neither "
		                               "allowed nor refused", who);
		break;
	case '+':
		o->unlisted = SPF_PASS;
		o->all_sentence = arena_printf(a, "%s ends in +all: it lets any server send for %s", who,
		                               o->domain);
		break;
	default:
		o->unlisted = SPF_NEUTRAL;
		o->all_sentence = arena_printf(a, "%s has no all term: servers it does not list get "
		                               "neutral, neither allowed nor refused", who);
		return;
	}
	o->all_term = q[ai->qual == '+' ? 0 : ai->qual == '-' ? 1 : ai->qual == '~' ? 2 : 3];
	o->all_where = ai->where;
}

/* The limits, judged once the walk has counted everything. */
static void
judge_limits(struct walk *w)
{
	struct spf_audit *o = w->out;
	o->lookups = w->count;
	o->voids = w->voids4 > w->voids6 ? w->voids4 : w->voids6;
	if (o->voids > SPF_MAX_VOID)
		broken(w, arena_printf(w->a, "the SPF record leads to more than 2 lookups of names that do "
		                       "not exist (RFC 7208 4.6.4): %u in the worst case; the 3rd: %s",
		                       o->voids, o->void_path));
	if (o->lookups > SPF_MAX_DNS_TERMS) {
		/* The lookup count is the problem the RFC names first: lead with it. */
		const char *old = o->problem;
		o->problem = NULL;
		broken(w, arena_printf(w->a, "the SPF record needs more than 10 DNS lookups (RFC 7208 "
		                       "limit): %s; a server reaching that lookup gets permerror",
		                       spf_audit_cost_line(w->a, o)));
		if (old)
			note(w, "%s", old);
	}
}

enum spf_audit_status
spf_audit_domain(struct dns *d, struct arena *a, const char *domain, struct spf_audit *out)
{
	memset(out, 0, sizeof(*out));
	out->domain = domain;
	out->unlisted = SPF_NONE;
	struct walk w = {.d = d, .a = a, .out = out};
	struct all_info ai;
	walk_record(&w, domain, domain, &ai);
	if (out->status == SPF_AUDIT_NONE || out->record == NULL)
		return out->status;
	judge_all(a, out, &ai);
	judge_limits(&w);
	return out->status;
}

const char *
spf_audit_cost_line(struct arena *a, const struct spf_audit *au)
{
	return arena_printf(a, "%s%u of 10 DNS lookups in the worst case%s%s",
	                    au->lookups_capped ? "at least " : "", au->lookups,
	                    au->over_path ? ": " : "", au->over_path ? au->over_path : "");
}
