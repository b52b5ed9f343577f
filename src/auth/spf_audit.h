/* spf_audit.h - what a domain's SPF record costs and allows, read from the
 * records themselves rather than from one evaluation.
 *
 * spf_check_host() answers for one client address and stops at the first
 * term that matches it: a probe address an early include happens to list
 * sees 2 lookups in a record that costs a server matched only by its last
 * term 11 (RFC 7208 4.6.4: permerror).  The audit walks every include and
 * redirect in evaluation order and counts what a server the record does
 * not list costs -- the worst case, since every term is then evaluated up
 * to the first all -- and names the path of the lookup past the limit.
 * It judges what the record says about unlisted servers from its all term
 * (or redirect, or the neutral default), never from a probe.
 *
 * Also checked statically: the void-lookup limit (a, mx and exists
 * targets that do not exist, per client family), mx targets with more
 * than 10 hosts, include/redirect targets without a record, loops, ptr
 * (discouraged, 5.5), includes that end in +all, very wide ip4/ip6
 * networks.  Terms with macros depend on the sender: they are counted
 * once and not followed (the report says so).
 *
 * Bounded: at most SPF_AUDIT_MAX_RECORDS records fetched and includes
 * followed SPF_AUDIT_MAX_DEPTH deep (deeper is over the limit anyway).
 * Allocates in the caller's arena; DNS through the given port (c-ares
 * or an in-memory zone for the unit test).
 */
#ifndef PR_SPF_AUDIT_H
#define PR_SPF_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/spf.h"

struct arena;
struct dns;

#define SPF_AUDIT_MAX_RECORDS 40
#define SPF_AUDIT_MAX_DEPTH 11
#define SPF_AUDIT_MAX_NOTES 32

enum spf_audit_status {
	SPF_AUDIT_OK,        /* evaluable for every server, within the limits */
	SPF_AUDIT_NONE,      /* the domain publishes no SPF record */
	SPF_AUDIT_BROKEN,    /* permerror for some or every server */
	SPF_AUDIT_DNS,       /* a lookup failed: the audit is incomplete */
};

/* One record reached through an include or redirect (or the domain's own). */
struct spf_audit_node {
	const char *via;     /* "client.example", "include:a.example", "redirect=b.example" */
	unsigned depth;      /* 0 for the domain's own record */
	unsigned cost;       /* worst-case lookups of this term, itself included */
	unsigned own;        /* of which a, mx, ptr, exists terms in the record itself */
	const char *problem; /* why this branch is a permerror/temperror, or NULL */
};

struct spf_audit {
	enum spf_audit_status status;
	const char *domain;
	const char *record;          /* the domain's own record, NULL if none */
	unsigned lookups;            /* worst case, the RFC allows 10 */
	bool lookups_capped;         /* walk bounded: at least this many */
	const char *over_path;       /* path to the 11th lookup, NULL within the limit */
	unsigned voids;              /* worst case (client family) names that do not exist */
	const char *void_path;       /* path to the 3rd void lookup, NULL within the limit */
	const char *problem;         /* first reason for BROKEN / DNS, NULL if OK */
	/* What a server the record does not list gets: from the all term of
	 * the record (or of the redirect target), neutral when there is none. */
	enum spf_result unlisted;
	const char *all_term;        /* "-all", "~all", "?all", "+all", NULL: none */
	const char *all_where;       /* the domain whose record decides it */
	const char *all_sentence;    /* plain words */
	bool dynamic;                /* macros: part of the cost depends on the sender */
	const char *notes[SPF_AUDIT_MAX_NOTES];   /* warnings, plain words */
	size_t nnotes;
	struct spf_audit_node *nodes;             /* walk order (a tree by depth) */
	size_t nnodes;
};

/* Always fills out; returns out->status. */
enum spf_audit_status spf_audit_domain(struct dns *d, struct arena *a, const char *domain,
                                       struct spf_audit *out);

/* One line: "11 of 10 DNS lookups in the worst case: client.example -> mx"
 * or "3 of 10 DNS lookups in the worst case". */
const char *spf_audit_cost_line(struct arena *a, const struct spf_audit *au);

#endif
