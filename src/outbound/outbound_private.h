/* outbound_private.h - what the files of src/outbound share. */
#ifndef PR_OUTBOUND_PRIVATE_H
#define PR_OUTBOUND_PRIVATE_H

#include "outbound/outbound.h"


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
