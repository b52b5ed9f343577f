/* check_report.h - the text of the check address's answer: what postroom
 * found out about one message (SPF with the record's worst-case lookup
 * path, each DKIM signature, DMARC and alignment), what it would have
 * done with it (the policy verdict and reason as `why` says it, with the
 * fix from the reason table in core/err.c) and what to fix.
 *
 * A pure function of verdict structs (no DNS, no store): unit-tested in
 * tests/unit/test-check-report.c.  Every text that came from the peer or
 * from DNS is cleaned (core/text.h) and cut to CHECK_REPORT_MAX_LINE, so
 * the result is valid UTF-8 mail body text with lines far below SMTP's
 * 998 octets.  Lines end in CRLF.
 */
#ifndef PR_CHECK_REPORT_H
#define PR_CHECK_REPORT_H

#include "auth/auth.h"
#include "core/err.h"

struct arena;
struct spf_audit;

#define CHECK_REPORT_MAX_LINE 600

struct check_report_input {
	const char *hostname;        /* ours, as in the Received header */
	const char *client_ip, *helo, *mail_from;
	const char *from;            /* From address, "" if none */
	const char *subject, *message_id;   /* may be NULL */
	const struct auth_verdict *av;
	/* The SPF record of av->spf_domain read statically, or NULL. */
	const struct spf_audit *spf_audit;
	/* What postroom would have done: auth_decide's verdict (PR_OK or the
	 * refusal with its detail), and who the From address is to postroom
	 * ("alice, an active user", "not a postroom user"). */
	const struct pr_why *decision;
	const char *sender_status;
};

/* The report body, allocated in a. */
const char *check_report_text(struct arena *a, const struct check_report_input *in);
/* One line for the Subject of the answer and the intake log:
 * "SPF pass, DKIM pass (aligned), DMARC pass: postroom would accept it". */
const char *check_report_summary(struct arena *a, const struct check_report_input *in);

#endif
