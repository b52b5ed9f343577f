/* envelope.c - the envelope of collected mail, from its header fields.
 *
 *   sender     Return-Path (the provider's final delivery writes it; "<>"
 *              is the null sender), else the From address, else <>.
 *   recipients mailbox_type = catchall: the addresses in the first
 *              catchall_header field (Delivered-To, X-Original-To,
 *              Envelope-To); single: system_address; either falls back to
 *              To, then Cc.  Each is judged like an SMTP RCPT.  With none,
 *              or none that can be placed (a domain missing from the
 *              directory), the message still goes on and lands in
 *              Unassigned: nothing is dropped for want of an address, and
 *              nobody would get a bounce for it.
 *   client     trusted_received_host set: the IP and HELO from the TCP-info
 *              of the topmost Received that host stamped.  If that field
 *              does not parse the message is deferred (451): falling
 *              through to a lower Received would trust what the sender
 *              wrote.  No such field, or the setting empty: unknown ("").
 */
#include "intake/envelope.h"

#include <ctype.h>
#include <string.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/settings.h"
#include "intake/intake.h"
#include "mime/mime.h"
#include "route/address.h"

#define ENVELOPE_MAX_RCPTS 100

/* The first field called name, trimmed, or NULL. */
static const char *
first_field(struct arena *a, struct spool *raw, const char *name)
{
	const char *v[1];
	if (mime_header_values(a, raw, name, v, 1) == 0)
		return NULL;
	const char *s = v[0];
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return arena_strndup(a, s, n);
}

static const char *
sender(struct arena *a, struct spool *raw)
{
	const char *out[1], *rp = first_field(a, raw, "Return-Path");
	if (rp && !strcmp(rp, "<>"))
		return "";
	if (rp && address_list(a, rp, out, 1) == 1)
		return out[0];
	const char *from = first_field(a, raw, "From");
	return from && address_list(a, from, out, 1) == 1 ? out[0] : "";
}

/* Candidate recipient addresses, in the order the settings say. */
static size_t
candidates(struct arena *a, const struct settings *set, struct spool *raw, const char **out)
{
	size_t n = 0;
	if (settings_enum(set, SET_MAILBOX_TYPE) == MAILBOX_CATCHALL) {
		const char *v = first_field(a, raw, settings_str(set, SET_CATCHALL_HEADER));
		if (v)
			n = address_list(a, v, out, ENVELOPE_MAX_RCPTS);
	} else if (*settings_str(set, SET_SYSTEM_ADDRESS)) {
		out[n++] = settings_str(set, SET_SYSTEM_ADDRESS);
	}
	for (int i = 0; i < 2 && n == 0; i++) {
		const char *v = first_field(a, raw, i ? "Cc" : "To");
		if (v)
			n += address_list(a, v, out + n, ENVELOPE_MAX_RCPTS - n);
	}
	return n;
}

static int
recipients(struct store *st, const struct settings *set, struct intake_msg *m,
           struct pr_why *why)
{
	const char *addrs[ENVELOPE_MAX_RCPTS];
	size_t n = candidates(m->arena, set, m->raw, addrs);
	struct pr_why last;
	pr_why_clear(&last);
	m->rcpts = arena_alloc(m->arena, (n ? n : 1) * sizeof(*m->rcpts));
	m->nrcpts = 0;
	for (size_t i = 0; i < n; i++) {
		struct intake_rcpt *r = &m->rcpts[m->nrcpts];
		if (route_recipient(st, set, m->arena, addrs[i], &r->targets, &r->ntargets, &last) == 0) {
			r->address = arena_strdup(m->arena, addrs[i]);
			m->nrcpts++;
		} else if (pr_err_is_temporary(last.code)) {
			*why = last;
			return -1;
		}
	}
	if (n > 0 && m->nrcpts == 0) {
		/* Everything in the system mailbox was sent to the organisation:
		 * a recipient we cannot place is a configuration gap, not the
		 * sender's fault.  Keep it: a message without recipients is
		 * filed in Unassigned. */
		char s[160];
		log_warn("intake: no recipient of a collected message can be placed (%s); filing it "
		         "in Unassigned", log_sanitize(s, sizeof(s), pr_why_text(&last), 150));
	}
	return 0;
}

int
intake_envelope(struct store *st, const struct settings *set, struct intake_msg *m,
                struct pr_why *why)
{
	struct arena *a = m->arena;
	pr_why_clear(why);
	m->mail_from = sender(a, m->raw);
	const char *host = settings_str(set, SET_TRUSTED_RECEIVED_HOST), *ip, *helo;
	int rc = auth_received_peer(a, m->raw, host, &ip, &helo, why);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		m->peer_ip = ip;
		m->helo = helo;
	}
	return recipients(st, set, m, why);
}
