/* send.c - `postroom send`: a member writes from a project.
 *
 * Order, and why:
 *   1. everything is checked before anything is built: the project, the
 *      user (active, a member), every address, the message answered;
 *   2. the sender address: the project's own (sender_mode = project,
 *      <project_prefix><id>@<first domain>: a reply to it files itself)
 *      or default_sender; From shows the user's name with it;
 *   3. our Message-ID is made here and stored with the message, so an
 *      answer threads by In-Reply-To/References even when a relay rewrote
 *      From and Reply-To;
 *   4. recipients at our own domains are judged by the routing rules
 *      (internal_delivery): they become placements of the stored message
 *      -- a user's mailbox, another project -- and never touch SMTP;
 *   5. one transaction stores the message in the project's thread, those
 *      placements and the queue row of the remaining recipients
 *      (store_outbound_enqueue): it is in its thread before it leaves.
 */
#include <openssl/rand.h>
#include <string.h>

#include "core/arena.h"
#include "core/settings.h"
#include "core/spool.h"
#include "core/text.h"
#include "mime/mime.h"
#include "outbound/outbound_private.h"
#include "route/address.h"
#include "route/route.h"

/* Everything outbound_send works out before it stores. */
struct send_ctx {
	struct store *st;
	const struct settings *set;
	struct arena *a;
	const struct outbound_send_req *req;
	struct store_user user;
	const char *sender, *msgid, *in_reply_to, *references;
	int64_t thread_id;
	struct store_outbound_rcpt *rcpts;
	size_t nrcpts;
	struct store_placement *places;
	size_t nplaces, capplaces;
	const char **envelope;       /* the recipients queued for SMTP */
	size_t nenvelope;
};

static int
check_sender(struct send_ctx *c, struct pr_why *why)
{
	const struct outbound_send_req *r = c->req;
	struct store_project p;
	int rc = store_project_get(c->st, c->a, r->project, &p, why);
	if (rc == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "there is no project %s", r->project);
	if (rc != 0)
		return -1;
	if ((rc = store_user_get(c->st, c->a, r->user, &c->user, why)) == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "there is no user %s", r->user);
	if (rc != 0)
		return -1;
	if (!c->user.active) {
		pr_why_set(why, PR_E_USER_INACTIVE, "user %s is disabled and may not send", r->user);
		return -1;
	}
	if ((rc = store_project_is_member(c->st, r->project, r->user, why)) == 0)
		pr_why_set(why, PR_E_NOT_A_MEMBER, "user %s is not a member of project %s", r->user, r->project);
	return rc == 1 ? 0 : -1;
}

static int
sender_address(struct send_ctx *c, struct pr_why *why)
{
	if (settings_enum(c->set, SET_SENDER_MODE) == SENDER_MODE_PROJECT) {
		c->sender = route_project_address(c->st, c->set, c->a, c->req->project, why);
		return c->sender ? 0 : -1;
	}
	c->sender = settings_str(c->set, SET_DEFAULT_SENDER);
	if (*c->sender == '\0') {
		pr_why_set(why, PR_E_CONFIG, "sender_mode is default but default_sender is not set "
		           "(postroom settings set default_sender ADDRESS)");
		return -1;
	}
	return 0;
}

/* <random.time@sender-domain>: unguessable, so nobody can make a message
 * look like an answer to ours without having seen it. */
static int
make_msgid(struct send_ctx *c, time_t now, struct pr_why *why)
{
	unsigned char rnd[12];
	char hex[sizeof(rnd) * 2 + 1];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		pr_why_set(why, PR_E_INTERNAL, "no random bytes for a Message-ID");
		return -1;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	c->msgid = arena_printf(c->a, "%s.%lld@%s", hex, (long long)now, address_domain(c->sender));
	return 0;
}

/* In-Reply-To and References from the message answered (RFC 5322 3.6.4:
 * its References, or its In-Reply-To, then its own Message-ID). */
