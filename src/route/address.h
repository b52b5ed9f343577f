/* address.h - RFC 5321 mailbox paths from untrusted input.
 *
 * address_parse_path() reads "<local@domain>" (or "<>" when allowed) from a
 * MAIL/RCPT argument, ignoring a source route (RFC 5321 4.1.2 obs), and
 * rejects anything over the RFC limits.  Domains are lowercased; local parts
 * keep their case (RFC 5321 2.4) but compare case-insensitively here, which
 * is what every real mailbox provider does.
 */
#ifndef PR_ADDRESS_H
#define PR_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct arena;

struct address {
	char *local;     /* unquoted local part */
	char *domain;    /* lowercase; "" for the null path */
	char *full;      /* local@domain, "" for the null path */
};

/* s points at '<'; *end_r is set after '>'.  0 ok, -1 with why. */
int address_parse_path(struct arena *a, const char *s, bool allow_null,
                       struct address *out, const char **end_r, struct pr_why *why);
/* A bare address "local@domain" (config, CLI, headers). */
int address_parse(struct arena *a, const char *s, struct address *out, struct pr_why *why);
/* Lowercased copy of a whole address, for lookups. */
char *address_normalize(struct arena *a, const char *addr);
const char *address_domain(const char *addr);   /* after the last '@', or "" */
/* Every address in an address-list header value ("A <a@x>, b@y (Bob)"):
 * the part in <> or the bare text without comments; groups and elements
 * without '@' are skipped.  Returns the count (<= max). */
size_t address_list(struct arena *a, const char *value, const char **out, size_t max);

#endif
