/* transport.h - hand one message to the next SMTP server: the relay in
 * smtp_server, or (smtp_server = direct) each recipient domain's MX hosts.
 *
 * libcurl speaks SMTP (STARTTLS, implicit TLS, AUTH PLAIN/LOGIN/CRAM-MD5/
 * XOAUTH2).  What the caller gets back is a verdict per recipient with the
 * server's own words, classed by whose move it is next:
 *   TRANSPORT_OK    the server answered 250 to the end of DATA for it;
 *   TRANSPORT_TEMP  try again later: a 4xx answer, a refused connection, a
 *                   timeout, a DNS failure, a TLS or login failure (the
 *                   administrator can fix those; Postfix defers them too);
 *   TRANSPORT_PERM  a 5xx answer, a domain that does not exist or takes no
 *                   mail (null MX, RFC 7505): trying again cannot help.
 * The caller records the OK recipients before anything else: a 250 is the
 * relay's promise, and sending those bytes again would deliver twice.
 *
 * Never printed or logged: the password or token (the debug capture keeps
 * only the server's lines and our MAIL/RCPT/DATA commands).
 */
#ifndef PR_TRANSPORT_H
#define PR_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

struct settings;

/* One server reply line kept for a person to read (sanitised). */
#define TRANSPORT_REPLY_MAX 400

struct transport_config {
	bool direct;                   /* smtp_server = direct */
	char host[PR_MAX_DOMAIN + 1];  /* the relay (no brackets for IPv6) */
	int port;                      /* relay port, or the MX port in direct mode */
	int tls;                       /* enum smtp_tls */
	int auth;                      /* enum smtp_auth */
	char helo[PR_MAX_DOMAIN + 1];  /* EHLO name: the hostname setting */
	const char *username, *password, *ca_file;   /* owned by the settings snapshot */
	const char *dns_server;        /* direct mode: "ADDR:PORT" or "" */
	int dns_timeout_ms;
	long connect_timeout_s;        /* 0: 30 s */
	long stall_timeout_s;          /* no byte moved for this long: give up (0: 60 s) */
};

/* Fill cfg from a settings snapshot, which must outlive cfg.  -1 with why:
 * PR_E_CONFIG (smtp_server unset, auth without a user name),
 * PR_E_RELAY_PORT25 (port 25 towards a relay). */
int transport_config_from_settings(const struct settings *set, struct transport_config *cfg,
                                   struct pr_why *why);

enum transport_status { TRANSPORT_OK, TRANSPORT_TEMP, TRANSPORT_PERM };

struct transport_rcpt {
	enum transport_status status;
	int code;                          /* the server's reply code, 0 if none came */
	char reply[TRANSPORT_REPLY_MAX];   /* its words, or ours ("connection refused ...") */
};

struct transport_result {
	/* OK: every recipient OK; TEMP: at least one TEMP; else PERM. */
	enum transport_status status;
	struct transport_rcpt *rcpt;       /* n entries, in the order given */
	size_t n;
	/* The first failure in plain words (reason code + detail), for logs and
	 * the outbox; PR_OK when status is OK. */
	struct pr_why why;
	char server[PR_MAX_DOMAIN + 16];   /* the last server talked to, "host:port" */
};

/* The message: exactly one of fd (>= 0, read from offset 0 with pread) or
 * data/len.  Lines must end in CRLF (stored and composed mail does);
 * libcurl adds the dot-stuffing. */
struct transport_msg {
	int fd;
	const uint8_t *data;
	size_t len;
	uint64_t size;                     /* with fd: its size in bytes */
};

/* Deliver to every recipient.  Returns 0 when res is filled (whatever the
 * verdicts), -1 only for a bug-level refusal (no recipients) with res->why.
 * res->rcpt is allocated: free with transport_result_free. */
int transport_send(const struct transport_config *cfg, const char *mail_from,
                   const char *const *rcpts, size_t n, const struct transport_msg *msg,
                   struct transport_result *res);
void transport_result_free(struct transport_result *res);
const char *transport_status_name(enum transport_status s);   /* "sent", "deferred", "failed" */

/* `check smtp`: connect, negotiate TLS, authenticate, read the EHLO
 * keywords, QUIT.  Sends no mail. */
struct transport_check {
	bool tls;                          /* the session was encrypted */
	bool authenticated;
	long long size;                    /* EHLO SIZE; -1 if not announced, 0 if no limit */
	char greeting[TRANSPORT_REPLY_MAX];
	char ehlo[1024];                   /* the EHLO keywords, one per line */
	char server[PR_MAX_DOMAIN + 16];
};
/* 0 ok; -1 with why saying exactly what failed (PR_E_RELAY_PORT25,
 * PR_E_NOT_FOUND name, PR_E_UNREACHABLE refused/timeout, PR_E_TLS_FAILED,
 * PR_E_TLS_CERT, PR_E_RELAY_AUTH with the server's words, PR_E_CONFIG). */
int transport_check(const struct settings *set, struct transport_check *out, struct pr_why *why);

#endif