static int
thread_of_parent(struct send_ctx *c, struct pr_why *why)
{
	const struct outbound_send_req *r = c->req;
	int64_t id = r->reply_to_message;
	if (r->in_reply_to != NULL && id != 0) {
		pr_why_set(why, PR_E_INVALID, "give --in-reply-to or --reply-to-message, not both");
		return -1;
	}
	int rc = 0;
	if (r->in_reply_to != NULL && (rc = store_message_by_msgid(c->st, r->in_reply_to, &id, &c->thread_id, why)) == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no stored message has the Message-ID %s", r->in_reply_to);
	if (rc != 0 || id == 0)
		return rc == 0 ? 0 : -1;
	struct store_message m;
	if ((rc = store_message_meta(c->st, c->a, id, &m, why)) == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "there is no message %lld", (long long)id);
	if (rc != 0)
		return -1;
	if (m.s.message_id == NULL || *m.s.message_id == '\0') {
		pr_why_set(why, PR_E_INVALID, "message %lld has no Message-ID to answer", (long long)id);
		return -1;
	}
	c->thread_id = m.thread_id;
	c->in_reply_to = arena_printf(c->a, "<%s>", m.s.message_id);
	const char *prior = m.references ? m.references : m.in_reply_to ? arena_printf(c->a, "<%s>", m.in_reply_to) : NULL;
	c->references = prior ? arena_printf(c->a, "%s %s", prior, c->in_reply_to) : c->in_reply_to;
	return 0;
}

/* A project placement for the sender's own project always; then, for each
 * recipient at a domain we serve (internal_delivery), where the routing
 * rules lead.  Other recipients wait in the queue. */
static int
place_rcpt(struct send_ctx *c, const char *addr, struct store_outbound_rcpt *r, struct pr_why *why)
{
	r->state = "queued";
	if (!settings_bool(c->set, SET_INTERNAL_DELIVERY))
		return 0;
	int served = store_domain_served(c->st, address_domain(addr), why);
	if (served <= 0)
		return served;
	struct route_target *t;
	size_t n;
	if (route_recipient(c->st, c->set, c->a, addr, &t, &n, why) < 0)
		return -1;
	if (c->nplaces + n > c->capplaces) {
		/* an alias fans out to every member: grow */
		c->capplaces = 2 * (c->nplaces + n);
		struct store_placement *np = arena_alloc(c->a, c->capplaces * sizeof(*np));
		memcpy(np, c->places, c->nplaces * sizeof(*np));
		c->places = np;
	}
	for (size_t i = 0; i < n; i++)
		c->places[c->nplaces++] = (struct store_placement){t[i].kind, t[i].target, addr};
	r->state = "internal";
	return 0;
}

static int
add_list(struct send_ctx *c, const char *const *v, size_t n, const char *kind, struct pr_why *why)
{
	for (size_t i = 0; i < n; i++) {
		struct address ad;
		if (address_parse(c->a, v[i], &ad, why) < 0) {
			const char *detail = arena_strdup(c->a, pr_why_text(why));   /* why is rewritten */
			pr_why_set(why, PR_E_INVALID, "'%s' (%s) is not an address like name@example.org: %s",
			           text_clean(c->a, v[i]), kind, detail);
			return -1;
		}
		const char *addr = address_normalize(c->a, ad.full);
		bool seen = false;
		for (size_t k = 0; k < c->nrcpts && !seen; k++)
			seen = !strcmp(c->rcpts[k].address, addr);
		if (seen)
			continue;
		struct store_outbound_rcpt *r = &c->rcpts[c->nrcpts++];
		r->address = addr;
		r->kind = kind;
		if (place_rcpt(c, addr, r, why) < 0)
			return -1;
		if (!strcmp(r->state, "queued"))
			c->envelope[c->nenvelope++] = addr;
	}
	return 0;
}

static int
check_rcpts(struct send_ctx *c, struct pr_why *why)
{
	const struct outbound_send_req *r = c->req;
	size_t total = r->nto + r->ncc + r->nbcc;
	if (total == 0 || total > OUTBOUND_MAX_RCPTS) {
		pr_why_set(why, PR_E_INVALID, total ? "at most %d recipients per message (To, Cc and Bcc)"
		           : "a message needs a recipient (--to, --cc or --bcc)", OUTBOUND_MAX_RCPTS);
		return -1;
	}
	c->rcpts = arena_alloc(c->a, total * sizeof(*c->rcpts));
	c->envelope = arena_alloc(c->a, total * sizeof(*c->envelope));
	c->capplaces = 1 + total;
	c->places = arena_alloc(c->a, c->capplaces * sizeof(*c->places));
	c->places[c->nplaces++] = (struct store_placement){ROUTE_PROJECT, r->project, "sent"};
	return add_list(c, r->to, r->nto, "to", why) < 0 || add_list(c, r->cc, r->ncc, "cc", why) < 0 ||
	       add_list(c, r->bcc, r->nbcc, "bcc", why) < 0 ? -1 : 0;
}

/* Valid UTF-8 without controls but TAB, CR, LF and FF. */
static bool
body_text(const char *s)
{
	if (s == NULL)
		return false;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += text_utf8_next((const uint8_t *)s + i, n - i, &cp);
		if (cp == TEXT_INVALID || (text_is_control(cp) && cp != '\r' && cp != '\n' && cp != '\f'))
			return false;
	}
	return true;
}

