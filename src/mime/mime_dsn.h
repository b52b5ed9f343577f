/* mime_dsn.h - read a delivery status notification (RFC 3464): the fields
 * of the message/delivery-status part of a multipart/report.
 *
 * The part is per-message fields, a blank line, then one block of fields
 * per recipient.  We keep what a person (and the outbound queue) needs:
 * for each recipient Final-Recipient, Action, Status and Diagnostic-Code
 * (the remote server's own words), plus the Reporting-MTA.  Untrusted
 * bytes: at most MIME_DSN_MAX_BYTES are read (mime_walk.c cuts there),
 * MIME_DSN_MAX_RCPTS recipient blocks, values cut at MIME_DSN_MAX_VALUE
 * and cleaned to UTF-8 without controls (core/text.h).  The address type
 * ("rfc822;", "smtp;") is dropped from the values that carry one.
 */
#ifndef PR_MIME_DSN_H
#define PR_MIME_DSN_H

#include <stddef.h>

struct arena;

#define MIME_DSN_MAX_BYTES (64 * 1024)
#define MIME_DSN_MAX_RCPTS 100
#define MIME_DSN_MAX_VALUE 1000

struct mime_dsn_rcpt {
	const char *final_recipient;  /* "user@example.org", or NULL */
	const char *action;           /* "failed", "delayed", "delivered", ... lowercase, or NULL */
	const char *status;           /* "5.1.1", or NULL */
	const char *diagnostic;       /* "550 5.1.1 <user@example.org>: unknown", or NULL */
	const char *remote_mta;
};

struct mime_dsn {
	const char *reporting_mta;    /* or NULL */
	struct mime_dsn_rcpt *rcpt;
	size_t nrcpt;
};

/* Parse the decoded part p[0..n) into out (allocated in a).  Never fails:
 * what cannot be read is left NULL; nrcpt may be 0. */
void mime_dsn_parse(struct arena *a, const char *p, size_t n, struct mime_dsn *out);

/* The first recipient whose Action is "failed", or NULL. */
const struct mime_dsn_rcpt *mime_dsn_failed(const struct mime_dsn *d);

#endif
