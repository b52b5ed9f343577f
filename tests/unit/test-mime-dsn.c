/* test-mime-dsn.c - delivery status notifications (mime_dsn.c) and our
 * bounce addresses (route/verp.c).
 *
 * - a Postfix-style DSN parsed by GMime through mime_parse: the report's
 *   recipient, action, status and the remote server's words;
 * - the field reader alone: valid[] reports with what they must give,
 *   each fed whole; hostile ones (no blank lines, 10,000 blocks, a
 *   100 kB value, NULs and controls) stay bounded and clean;
 * - a DSN quoted inside a forwarded message is not a bounce of ours;
 * - VERP: made then read back; a wrong mac, another id, a cut or
 *   uppercase address, no key.
 */
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "mime/mime_dsn.h"
#include "route/verp.h"
#include "test.h"

static struct arena *A;

static const char *postfix_dsn =
	"Return-Path: <>\r\n"
	"From: MAILER-DAEMON@relay.example (Mail Delivery System)\r\n"
	"To: bounce+42-0011223344556677@firm.example\r\n"
	"Subject: Undelivered Mail Returned to Sender\r\n"
	"Auto-Submitted: auto-replied\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=delivery-status;\r\n"
	"\tboundary=\"B1\"\r\n"
	"\r\n"
	"--B1\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"\r\n"
	"I'm sorry to have to inform you that your message could not be delivered.\r\n"
	"\r\n"
	"--B1\r\n"
	"Content-Type: message/delivery-status\r\n"
	"\r\n"
	"Reporting-MTA: dns; relay.example\r\n"
	"Arrival-Date: Thu,  3 Dec 2026 10:00:00 +0000 (UTC)\r\n"
	"\r\n"
	"Final-Recipient: rfc822; nobody@example.org\r\n"
	"Original-Recipient: rfc822;nobody@example.org\r\n"
	"Action: failed\r\n"
	"Status: 5.1.1\r\n"
	"Remote-MTA: dns; mx.example.org\r\n"
	"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address\r\n"
	"    rejected: User unknown in local recipient table\r\n"
	"\r\n"
	"--B1\r\n"
	"Content-Type: text/rfc822-headers\r\n"
	"\r\n"
	"Message-ID: <x1@firm.example>\r\n"
	"\r\n"
	"--B1--\r\n";

static int
parse(const char *msg, struct mime_info *m)
{
	struct pr_why why;
	struct spool *s = spool_from_bytes(A, NULL, msg, strlen(msg));
	return mime_parse(s, A, m, &why);
}

TEST(postfix_report)
{
	struct mime_info m;
	CHECK_INT(parse(postfix_dsn, &m), 0);
	CHECK(m.is_bounce);
	CHECK(m.dsn != NULL);
	if (m.dsn == NULL)
		return;
	CHECK_STR(m.dsn->reporting_mta, "relay.example");
	CHECK_INT(m.dsn->nrcpt, 1);
	const struct mime_dsn_rcpt *r = mime_dsn_failed(m.dsn);
	CHECK(r != NULL);
	CHECK_STR(r->final_recipient, "nobody@example.org");
	CHECK_STR(r->status, "5.1.1");
	CHECK_STR(r->remote_mta, "mx.example.org");
	CHECK_STR(r->diagnostic, "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
	          "User unknown in local recipient table");
}

/* A report forwarded inside another message is that message's business. */
TEST(quoted_report_is_not_ours)
{
	char msg[8192];
	snprintf(msg, sizeof(msg), "From: a@example.org\r\nTo: b@firm.example\r\nSubject: fwd\r\n"
	         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"O\"\r\n\r\n--O\r\n"
	         "Content-Type: text/plain\r\n\r\nsee below\r\n--O\r\nContent-Type: message/rfc822\r\n\r\n"
	         "%s\r\n--O--\r\n", postfix_dsn);
	struct mime_info m;
	CHECK_INT(parse(msg, &m), 0);
	CHECK(m.dsn == NULL);
	CHECK(!m.is_bounce);
}

static const struct {
	const char *in;
	size_t nrcpt;
	const char *action, *status, *diag, *rcpt;
} valid[] = {
	/* LF only, lowercase names, Action in capitals with a comment */
	{"reporting-mta: dns; a\n\nfinal-recipient: rfc822; x@y\naction: FAILED (bad)\nstatus: 5.0.0\n", 1,
	 "failed", "5.0.0", NULL, "x@y"},
	/* two recipients: the first delayed, the second failed */
	{"Reporting-MTA: dns; a\r\n\r\nFinal-Recipient: rfc822; d@y\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
	 "Final-Recipient: rfc822; f@y\r\nAction: failed\r\nStatus: 5.2.2\r\n"
	 "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n", 2, "failed", "5.2.2",
	 "552 5.2.2 mailbox full", "f@y"},
	/* no per-message block at all: the first block is still per-message */
	{"Final-Recipient: rfc822; x@y\r\nAction: failed\r\n", 0, NULL, NULL, NULL, NULL},
	/* several blank lines between blocks */
	{"Reporting-MTA: dns; a\r\n\r\n\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n", 1, "failed", "5.1.1",
	 NULL, NULL},
};

