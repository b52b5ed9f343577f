/* spf_mech.c - the SPF mechanisms that look at addresses: ip4, ip6, a,
 * mx, ptr, exists (RFC 7208 section 5), and the limits that bound them
 * (4.6.4).  DNS outcomes: TEMPFAIL is temperror (never a miss, except for
 * ptr, where 5.5 says a DNS error is a miss); NXDOMAIN or NODATA is a
 * void lookup (more than SPF_MAX_VOID is permerror); a name that cannot be
 * asked (a label over 63 octets, from a macro) is a miss, as 4.3 and 5/10
 * suggest and the suite accepts.
 */
#include "auth/spf_private.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/ipnet.h"

bool
spf_count_lookup(struct spf_ctx *c)
{
	if (++c->lookups <= SPF_MAX_DNS_TERMS)
		return true;
	c->too_many = true;
	if (c->detail == NULL)
		c->detail = "the SPF record needs more than 10 DNS lookups (RFC 7208 limit)";
	return false;
}

bool
spf_count_void(struct spf_ctx *c)
{
	if (++c->voids <= SPF_MAX_VOID)
		return true;
	if (c->detail == NULL)
		c->detail = "the SPF record leads to more than 2 lookups of names that do not exist";
	return false;
}

static bool
addr_match(struct spf_ctx *c, const struct dns_rr *rr, int cidr4, int cidr6)
{
	if (c->family == AF_INET)
		return rr->type == DNS_T_A && ipnet_prefix_match(c->ip, rr->addr, cidr4);
	return rr->type == DNS_T_AAAA && ipnet_prefix_match(c->ip, rr->addr, cidr6);
}

/* A or AAAA (by client family) of name against the client; void counted
 * when count_void. */
static int
match_host(struct spf_ctx *c, const char *name, int cidr4, int cidr6, bool count_void,
           enum spf_result *err_r)
{
	struct dns_answer ans;
	enum dns_type t = c->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	switch (dns_lookup(c->d, c->a, name, t, &ans)) {
	case DNS_TEMPFAIL:
		*err_r = SPF_TEMPERROR;
		if (c->detail == NULL)
			c->detail = arena_printf(c->a, "DNS lookup of %s failed or timed out", name);
		return EV_ERROR;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (count_void && !spf_count_void(c)) {
			*err_r = SPF_PERMERROR;
			return EV_ERROR;
		}
		return EV_NOMATCH;
	case DNS_BADNAME:
		return EV_NOMATCH;
	case DNS_OK:
		break;
	}
	for (size_t i = 0; i < ans.n; i++)
		if (addr_match(c, &ans.rr[i], cidr4, cidr6))
			return EV_MATCH;
	return EV_NOMATCH;
}

static int
eval_mx(struct spf_ctx *c, const struct spf_term *t, const char *target, enum spf_result *err_r)
{
	struct dns_answer ans;
	switch (dns_lookup(c->d, c->a, target, DNS_T_MX, &ans)) {
	case DNS_TEMPFAIL:
		*err_r = SPF_TEMPERROR;
		if (c->detail == NULL)
			c->detail = arena_printf(c->a, "DNS lookup of the MX of %s failed", target);
		return EV_ERROR;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		if (!spf_count_void(c)) {
			*err_r = SPF_PERMERROR;
			return EV_ERROR;
		}
		return EV_NOMATCH;
	case DNS_BADNAME:
		return EV_NOMATCH;
	case DNS_OK:
		break;
	}
	if (ans.n > SPF_MAX_MX) {
		*err_r = SPF_PERMERROR;
		if (c->detail == NULL)
			c->detail = arena_printf(c->a, "%s has more than 10 MX hosts (RFC 7208 limit)", target);
		return EV_ERROR;
	}
	for (size_t i = 0; i < ans.n; i++) {
		if (ans.rr[i].len == 0)
			continue;        /* null MX (RFC 7505) */
		int r = match_host(c, ans.rr[i].text, t->cidr4, t->cidr6, false, err_r);
		if (r != EV_NOMATCH)
			return r;
	}
	return EV_NOMATCH;
}

static const char *
reverse_name(struct spf_ctx *c)
{
	if (c->family == AF_INET)
		return arena_printf(c->a, "%u.%u.%u.%u.in-addr.arpa", c->ip[3], c->ip[2], c->ip[1], c->ip[0]);
	char *out = arena_alloc(c->a, 64 + 9);
	for (int i = 15, k = 0; i >= 0; i--, k += 4)
		snprintf(out + k, 5, "%x.%x.", c->ip[i] & 15, c->ip[i] >> 4);
	memcpy(out + 64, "ip6.arpa", 9);
	return out;
}

const char **
spf_validated_names(struct spf_ctx *c, size_t *n_r)
{
	struct dns_answer ptr;
	if (c->ptr_done) {
		*n_r = c->n_ptr_names;
		return c->ptr_names;
	}
	c->ptr_done = true;
	*n_r = 0;
	if (dns_lookup(c->d, c->a, reverse_name(c), DNS_T_PTR, &ptr) != DNS_OK)
		return NULL;
	const char **names = arena_alloc(c->a, (ptr.n ? ptr.n : 1) * sizeof(*names));
	enum spf_result ignored;
	for (size_t i = 0; i < ptr.n && i < SPF_MAX_PTR; i++)
		if (match_host(c, ptr.rr[i].text, 32, 128, false, &ignored) == EV_MATCH)
			names[(*n_r)++] = ptr.rr[i].text;
	c->ptr_names = names;
	c->n_ptr_names = *n_r;
	return names;
}

static int
eval_ptr(struct spf_ctx *c, const char *target)
{
	size_t n, tl = strlen(target);
	const char **names = spf_validated_names(c, &n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (l > 0 && names[i][l - 1] == '.')
			l--;
		if (l == tl && strncasecmp(names[i], target, l) == 0)
			return EV_MATCH;
		if (l > tl && names[i][l - tl - 1] == '.' && strncasecmp(names[i] + l - tl, target, tl) == 0)
			return EV_MATCH;
	}
	return EV_NOMATCH;
}

static int
eval_exists(struct spf_ctx *c, const char *target, enum spf_result *err_r)
{
	struct dns_answer ans;
	switch (dns_lookup(c->d, c->a, target, DNS_T_A, &ans)) {
	case DNS_TEMPFAIL:
		*err_r = SPF_TEMPERROR;
		if (c->detail == NULL)
			c->detail = arena_printf(c->a, "DNS lookup of %s failed or timed out", target);
		return EV_ERROR;
	case DNS_OK:
		return EV_MATCH;
	case DNS_BADNAME:
		return EV_NOMATCH;
	default:
		if (!spf_count_void(c)) {
			*err_r = SPF_PERMERROR;
			return EV_ERROR;
		}
		return EV_NOMATCH;
	}
}

int
spf_eval_mech(struct spf_ctx *c, const struct spf_term *t, const char *target,
              enum spf_result *err_r)
{
	switch (t->mech) {
	case M_ALL:
		return EV_MATCH;
	case M_IP4:
		return c->family == AF_INET && ipnet_prefix_match(c->ip, t->net, t->cidr4);
	case M_IP6:
		return c->family == AF_INET6 && ipnet_prefix_match(c->ip, t->net, t->cidr6);
	case M_A:
		return match_host(c, target, t->cidr4, t->cidr6, true, err_r);
	case M_MX:
		return eval_mx(c, t, target, err_r);
	case M_PTR:
		return eval_ptr(c, target);
	case M_EXISTS:
		return eval_exists(c, target, err_r);
	default:
		return EV_NOMATCH;   /* include: handled by spf.c */
	}
}
