/* outbound_private.h - what the files of src/outbound share. */
#ifndef PR_OUTBOUND_PRIVATE_H
#define PR_OUTBOUND_PRIVATE_H

#include "outbound/outbound.h"

/* compose.c: everything the message shows; addresses already checked. */
struct compose_in {
	const char *from_name, *from_addr;
	const char *const *to, *const *cc;
	size_t nto, ncc;
	const char *subject, *text, *html;
	const struct outbound_attachment *attach;
	size_t nattach;
	const char *msgid;           /* without <> */
	const char *in_reply_to;     /* "<id>", or NULL */
	const char *references;      /* "<a> <b>", or NULL */
	time_t date;
};
/* The message's bytes (CRLF lines) in a.  0, or -1 with why. */
int outbound_compose(struct arena *a, const struct compose_in *in, const uint8_t **out, size_t *len,
                     struct pr_why *why);

/* deliver.c: the worker's built-in transport (transport.h). */
void outbound_smtp_transport(void *arg, struct arena *a, const struct settings *set,
                             const struct outbound_delivery *d, struct outbound_attempt *res);
/* sign.c: before each attempt, the envelope sender becomes our bounce
 * address for the row (when address_key is set) and the bytes get the
 * DKIM signatures of the sender's domain (dkim_keys), in a.  0, or -1
 * with why (PR_E_CONFIG: a key that cannot be used). */
int outbound_prepare(struct arena *a, const struct settings *set, struct outbound_delivery *d,
                     struct pr_why *why);

#endif
