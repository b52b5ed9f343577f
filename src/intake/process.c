/* process.c - the steps one message goes through on a worker thread.
 *
 *   0. first line              indented -> 550 5.6.0 (see check_first_line)
 *   1. parse (mime/)           unreadable -> judged on its envelope only;
 *                              our spool unreadable -> 451 4.3.0
 *      envelope.c              collected mail: recipients, sender, client
 *                              from its header fields; trusted Received
 *                              unreadable -> 451 4.7.0
 *   2. From, loop check        not one author -> 550 5.7.1 (policy.c);
 *                              our own Received too often -> 550 5.4.6;
 *                              collected copy of our sent mail -> logged
 *                              as sent_copy, not filed (bounce.c)
 *   3. authenticate (auth/)    policy says no -> 550 5.7.x / 451 4.4.3
 *                              (unreadable: SPF of the envelope only)
 *   4. policy (policy.c)       threading, who may send, placements;
 *                              to our bounce address: the thread of the
 *                              message it is about, a failure report
 *                              marks that message failed (bounce.c)
 *                              (unreadable: sender and recipient rules
 *                              by envelope, then Fallback)
 *   5. build the store record  -> the committer; the store merges
 *                                 duplicates (same Message-ID and bytes)
 *
 * Nothing is written here: a refusal leaves with its intake-log row, an
 * accepted message with its record, and the committer writes both in
 * one group commit (intake.c).
 */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/spool.h"
#include "core/text.h"
#include "intake/check_address.h"
#include "intake/envelope.h"
#include "intake/intake_private.h"
#include "route/address.h"

static const char *
rcpt_list(struct arena *a, const struct intake_msg *m)
{
	const char *s = "";
	for (size_t i = 0; i < m->nrcpts; i++)
		s = arena_printf(a, "%s%s%s", s, i ? "," : "", m->rcpts[i].address);
	return text_clean(a, s);
}

/* Copy s to *p (NULL stays NULL) and move *p past it. */
static const char *
pack_str(char **p, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	memcpy(*p, s, n);
	const char *r = *p;
	*p += n;
	return r;
}

static size_t
str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static void
log_row_line(const struct store_log_entry *e)
{
	char s1[128], s2[128];
	log_info("intake: %s from=<%s> ip=%s size=%llu reason=%s: %s", e->verdict,
	         log_sanitize(s1, sizeof(s1), e->mail_from, 100), e->peer_ip,
	         (unsigned long long)e->size, pr_err_name(e->reason),
	         log_sanitize(s2, sizeof(s2), e->detail, 120));
}

struct intake_row *
intake_row_new(const struct intake_msg *m, uint64_t size, const struct pr_why *why,
               const char *msgid_hdr)
{
	struct arena *a = arena_new();
	/* Every text a peer, a header or a DNS record supplied is cleaned
	 * here, once (core/text.h): a field JSON cannot carry would hide the
	 * whole attempt from `log --json` and `why`. */
	const char *rcpts = rcpt_list(a, m), *detail = text_clean(a, pr_why_text(why));
	const char *ip = text_clean(a, m->peer_ip), *helo = text_clean(a, m->helo);
	const char *from = text_clean(a, m->mail_from);
	msgid_hdr = text_clean(a, msgid_hdr);
	size_t bytes = sizeof(struct intake_row) + str_size(ip) + str_size(helo) +
	               str_size(from) + str_size(rcpts) + str_size(detail) + str_size(msgid_hdr);
	struct intake_row *r = xcalloc(1, bytes);
	char *p = (char *)(r + 1);
	struct store_log_entry *e = &r->e;
	r->bytes = bytes;
	e->at = m->received_at ? m->received_at : time(NULL);
	e->source = m->source == INTAKE_POP3 ? "pop3" : "smtp";
	e->peer_ip = pack_str(&p, ip);
	e->helo = pack_str(&p, helo);
	e->mail_from = pack_str(&p, from);
	e->rcpts = pack_str(&p, rcpts);
	e->size = size;
	/* A 2xx reason with no stored message (the check address) is an
	 * accepted attempt all the same. */
	e->verdict = pr_err_info(why->code)->smtp / 100 == 2 ? "accepted"
	           : pr_err_is_temporary(why->code) ? "deferred" : "rejected";
	e->reason = why->code;
	e->detail = pack_str(&p, detail);
	e->message_id_hdr = pack_str(&p, msgid_hdr);
	arena_free(&a);
	log_row_line(e);
	return r;
}

