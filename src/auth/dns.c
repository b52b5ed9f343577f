/* dns.c - the DNS port: name checks, dispatch to a backend, copy-out.
 *
 * Every lookup goes through dns_lookup(): the name is checked (RFC 1035
 * 2.3.4: labels of 1..63 octets, 253 in all) and lowercased, counted (the
 * SPF limits and the tests read dns_lookup_count), then answered by the
 * in-memory zone (dns_zone.c) or by c-ares (dns_cares.c, which consults
 * the process-wide cache in dns_cache.c).  Backends fill a heap rrset; this
 * file copies it into the caller's arena so no heap pointer escapes.
 */
#include "auth/dns_private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"

void
dns_rrset_clear(struct dns_rrset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free((char *)s->rr[i].text);
	memset(s, 0, sizeof(*s));
}

bool
dns_rrset_add(struct dns_rrset *s, enum dns_type t, uint32_t ttl, const char *text, size_t len,
              const uint8_t *addr, int pref)
{
	if (s->n >= DNS_MAX_RR)
		return false;
	struct dns_rr *rr = &s->rr[s->n++];
	memset(rr, 0, sizeof(*rr));
	rr->type = t;
	rr->ttl = ttl;
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rr->text = copy;
	rr->len = len;
	if (addr)
		memcpy(rr->addr, addr, t == DNS_T_AAAA ? 16 : 4);
	rr->preference = pref;
	if (s->n == 1 || ttl < s->ttl)
		s->ttl = ttl;
	return true;
}

bool
dns_normalise(const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= outsz)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > 63) {
			return false;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return label > 0;
}

struct dns *
dns_new_memory(void)
{
	struct dns *d = xcalloc(1, sizeof(*d));
	d->kind = DNS_KIND_MEMORY;
	d->zone = dns_zone_new();
	return d;
}

void
dns_free(struct dns **dp)
{
	struct dns *d = *dp;
	if (d == NULL)
		return;
	if (d->kind == DNS_KIND_CARES)
		ares_destroy(d->channel);
	dns_zone_free(&d->zone);
	free(d->server);
	free(d);
	*dp = NULL;
}

int64_t
dns_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
dns_deadline_ms(const struct dns *d)
{
	int64_t end = dns_now_ms() + d->timeout_ms;
	return d->budget_deadline_ms && d->budget_deadline_ms < end ? d->budget_deadline_ms : end;
}

void
dns_budget_begin(struct dns *d, const char *domain, int budget_ms, int domain_cap)
{
	d->budget_deadline_ms = dns_now_ms() + (budget_ms > 0 ? budget_ms : 1);
	d->budget_spent = false;
	d->domain_cap = domain_cap > 0 ? domain_cap : 1;
	size_t n = domain ? strlen(domain) : 0;
	if (n >= sizeof(d->domain))
		n = 0;                       /* not a domain: no gate */
	for (size_t i = 0; i < n; i++)
		d->domain[i] = (char)tolower((unsigned char)domain[i]);
	d->domain[n] = '\0';
}

bool
dns_budget_spent(const struct dns *d)
{
	return d->budget_spent;
}

void
dns_budget_end(struct dns *d)
{
	d->budget_deadline_ms = 0;
	d->domain[0] = '\0';
}

void
dns_cache_limit(size_t bytes)
{
	dns_cache_set_limit(bytes);
}

unsigned
dns_lookup_count(const struct dns *d)
{
	return d->count;
}

const char *
dns_cache_scope(const struct dns *d)
{
	return d->kind == DNS_KIND_CARES ? d->server : NULL;
}

static void
dns_copy_out(struct arena *a, const struct dns_rrset *s, struct dns_answer *out)
{
	out->status = s->status;
	out->ttl = s->status == DNS_OK || s->ttl ? s->ttl : DNS_CACHE_NEG_TTL;
	out->n = s->n;
	out->rr = s->n ? arena_alloc(a, s->n * sizeof(*out->rr)) : NULL;
	for (size_t i = 0; i < s->n; i++) {
		out->rr[i] = s->rr[i];
		char *t = arena_alloc(a, s->rr[i].len + 1);
		memcpy(t, s->rr[i].text, s->rr[i].len);
		out->rr[i].text = t;
	}
}

enum dns_status
dns_lookup(struct dns *d, struct arena *a, const char *name, enum dns_type t,
           struct dns_answer *out)
{
	char norm[256];
	memset(out, 0, sizeof(*out));
	d->count++;
	if (!dns_normalise(name, norm, sizeof(norm))) {
		out->status = DNS_BADNAME;
		return out->status;
	}
	/* No time left, or the gate already refused this message (its verdict
	 * is 451 whatever follows): do not even ask, free the worker. */
	if (d->budget_spent || (d->budget_deadline_ms && dns_now_ms() >= d->budget_deadline_ms)) {
		d->budget_spent = true;
		out->status = DNS_TEMPFAIL;
		return out->status;
	}
	struct dns_rrset *s = xcalloc(1, sizeof(*s));
	if (d->kind == DNS_KIND_MEMORY)
		dns_zone_lookup(d->zone, norm, t, s);
	else
		dns_cares_lookup(d, norm, t, s);
	dns_copy_out(a, s, out);
	dns_rrset_clear(s);
	free(s);
	return out->status;
}
