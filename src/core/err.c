/* err.c - the reason table.  Keep names stable: scripts and the README's
 * reason list depend on them.  Wording is for the person who sent the mail
 * or their IT department, not for us. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pr_err_info table[PR_E_MAX] = {
	[PR_OK] = {"accepted", 250, "2.0.0", "accepted and stored", "nothing"},
	[PR_E_SYNTAX] = {"syntax", 501, "5.5.2", "the command was not understood",
		"the sending software is broken; report it to its vendor"},
	[PR_E_BAD_SEQUENCE] = {"bad_sequence", 503, "5.5.1", "commands were sent in the wrong order",
		"the sending software is broken; report it to its vendor"},
	[PR_E_LINE_TOO_LONG] = {"line_too_long", 500, "5.5.6", "a line was longer than the limit",
		"send lines shorter than 1000 characters (RFC 5321)"},
	[PR_E_BARE_LF] = {"bare_lf", 554, "5.6.11", "the message contained a bare CR or LF (possible SMTP smuggling)",
		"the sending server must end lines with CRLF; ask its administrator to fix it"},
	[PR_E_TOO_MANY_RCPTS] = {"too_many_recipients", 452, "4.5.3", "too many recipients in one message",
		"send the rest in another message; the server will usually do this itself"},
	[PR_E_TOO_MANY_ERRORS] = {"too_many_errors", 421, "4.7.0", "too many errors in one session",
		"the sending software is misbehaving; check its logs"},
	[PR_E_TIMEOUT] = {"timeout", 421, "4.4.2", "the connection was idle for too long",
		"nothing, if the network is healthy; the sending server retries"},
	[PR_E_CLIENT_LIMIT] = {"client_limit", 421, "4.7.0", "too many connections from your address",
		"the sending server should open fewer connections at once or per minute; it retries later"},
	[PR_E_SESSION_LIFETIME] = {"session_lifetime", 421, "4.7.0", "the session lasted longer than the limit",
		"nothing: the sending server reconnects (raise smtp_session_lifetime if a slow link needs it)"},
	[PR_E_DATA_TOO_SLOW] = {"data_too_slow", 421, "4.7.0", "the message was sent too slowly",
		"check the network between the servers; the sending server retries"},
	[PR_E_VRFY_REFUSED] = {"vrfy_refused", 252, "2.5.0", "address verification is not offered",
		"just send the message"},
	[PR_E_NOT_IMPLEMENTED] = {"not_implemented", 502, "5.5.1", "that command is not implemented",
		"use only standard SMTP commands"},
	[PR_E_TLS_FAILED] = {"tls_failed", 454, "4.7.0", "the TLS handshake failed",
		"check the sending server's TLS settings"},
	[PR_E_TLS_REQUIRED] = {"tls_required", 530, "5.7.0", "a TLS connection is required",
		"enable STARTTLS on the sending server"},
	[PR_E_BAD_ADDRESS] = {"bad_address", 501, "5.1.3", "an address was not valid",
		"check the spelling of the address"},
	[PR_E_RELAY_DENIED] = {"relay_denied", 550, "5.7.1", "we do not accept mail for that domain (no relaying)",
		"send to an address at one of the organisation's own domains"},
	[PR_E_UNKNOWN_RECIPIENT] = {"unknown_recipient", 550, "5.1.1", "no such address here",
		"check the address: no project, alias or user has it"},
	[PR_E_TOO_BIG] = {"too_large", 552, "5.3.4", "the message is larger than the size limit",
		"send large files as a link, or split them over several messages"},
	[PR_E_LOOP] = {"loop_detected", 550, "5.4.6", "the message has passed through us too many times (mail loop)",
		"check forwarding rules: a mailbox is forwarding back to us"},
	[PR_E_INDENTED_FIRST_LINE] = {"indented_first_line", 550, "5.6.0",
		"the message starts with an indented line, which is not a header field (it would continue the header before it)",
		"the sending software is broken: a message must start with a header field such as From:; report it to its vendor"},
	[PR_E_NOT_A_USER] = {"not_a_user", 550, "5.7.1", "the sender is not a postroom user",
		"send from the address registered in postroom, or ask an administrator to add this address"},
	[PR_E_USER_INACTIVE] = {"user_inactive", 550, "5.7.1", "the sender's account is not active",
		"ask an administrator to reactivate the account"},
	[PR_E_NOT_A_MEMBER] = {"not_a_member", 550, "5.7.1", "the sender has no access to the project",
		"ask the project's administrator to grant access"},
	[PR_E_UNKNOWN_SENDER] = {"unknown_sender", 550, "5.7.1", "the sender is unknown and the message answers no thread",
		"reply to a message the project sent you, or ask the project to add you as a stakeholder"},
	[PR_E_FROM_MISMATCH] = {"from_mismatch", 550, "5.7.1", "the From address does not match the envelope sender",
		"send from your own mailbox rather than on behalf of another address"},
	[PR_E_FROM_MULTIPLE] = {"from_multiple", 550, "5.7.1", "the message names more than one author (several From fields or addresses)",
		"send with exactly one address in a single From field"},
	[PR_E_FROM_INVALID] = {"from_invalid", 550, "5.7.1", "the From field is not a valid address, so the sender cannot be checked",
		"send with a From field holding one plain address such as Name <user@example.org>"},
	[PR_E_NO_PROJECT] = {"no_project", 550, "5.1.1", "there is no such project",
		"check the project number in the address"},
	[PR_E_SPF_FAIL] = {"spf_fail", 550, "5.7.23", "the sending server is not allowed to send for the domain (SPF fail)",
		"ask IT to add the sending server to the domain's SPF record"},
	[PR_E_SPF_SOFTFAIL] = {"spf_softfail", 550, "5.7.23", "the domain's SPF record says the server is probably not allowed (softfail)",
		"ask IT to add the sending server to the domain's SPF record"},
	[PR_E_SPF_NEUTRAL] = {"spf_neutral", 550, "5.7.23", "the domain's SPF record makes no statement about the server (neutral)",
		"ask IT to list the sending server in the domain's SPF record"},
	[PR_E_SPF_NONE] = {"spf_none", 550, "5.7.23", "the sender's domain publishes no SPF record",
		"ask IT to publish an SPF record (run `postroom check domain` for one to copy)"},
	[PR_E_SPF_PERMERROR] = {"spf_permerror", 550, "5.7.24", "the domain's SPF record is broken (syntax or too many lookups)",
		"ask IT to repair the SPF record: at most 10 DNS lookups, valid syntax"},
	[PR_E_SPF_TEMPERROR] = {"spf_temperror", 451, "4.4.3", "the SPF check could not finish (DNS trouble)",
		"nothing: the sending server will retry"},
	[PR_E_DKIM_NONE] = {"dkim_none", 550, "5.7.20", "the message has no DKIM signature",
		"ask IT to enable DKIM signing for the domain"},
	[PR_E_DKIM_FAIL] = {"dkim_fail", 550, "5.7.20", "the DKIM signature does not verify",
		"ask IT to check the DKIM signing configuration"},
	[PR_E_DKIM_BODY_CHANGED] = {"dkim_body_changed", 550, "5.7.20", "the message body was changed after it was signed",
		"a server in between (list, scanner, footer) alters the message; send directly"},
	[PR_E_DKIM_KEY_MISSING] = {"dkim_key_missing", 550, "5.7.20", "the DKIM key is not published in DNS",
		"ask IT to publish the DKIM public key for the selector"},
	[PR_E_DKIM_KEY_SHORT] = {"dkim_key_short", 550, "5.7.20", "the DKIM key is too short (under 1024 bits)",
		"ask IT to sign with a 2048-bit RSA key or Ed25519"},
	[PR_E_DKIM_KEY_REVOKED] = {"dkim_key_revoked", 550, "5.7.20", "the DKIM key has been revoked",
		"ask IT to sign with a current key"},
	[PR_E_DKIM_EXPIRED] = {"dkim_expired", 550, "5.7.20", "the DKIM signature has expired",
		"resend the message; ask IT to check the signer's clock and expiry"},
	[PR_E_DKIM_PARTIAL] = {"dkim_partial", 550, "5.7.20", "the DKIM signature leaves part of the body unsigned (l=)",
		"ask IT to sign the whole body (no l= tag)"},
	[PR_E_DKIM_MISALIGNED] = {"dkim_misaligned", 550, "5.7.20", "the DKIM signature is by another domain than the From address",
		"ask IT to sign with the From domain (not only the mail provider's domain)"},
	[PR_E_DKIM_PERMERROR] = {"dkim_permerror", 550, "5.7.20", "the DKIM signature is malformed",
		"ask IT to check the DKIM signing configuration"},
	[PR_E_DKIM_TEMPERROR] = {"dkim_temperror", 451, "4.4.3", "the DKIM key could not be fetched (DNS trouble)",
		"nothing: the sending server will retry"},
	[PR_E_DMARC_REJECT] = {"dmarc_reject", 550, "5.7.1", "the domain's DMARC policy says reject, and the message failed it",
		"ask IT to make SPF or DKIM pass and align with the From domain"},
	[PR_E_DMARC_QUARANTINE] = {"dmarc_quarantine", 550, "5.7.1", "the domain's DMARC policy says quarantine, and the message failed it",
		"ask IT to make SPF or DKIM pass and align with the From domain"},
	[PR_E_DNS_TEMP] = {"dns_temp", 451, "4.4.3", "a DNS lookup failed or timed out",
		"nothing: the sending server will retry"},
	[PR_E_DNS_BUDGET] = {"dns_budget", 451, "4.4.3", "the DNS lookups for the message took too long",
		"nothing: the sending server retries; if it persists, the sender domain's DNS is slow"},
	[PR_E_RECEIVED_UNPARSED] = {"received_unparsed", 451, "4.7.0", "collected mail: the Received header stamped by trusted_received_host could not be read safely, so the sending IP is unknown",
		"nothing if it is rare: the message stays in the mailbox and is tried every round; `postroom why` shows the header's problem (often a sender's HELO imitating a stamp)"},
	[PR_E_SEND_DEFERRED] = {"send_deferred", 451, "4.4.1", "the receiving server could not take the message now (a 4xx answer, a refused connection or a timeout)",
		"nothing: postroom tries again until smtp_retry_for has passed; `postroom check smtp` tests the relay"},
	[PR_E_SEND_REFUSED] = {"send_refused", 550, "5.0.0", "the receiving server refused the message (a 5xx answer), or the recipient's domain takes no mail",
		"read the server's answer: correct the address, or ask the recipient's IT"},
	[PR_E_UNREACHABLE] = {"unreachable", 451, "4.4.1", "the mail server could not be reached (connection refused or timed out)",
		"check the server's name and port, and that a firewall lets postroom through"},
	[PR_E_RELAY_PORT25] = {"relay_port_25", 0, "", "port 25 is refused towards a relay: relays take submitted mail on port 587 (STARTTLS) or 465 (implicit TLS); port 25 is for server-to-server delivery and is often blocked",
		"set smtp_server to host:587 with smtp_tls = starttls, or host:465 with smtp_tls = implicit"},
	[PR_E_RELAY_AUTH] = {"relay_auth", 0, "", "the relay refused the login",
		"check smtp_username, smtp_password and smtp_auth, then run `postroom check smtp`"},
	[PR_E_TLS_CERT] = {"tls_certificate", 0, "", "the server's TLS certificate could not be verified",
		"set the CA setting (smtp_ca_file, pop_ca_file) to the CA that signed it, or ask the server's administrator to fix its certificate"},
	[PR_E_UNREADABLE] = {"unreadable", 250, "2.0.0", "the message could not be parsed; it was kept in the Fallback mailbox",
		"an administrator can look at it with `postroom messages show --raw`"},
	[PR_E_DUPLICATE] = {"duplicate", 250, "2.0.0", "the same message had already arrived; it is stored once, and filed also for any new recipients",
		"nothing"},
	[PR_E_AUTO_REPLY] = {"auto_reply", 250, "2.0.0", "an automatic reply or bounce; filed, never answered",
		"nothing"},
	[PR_E_BOUNCE] = {"bounce", 250, "2.0.0", "a delivery report (or an automatic reply) about a message we sent, "
		"to its bounce address: a failure marks that message failed with the remote server's answer; "
		"the report is filed in the message's thread",
		"see `postroom outbox --failed`; correct the address, then `postroom outbox retry ID`"},
	[PR_E_SENT_COPY] = {"sent_copy", 250, "2.0.0", "a copy of a message we sent, collected back from the "
		"system mailbox: recognised as ours and not filed again (deleted from the mailbox)",
		"nothing"},
	[PR_E_BOUNCE_FORGED] = {"bounce_forged", 550, "5.1.1", "an address in our bounce form (bounce+ID-MAC) "
		"whose signature is wrong: no message of ours is touched",
		"nothing: a real report comes to the exact address we sent from; a forged one is an unknown address"},
	[PR_E_CHECK_ANSWERED] = {"check_answered", 250, "2.0.0", "a message to the check address (check_address): not filed; a report of its SPF, DKIM and DMARC results was sent back to the sender",
		"nothing: read the report; `postroom why` shows the same verdict"},
	[PR_E_CHECK_UNANSWERED] = {"check_unanswered", 250, "2.0.0", "a message to the check address (check_address): not filed, and not answered (SPF failed, no return address, an automatic message, or the sender's hourly limit reached)",
		"send the test from a server the domain's SPF record lists, with a return address, at most check_address_hourly times an hour"},
	[PR_E_STORE_BUSY] = {"store_busy", 451, "4.3.0", "the message store was busy",
		"nothing: the sending server will retry"},
	[PR_E_STORE_FAILED] = {"store_failed", 451, "4.3.0", "the message could not be stored",
		"an administrator should check disk space and the store"},
	[PR_E_IO] = {"io_error", 451, "4.3.0", "a local input/output error",
		"an administrator should check disk space and permissions"},
	[PR_E_SHUTDOWN] = {"shutdown", 421, "4.3.2", "the server is shutting down",
		"nothing: the sending server will retry"},
	[PR_E_INTERNAL] = {"internal", 451, "4.3.0", "an internal error",
		"report it to the postroom developers with the log"},
	[PR_E_TOO_LONG] = {"too_long", 500, "5.5.6", "input was longer than the limit", "shorten it"},
	[PR_E_INVALID] = {"invalid", 501, "5.5.4", "a value was not valid", "correct the value"},
	[PR_E_NOT_FOUND] = {"not_found", 0, "", "no such item", "check the name"},
	[PR_E_EXISTS] = {"exists", 0, "", "the item exists already", "choose another name"},
	[PR_E_CONFIG] = {"config", 0, "", "the configuration is not valid", "correct the configuration"},
	[PR_E_UNAUTHORIZED] = {"unauthorized", 0, "", "the request carried no valid API token or session",
	 "sign in to the console, or send \"Authorization: Bearer TOKEN\" with a token from `postroom token create`"},
	[PR_E_FORBIDDEN] = {"forbidden", 0, "", "who is asking may not do this",
	 "use an admin token (`postroom token create --scope admin`) or ask an administrator"},
	[PR_E_RATE_LIMITED] = {"rate_limited", 0, "", "too many failed sign-ins from this address or for "
	 "this user", "wait the time Retry-After gives, then sign in with the right password"},
};

const struct pr_err_info *
pr_err_info(enum pr_err e)
{
	if ((unsigned)e >= PR_E_MAX || table[e].name == NULL)
		e = PR_E_INTERNAL;
	return &table[e];
}

const char *
pr_err_name(enum pr_err e)
{
	return pr_err_info(e)->name;
}

enum pr_err
pr_err_from_name(const char *name)
{
	for (int i = 0; i < PR_E_MAX; i++)
		if (table[i].name != NULL && strcmp(table[i].name, name) == 0)
			return (enum pr_err)i;
	return PR_E_MAX;
}

bool
pr_err_is_temporary(enum pr_err e)
{
	int c = pr_err_info(e)->smtp;
	return c >= 400 && c < 500;
}

void
pr_why_set(struct pr_why *w, enum pr_err code, const char *fmt, ...)
{
	w->code = code;
	w->detail[0] = '\0';
	if (fmt == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
	va_end(ap);
}

void
pr_why_clear(struct pr_why *w)
{
	w->code = PR_OK;
	w->detail[0] = '\0';
}

const char *
pr_why_text(const struct pr_why *w)
{
	return w->detail[0] ? w->detail : pr_err_info(w->code)->summary;
}

void
pr_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("postroom: PANIC: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}
