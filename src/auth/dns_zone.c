/* dns_zone.c - the in-memory DNS zone behind the same port as c-ares.
 *
 * For conformance suites (RFC 7208, DKIM vectors) and unit tests: records
 * are kept in the order added, names compared case-insensitively.  Rules,
 * chosen to match the fake resolvers those suites were written against:
 *  - a name with no entry at all is NXDOMAIN; a name with entries but none
 *    of the asked type is NODATA (dns_zone_add with value NULL makes a name
 *    exist without adding a record: "TXT: NONE" in the SPF suite);
 *  - dns_zone_timeout marks the name: a lookup of any type times out
 *    (DNS_TEMPFAIL) unless a record of the asked type was added before the
 *    mark (the openspf suite's TIMEOUT ordering rule);
 *  - a CNAME is followed one level, as a recursive server would answer.
 * Linear search: zones here hold tens of records, not thousands.
 */
#include "auth/dns_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"

#define ZONE_TIMEOUT 0          /* entry type of a timeout mark */

struct zone_entry {
	char *name;
	int type;
	char *value;                /* NULL: existence only */
	size_t len;
};

struct dns_zone {
	struct zone_entry *e;
	size_t n, cap;
};

struct dns_zone *
dns_zone_new(void)
{
	return xcalloc(1, sizeof(struct dns_zone));
}

void
dns_zone_free(struct dns_zone **zp)
{
	struct dns_zone *z = *zp;
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->n; i++) {
		free(z->e[i].name);
		free(z->e[i].value);
	}
	free(z->e);
	free(z);
	*zp = NULL;
}

static void
zone_push(struct dns_zone *z, const char *name, int type, const char *value, size_t len)
{
	if (z->n == z->cap) {
		z->cap = z->cap ? z->cap * 2 : 32;
		z->e = xrealloc(z->e, z->cap * sizeof(*z->e));
	}
	struct zone_entry *e = &z->e[z->n++];
	size_t nl = strlen(name);
	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	e->name = xstrndup(name, nl);
	for (char *p = e->name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	e->type = type;
	e->value = NULL;
	if (value) {            /* TXT may hold NULs: copy by length */
		e->value = xmalloc(len + 1);
		memcpy(e->value, value, len);
		e->value[len] = '\0';
	}
	e->len = len;
}

void
dns_zone_add(struct dns *d, const char *name, enum dns_type t, const char *value, size_t len)
{
	if (PR_NEVER(d->kind != DNS_KIND_MEMORY))
		return;
	zone_push(d->zone, name, (int)t, value, len);
}

void
dns_zone_timeout(struct dns *d, const char *name)
{
	if (PR_NEVER(d->kind != DNS_KIND_MEMORY))
		return;
	zone_push(d->zone, name, ZONE_TIMEOUT, NULL, 0);
}

/* One record from its zone form ("pref name" for MX, text for others). */
static void
zone_emit(const struct zone_entry *e, struct dns_rrset *out)
{
	uint8_t addr[16] = {0};
	const uint32_t ttl = 300;
	switch (e->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (inet_pton(e->type == DNS_T_A ? AF_INET : AF_INET6, e->value, addr) != 1)
			return;     /* a broken test record is not served */
		dns_rrset_add(out, e->type, ttl, e->value, e->len, addr, 0);
		break;
	case DNS_T_MX: {
		char *end;
		long pref = strtol(e->value, &end, 10);
		while (*end == ' ')
			end++;
		dns_rrset_add(out, DNS_T_MX, ttl, end, strlen(end), NULL, (int)pref);
		break;
	}
	default:
		dns_rrset_add(out, e->type, ttl, e->value, e->len, NULL, 0);
	}
}

/* Returns false when the name has no entry at all. */
static bool
zone_find(struct dns_zone *z, const char *name, int t, struct dns_rrset *out, const char **cname)
{
	bool exists = false;
	*cname = NULL;
	out->status = DNS_NODATA;
	for (size_t i = 0; i < z->n; i++) {
		const struct zone_entry *e = &z->e[i];
		if (strcmp(e->name, name) != 0)
			continue;
		exists = true;
		if (e->type == ZONE_TIMEOUT && out->n == 0) {
			dns_rrset_clear(out);
			out->status = DNS_TEMPFAIL;
			return true;
		}
		if (e->type == DNS_T_CNAME && e->value && *cname == NULL)
			*cname = e->value;
		if (e->type == t && e->value)
			zone_emit(e, out);
	}
	if (out->n)
		out->status = DNS_OK;
	else if (!exists)
		out->status = DNS_NXDOMAIN;
	return exists;
}

void
dns_zone_lookup(struct dns_zone *z, const char *name, enum dns_type t, struct dns_rrset *out)
{
	const char *cname;
	zone_find(z, name, (int)t, out, &cname);
	if (out->status == DNS_NODATA && cname && t != DNS_T_CNAME) {
		char target[256];
		const char *ignored;
		snprintf(target, sizeof(target), "%s", cname);
		size_t n = strlen(target);
		if (n > 0 && target[n - 1] == '.')
			target[n - 1] = '\0';
		for (char *p = target; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		dns_rrset_clear(out);
		zone_find(z, target, (int)t, out, &ignored);
	}
}
