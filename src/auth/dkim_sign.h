/* dkim_sign.h - DKIM-sign outgoing mail with our domains' keys (RFC 6376,
 * RFC 8463): rsa-sha256 and ed25519-sha256, both at once when a domain has
 * both keys, relaxed/relaxed, From oversigned.
 *
 * Keys come from the setting dkim_keys: "domain:selector:/path/key.pem"
 * entries, comma or blank separated.  A key file must be a regular file
 * owned by the user postroom runs as with no group/other permission bits
 * (0600 or 0400), as the TLS key and the store are: a readable private key
 * lets anyone sign mail as the domain.  RSA keys under 1024 bits are
 * refused (RFC 8301; verifiers refuse them).
 *
 * The canonicalisation and header selection are the verifier's
 * (dkim_canon.c, dkim_hdr.c): what we sign is what we verify.
 */
#ifndef PR_DKIM_SIGN_H
#define PR_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"

#include "core/keyspec.h"

#define DKIM_SIGN_MAX_KEYS KEYSPEC_MAX

struct dkim_signer;

/* Check the syntax of a dkim_keys value (the settings validator); no file
 * is opened.  0, or -1 with why (PR_E_CONFIG). */
int dkim_keys_validate(const char *spec, struct pr_why *why);

/* Load every key of spec.  Returns a signer (possibly with no keys when
 * spec is empty), or NULL with why (PR_E_CONFIG: bad syntax, a key file
 * missing, readable by others, owned by someone else, not a private key). */
struct dkim_signer *dkim_signer_load(const char *spec, struct pr_why *why);
void dkim_signer_free(struct dkim_signer **s);

/* The number of keys, and each one's description (for `check domain`). */
size_t dkim_signer_count(const struct dkim_signer *s);
struct dkim_signkey_info {
	const char *domain, *selector, *path;
	const char *algorithm;        /* "rsa-sha256" or "ed25519-sha256" */
	int bits;
};
void dkim_signer_info(const struct dkim_signer *s, size_t i, struct dkim_signkey_info *out);
/* Append the TXT record to publish at selector._domainkey.domain for key
 * i: "v=DKIM1; k=rsa; p=<base64>". */
void dkim_signer_record(const struct dkim_signer *s, size_t i, struct buf *out);

/* Sign msg (header, blank line, body; CRLF line ends) with every key
 * whose domain is from_domain or a parent of it (the closest wins).  The
 * DKIM-Signature fields, each ending in CRLF, are appended to out: put
 * them in front of the message.  t= is now.  Returns how many signatures
 * were made (0: no key for the domain). */
int dkim_sign(const struct dkim_signer *s, const char *from_domain, const uint8_t *msg,
              size_t len, time_t now, struct buf *out);

#endif
