/* deliver.c - the delivery worker's built-in transport: one queued
 * message (outbound.h) through transport_send (transport.h), with each
 * recipient's verdict and the server's words handed back for the store.
 *
 * A configuration that cannot send (smtp_server unset, port 25 towards a
 * relay, auth without a user name) is a temporary failure: the message
 * waits, `outbox` shows why, and it leaves once the setting is fixed --
 * or fails when smtp_retry_for runs out, like any other deferral.
 */
#include "core/arena.h"
#include "outbound/outbound_private.h"
#include "outbound/transport.h"

static enum store_outbound_outcome
outcome(enum transport_status s)
{
	return s == TRANSPORT_OK ? OUTBOUND_OK : s == TRANSPORT_TEMP ? OUTBOUND_TEMPFAIL : OUTBOUND_PERMFAIL;
}

void
outbound_smtp_transport(void *arg, struct arena *a, const struct settings *set,
                        const struct outbound_delivery *d, struct outbound_attempt *res)
{
	(void)arg;
	struct transport_config cfg;
	struct pr_why why;
	if (transport_config_from_settings(set, &cfg, &why) < 0) {
		res->outcome = OUTBOUND_TEMPFAIL;
		res->reply = arena_strdup(a, pr_why_text(&why));
		return;
	}
	struct transport_msg msg = {.fd = -1, .data = d->data, .len = d->len};
	struct transport_result tr;
	if (transport_send(&cfg, d->mail_from, d->rcpts, d->nrcpts, &msg, &tr) < 0) {
		res->outcome = OUTBOUND_TEMPFAIL;
		res->reply = arena_strdup(a, pr_why_text(&tr.why));
		return;
	}
	res->outcome = outcome(tr.status);
	/* All sent: the server's 250 (its queue id); else the first failure. */
	res->reply = tr.status == TRANSPORT_OK ? arena_printf(a, "%s: %s", tr.server, tr.rcpt[0].reply)
	                                       : arena_strdup(a, pr_why_text(&tr.why));
	for (size_t i = 0; i < d->nrcpts; i++) {
		res->rcpt[i].outcome = outcome(tr.rcpt[i].status);
		res->rcpt[i].reply = arena_strdup(a, tr.rcpt[i].reply);
	}
	transport_result_free(&tr);
}
