/* bounce.c - mail that comes back about what we sent (issue 13).
 *
 *  - To one of our bounce addresses (bounce+ID-MAC@, route/verp.h, the
 *    envelope sender of every message we send): a delivery report, a delay
 *    notice, or an auto-reply sent to the Return-Path as RFC 3834 asks.  It
 *    is about outbound message ID and nothing else: it joins that
 *    message's thread (never Unassigned, never new mail), as automatic
 *    mail that makes nobody a participant.  A report whose Action is
 *    "failed" marks the message failed with the remote server's words
 *    (Diagnostic-Code, else Status).  The mac is what makes this safe: a
 *    forger who writes to bounce+<someone else's id>@ without it reaches
 *    an unknown address (route.c), and no outbound row is touched.
 *  - Collected back from the system mailbox (POP3), a message whose
 *    Message-ID is one we sent and whose From is the address we sent it
 *    as: the provider's copy of our sent mail.  It is recognised and
 *    not filed again (logged as sent_copy, then deleted from the mailbox
 *    like any refused collected message).  Only for collected mail: over
 *    SMTP nobody has a reason to send us our own message back.
 *
 * The failure mark is written before the report is committed: it is
 * idempotent (a failed message stays failed with the same answer), so a
 * crash between the two costs nothing -- the sender retries the report.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/text.h"
#include "intake/intake_private.h"
#include "mime/mime_dsn.h"
#include "route/address.h"
#include "route/verp.h"

/* The first envelope recipient that is one of our bounce addresses. */
int
intake_bounce_find(struct intake_eval *ev, struct pr_why *why)
{
	const char *key = settings_str(ev->set, SET_ADDRESS_KEY);
	for (size_t i = 0; i < ev->m->nrcpts && ev->bounce == NULL; i++) {
		const char *addr = ev->m->rcpts[i].address, *at = strrchr(addr, '@');
		int64_t id;
		enum verp_match vm = at ? verp_bounce_parse(key, addr, (size_t)(at - addr), &id) : VERP_NONE;
		if (vm == VERP_FORGED) {
			char s1[200];
			log_info("intake: %s is in our bounce form with a wrong signature: no outbound message "
			         "is touched", log_sanitize(s1, sizeof(s1), addr, strlen(addr)));
		}
		if (vm != VERP_OK)
			continue;
		struct store_outbound *row = arena_alloc(ev->m->arena, sizeof(*row));
		int rc = store_outbound_get(ev->st, ev->m->arena, id, row, why);
		if (rc < 0)
			return -1;
		if (rc == 0)
			ev->bounce = row;
	}
	return 0;
}

/* The thread of the message the bounce is about: its places. */
int
intake_bounce_thread(struct intake_eval *ev, bool *joined, struct pr_why *why)
{
	struct store_message msg;
	struct store_placement *pl;
	size_t n;
	*joined = false;
	int rc = store_message_meta(ev->st, ev->m->arena, ev->bounce->message_id, &msg, why);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (store_thread_placements(ev->st, ev->m->arena, msg.thread_id, &pl, &n, why) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		intake_add_place(ev, pl[i].kind, pl[i].target, pl[i].via);
	ev->thread_id = msg.thread_id;
	*joined = ev->nplaces > 0;
	pr_why_set(&ev->note, PR_E_BOUNCE, "about message %lld we sent (<%s>): filed in its thread",
	           (long long)ev->bounce->id, ev->bounce->msgid);
	return 0;
}

/* The remote server's words for a failed recipient. */
static const char *
failure_text(struct arena *a, const struct mime_dsn *d, const struct mime_dsn_rcpt *r)
{
	const char *who = r->final_recipient ? r->final_recipient : "a recipient";
	const char *by = d->reporting_mta ? d->reporting_mta : "the receiving side";
	if (r->diagnostic)
		return arena_printf(a, "bounced by %s for %s: %s", by, who, r->diagnostic);
	return arena_printf(a, "bounced by %s for %s: status %s", by, who, r->status ? r->status : "failed");
}

int
intake_bounce_record(struct intake_eval *ev, struct pr_why *why)
{
	const struct mime_dsn_rcpt *r = ev->bounce ? mime_dsn_failed(ev->mi.dsn) : NULL;
	if (r == NULL)
		return 0;
	struct arena *a = ev->m->arena;
	const char *reply = text_clean(a, failure_text(a, ev->mi.dsn, r));
	if (store_outbound_bounced(ev->st, ev->bounce->id, r->final_recipient, reply, time(NULL), why) < 0)
		return -1;
	pr_why_set(&ev->note, PR_E_BOUNCE, "about message %lld we sent (<%s>): marked failed, %s",
	           (long long)ev->bounce->id, ev->bounce->msgid, reply);
	char s1[200];
	log_info("intake: outbound message %lld marked failed by a delivery report: %s",
	         (long long)ev->bounce->id, log_sanitize(s1, sizeof(s1), reply, 180));
	return 0;
}

int
intake_sent_copy(struct intake_eval *ev, struct pr_why *why)
{
	if (ev->m->source != INTAKE_POP3 || ev->mi.message_id == NULL || *ev->sender == '\0')
		return 0;
	struct store_outbound row;
	int rc = store_outbound_by_msgid(ev->st, ev->m->arena, ev->mi.message_id, &row, why);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* Our Message-ID alone could be quoted by anyone; with our From too
	 * it is the copy the provider kept of what we sent. */
	if (strcasecmp(row.mail_from, ev->sender) != 0)
		return 0;
	pr_why_set(why, PR_E_SENT_COPY, "message %lld we sent (<%s>), collected back from the system "
	           "mailbox: not filed again", (long long)row.id, row.msgid);
	return 1;
}
