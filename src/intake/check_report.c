/* check_report.c - the check address's report text (see check_report.h).
 *
 * Sections, in the order a person fixes things: what arrived, SPF, DKIM,
 * DMARC with alignment, what postroom would do, what to fix.  The fixes
 * are the reason table's own sentences (core/err.c), so the report, the
 * SMTP reply and `why` never give different advice.
 */
#include "intake/check_report.h"

#include <stdarg.h>
#include <string.h>

#include "auth/dmarc.h"
#include "auth/spf_audit.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/text.h"
#include "route/address.h"

/* The report is at most this big: 32 signatures and 32 notes of 600. */
#define CHECK_REPORT_MAX (64 * 1024)

struct out {
	struct arena *a;
	struct buf b;
	const char *fixes[16];
	size_t nfixes;
};

static void
line(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line: untrusted parts cleaned, cut between characters, CRLF. */
static void
line(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *s = text_clean(o->a, arena_vprintf(o->a, fmt, ap));
	va_end(ap);
	size_t n = text_fit(s, CHECK_REPORT_MAX_LINE);
	buf_add(&o->b, s, n);
	buf_add(&o->b, "\r\n", 2);
}

static void
fix(struct out *o, const char *text)
{
	for (size_t i = 0; i < o->nfixes; i++)
		if (strcmp(o->fixes[i], text) == 0)
			return;
	if (o->nfixes < sizeof(o->fixes) / sizeof(o->fixes[0]))
		o->fixes[o->nfixes++] = text;
}

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void
arrived(struct out *o, const struct check_report_input *in)
{
	line(o, "postroom check report from %s", or_dash(in->hostname));
	line(o, "%s", "");
	line(o, "Your message %s%s%s", in->message_id ? "<" : "", in->message_id ? in->message_id : "(no Message-ID)",
	     in->message_id ? ">" : "");
	line(o, "  Subject:        %s", or_dash(in->subject));
	line(o, "  From:           %s", or_dash(in->from));
	line(o, "  envelope from:  %s", *in->mail_from ? in->mail_from : "<> (null sender)");
	line(o, "  sent by:        %s (HELO %s)", or_dash(in->client_ip), or_dash(in->helo));
	line(o, "%s", "");
}

static void
spf_record(struct out *o, const struct spf_audit *au)
{
	if (au == NULL || au->record == NULL)
		return;
	line(o, "  record:  %s", au->record);
	line(o, "  %s", spf_audit_cost_line(o->a, au));
	if (au->all_sentence)
		line(o, "  %s", au->all_sentence);
	if (au->problem)
		line(o, "  PROBLEM: %s", au->problem);
	for (size_t i = 0; i < au->nnotes; i++)
		line(o, "  note: %s", au->notes[i]);
	if (au->problem)
		fix(o, arena_printf(o->a, "repair the SPF record of %s: %s", au->domain, au->problem));
	if (au->unlisted == SPF_PASS || au->unlisted == SPF_NEUTRAL)
		fix(o, arena_printf(o->a, "end the SPF record of %s in -all (or ~all) once every service "
		                    "that sends for it is listed: %s", au->domain, au->all_sentence));
}

static void
spf(struct out *o, const struct check_report_input *in)
{
	const struct auth_verdict *v = in->av;
	line(o, "SPF: %s for %s (%s)", auth_result_name(v->spf), or_dash(v->spf_domain),
	     v->spf_helo ? "the HELO name: the envelope sender is null" : "the envelope sender's domain");
	if (v->spf_detail)
		line(o, "  %s", v->spf_detail);
	spf_record(o, in->spf_audit);
	if (v->spf != AUTH_PASS)
		fix(o, pr_err_info(v->spf_reason ? v->spf_reason : PR_E_SPF_NONE)->fix);
	line(o, "%s", "");
}

static void
dkim(struct out *o, const struct check_report_input *in)
{
	const struct auth_verdict *v = in->av;
	bool aligned_pass = false;
	if (v->ndkim == 0) {
		line(o, "DKIM: none - %s", pr_err_info(PR_E_DKIM_NONE)->summary);
		fix(o, pr_err_info(PR_E_DKIM_NONE)->fix);
	} else {
		line(o, "DKIM: %zu signature%s", v->ndkim, v->ndkim == 1 ? "" : "s");
	}
	for (size_t i = 0; i < v->ndkim; i++) {
		const struct auth_dkim_sig *s = &v->dkim[i];
		line(o, "  %zu. d=%s s=%s a=%s: %s, %s", i + 1, or_dash(s->domain), or_dash(s->selector),
		     or_dash(s->algorithm), auth_result_name(s->result),
		     s->aligned ? "aligned with the From domain" : "not aligned with the From domain");
		if (s->result != AUTH_PASS) {
			line(o, "     why: %s (%s): %s", pr_err_info(s->reason)->summary, pr_err_name(s->reason),
			     or_dash(s->detail));
			fix(o, pr_err_info(s->reason)->fix);
		}
		aligned_pass |= s->result == AUTH_PASS && s->aligned;
	}
	if (v->ndkim > 0 && !aligned_pass)
		fix(o, pr_err_info(PR_E_DKIM_MISALIGNED)->fix);
	line(o, "%s", "");
}

static void
dmarc(struct out *o, const struct check_report_input *in)
{
	const struct auth_verdict *v = in->av;
	const char *from_domain = address_domain(in->from);
	line(o, "DMARC: %s for %s%s%s%s", auth_result_name(v->dmarc), or_dash(v->dmarc_domain),
	     v->dmarc_policy ? " (policy " : "", v->dmarc_policy ? v->dmarc_policy : "",
	     v->dmarc_policy ? ")" : "");
	if (v->dmarc_detail)
		line(o, "  %s", v->dmarc_detail);
	bool spf_al = *from_domain && v->spf_domain && *v->spf_domain &&
	              dmarc_aligned(v->spf_domain, from_domain, false);
	line(o, "  SPF identity %s %s the From domain %s%s", or_dash(v->spf_domain),
	     spf_al ? "aligns with" : "does not align with", or_dash(from_domain),
	     spf_al && v->spf != AUTH_PASS ? " (but SPF did not pass)" : "");
	for (size_t i = 0; i < v->ndkim; i++)
		line(o, "  DKIM identity d=%s %s the From domain%s", or_dash(v->dkim[i].domain),
		     v->dkim[i].aligned ? "aligns with" : "does not align with",
		     v->dkim[i].aligned && v->dkim[i].result != AUTH_PASS ? " (but the signature did not pass)"
		                                                          : "");
	if (v->dmarc == AUTH_NONE && *from_domain)
		fix(o, arena_printf(o->a, "publish a DMARC record: _dmarc.%s TXT \"v=DMARC1; p=none; "
		                    "rua=mailto:dmarc-reports@%s\" (then p=quarantine or p=reject once reports "
		                    "look clean)", from_domain, from_domain));
	else if (v->dmarc == AUTH_FAIL)
		fix(o, pr_err_info(PR_E_DMARC_REJECT)->fix);
	else if (v->dmarc_policy && strcmp(v->dmarc_policy, "none") == 0)
		fix(o, "once DMARC reports look clean, move the DMARC policy from p=none to p=quarantine "
		       "or p=reject");
	line(o, "%s", "");
}

static void
verdict(struct out *o, const struct check_report_input *in)
{
	const struct pr_why *d = in->decision;
	line(o, "What postroom would do with this message");
	if (d == NULL || d->code == PR_OK) {
		line(o, "  accept it: its authentication satisfies this server's policy");
	} else {
		const struct pr_err_info *e = pr_err_info(d->code);
		line(o, "  refuse it: %d %s %s: %s", e->smtp, e->dsn, e->name, e->summary);
		line(o, "  why: %s", pr_why_text(d));
		line(o, "  fix: %s", e->fix);
		fix(o, e->fix);
	}
	if (in->sender_status)
		line(o, "  the From address: %s", in->sender_status);
	line(o, "%s", "");
}

const char *
check_report_text(struct arena *a, const struct check_report_input *in)
{
	struct out o = {.a = a};
	buf_init(&o.b, CHECK_REPORT_MAX);
	arrived(&o, in);
	spf(&o, in);
	dkim(&o, in);
	dmarc(&o, in);
	verdict(&o, in);
	line(&o, "What to fix");
	if (o.nfixes == 0)
		line(&o, "  nothing: SPF, DKIM and DMARC pass and align with the From domain");
	for (size_t i = 0; i < o.nfixes; i++)
		line(&o, "  - %s", o.fixes[i]);
	line(&o, "%s", "");
	line(&o, "This answer was sent automatically; replies are not read.");
	const char *s = arena_strndup(a, (const char *)o.b.data, o.b.len);
	buf_free(&o.b);
	return s;
}

const char *
check_report_summary(struct arena *a, const struct check_report_input *in)
{
	const struct auth_verdict *v = in->av;
	bool aligned = false, any = false;
	for (size_t i = 0; i < v->ndkim; i++) {
		any |= v->dkim[i].result == AUTH_PASS;
		aligned |= v->dkim[i].result == AUTH_PASS && v->dkim[i].aligned;
	}
	const char *dk = aligned ? "pass (aligned)" : any ? "pass (not aligned)"
	               : v->ndkim ? "fail" : "none";
	const char *would = in->decision == NULL || in->decision->code == PR_OK
	                    ? "postroom would accept it"
	                    : arena_printf(a, "postroom would refuse it (%s)", pr_err_name(in->decision->code));
	return arena_printf(a, "SPF %s, DKIM %s, DMARC %s: %s", auth_result_name(v->spf), dk,
	                    auth_result_name(v->dmarc), would);
}