TEST(reader_table)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct mime_dsn d;
		mime_dsn_parse(A, valid[i].in, strlen(valid[i].in), &d);
		const struct mime_dsn_rcpt *r = mime_dsn_failed(&d);
		CHECK_INT(d.nrcpt, valid[i].nrcpt);
		CHECK_STR(r ? r->action : NULL, valid[i].action);
		CHECK_STR(r ? r->status : NULL, valid[i].status);
		CHECK_STR(r ? r->diagnostic : NULL, valid[i].diag);
		CHECK_STR(r ? r->final_recipient : NULL, valid[i].rcpt);
	}
}

TEST(reader_hostile)
{
	struct mime_dsn d;
	size_t n = 200000;
	char *big = malloc(n + 1);
	/* 10,000+ blocks: at most MIME_DSN_MAX_RCPTS kept */
	size_t k = 0;
	while (k + 20 < n) {
		memcpy(big + k, "Action: failed\r\n\r\n", 18);
		k += 18;
	}
	mime_dsn_parse(A, big, k, &d);
	CHECK(d.nrcpt <= MIME_DSN_MAX_RCPTS);
	/* one 50 kB value: cut at MIME_DSN_MAX_VALUE */
	memset(big, 'x', n);
	memcpy(big, "R: a\r\n\r\nDiagnostic-Code: smtp; ", 31);
	memcpy(big + 50000, "\r\nAction: failed\r\n", 18);
	mime_dsn_parse(A, big, 50018, &d);
	CHECK_INT(d.nrcpt, 1);
	CHECK(d.rcpt[0].diagnostic != NULL && strlen(d.rcpt[0].diagnostic) <= MIME_DSN_MAX_VALUE);
	CHECK_STR(d.rcpt[0].action, "failed");
	/* NUL, ESC and a bare CR inside values: cleaned, never raw */
	static const char ctl[] = "R: a\r\n\r\nAction: failed\r\nDiagnostic-Code: smtp; 550 \x1b[31mred\x00x\r\r\n";
	mime_dsn_parse(A, ctl, sizeof(ctl) - 1, &d);
	CHECK(d.nrcpt == 1 && d.rcpt[0].diagnostic != NULL && strchr(d.rcpt[0].diagnostic, 0x1b) == NULL);
	/* no newline at all (read up to MIME_DSN_MAX_BYTES), and empty input */
	memset(big, 'x', n);
	mime_dsn_parse(A, big, n, &d);
	CHECK_INT(d.nrcpt, 0);
	mime_dsn_parse(A, "", 0, &d);
	CHECK_INT(d.nrcpt, 0);
	free(big);
}

TEST(verp_round_trip)
{
	const char *key = "0123456789abcdef-secret";
	char *addr = verp_bounce_address(A, key, 42, "firm.example");
	CHECK(addr != NULL && strncmp(addr, "bounce+42-", 10) == 0);
	CHECK(strlen(addr) == strlen("bounce+42-") + VERP_MAC_HEX + strlen("@firm.example"));
	size_t ll = (size_t)(strchr(addr, '@') - addr);
	int64_t id = 0;
	CHECK_INT(verp_bounce_parse(key, addr, ll, &id), VERP_OK);
	CHECK_INT(id, 42);
	char *up = arena_strdup(A, addr);
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	CHECK_INT(verp_bounce_parse(key, up, ll, &id), VERP_OK);
	/* the mac of 42 on id 43: a forger failing someone else's message */
	char *other = arena_printf(A, "bounce+43%s", addr + 9);
	CHECK_INT(verp_bounce_parse(key, other, ll, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse("another-key-0123456", addr, ll, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse("", addr, ll, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse(key, addr, ll - 1, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse(key, "bounce+042-0011223344556677", 27, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse(key, "bounce+", 7, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse(key, "bounce+99999999999999999999-0011223344556677", 44, &id), VERP_FORGED);
	CHECK_INT(verp_bounce_parse(key, "a1234", 5, &id), VERP_NONE);
	CHECK_INT(verp_bounce_parse(key, "bounc", 5, &id), VERP_NONE);
	CHECK(verp_bounce_address(A, "", 42, "firm.example") == NULL);
}

int
main(void)
{
	A = arena_new();
	RUN(postfix_report);
	RUN(quoted_report_is_not_ours);
	RUN(reader_table);
	RUN(reader_hostile);
	RUN(verp_round_trip);
	arena_free(&A);
	return test_summary("mime-dsn");
}
