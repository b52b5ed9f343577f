/* ipnet.h - IPv4/IPv6 addresses and CIDR networks, and lists of them
 * (smtp_client_limit_exceptions; Postfix's $mynetworks).
 *
 * Addresses are literals read with inet_pton: no names, no DNS.  An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address, in a
 * list and in a match, so a dual-stack listener sees one address family.
 */
#ifndef PR_IPNET_H
#define PR_IPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

struct ipnet {
	int family;                  /* AF_INET or AF_INET6 */
	uint8_t addr[16];            /* network byte order; 4 used for AF_INET */
	int bits;                    /* prefix length: 0..32 or 0..128 */
};

struct ipnet_list {
	size_t n;
	struct ipnet net[PR_MAX_IPNET_LIST];
};

/* "192.0.2.10, 10.0.0.0/8 2001:db8::/32": comma and/or blank separated;
 * "" is the empty list.  Refused: anything not an address, a prefix out of
 * range, host bits set beyond the prefix (10.0.0.1/8: a typo, most likely),
 * more than PR_MAX_IPNET_LIST entries.  0, or -1 with why (PR_E_CONFIG,
 * naming the entry). */
int ipnet_list_parse(const char *text, struct ipnet_list *out, struct pr_why *why);
/* Is the address ip (text, as net_peer_ip gives it) in one of l's networks?
 * false for text that is not an address. */
bool ipnet_list_match(const struct ipnet_list *l, const char *ip);
/* Do a and b agree in their first bits bits? */
bool ipnet_prefix_match(const uint8_t *a, const uint8_t *b, int bits);

#endif