/* Header text from the caller: valid UTF-8, no control characters (a CR
 * or LF would start a header field of the caller's choosing). */
static int
check_text(struct send_ctx *c, struct pr_why *why)
{
	const char *subj = c->req->subject;
	if (subj == NULL || strlen(subj) > OUTBOUND_MAX_SUBJECT || strcmp(text_clean(c->a, subj), subj)) {
		pr_why_set(why, PR_E_INVALID, subj ? "the subject must be UTF-8 text on one line, at most %d bytes"
		           : "a message needs a subject (--subject)", OUTBOUND_MAX_SUBJECT);
		return -1;
	}
	if (!body_text(c->req->text) || (c->req->html && !body_text(c->req->html))) {
		pr_why_set(why, PR_E_INVALID, "the body must be UTF-8 text (control characters other than "
		           "tab, line and page breaks are refused)");
		return -1;
	}
	if (c->req->nattach > OUTBOUND_MAX_ATTACHMENTS) {
		pr_why_set(why, PR_E_INVALID, "at most %d attachments per message", OUTBOUND_MAX_ATTACHMENTS);
		return -1;
	}
	return 0;
}

static int
compose(struct send_ctx *c, time_t now, const uint8_t **raw, size_t *len, struct pr_why *why)
{
	const struct outbound_send_req *r = c->req;
	const char *name = c->user.display && *c->user.display ? c->user.display : c->user.name;
	struct compose_in in = {
		.from_name = text_clean(c->a, name), .from_addr = c->sender,
		.to = r->to, .nto = r->nto, .cc = r->cc, .ncc = r->ncc,
		.subject = r->subject, .text = r->text, .html = r->html,
		.attach = r->attach, .nattach = r->nattach, .msgid = c->msgid,
		.in_reply_to = c->in_reply_to, .references = c->references, .date = now,
	};
	return outbound_compose(c->a, &in, raw, len, why);
}

/* From (the member, with the address the message shows), To and Cc,
 * resolved against the directory: the people of the thread, so a
 * stakeholder's answer is accepted as a participant's.  Bcc stays hidden. */
static void
people(struct send_ctx *c, struct store_msg *m)
{
	struct store_person *p = arena_alloc(c->a, (c->nrcpts + 1) * sizeof(*p));
	size_t k = 0;
	p[k++] = (struct store_person){c->sender, "from", c->user.name, NULL};
	for (size_t i = 0; i < c->nrcpts; i++) {
		if (!strcmp(c->rcpts[i].kind, "bcc"))
			continue;
		p[k] = (struct store_person){c->rcpts[i].address, c->rcpts[i].kind, NULL, NULL};
		store_person_resolve(c->st, c->a, &p[k++]);
	}
	m->people = p;
	m->npeople = k;
}

