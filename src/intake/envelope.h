/* envelope.h - the envelope of a message that arrived without one.
 *
 * Postfix's cleanup does this for pickup: mail collected from a mailbox
 * (POP3) comes as bytes, a mailbox name and a UIDL; the recipients, the
 * envelope sender and the client that handed it to the provider are read
 * here, from the message's own header fields, with one header reader
 * (mime_header_values) and one Received parser (auth_received_peer).
 */
#ifndef PR_INTAKE_ENVELOPE_H
#define PR_INTAKE_ENVELOPE_H

#include "core/err.h"

struct intake_msg;
struct settings;
struct store;

/* Fill m->mail_from, m->rcpts (judged like SMTP RCPTs, against st),
 * m->peer_ip and m->helo from m->raw under the settings mailbox_type,
 * catchall_header, system_address and trusted_received_host.  0 ok; -1
 * with a temporary why (the trusted Received does not parse, the store is
 * busy): the message is deferred, never judged without its envelope. */
int intake_envelope(struct store *st, const struct settings *set, struct intake_msg *m,
                    struct pr_why *why);

#endif
