/* ipnet.c - address and network lists.  See ipnet.h. */
#include "core/ipnet.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define IPNET_SEPARATORS ", \t"
/* The longest entry: an IPv6 literal, '/', three digits. */
#define IPNET_MAX_TEXT (INET6_ADDRSTRLEN + 4)

bool
ipnet_prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* An address literal into n; an IPv4-mapped IPv6 address becomes IPv4 and
 * *mapped_r says so (its prefix then counts from bit 96).  0 or -1. */
static int
parse_addr(const char *s, struct ipnet *n, bool *mapped_r)
{
	struct in6_addr a6;
	*mapped_r = false;
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, s, n->addr) == 1) {
		n->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		n->family = AF_INET;
		memcpy(n->addr, &a6.s6_addr[12], 4);
		*mapped_r = true;
	} else {
		n->family = AF_INET6;
		memcpy(n->addr, a6.s6_addr, 16);
	}
	return 0;
}

/* "/N": digits only (strtol alone would take " +8"), at most max. */
static int
parse_prefix(const char *s, int max)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || v < 0 || v > max)
		return -1;
	return (int)v;
}

/* Are the bits past the prefix all zero? */
static bool
host_bits_clear(const struct ipnet *n)
{
	int len = n->family == AF_INET ? 4 : 16;
	for (int bit = n->bits; bit < len * 8; bit++)
		if (n->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static int
parse_entry(char *tok, struct ipnet *n, struct pr_why *why)
{
	static const char example[] = "like 192.0.2.10, 10.0.0.0/8 or 2001:db8::/32";
	char *slash = strchr(tok, '/');
	bool mapped;
	if (slash)
		*slash = '\0';
	if (parse_addr(tok, n, &mapped) < 0) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not an IPv4 or IPv6 address (%s; names are not "
		           "resolved)", tok, example);
		return -1;
	}
	int max = n->family == AF_INET6 ? 128 : mapped ? 128 : 32;
	n->bits = n->family == AF_INET6 ? 128 : 32;
	if (slash) {
		int bits = parse_prefix(slash + 1, max);
		if (bits < 0 || (mapped && bits < 96)) {
			pr_why_set(why, PR_E_CONFIG, "'%s/%s': the prefix length must be a number 0..%d%s",
			           tok, slash + 1, max, mapped ? " and at least 96 for ::ffff:a.b.c.d" : "");
			return -1;
		}
		n->bits = mapped ? bits - 96 : bits;
	}
	if (!host_bits_clear(n)) {
		pr_why_set(why, PR_E_CONFIG, "'%s/%s' has bits set past the prefix length: write the "
		           "network address (or drop the /%s for one host)", tok, slash + 1, slash + 1);
		return -1;
	}
	return 0;
}

int
ipnet_list_parse(const char *text, struct ipnet_list *out, struct pr_why *why)
{
	out->n = 0;
	const char *p = text;
	for (;;) {
		p += strspn(p, IPNET_SEPARATORS);
		size_t len = strcspn(p, IPNET_SEPARATORS);
		if (len == 0)
			break;
		char tok[IPNET_MAX_TEXT + 1];
		if (len > IPNET_MAX_TEXT) {
			pr_why_set(why, PR_E_CONFIG, "'%.*s...' is too long for an address or network",
			           IPNET_MAX_TEXT, p);
			return -1;
		}
		if (out->n >= PR_MAX_IPNET_LIST) {
			pr_why_set(why, PR_E_CONFIG, "more than %d addresses or networks; list networks "
			           "(10.0.0.0/8) rather than hosts", PR_MAX_IPNET_LIST);
			return -1;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		for (size_t i = 0; i < len; i++)
			if (!isgraph((unsigned char)tok[i])) {
				/* not echoed: it could be a terminal escape */
				pr_why_set(why, PR_E_CONFIG, "entry %zu holds a control or non-ASCII byte",
				           out->n + 1);
				return -1;
			}
		if (parse_entry(tok, &out->net[out->n], why) < 0)
			return -1;
		out->n++;
		p += len;
	}
	return 0;
}

bool
ipnet_list_match(const struct ipnet_list *l, const char *ip)
{
	struct ipnet a;
	bool mapped;
	if (l->n == 0 || parse_addr(ip, &a, &mapped) < 0)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (l->net[i].family == a.family && ipnet_prefix_match(a.addr, l->net[i].addr, l->net[i].bits))
			return true;
	return false;
}
