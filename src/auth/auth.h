/* auth.h - SPF, DKIM and DMARC for one message, as one verdict.
 *
 * The evaluators (spf.c, dkim.c, dmarc.c) are ours, over OpenSSL 3 and a
 * DNS port (dns.h) backed by c-ares; see each file's header for why.  This
 * header is what intake/ sees: one call, one result structure, and the
 * policy decision (require_spf / require_dkim / auth_policy = dmarc).
 */
#ifndef PR_AUTH_H
#define PR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/err.h"

struct arena;
struct spool;
struct settings;
struct dns;

enum auth_result {
	AUTH_NONE = 0, AUTH_PASS, AUTH_FAIL, AUTH_SOFTFAIL, AUTH_NEUTRAL,
	AUTH_TEMPERROR, AUTH_PERMERROR, AUTH_POLICY
};
const char *auth_result_name(enum auth_result r);   /* RFC 8601 words */

struct auth_input {
	const char *client_ip;       /* may be "" (unknown: SPF none) */
	const char *helo;
	const char *mail_from;       /* "" null sender: SPF checks HELO */
	const char *from_domain;     /* RFC5322.From domain, "" if none */
	struct spool *raw;           /* the message as received */
	time_t now;
	/* Collected mail (POP3) only; NULL or "" = off.  SMTP intake leaves
	 * them unset.  trusted_authserv_id: adopt the spf/dkim/dmarc results
	 * of the topmost Authentication-Results header with this authserv-id
	 * instead of checking again (the mailbox provider checked the real
	 * SMTP session; we cannot), if it lies above the first Received
	 * below the one trusted_received_host stamped.  The client IP of
	 * collected mail is found before auth, by intake's envelope
	 * normaliser (auth_received_peer). */
	const char *trusted_received_host;
	const char *trusted_authserv_id;
};

struct auth_dkim_sig {
	const char *domain, *selector, *algorithm;
	enum auth_result result;
	enum pr_err reason;          /* PR_OK on pass */
	const char *detail;
	bool aligned;                /* d= aligned with the From domain */
};

struct auth_verdict {
	enum auth_result spf;
	const char *spf_domain;      /* domain checked (MAIL FROM or HELO) */
	enum pr_err spf_reason;
	const char *spf_detail;
	bool spf_helo;               /* spf_domain is the HELO name (null sender) */
	struct auth_dkim_sig *dkim;
	size_t ndkim;
	enum auth_result dmarc;
	const char *dmarc_policy;    /* "none", "quarantine", "reject", or NULL */
	const char *dmarc_domain;
	const char *dmarc_detail;    /* plain words, may be NULL */
	/* "Authentication-Results: <authserv-id>; spf=...; dkim=...; dmarc=...\r\n" */
	const char *header;
	const char *json;            /* the same as a JSON object */
	/* NULL: checked here; else the trusted authserv-id whose results were
	 * adopted (collected mail). */
	const char *adopted_from;
	const char *authserv_id;     /* ours: authserv_id, else hostname */
	/* The DNS work ran out of its budget (dns_message_budget_ms) or was
	 * refused by the per-domain gate: results may be incomplete, 451. */
	bool dns_budget_spent;
};

struct auth;
/* One per thread (owns a DNS channel).  dns_server "" = system resolver. */
struct auth *auth_new(const struct settings *set, struct pr_why *why);
void auth_free(struct auth **a);
/* Over a given DNS port (tests: an in-memory zone); takes ownership. */
struct auth *auth_new_dns(struct dns *dns);
/* The thread's DNS port, for other reads by the same thread (the check
 * address reads the sender's SPF record with auth/spf_audit.h). */
struct dns *auth_dns(struct auth *au);
/* auth_received.c: the client IP and HELO the trusted host saw, from the
 * topmost Received field that names host after "by" (host compared
 * ignoring case; ".example.com" matches any host in that domain).  The IP
 * comes only from the host's TCP-info comment, never from the HELO.
 * 0 found (*ip_r, *helo_r set; both "" for a stamp with no from clause);
 * 1 no field names host (or host is empty); -1 that field does not
 * parse, with why (PR_E_RECEIVED_UNPARSED, temporary): the caller must
 * not look further down, where the sender writes. */
int auth_received_peer(struct arena *a, struct spool *raw, const char *host,
                       const char **ip_r, const char **helo_r, struct pr_why *why);
/* True if the Received value names host after a "by" (the test for
 * "stamped by host" both here and for the trusted A-R boundary). */
bool auth_received_names(const char *value, const char *host);
/* The same as auth_received_peer for one unfolded field value. */
int auth_received_parse(struct arena *a, const char *value, const char *host,
                        const char **ip_r, const char **helo_r, struct pr_why *why);

/* The message as it is to be stored: raw without the
 * Authentication-Results header fields that carry authserv_id -- forged
 * copies of our own verdict (RFC 8601 5); see auth_strip.c.  Returns raw
 * itself when there are none, else a new spool in a (spilled into dir);
 * *removed_r says how many fields went.  NULL with why (PR_E_IO) when the
 * spool cannot be read or written. */
struct spool *auth_strip_own_results(struct arena *a, struct spool *raw, const char *authserv_id,
                                     const char *dir, size_t *removed_r, struct pr_why *why);

/* Runs every check.  Never fails as a whole: DNS trouble shows up as
 * temperror results.  Allocates in a. */
void auth_check(struct auth *au, struct arena *a, const struct auth_input *in,
                const struct settings *set, struct auth_verdict *out);
/* The policy: PR_OK, a 5xx reason (spf_fail, dkim_none, dmarc_reject, ...)
 * or a 4xx one (dns_temp), with a one-line detail naming check and domain. */
enum pr_err auth_decide(const struct settings *set, const struct auth_verdict *v,
                        struct pr_why *why);
/* The same for a message that could not be parsed: only SPF of the
 * envelope sender (HELO for a null sender), required whenever any check
 * is (require_spf, require_dkim or auth_policy = dmarc). */
enum pr_err auth_decide_envelope(const struct settings *set, const struct auth_verdict *v,
                                 struct pr_why *why);

#endif
