/* check_address.c - answer mail to check_address with a report of it.
 * Rules and the reasons for them: check_address.h.
 *
 *   worker: auth verdict -> may we answer? (sender, SPF, automatic, rate)
 *           -> the SPF record read statically (auth/spf_audit.h)
 *           -> what the policy would do (auth_decide, then the sender
 *              rules of policy.c) -> report text (check_report.c)
 *           -> the answer queued (intake_auto_queue, auto_mail.c)
 *   committer: the attempt's intake-log row, verdict accepted, reason
 *           check_answered / check_unanswered, in the next group commit.
 */
#include "intake/check_address.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/dns.h"
#include "auth/spf_audit.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/spool.h"
#include "core/text.h"
#include "intake/check_report.h"
#include "route/address.h"

/* Rows read to count a sender's answers in the last hour: more accepted
 * attempts than this from one sender in an hour counts as over the limit
 * (fail closed) rather than paging through them. */
#define CHECK_RATE_SCAN 1000

bool
intake_check_wanted(const struct intake_msg *m, bool *only_r)
{
	size_t n = 0, total = 0;
	for (size_t r = 0; r < m->nrcpts; r++)
		for (size_t t = 0; t < m->rcpts[r].ntargets; t++, total++)
			n += m->rcpts[r].targets[t].kind == ROUTE_CHECK;
	*only_r = n > 0 && n == total;
	return n > 0;
}

/* Answers sent to sender in the last hour, from the intake log; -1 on a
 * store error. */
static int
answers_last_hour(struct store *st, struct arena *a, const char *sender, struct pr_why *why)
{
	struct store_log_filter f = {.since = time(NULL) - 3600, .verdict = "accepted",
	                             .sender = sender, .limit = CHECK_RATE_SCAN};
	struct store_log_entry *e;
	size_t n;
	if (store_log_list(st, a, &f, &e, &n, why) < 0)
		return -1;
	if (n >= CHECK_RATE_SCAN)
		return CHECK_RATE_SCAN;
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += e[i].reason == PR_E_CHECK_ANSWERED;
	return k;
}

/* 1 answer, 0 do not (why says which rule), -1 store trouble. */
static int
may_answer(struct intake_eval *ev, struct pr_why *why)
{
	const struct intake_msg *m = ev->m;
	if (*m->mail_from == '\0') {
		pr_why_set(why, PR_E_CHECK_UNANSWERED, "check message with a null envelope sender: not "
		           "answered (a report would go nowhere or to a forged From)");
		return 0;
	}
	if (ev->unreadable || intake_is_automatic(ev)) {
		pr_why_set(why, PR_E_CHECK_UNANSWERED, "check message from <%s> %s: not answered",
		           m->mail_from, ev->unreadable ? "could not be parsed" : "is an automatic message");
		return 0;
	}
	if (ev->av.spf != AUTH_PASS) {
		pr_why_set(why, PR_E_CHECK_UNANSWERED, "check message from <%s>: SPF %s, not pass, so the "
		           "envelope sender may be forged: not answered (no backscatter)", m->mail_from,
		           auth_result_name(ev->av.spf));
		return 0;
	}
	long long max = settings_int(ev->set, SET_CHECK_ADDRESS_HOURLY);
	int sent = answers_last_hour(ev->st, m->arena, m->mail_from, why);
	if (sent < 0)
		return -1;
	if (sent >= max) {
		pr_why_set(why, PR_E_CHECK_UNANSWERED, "check message from <%s>: %d reports sent to it in "
		           "the last hour (check_address_hourly = %lld): not answered", m->mail_from, sent, max);
		return 0;
	}
	return 1;
}

/* Who the From address is to postroom, in words for the report. */
static const char *
sender_status(struct intake_eval *ev)
{
	struct arena *a = ev->m->arena;
	struct store_user u;
	struct store_stakeholder sh;
	struct pr_why ignored;
	if (*ev->sender == '\0')
		return "the message has no From address";
	if (store_user_by_email(ev->st, a, ev->sender, &u, &ignored) == 0)
		return arena_printf(a, "%s is the postroom user %s%s", ev->sender, u.name,
		                    u.active ? "" : ", whose account is disabled (user_inactive)");
	if (store_stakeholder_by_email(ev->st, a, ev->sender, &sh, &ignored) == 0)
		return arena_printf(a, "%s is the stakeholder %s: mail from it is filed when it answers "
		                    "a thread it takes part in", ev->sender, sh.name);
	return arena_printf(a, "%s is not a postroom user: its mail is filed only when it answers a "
	                    "thread it takes part in, or in Unassigned if unknown_sender = unassigned",
	                    ev->sender);
}

