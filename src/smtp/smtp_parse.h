/* smtp_parse.h - split SMTP command lines out of untrusted bytes.
 *
 * Incremental: feed whatever arrived; a command comes out only when a full
 * CRLF-terminated line is present.  Bare CR or bare LF is an error, never a
 * line end (RFC 5321 2.3.8, SMTP smuggling).  A line longer than
 * lim->max_line is an error reported as soon as it is seen; the parser then
 * skips to the next LF before it resumes, so a 100 kB line costs no memory.
 * Reading stays separate from meaning: this yields (verb, args); the
 * command handlers decide what the arguments mean.
 */
#ifndef PR_SMTP_PARSE_H
#define PR_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;

struct smtp_limits {
	size_t max_line;          /* command line without CRLF; 0: PR_SMTP_MAX_CMD_LINE */
};

#define SMTP_VERB_MAX 15

struct smtp_cmd {
	char verb[SMTP_VERB_MAX + 1];   /* uppercased; "" for an empty line */
	const char *args;               /* after the verb and its spaces; NUL-terminated */
	size_t args_len;
};

struct smtp_parser;

struct smtp_parser *smtp_parser_new(struct arena *a, const struct smtp_limits *lim);
/* Forget a partial line (after STARTTLS: RFC 3207 5 says discard it). */
void smtp_parser_reset(struct smtp_parser *p);

/* Consume bytes from data[0..len); *used_r says how many were consumed.
 * Returns 1 with *cmd_r set (valid until the next call) when a line ended,
 * 0 when every byte was consumed and more are needed, -1 with *err_r
 * (PR_E_BARE_LF, PR_E_LINE_TOO_LONG, PR_E_SYNTAX) for a bad line.  It stops
 * right after each line so the caller can switch to DATA mode. */
int smtp_parse_feed(struct smtp_parser *p, const uint8_t *data, size_t len, size_t *used_r,
                    struct smtp_cmd *cmd_r, enum pr_err *err_r);

#endif
