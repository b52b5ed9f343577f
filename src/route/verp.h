/* verp.h - our bounce addresses (VERP): the envelope sender of each message
 * we send is bounce+<id>-<mac>@<domain>, with id the outbound queue row and
 * mac an HMAC-SHA256 of the id under address_key, so a report that comes
 * back to it names the message it is about -- and only someone who saw our
 * envelope (the receiving servers and their bounces) can name it: a forger
 * cannot fail another message by writing to bounce+<other id>@.
 *
 * The mac is 16 hex digits (64 bits: guessing one by SMTP is hopeless),
 * read case-insensitively because some servers lowercase local parts.
 */
#ifndef PR_VERP_H
#define PR_VERP_H

#include <stddef.h>
#include <stdint.h>

struct arena;

#define VERP_PREFIX "bounce+"
#define VERP_MAC_HEX 16

/* "bounce+<id>-<mac>@domain" in a, or NULL when key is empty (no key: no
 * bounce address can be authenticated, so none is made). */
char *verp_bounce_address(struct arena *a, const char *key, int64_t id, const char *domain);

enum verp_match { VERP_NONE, VERP_OK, VERP_FORGED };
/* What the local part local (len bytes) is: not a bounce address, ours
 * (*id_r set), or in our bounce form with a wrong or malformed mac, or
 * while no key is set (VERP_FORGED: treat as an ordinary unknown local
 * part, and say so in the log). */
enum verp_match verp_bounce_parse(const char *key, const char *local, size_t len, int64_t *id_r);

#endif
