/* auto_mail.c - automatic mail that intake sends: the check address's
 * report (check_address.c) and the forward of unreadable mail kept in
 * Fallback to fallback_address.  Both go through the outbound queue
 * (store.h, "outbound queue") the same way: stored as a message we send,
 * filed nowhere (`outbox` and `messages show` find it), with a null
 * envelope sender as RFC 3834 asks of automatic mail, so that nothing
 * answers it back.
 */
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/spool.h"
#include "intake/intake_private.h"
#include "outbound/outbound.h"

const char *
intake_auto_msgid(struct arena *a, const char *prefix, const char *host)
{
	unsigned char r[12] = {0};
	if (RAND_bytes(r, sizeof(r)) != 1)
		pr_panic("RAND_bytes failed");
	char hex[2 * sizeof(r) + 1];
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(hex + 2 * i, 3, "%02x", r[i]);
	return arena_printf(a, "%s.%s@%s", prefix, hex, host);
}

int
intake_auto_queue(struct store *st, const struct settings *set, struct arena *a, const char *msgid,
                  const char *from_addr, const char *to, const char *bytes, size_t len,
                  struct pr_why *why)
{
	time_t now = time(NULL);
	struct spool *raw = spool_from_bytes(a, NULL, bytes, len);
	struct mime_info mi;
	if (spool_error(raw) != PR_OK || mime_parse(raw, a, &mi, why) < 0) {
		pr_why_set(why, PR_E_IO, "the automatic message could not be spooled");
		return -1;
	}
	struct store_outbound_rcpt *r = arena_alloc(a, sizeof(*r));
	*r = (struct store_outbound_rcpt){.address = to, .kind = "to", .state = "queued"};
	struct store_outbound_new *q = arena_alloc(a, sizeof(*q));
	*q = (struct store_outbound_new){.msgid = msgid, .mail_from = "", .created_at = now,
	                                 .expires_at = now + settings_int(set, SET_SMTP_RETRY_FOR),
	                                 .rcpts = r, .nrcpts = 1};
	struct store_msg *m = arena_alloc(a, sizeof(*m));
	m->source = "outbound";
	m->received_at = now;
	m->mail_from = "";
	m->rcpts = &r->address;
	m->nrcpts = 1;
	m->raw = raw;
	m->message_id = msgid;
	m->in_reply_to = mi.in_reply_to;
	m->subject = mi.subject;
	m->from_addr = from_addr;
	m->date = mi.date;
	m->parsed_json = mi.json;
	m->auto_reply = true;
	m->outbound = q;
	if (store_outbound_enqueue(st, m, why) < 0)
		return -1;
	outbound_queue_poke();
	return 0;
}

/* default_sender, else postmaster@ the first served domain; NULL (why)
 * when there is neither. */
static const char *
forward_sender(struct store *st, const struct settings *set, struct arena *a, struct pr_why *why)
{
	const char *s = settings_str(set, SET_DEFAULT_SENDER);
	if (*s)
		return s;
	const char *domain;
	int rc = store_domain_first(st, a, &domain, why);
	if (rc == 1)
		pr_why_set(why, PR_E_CONFIG, "neither default_sender nor a served domain is set");
	return rc == 0 ? arena_printf(a, "postmaster@%s", domain) : NULL;
}

/* The bytes as received, whole, in a. */
static uint8_t *
original_bytes(struct arena *a, struct spool *raw, size_t *len)
{
	uint64_t size = spool_size(raw);
	uint8_t *buf = arena_alloc(a, (size_t)size + 1);
	for (uint64_t off = 0; off < size;) {
		ssize_t n = spool_read_at(raw, off, buf + off, (size_t)(size - off));
		if (n <= 0)
			return NULL;
		off += (uint64_t)n;
	}
	*len = (size_t)size;
	return buf;
}

int
intake_fallback_forward(struct store *st, const struct settings *set, struct arena *a,
                        const struct store_msg *sm, struct spool *raw, struct pr_why *why)
{
	const char *to = settings_str(set, SET_FALLBACK_ADDRESS);
	const char *from = forward_sender(st, set, a, why);
	if (from == NULL)
		return -1;
	struct outbound_attachment at = {.filename = arena_printf(a, "message-%" PRId64 ".eml", sm->id_r),
	                                 .content_type = "application/octet-stream"};
	if ((at.data = original_bytes(a, raw, &at.len)) == NULL) {
		pr_why_set(why, PR_E_IO, "the spooled message could not be read");
		return -1;
	}
	const char *text = arena_printf(
		a, "postroom could not read message #%" PRId64 " from <%s> (client %s), so it kept it in "
		"Fallback.\r\n\r\nWhy: %s\r\n\r\nThe message, byte for byte as received, is attached "
		"(%s).\r\n", sm->id_r, sm->mail_from, sm->peer_ip ? sm->peer_ip : "-",
		sm->detail ? sm->detail : "unreadable", at.filename);
	const char *msgid = intake_auto_msgid(a, "fallback", settings_str(set, SET_HOSTNAME));
	struct compose_in in = {
		.from_name = "postroom", .from_addr = from, .to = &to, .nto = 1,
		.subject = arena_printf(a, "Unreadable message kept by postroom (#%" PRId64 ")", sm->id_r),
		.text = text, .attach = &at, .nattach = 1, .msgid = msgid, .date = time(NULL),
		.auto_submitted = "auto-generated",
	};
	const uint8_t *bytes;
	size_t len;
	if (outbound_compose(a, &in, &bytes, &len, why) < 0)
		return -1;
	return intake_auto_queue(st, set, a, msgid, from, to, (const char *)bytes, len, why);
}
