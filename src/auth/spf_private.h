/* spf_private.h - what spf.c (evaluation) and spf_macro.c (RFC 7208
 * section 7 macros, domain-spec syntax) share. */
#ifndef PR_SPF_PRIVATE_H
#define PR_SPF_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/dns.h"
#include "auth/spf.h"

/* RFC 7208 4.6.4 */
#define SPF_MAX_DNS_TERMS 10
#define SPF_MAX_VOID 2
#define SPF_MAX_MX 10
#define SPF_MAX_PTR 10
/* A record or explanation longer than this is not SPF (a TXT RRset is
 * bounded by the DNS message anyway; this bounds our parser). */
#define SPF_MAX_RECORD 4096
/* Terms per record: a record of 4096 bytes cannot hold more than this
 * many meaningful terms; more is refused as permerror. */
#define SPF_MAX_TERMS 256

struct spf_ctx {
	struct dns *d;
	struct arena *a;
	const struct spf_request *rq;
	int family;                 /* AF_INET or AF_INET6 (mapped v4 -> v4) */
	uint8_t ip[16];
	const char *sender, *local, *sender_domain;
	unsigned lookups, voids;
	bool too_many;
	const char *detail;         /* first reason recorded */
	const char *mechanism;
	const char *top_record;     /* the first record fetched */
	/* Validated PTR names, looked up once per check: %{p} and ptr would
	 * otherwise let one record cost thousands of uncounted lookups. */
	const char **ptr_names;
	size_t n_ptr_names;
	bool ptr_done;
};

enum spf_mech { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };

struct spf_term {
	char qual;                 /* + - ~ ? */
	enum spf_mech mech;
	const char *spec;          /* domain-spec (unexpanded), NULL if absent */
	size_t speclen;
	int cidr4, cidr6;
	uint8_t net[16];
	const char *text;          /* the term as written, for explanations */
};

struct spf_record {
	struct spf_term *term;     /* n of them, at most SPF_MAX_TERMS */
	size_t n;
	const char *redirect, *exp;
};

/* spf_record.c: parse a whole record ("v=spf1 ..."; the version is not
 * checked again) into r (zeroed; the terms are allocated in c->a).  0 ok;
 * -1 on a syntax error, with c->detail set if it was empty.  Needs only
 * c->a and c->detail.  Shared with spf_audit.c, which reads records
 * without a client. */
int spf_parse_record(struct spf_ctx *c, const char *rec, struct spf_record *r);
/* include, a, mx, ptr, exists: the mechanisms counted against the limit
 * of 10 (redirect= counts too, as a modifier). */
bool spf_mech_queries_dns(enum spf_mech m);
/* spf_record.c: a domain's record fetched and parsed, from the cache of
 * parsed records when the DNS port has a cache scope.  Shared and
 * immutable: valid as long as the ctx's arena. */
enum spf_load {
	SPF_LOAD_OK,       /* r parsed from text */
	SPF_LOAD_NONE,     /* no v=spf1 record */
	SPF_LOAD_MULTI,    /* several: permerror */
	SPF_LOAD_NUL,      /* text holds a NUL byte: permerror */
	SPF_LOAD_BAD,      /* syntax error: permerror, detail says where */
	SPF_LOAD_TEMP,     /* DNS trouble: temperror (never cached) */
};

struct spf_loaded {
	enum spf_load status;
	const char *text;          /* the record (OK, NUL, BAD) */
	const char *detail;        /* why it is BAD, or NULL */
	struct spf_record r;
};

const struct spf_loaded *spf_load(struct spf_ctx *c, const char *domain);
void spf_cache_flush(void);
void spf_cache_stats(size_t *entries_r, size_t *bytes_r);   /* tests */
/* spf.c: the first reason recorded is the one reported. */
void spf_why(struct spf_ctx *c, const char *fmt, const char *arg);

/* Outcome of one mechanism: match, no match, or an error result. */
enum { EV_NOMATCH = 0, EV_MATCH = 1, EV_ERROR = -1 };

/* spf_mech.c: one mechanism other than include (which recurses and lives
 * in spf.c).  Returns EV_MATCH / EV_NOMATCH, or EV_ERROR with *err_r set
 * to temperror or permerror.  target: the expanded domain-spec or the
 * current domain. */
int spf_eval_mech(struct spf_ctx *c, const struct spf_term *t, const char *target,
                  enum spf_result *err_r);
/* Counts one DNS-querying term; false (and permerror) past the limit. */
bool spf_count_lookup(struct spf_ctx *c);
/* Counts a void lookup; false (and permerror) past the limit. */
bool spf_count_void(struct spf_ctx *c);

/* Syntax of a macro-string (exp: an explain-string, where SP and the
 * letters c, r, t are allowed).  0 ok, -1 syntax error. */
int spf_macro_check(const char *s, size_t n, bool exp);
/* Syntax of a domain-spec (RFC 7208 7.1): macro-string ending in a
 * macro-expand or in "." toplabel ["."]. */
bool spf_domain_spec_ok(const char *s, size_t n);
/* Expanded text (checked first with spf_macro_check); NULL on syntax
 * error.  domain is %{d}.  exp: the exp= text (c, r, t allowed). */
char *spf_macro_expand(struct spf_ctx *c, const char *s, size_t n, const char *domain, bool exp);
/* An expanded domain-spec made fit for a query: trailing dot dropped and,
 * past 253 octets, labels dropped from the left (RFC 7208 7.3). */
const char *spf_domain_fit(struct spf_ctx *c, const char *name);
/* Names from the PTR lookup of the client IP whose A/AAAA lead back to
 * it, at most SPF_MAX_PTR tried.  n_r may be 0.  Returns the array. */
const char **spf_validated_names(struct spf_ctx *c, size_t *n_r);

#endif