/* Refuse: the result, and the row the committer writes with its next
 * group commit (the one writer of the intake log). */
static void
refuse(struct intake_job *j, struct intake_eval *ev, const struct pr_why *why)
{
	j->res.why = *why;
	j->row = intake_row_new(j->m, spool_size(j->m->raw), why,
	                        ev->unreadable ? NULL : ev->mi.message_id);
}

static const char *
first_from(const struct mime_info *mi)
{
	return mi->nfrom > 0 && mi->from[0].address ? mi->from[0].address : "";
}

static double
thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Returns the CPU time the checks took on this thread, in ms (DNS waits
 * are not CPU): intake_stats adds it up, so the checks' share of serve's
 * CPU is counted in the run that spends it (bench/smtp-intake). */
static double
authenticate(struct intake_worker *w, struct intake_eval *ev)
{
	struct intake_msg *m = ev->m;
	struct auth_input ai = {
		.client_ip = m->peer_ip, .helo = m->helo, .mail_from = m->mail_from,
		.from_domain = address_domain(ev->sender), .raw = m->raw, .now = time(NULL),
	};
	if (m->source == INTAKE_POP3) {
		/* Collected mail was received by the provider: its own verdict
		 * can be adopted when configured (the client IP and HELO from its
		 * Received header are already in m, see envelope.c). */
		ai.trusted_received_host = settings_str(ev->set, SET_TRUSTED_RECEIVED_HOST);
		ai.trusted_authserv_id = settings_str(ev->set, SET_TRUSTED_AUTHSERV_ID);
	}
	double t0 = thread_cpu_ms();
	auth_check(w->au, m->arena, &ai, ev->set, &ev->av);
	return thread_cpu_ms() - t0;
}

/* The people named in From/To/Cc, resolved against the directory, so a
 * project's correspondence with each person can be listed. */
static void
collect_people(struct intake_eval *ev, struct store_msg *sm)
{
	struct arena *a = ev->m->arena;
	size_t n = ev->mi.nfrom + ev->mi.nto + ev->mi.ncc, k = 0;
	struct store_person *p = arena_alloc(a, (n ? n : 1) * sizeof(*p));
	const struct { struct mime_address *v; size_t n; const char *role; } lists[] = {
		{ev->mi.from, ev->mi.nfrom, "from"}, {ev->mi.to, ev->mi.nto, "to"},
		{ev->mi.cc, ev->mi.ncc, "cc"},
	};
	store_reads_begin(ev->st);
	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l].n && k < n; i++) {
			const char *addr = lists[l].v[i].address;
			if (addr == NULL || *addr == '\0')
				continue;
			p[k] = (struct store_person){address_normalize(a, addr), lists[l].role, NULL, NULL};
			store_person_resolve(ev->st, a, &p[k++]);
		}
	store_reads_end(ev->st);
	sm->people = p;
	sm->npeople = k;
}

static const char *
references_text(struct arena *a, const struct mime_info *mi)
{
	if (mi->nreferences == 0)
		return NULL;
	const char *s = "";
	for (size_t i = 0; i < mi->nreferences; i++)
		s = arena_printf(a, "%s%s<%s>", s, i ? " " : "", mi->references[i]);
	return s;
}

