/* mime_from.c - is the From header one unambiguous author?
 *
 * From decides who sent a message (policy) and which domain DKIM and
 * DMARC must align with, so a From that two readers could read as two
 * different authors must be refused, not guessed at (RFC 7489 6.6.1).
 * GMime's lenient parser, which fills mime_info.from, drops what it
 * cannot read: "alice@firm.example@evil.example" and
 * "alice@firm.example;mallory@evil.example" both come out as alice, and
 * "<alice@firm.example" as alice too.  So each From field is scanned on
 * its own: its unquoted '@' signs are counted and its angle brackets must
 * pair up.  A mailbox-list has exactly one '@' outside quoted strings,
 * comments and domain literals for each mailbox (an '@' cannot appear
 * unquoted in a display name), so any '@' left over is text the parser
 * skipped.  The scan runs first and GMime's (lenient) parser only counts
 * the mailboxes: GMime 3.2.13's strict mode leaks a string per call on a
 * display name with an unquoted '@' (mimekit issue358.txt), which a
 * hostile sender could repeat in every message.
 */
#include "mime/mime_private.h"

#include <string.h>

/* '@' signs outside "quoted strings", (nested (comments)) and [literals];
 * -1 when one of those, or an <angle-addr>, is not closed. */
static int
unquoted_ats(const char *v)
{
	int ats = 0, depth = 0;
	bool angle = false;
	char quote = 0;
	for (const char *p = v; *p; p++) {
		if ((quote || depth) && *p == '\\' && p[1] != '\0') {
			p++;
		} else if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '(') {
			depth++;
		} else if (depth) {
			depth -= *p == ')';
		} else if (*p == '"') {
			quote = '"';
		} else if (*p == '[') {
			quote = ']';
		} else if (*p == '<' || *p == '>') {
			if (angle == (*p == '<'))
				return -1;          /* nested '<' or a '>' with none open */
			angle = *p == '<';
		} else if (*p == '@') {
			ats++;
		}
	}
	return quote || depth || angle ? -1 : ats;
}

/* Mailboxes in one From field's value, or -1 when it is not a plain
 * mailbox-list whose every address has a local part and a domain. */
static int
strict_mailboxes(GMimeParserOptions *opts, const char *value)
{
	int ats = unquoted_ats(value);
	if (ats < 0)
		return -1;
	InternetAddressList *l = internet_address_list_parse(opts, value);
	if (l == NULL)
		return -1;
	int n = internet_address_list_length(l), ok = n;
	for (int i = 0; i < n && ok >= 0; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		const char *addr = INTERNET_ADDRESS_IS_MAILBOX(ia)
			? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)) : NULL;
		const char *at = addr ? strrchr(addr, '@') : NULL;
		if (at == NULL || at == addr || at[1] == '\0')
			ok = -1;
	}
	g_object_unref(l);
	return ok >= 0 && ats == n ? n : -1;
}

void
mime_from_check(struct mime_info *m, GMimeObject *msg)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(msg);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;
	GMimeParserOptions *opts = g_mime_parser_options_new();
	m->from_fields = 0;
	m->from_malformed = false;
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "From") != 0)
			continue;
		m->from_fields++;
		const char *v = g_mime_header_get_raw_value(h);
		if (v == NULL || strict_mailboxes(opts, v) < 0)
			m->from_malformed = true;
	}
	g_mime_parser_options_free(opts);
}
