/* err.h - every reason postroom can give, in one table.
 *
 * Each enum pr_err row carries the SMTP reply code and enhanced status code
 * we answer with, a stable machine name (used by `why --json`, the intake
 * log and the README), a plain-words summary, and the fix: what the sender
 * or their IT should do.  A concrete instance (which domain, which user)
 * travels beside the code in struct pr_why.
 *
 * Three tiers, by whose fault it is (Postfix): the peer's (5xx, logged),
 * the environment's (4xx: disk, store, DNS -- the client retries), ours
 * (pr_panic: abort loudly; nothing was acknowledged so nothing is lost).
 */
#ifndef PR_ERR_H
#define PR_ERR_H

#include <stdbool.h>

enum pr_err {
	PR_OK = 0,
	/* SMTP protocol (peer) */
	PR_E_SYNTAX,
	PR_E_BAD_SEQUENCE,
	PR_E_LINE_TOO_LONG,
	PR_E_BARE_LF,
	PR_E_TOO_MANY_RCPTS,
	PR_E_TOO_MANY_ERRORS,
	PR_E_TIMEOUT,
	PR_E_CLIENT_LIMIT,
	PR_E_SESSION_LIFETIME,
	PR_E_DATA_TOO_SLOW,
	PR_E_VRFY_REFUSED,
	PR_E_NOT_IMPLEMENTED,
	PR_E_TLS_FAILED,
	PR_E_TLS_REQUIRED,
	PR_E_BAD_ADDRESS,
	/* recipients and size */
	PR_E_RELAY_DENIED,
	PR_E_UNKNOWN_RECIPIENT,
	PR_E_TOO_BIG,
	PR_E_LOOP,
	PR_E_INDENTED_FIRST_LINE,
	/* sender policy */
	PR_E_NOT_A_USER,
	PR_E_USER_INACTIVE,
	PR_E_NOT_A_MEMBER,
	PR_E_UNKNOWN_SENDER,
	PR_E_FROM_MISMATCH,
	PR_E_FROM_MULTIPLE,
	PR_E_FROM_INVALID,
	PR_E_NO_PROJECT,
	/* authentication */
	PR_E_SPF_FAIL,
	PR_E_SPF_SOFTFAIL,
	PR_E_SPF_NEUTRAL,
	PR_E_SPF_NONE,
	PR_E_SPF_PERMERROR,
	PR_E_SPF_TEMPERROR,
	PR_E_DKIM_NONE,
	PR_E_DKIM_FAIL,
	PR_E_DKIM_BODY_CHANGED,
	PR_E_DKIM_KEY_MISSING,
	PR_E_DKIM_KEY_SHORT,
	PR_E_DKIM_KEY_REVOKED,
	PR_E_DKIM_EXPIRED,
	PR_E_DKIM_PARTIAL,
	PR_E_DKIM_MISALIGNED,
	PR_E_DKIM_PERMERROR,
	PR_E_DKIM_TEMPERROR,
	PR_E_DMARC_REJECT,
	PR_E_DMARC_QUARANTINE,
	PR_E_DNS_TEMP,
	PR_E_DNS_BUDGET,
	PR_E_RECEIVED_UNPARSED,
	/* outbound mail (relay, direct delivery) */
	PR_E_SEND_DEFERRED,
	PR_E_SEND_REFUSED,
	PR_E_UNREACHABLE,
	PR_E_RELAY_PORT25,
	PR_E_RELAY_AUTH,
	PR_E_TLS_CERT,
	/* accepted, but worth explaining */
	PR_E_UNREADABLE,
	PR_E_DUPLICATE,
	PR_E_AUTO_REPLY,
	PR_E_BOUNCE,
	PR_E_SENT_COPY,
	PR_E_BOUNCE_FORGED,
	PR_E_CHECK_ANSWERED,
	PR_E_CHECK_UNANSWERED,
	/* environment */
	PR_E_STORE_BUSY,
	PR_E_STORE_FAILED,
	PR_E_IO,
	PR_E_SHUTDOWN,
	PR_E_INTERNAL,
	/* generic, for parsers and the CLI */
	PR_E_TOO_LONG,
	PR_E_INVALID,
	PR_E_NOT_FOUND,
	PR_E_EXISTS,
	PR_E_CONFIG,
	/* the HTTP API */
	PR_E_UNAUTHORIZED,
	PR_E_FORBIDDEN,
	PR_E_RATE_LIMITED,
	PR_E_MAX
};

struct pr_err_info {
	const char *name;     /* stable machine code: "too_large" */
	int smtp;             /* reply code, 0 where SMTP never sees it */
	const char *dsn;      /* enhanced status code */
	const char *summary;  /* plain words: what happened */
	const char *fix;      /* plain words: what to do about it */
};

const struct pr_err_info *pr_err_info(enum pr_err e);
const char *pr_err_name(enum pr_err e);
/* PR_E_MAX if no row has that name. */
enum pr_err pr_err_from_name(const char *name);
bool pr_err_is_temporary(enum pr_err e);   /* 4xx class */

/* One concrete reason: the code and the instance ("alice is not a member
 * of project 1234").  Fixed size so it can live on the stack or in any
 * struct without ownership questions. */
#define PR_WHY_DETAIL_MAX 512
struct pr_why {
	enum pr_err code;
	char detail[PR_WHY_DETAIL_MAX];
};

void pr_why_set(struct pr_why *w, enum pr_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pr_why_clear(struct pr_why *w);
/* The detail if set, else the table's summary. */
const char *pr_why_text(const struct pr_why *w);

/* Our own bug: log and abort.  Never for peer input or environment. */
_Noreturn void pr_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#define PR_ALWAYS(x) ((x) ? 1 : (pr_panic("%s:%d: ALWAYS(%s) failed", __FILE__, __LINE__, #x), 0))
#define PR_NEVER(x)  ((x) ? (pr_panic("%s:%d: NEVER(%s) failed", __FILE__, __LINE__, #x), 1) : 0)

#endif
