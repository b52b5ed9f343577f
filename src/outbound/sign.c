/* sign.c - what a message gets just before it leaves (the worker calls
 * outbound_prepare for each attempt):
 *
 *  - the envelope sender becomes our bounce address for this queue row,
 *    bounce+ID-MAC@<the sender's domain> (route/verp.h), so a report that
 *    comes back names the message and marks it failed (intake/bounce.c),
 *    and no one else can fail it; without address_key the sender stays;
 *  - DKIM signatures for the From domain (dkim_keys; auth/dkim_sign.h),
 *    put in front of the stored bytes.  Signing at each attempt (not at
 *    `send`) keeps the stored message as composed and t= current.
 *
 * A key that cannot be used (unreadable, readable by others, not a key)
 * is a temporary failure with the fix as the reason, visible in `outbox`:
 * mail sent unsigned from a domain that publishes DKIM and DMARC would be
 * refused or filed as spam at the far end, which is worse than waiting
 * for the administrator (smtp_retry_for still bounds the wait).
 */
#include <string.h>
#include <time.h>

#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/settings.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "outbound/outbound_private.h"
#include "route/address.h"
#include "route/verp.h"

/* The domain DKIM must align with (RFC 7489 3.1): the From header's. */
static const char *
from_domain(struct arena *a, const struct outbound_delivery *d)
{
	struct spool *sp = spool_from_bytes(a, NULL, d->data, d->len);
	const char *from = mime_header(sp, a, "From"), *addr[1];
	if (from != NULL && address_list(a, from, addr, 1) == 1)
		return address_domain(addr[0]);
	return address_domain(d->mail_from);
}

int
outbound_prepare(struct arena *a, const struct settings *set, struct outbound_delivery *d,
                 struct pr_why *why)
{
	/* A null envelope sender (our automatic answers) stays null: a bounce
	 * of a bounce is what null senders exist to prevent. */
	if (*d->mail_from != '\0') {
		const char *verp = verp_bounce_address(a, settings_str(set, SET_ADDRESS_KEY), d->outbound_id,
		                                       address_domain(d->mail_from));
		if (verp != NULL)
			d->mail_from = verp;
	}
	const char *domain = from_domain(a, d);
	const char *spec = settings_str(set, SET_DKIM_KEYS);
	if (*spec == '\0')
		return 0;
	struct dkim_signer *s = dkim_signer_load(spec, why);
	if (s == NULL)
		return -1;
	struct buf out;
	buf_init(&out, d->len + 64 * 1024);
	if (dkim_sign(s, domain, d->data, d->len, time(NULL), &out) > 0) {
		buf_add(&out, d->data, d->len);
		uint8_t *copy = arena_alloc(a, out.len);
		memcpy(copy, out.data, out.len);
		d->data = copy;
		d->len = out.len;
	}
	buf_free(&out);
	dkim_signer_free(&s);
	return 0;
}
