/* test-check-report.c - the check address's report text from verdict
 * structs: each section names the results and reasons it was given, the
 * fixes are the reason table's sentences, hostile text comes out clean. */
#include <string.h>

#include "auth/spf_audit.h"
#include "core/arena.h"
#include "intake/check_report.h"
#include "test.h"

static bool
has(const char *text, const char *part)
{
	if (strstr(text, part))
		return true;
	fprintf(stderr, "missing \"%s\" in:\n%s\n", part, text);
	return false;
}

static struct auth_dkim_sig sigs[2] = {
	{.domain = "client.example", .selector = "s1", .algorithm = "rsa-sha256",
	 .result = AUTH_PASS, .reason = PR_OK, .detail = "ok", .aligned = true},
	{.domain = "esp.example", .selector = "k2", .algorithm = "ed25519-sha256",
	 .result = AUTH_FAIL, .reason = PR_E_DKIM_BODY_CHANGED, .detail = "body hash mismatch",
	 .aligned = false},
};

static struct auth_verdict
verdict(void)
{
	struct auth_verdict v = {
		.spf = AUTH_PASS, .spf_domain = "client.example", .spf_reason = PR_E_SPF_FAIL,
		.spf_detail = "SPF pass for client.example: 192.0.2.7 is allowed", .dkim = sigs, .ndkim = 2,
		.dmarc = AUTH_PASS, .dmarc_policy = "none", .dmarc_domain = "client.example",
		.dmarc_detail = "aligned DKIM pass",
	};
	return v;
}

TEST(all_pass_report)
{
	struct arena *a = arena_new();
	struct auth_verdict v = verdict();
	struct pr_why ok;
	pr_why_clear(&ok);
	struct check_report_input in = {.hostname = "mx.firm.example", .client_ip = "192.0.2.7",
	                                .helo = "out.client.example", .mail_from = "ann@client.example",
	                                .from = "ann@client.example", .subject = "test",
	                                .message_id = "m1@client.example", .av = &v, .decision = &ok,
	                                .sender_status = "ann@client.example is not a postroom user"};
	const char *t = check_report_text(a, &in);
	CHECK(has(t, "SPF: pass for client.example (the envelope sender's domain)"));
	CHECK(has(t, "DKIM: 2 signatures"));
	CHECK(has(t, "1. d=client.example s=s1 a=rsa-sha256: pass, aligned with the From domain"));
	CHECK(has(t, "2. d=esp.example s=k2 a=ed25519-sha256: fail, not aligned"));
	CHECK(has(t, "dkim_body_changed"));
	CHECK(has(t, "DMARC: pass for client.example (policy none)"));
	CHECK(has(t, "SPF identity client.example aligns with the From domain client.example"));
	CHECK(has(t, "accept it"));
	CHECK(has(t, "move the DMARC policy from p=none"));
	CHECK(has(t, pr_err_info(PR_E_DKIM_BODY_CHANGED)->fix));
	CHECK(strstr(t, "\r\n") != NULL);
	CHECK_STR(check_report_summary(a, &in),
	          "SPF pass, DKIM pass (aligned), DMARC pass: postroom would accept it");
	arena_free(&a);
}

TEST(refusal_names_reason_and_fix)
{
	struct arena *a = arena_new();
	struct auth_verdict v = verdict();
	v.ndkim = 0;
	v.dmarc = AUTH_NONE;
	v.dmarc_policy = NULL;
	struct pr_why d;
	pr_why_set(&d, PR_E_DKIM_NONE, "no DKIM-Signature in the message");
	struct spf_audit au = {.status = SPF_AUDIT_BROKEN, .domain = "client.example",
	                       .record = "v=spf1 include:a.example mx ?all", .lookups = 11,
	                       .over_path = "client.example \u2192 mx",
	                       .problem = "the SPF record needs more than 10 DNS lookups",
	                       .unlisted = SPF_NEUTRAL, .all_term = "?all",
	                       .all_sentence = "the record ends in ?all: servers it does not list are "
	                                       "neither allowed nor refused"};
	struct check_report_input in = {.hostname = "mx.firm.example", .client_ip = "192.0.2.7",
	                                .helo = "h", .mail_from = "ann@client.example",
	                                .from = "ann@client.example", .av = &v, .spf_audit = &au,
	                                .decision = &d};
	const char *t = check_report_text(a, &in);
	CHECK(has(t, "DKIM: none"));
	CHECK(has(t, "refuse it: 550 5.7.20 dkim_none"));
	CHECK(has(t, "why: no DKIM-Signature in the message"));
	CHECK(has(t, pr_err_info(PR_E_DKIM_NONE)->fix));
	CHECK(has(t, "11 of 10 DNS lookups in the worst case: client.example \u2192 mx"));
	CHECK(has(t, "the record ends in ?all"));
	CHECK(has(t, "publish a DMARC record: _dmarc.client.example"));
	CHECK(has(t, "(no Message-ID)"));
	CHECK_STR(check_report_summary(a, &in),
	          "SPF pass, DKIM none, DMARC none: postroom would refuse it (dkim_none)");
	arena_free(&a);
}

/* DNS and header text is untrusted: no controls, no bare CR/LF, short lines. */
TEST(hostile_text_is_clean)
{
	struct arena *a = arena_new();
	struct auth_verdict v = verdict();
	char longs[3000];
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	v.spf_detail = "evil\r\nBcc: victim@example.org\x1b[31m";
	v.dmarc_detail = longs;
	struct check_report_input in = {.hostname = "mx", .client_ip = "192.0.2.7", .helo = "h",
	                                .mail_from = "a@b.example", .from = "a@b.example",
	                                .subject = "s\xff\xfe", .av = &v};
	const char *t = check_report_text(a, &in);
	CHECK(strstr(t, "\x1b") == NULL);
	CHECK(strstr(t, "\nBcc:") == NULL);
	size_t run = 0, maxrun = 0;
	for (const char *p = t; *p; p++) {
		if (*p == '\r' && p[1] != '\n')
			CHECK(!"bare CR");
		if (*p == '\n' && (p == t || p[-1] != '\r'))
			CHECK(!"bare LF");
		run = *p == '\n' ? 0 : run + 1;
		if (run > maxrun)
			maxrun = run;
	}
	CHECK(maxrun <= CHECK_REPORT_MAX_LINE + 2);
	arena_free(&a);
}

int
main(void)
{
	RUN(all_pass_report);
	RUN(refusal_names_reason_and_fix);
	RUN(hostile_text_is_clean);
	return test_summary("check-report");
}
