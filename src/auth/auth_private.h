/* auth_private.h - what auth.c, auth_header.c and auth_trust.c share. */
#ifndef PR_AUTH_PRIVATE_H
#define PR_AUTH_PRIVATE_H

#include "auth/auth.h"
#include "auth/dns.h"

/* Header fields of one name we look at (topmost first; read with
 * mime_header_fields / mime_header_values). */
#define AUTH_MAX_FIELDS 64

/* Adopts the results of the topmost Authentication-Results by id; true
 * if one was found (then v->spf, v->dkim, v->dmarc are filled). */
bool auth_adopt_trusted(struct arena *a, const struct auth_input *in, struct auth_verdict *v);
/* The authserv-id of an Authentication-Results value (after the colon):
 * CFWS skipped, a quoted-string unquoted, into out.  Its length, or -1
 * when it is missing, longer than max - 1, or runs off the end of v (cut
 * short: unknown). */
int auth_results_id(const char *v, size_t n, char *out, size_t max);
/* Builds v->header and v->json from the results. */
void auth_render(struct arena *a, const char *authserv_id, struct auth_verdict *v);
/* Printable, without ( ) ; " \ or line breaks, at most 200 bytes: safe
 * inside an RFC 8601 comment or a header value. */
const char *auth_clean(struct arena *a, const char *s);

#endif