static void
build_record(struct intake_eval *ev, struct intake_job *j)
{
	struct intake_msg *m = ev->m;
	struct arena *a = m->arena;
	struct store_msg *sm = arena_alloc(a, sizeof(*sm));
	const char *host = settings_str(ev->set, SET_HOSTNAME);
	const char **rcpts = arena_alloc(a, (m->nrcpts ? m->nrcpts : 1) * sizeof(*rcpts));
	/* The record's text fields are cleaned here, as intake_row_new
	 * does for the log row, so the message can always be listed. */
	for (size_t i = 0; i < m->nrcpts; i++)
		rcpts[i] = text_clean(a, m->rcpts[i].address);
	sm->source = m->source == INTAKE_POP3 ? "pop3" : "smtp";
	sm->received_at = m->received_at;
	sm->peer_ip = text_clean(a, m->peer_ip);
	sm->helo = text_clean(a, m->helo);
	sm->mail_from = text_clean(a, m->mail_from);
	sm->rcpts = rcpts;
	sm->nrcpts = m->nrcpts;
	sm->raw = ev->stored;
	sm->pop3_mailbox = m->pop3_mailbox;
	sm->pop3_uidl = m->pop3_uidl;
	sm->prepend = arena_printf(a, "%s%s", intake_received_header(a, m, host, intake_queue_id(a)),
	                           ev->av.header ? ev->av.header : "");
	sm->unreadable = ev->unreadable;
	if (!ev->unreadable) {
		sm->message_id = text_clean(a, ev->mi.message_id);
		sm->in_reply_to = text_clean(a, ev->mi.in_reply_to);
		sm->references = text_clean(a, references_text(a, &ev->mi));
		sm->subject = text_clean(a, ev->mi.subject);
		sm->from_addr = *ev->sender ? text_clean(a, ev->sender) : NULL;
		sm->date = text_clean(a, ev->mi.date);
		sm->parsed_json = ev->mi.json;
		sm->search_text = mime_search_text(a, &ev->mi);
		sm->auto_reply = intake_is_automatic(ev);
		collect_people(ev, sm);
	}
	sm->auth_json = ev->av.json;
	sm->thread_id = ev->thread_id;
	sm->placements = ev->places;
	sm->nplacements = ev->nplaces;
	sm->new_stakeholders = ev->new_stakeholders;
	sm->nnew_stakeholders = ev->nnew_stakeholders;
	sm->verdict = "accepted";
	sm->reason = ev->note.code;
	sm->detail = ev->note.code == PR_OK ? NULL : text_clean(a, pr_why_text(&ev->note));
	j->sm = sm;
}

/* An Authentication-Results field with our authserv-id in what the
 * sender wrote is a forgery of our verdict: it never reaches the store
 * (RFC 8601 5), so ours, prepended, is the only one. */
static int
strip_forged_results(struct intake_worker *w, struct intake_eval *ev, struct pr_why *why)
{
	size_t n = 0;
	ev->stored = auth_strip_own_results(ev->m->arena, ev->m->raw, ev->av.authserv_id,
	                                    intake_spool_dir(w->in), &n, why);
	if (ev->stored == NULL)
		return -1;
	if (n > 0) {
		char s1[128];
		log_info("intake: removed %zu Authentication-Results header(s) claiming to be ours (%s) "
		         "from a message from <%s>", n, ev->av.authserv_id,
		         log_sanitize(s1, sizeof(s1), ev->m->mail_from, 100));
	}
	return 0;
}

static int
check_loop(struct intake_eval *ev, struct pr_why *why)
{
	const char *host = settings_str(ev->set, SET_HOSTNAME);
	int n = intake_count_own_received(&ev->mi, host);
	if (n > PR_MAX_OWN_RECEIVED) {
		pr_why_set(why, PR_E_LOOP, "mail loop: the message already passed through %s %d times", host, n);
		return -1;
	}
	return 0;
}

/* The stored bytes are our Received and Authentication-Results headers,
 * then the message exactly as it arrived.  A first line that starts with
 * a space or tab would continue our Authentication-Results header in
 * those bytes ("\tdkim=pass header.d=client.example" read as part of our
 * verdict by anyone who parses the stored message).  We refuse it rather
 * than store it differently: such a line is not a header field (RFC 5322
 * 2.2: a header block starts with a field name; folding only continues a
 * field), so no working sender produces it and a refusal loses no real
 * mail, while the sender learns why; and any rewrite (dropping the line,
 * inserting a header between) would change the sender's own bytes, which
 * DKIM and the evidence value of the store depend on (the one change we
 * make, removing Authentication-Results forged with our authserv-id,
 * removes whole fields and never joins lines). */
static int
check_first_line(struct intake_eval *ev, struct pr_why *why)
{
	char c;
	ssize_t n = spool_read_at(ev->m->raw, 0, &c, 1);
	if (n < 0) {
		pr_why_set(why, PR_E_IO, "the spooled message could not be read");
		return -1;
	}
	if (n == 1 && (c == ' ' || c == '\t')) {
		pr_why_set(why, PR_E_INDENTED_FIRST_LINE, "the first line of the message starts with a %s, "
		           "so it would continue our Authentication-Results header", c == ' ' ? "space" : "tab");
		return -1;
	}
	return 0;
}