/* Outside people written to become the project's stakeholders
 * (auto_stakeholders), as when a member Cc's them on mail into the
 * project: their answers are then accepted. */
static void
stakeholders(struct send_ctx *c, struct store_msg *m)
{
	if (!settings_bool(c->set, SET_AUTO_STAKEHOLDERS))
		return;
	const char **v = arena_alloc(c->a, (c->nrcpts + 1) * sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < c->nrcpts; i++)
		if (!strcmp(c->rcpts[i].state, "queued") && strcmp(c->rcpts[i].kind, "bcc"))
			v[k++] = arena_printf(c->a, "%s\t%s", c->req->project, c->rcpts[i].address);
	m->new_stakeholders = v;
	m->nnew_stakeholders = k;
}

static struct store_msg *
record(struct send_ctx *c, time_t now, struct spool *raw, const struct mime_info *mi)
{
	struct store_msg *m = arena_alloc(c->a, sizeof(*m));
	struct store_outbound_new *q = arena_alloc(c->a, sizeof(*q));
	const char **all = arena_alloc(c->a, (c->nrcpts + 1) * sizeof(*all));
	for (size_t i = 0; i < c->nrcpts; i++)
		all[i] = c->rcpts[i].address;
	*q = (struct store_outbound_new){c->msgid, c->sender, c->req->project, c->user.name, now,
	                                 now + settings_int(c->set, SET_SMTP_RETRY_FOR), c->rcpts, c->nrcpts};
	m->source = "outbound";
	m->received_at = now;
	m->mail_from = c->sender;
	m->rcpts = all;
	m->nrcpts = c->nrcpts;
	m->raw = raw;
	m->message_id = c->msgid;
	m->in_reply_to = mi->in_reply_to;
	m->references = c->references;
	m->subject = mi->subject;
	m->from_addr = c->sender;
	m->date = mi->date;
	m->parsed_json = mi->json;
	m->search_text = mime_search_text(c->a, mi);
	m->thread_id = c->thread_id;
	m->placements = c->places;
	m->nplacements = c->nplaces;
	m->outbound = q;
	people(c, m);
	stakeholders(c, m);
	return m;
}

int
outbound_send(struct store *st, const struct settings *set, struct arena *a,
              const struct outbound_send_req *req, struct outbound_send_res *res, struct pr_why *why)
{
	struct send_ctx c = {.st = st, .set = set, .a = a, .req = req};
	time_t now = req->now ? req->now : time(NULL);
	const uint8_t *bytes;
	size_t len;
	struct mime_info mi;
	memset(res, 0, sizeof(*res));
	pr_why_clear(why);
	if (check_text(&c, why) < 0 || check_sender(&c, why) < 0 || sender_address(&c, why) < 0 ||
	    thread_of_parent(&c, why) < 0 || check_rcpts(&c, why) < 0 || make_msgid(&c, now, why) < 0 ||
	    compose(&c, now, &bytes, &len, why) < 0)
		return -1;
	struct spool *raw = spool_from_bytes(a, NULL, bytes, len);
	if (mime_parse_upto(raw, a, STORE_SEARCH_TEXT_MAX, &mi, why) < 0)
		return -1;
	struct store_msg *m = record(&c, now, raw, &mi);
	if (store_outbound_enqueue(st, m, why) < 0)
		return -1;
	outbound_queue_poke();
	*res = (struct outbound_send_res){m->id_r, m->outbound_id_r, c.msgid, c.sender, c.nenvelope,
	                                  c.nrcpts - c.nenvelope, len, NULL};
	if (len > OUTBOUND_WARN_SIZE)
		res->warning = arena_printf(a, "the message is %zu bytes, over 10 MB: many receiving servers "
		                            "refuse messages this large; share a link instead", len);
	return 0;
}