/* The SPF record of the checked domain, read statically with the
 * worker's DNS port, under the message's DNS budget again. */
static const struct spf_audit *
read_spf(struct intake_worker *w, struct intake_eval *ev)
{
	const char *domain = ev->av.spf_domain;
	if (domain == NULL || *domain == '\0')
		return NULL;
	struct spf_audit *au = arena_alloc(ev->m->arena, sizeof(*au));
	struct dns *d = auth_dns(w->au);
	dns_budget_begin(d, domain, (int)settings_int(ev->set, SET_DNS_MESSAGE_BUDGET_MS),
	                 (int)settings_int(ev->set, SET_DNS_DOMAIN_CONCURRENCY));
	spf_audit_domain(d, ev->m->arena, domain, au);
	dns_budget_end(d);
	return au;
}

/* A Message-ID we may copy into In-Reply-To: printable, no brackets. */
static bool
msgid_safe(const char *id)
{
	if (id == NULL || *id == '\0' || strlen(id) > 250)
		return false;
	for (const char *p = id; *p; p++)
		if (*p <= ' ' || *p >= 127 || *p == '<' || *p == '>')
			return false;
	return true;
}

/* The answer as a whole RFC 5322 message (RFC 3834 auto-reply). */
static const char *
answer_bytes(struct intake_eval *ev, const char *summary, const char *report, const char *msgid)
{
	struct arena *a = ev->m->arena;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	const char *orig = ev->mi.message_id;
	const char *thread = msgid_safe(orig) ? arena_printf(a, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n",
	                                                     orig, orig) : "";
	return arena_printf(a, "From: postroom check <%s>\r\nTo: <%s>\r\nSubject: postroom check: %s\r\n"
	                    "Date: %s\r\nMessage-ID: <%s>\r\n%sAuto-Submitted: auto-replied\r\n"
	                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                    "Content-Transfer-Encoding: 8bit\r\n\r\n%s",
	                    settings_str(ev->set, SET_CHECK_ADDRESS), ev->m->mail_from, summary, date,
	                    msgid, thread, report);
}

/* What postroom would have done: the auth policy, then the sender rules
 * (From alignment, a disabled account) on a copy of the evaluation, so
 * nothing here is filed. */
static void
decide(struct intake_eval *ev, struct pr_why *d)
{
	pr_why_clear(d);
	if (auth_decide(ev->set, &ev->av, d) != PR_OK)
		return;
	struct intake_eval copy = *ev;
	copy.places = NULL, copy.nplaces = copy.capplaces = 0;
	pr_why_clear(d);
	if (intake_policy(&copy, d) == 0)
		pr_why_clear(d);
}

int
intake_check_answer(struct intake_worker *w, struct intake_eval *ev, struct pr_why *why)
{
	if (ev->av.spf == AUTH_TEMPERROR || ev->av.dns_budget_spent) {
		pr_why_set(why, PR_E_DNS_TEMP, "check message: %s", ev->av.spf_detail ? ev->av.spf_detail
		           : "the DNS lookups did not finish");
		return -1;
	}
	int ok = may_answer(ev, why);
	if (ok <= 0)
		return ok;
	struct arena *a = ev->m->arena;
	struct pr_why d;
	decide(ev, &d);
	struct check_report_input in = {
		.hostname = settings_str(ev->set, SET_HOSTNAME), .client_ip = ev->m->peer_ip,
		.helo = ev->m->helo, .mail_from = ev->m->mail_from, .from = ev->sender,
		.subject = ev->mi.subject, .message_id = ev->mi.message_id, .av = &ev->av,
		.spf_audit = read_spf(w, ev), .decision = &d, .sender_status = sender_status(ev),
	};
	const char *summary = check_report_summary(a, &in);
	const char *msgid = intake_auto_msgid(a, "check", in.hostname);
	const char *bytes = answer_bytes(ev, text_clean(a, summary), check_report_text(a, &in), msgid);
	/* Queued before the attempt's row goes to the committer, so both are
	 * durable before the sender hears 250. */
	if (intake_auto_queue(ev->st, ev->set, a, msgid, settings_str(ev->set, SET_CHECK_ADDRESS),
	                      ev->m->mail_from, bytes, strlen(bytes), why) < 0)
		return -1;
	pr_why_set(why, PR_E_CHECK_ANSWERED, "report <%s> sent to <%s>: %s", msgid, ev->m->mail_from,
	           summary);
	return 0;
}