/* Unreadable mail: only what the envelope shows can be judged, and it is. */
static int
judge_unreadable(struct intake_eval *ev, struct pr_why *why)
{
	if (auth_decide_envelope(ev->set, &ev->av, why) != PR_OK)
		return -1;
	if (intake_policy_envelope(ev, why) < 0)
		return -1;
	ev->note = ev->parse_why;
	ev->note.code = PR_E_UNREADABLE;
	return 0;
}

void
intake_process(struct intake_worker *w, struct intake_job *j)
{
	struct intake_eval ev;
	memset(&ev, 0, sizeof(ev));
	ev.m = j->m;
	ev.st = w->st;
	struct settings *set = settings_current();
	ev.set = set;
	struct pr_why why;
	pr_why_clear(&why);
	pr_why_clear(&ev.note);
	j->res.why.code = PR_OK;

	/* A large message is kept as a file (store_body_put): its bytes go to
	 * disk while it is parsed and checked, not all at the final sync. */
	spool_start_writeback(j->m->raw);
	if (check_first_line(&ev, &why) < 0)
		goto refused;
	if (mime_parse_upto(j->m->raw, j->m->arena, STORE_SEARCH_TEXT_MAX, &ev.mi, &ev.parse_why) < 0) {
		/* Our disk failing is not the sender's malformed message: say
		 * "try again" (451) rather than file it as unreadable. */
		if (ev.parse_why.code == PR_E_IO || spool_check_readable(j->m->raw, &ev.parse_why) < 0) {
			why = ev.parse_why;
			goto refused;
		}
		ev.unreadable = true;
		log_warn("intake: unreadable message from <%s>: %s", j->m->mail_from,
		         pr_why_text(&ev.parse_why));
	}
	/* Collected mail comes without an envelope: read it from the header
	 * fields, also when GMime could not (unreadable mail has recipients). */
	if (j->m->source == INTAKE_POP3 && intake_envelope(w->st, set, j->m, &why) < 0)
		goto refused;
	ev.sender = ev.unreadable ? "" : address_normalize(j->m->arena, first_from(&ev.mi));
	if (!ev.unreadable && (intake_check_from(&ev, &why) < 0 || check_loop(&ev, &why) < 0))
		goto refused;
	/* Our own sent mail, collected back: recognised, not judged or filed. */
	if (!ev.unreadable && intake_sent_copy(&ev, &why) != 0)
		goto refused;
	j->checks_cpu_ms = authenticate(w, &ev);
	/* Mail to the check address is answered with a report of itself
	 * (check_address.h).  A message only to it is not filed: its row
	 * (accepted, check_answered / check_unanswered, 250) is all that is
	 * written; with other recipients too, it goes on to them as usual. */
	bool check_only = false;
	if (intake_check_wanted(j->m, &check_only)) {
		struct pr_why cw;
		pr_why_clear(&cw);
		int crc = intake_check_answer(w, &ev, &cw);
		if (check_only) {
			why = cw;
			goto refused;        /* the row; 250 unless crc < 0 (temporary) */
		}
		log_info("intake: also to the check address: %s%s", crc < 0 ? "not answered: " : "",
		         pr_why_text(&cw));
	}
	if (ev.unreadable) {
		if (judge_unreadable(&ev, &why) < 0)
			goto refused;
	} else {
		if (auth_decide(set, &ev.av, &why) != PR_OK)
			goto refused;
		/* Reports about what we sent (bounce.c), then where the message
		 * may go: reads only, from one snapshot (store_reads_begin). */
		store_reads_begin(w->st);
		int rc = intake_bounce_find(&ev, &why) < 0 ? -1 : intake_policy(&ev, &why);
		store_reads_end(w->st);
		if (rc < 0 || intake_bounce_record(&ev, &why) < 0)
			goto refused;
	}
	if (strip_forged_results(w, &ev, &why) < 0)
		goto refused;
	build_record(&ev, j);
	/* A large body is written and synced here, by this worker, so the
	 * committer only links it (store.h). */
	if (store_body_put(w->st, j->m->arena, j->sm, &why) < 0) {
		j->sm = NULL;
		goto refused;
	}
	settings_unref(&set);
	return;
refused:
	refuse(j, &ev, &why);
	settings_unref(&set);
}
