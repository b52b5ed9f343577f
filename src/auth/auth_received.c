/* auth_received.c - the client a trusted host saw, from its Received stamp.
 *
 * Collected (POP3) mail was received over SMTP by the provider; the only
 * record of the client is the provider's trace field (RFC 5321 4.4):
 *
 *   Postfix  from HELO (rdns [IP])  by host (Postfix) with ESMTPS id ...
 *   Gmail    from HELO (rdns. [IP])  by mx.google.com with ESMTPS id ...
 *   M365     from HELO (IP) by X.mail.protection.outlook.com (IP) with ...
 *   Dovecot  from LHLO ([IP])  (using TLS...)  by host with LMTP id ...
 *   Exim     from rdns ([IP] helo=HELO)  by host with esmtp ...
 *            from [IP] (helo=HELO)  by host with esmtp ...
 *
 * The HELO is the client's to choose and Postfix copies it as sent,
 * spaces, parentheses and brackets included, so it can imitate any part
 * of the stamp: "from [198.51.100.7] (unknown [203.0.113.66]) by mx" with
 * HELO [198.51.100.7], or a HELO "x (a [198.51.100.7]) by mx".  What the
 * client cannot write is what the host puts after the HELO: the TCP-info
 * comment and then "by host".  So:
 *
 *   1. the field is the topmost Received that names the host after a
 *      "by" anywhere; it must name it exactly once (a second "by host"
 *      can only come from the client);
 *   2. tokenised with comments, the "by" keyword the grammar finds must
 *      be that one occurrence, so it is the host's own;
 *   3. between "from" and that "by" there is one word (the from-domain)
 *      and comments only; exactly one comment holds an IP ([IP] or a bare
 *      IP): the TCP-info.  Exim's "from [IP] (helo=...)" has none, and
 *      then the from-word is the host's and gives the IP.
 *
 * Anything else does not parse: the caller must treat that as a
 * temporary failure and never fall through to a lower Received, which
 * the sender wrote.  Bounded: fields over AUTH_MAX_RECEIVED bytes or with
 * more than AUTH_MAX_TOKENS tokens do not parse.
 */
#include "auth/auth_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/limits.h"
#include "mime/mime.h"

#define AUTH_MAX_RECEIVED 16384
#define AUTH_MAX_TOKENS 256

enum tok_kind { T_WORD, T_COMMENT, T_SEMI, T_ANGLE };
struct tok {
	enum tok_kind kind;
	size_t off, len;             /* in the value, brackets included */
};

static bool
is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* The host word at s (up to a space, comment, ';' or end) matches host:
 * equal ignoring case, or host ".example.com" and the word ends in it. */
static bool
host_matches(const char *s, size_t n, const char *host)
{
	size_t hl = strlen(host);
	if (hl == 0 || n == 0)
		return false;
	if (host[0] == '.')
		return n > hl && strncasecmp(s + n - hl, host, hl) == 0;
	return n == hl && strncasecmp(s, host, n) == 0;
}

static size_t
host_word_len(const char *s)
{
	return strcspn(s, " \t\r\n();<>[],\"");
}

/* Offsets of "by <host>" with "by" not inside a word; the count. */
static size_t
by_host_count(const char *v, const char *host, size_t *off_r)
{
	size_t n = 0;
	for (const char *p = v; (p = strcasestr(p, "by")) != NULL; p += 2) {
		if ((p > v && is_word_char(p[-1])) || !isspace((unsigned char)p[2]))
			continue;
		const char *h = p + 2;
		while (isspace((unsigned char)*h))
			h++;
		if (host_matches(h, host_word_len(h), host)) {
			*off_r = (size_t)(p - v);
			n++;
		}
	}
	return n;
}

bool
auth_received_names(const char *value, const char *host)
{
	size_t at;
	return host != NULL && *host != '\0' && by_host_count(value, host, &at) > 0;
}

/* Past a comment starting at s[i] == '('; 0 if it never closes. */
static size_t
comment_end(const char *s, size_t i)
{
	int depth = 0;
	for (; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return 0;
}

/* Past a token closed by `close` (quoted strings inside), 0 if unclosed. */
static size_t
closed_end(const char *s, size_t i, char close)
{
	bool quoted = false;
	for (i++; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1])
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == close && (!quoted || close == '"'))
			return i + 1;
	}
	return 0;
}

/* Split v into tokens; the count, or -1 if unbalanced or too many. */
static int
tokenize(const char *v, struct tok *t, size_t max)
{
	size_t n = 0, i = 0;
	while (v[i]) {
		if (isspace((unsigned char)v[i])) {
			i++;
			continue;
		}
		if (n == max)
			return -1;
		size_t end;
		enum tok_kind k = T_WORD;
		if (v[i] == '(')
			k = T_COMMENT, end = comment_end(v, i);
		else if (v[i] == '<')
			k = T_ANGLE, end = closed_end(v, i, '>');
		else if (v[i] == '"')
			end = closed_end(v, i, '"');
		else if (v[i] == '[')
			end = closed_end(v, i, ']');
		else if (v[i] == ';')
			k = T_SEMI, end = i + 1;
		else if (v[i] == ')' || v[i] == '>' || v[i] == ']')
			return -1;
		else
			end = i + strcspn(v + i, " \t\r\n()<>[];\"");
		if (end <= i)
			return -1;
		t[n++] = (struct tok){k, i, end - i};
		i = end;
	}
	return (int)n;
}

static bool
tok_is(const char *v, const struct tok *t, const char *word)
{
	return t->kind == T_WORD && t->len == strlen(word) && strncasecmp(v + t->off, word, t->len) == 0;
}

/* An IP in s[0..n): "[IP]", "[IPv6:IP]" (either maybe followed by :port)
 * or s is a bare IP.  Exim's "helo=[IP]" is the client's word, not an IP
 * the host saw: skipped.  Returns the number of IPs seen (0, 1, more). */
static int
find_ip(struct arena *a, const char *s, size_t n, const char **ip_r)
{
	char buf[64];
	unsigned char bin[16];
	int found = 0;
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n < sizeof(buf) && memchr(s, '[', n) == NULL) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1) {
			*ip_r = arena_strdup(a, buf);
			return 1;
		}
	}
	for (const char *p = s, *end = s + n; (p = memchr(p, '[', (size_t)(end - p))) != NULL; p++) {
		const char *q = memchr(p, ']', (size_t)(end - p));
		if (q == NULL)
			break;
		if (p - s >= 5 && strncasecmp(p - 5, "helo=", 5) == 0)
			continue;
		const char *ip = p + 1;
		if ((size_t)(q - ip) > 5 && strncasecmp(ip, "IPv6:", 5) == 0)
			ip += 5;
		size_t l = (size_t)(q - ip);
		if (l == 0 || l >= sizeof(buf))
			continue;
		memcpy(buf, ip, l);
		buf[l] = '\0';
		if (inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1) {
			if (found++ == 0)
				*ip_r = arena_strdup(a, buf);
		}
	}
	return found;
}

/* Exim's "(helo=NAME)" item inside the comment c[0..n), or NULL.  NAME
 * ends at a space or at the ')' that closes the comment. */
static const char *
exim_helo(struct arena *a, const char *c, size_t n)
{
	for (size_t i = 0; i + 5 <= n; i++) {
		if ((i > 0 && c[i - 1] != ' ' && c[i - 1] != '(') || strncasecmp(c + i, "helo=", 5) != 0)
			continue;
		size_t s = i + 5, e = s;
		int depth = 0;
		for (; e < n && c[e] != ' ' && (c[e] != ')' || depth > 0); e++)
			depth += c[e] == '(' ? 1 : c[e] == ')' ? -1 : 0;
		return arena_strndup(a, c + s, e - s);
	}
	return NULL;
}

/* Exim's comment when the from-word is [IP]: only key=value items. */
static bool
exim_items_only(const char *c, size_t n)
{
	for (size_t i = 1; i + 1 < n;) {
		size_t w = i;
		while (i + 1 < n && c[i] != ' ')
			i++;
		if (memchr(c + w, '=', i - w) == NULL && i > w)
			return false;
		while (i + 1 < n && c[i] == ' ')
			i++;
	}
	return true;
}

static int
unparsed(struct pr_why *why, const char *host, const char *what)
{
	pr_why_set(why, PR_E_RECEIVED_UNPARSED, "the Received header stamped by %s %s", host, what);
	return -1;
}

/* The from clause t[1..by): the IP and HELO, or -1. */
static int
from_clause(struct arena *a, const char *v, const struct tok *t, size_t by, const char *host,
            const char **ip_r, const char **helo_r, struct pr_why *why)
{
	const struct tok *w0 = &t[1];
	if (by < 2 || (w0->kind != T_WORD))
		return unparsed(why, host, "has no client name after 'from'");
	if (w0->len > PR_MAX_DOMAIN)
		return unparsed(why, host, "names a client (HELO) longer than 255 bytes");
	const struct tok *tcp = NULL;
	int ips = 0;
	for (size_t i = 2; i < by; i++) {
		if (t[i].kind != T_COMMENT)
			return unparsed(why, host, "has more than one word before 'by' (a HELO with spaces?)");
		const char *ip = NULL;
		int n = find_ip(a, v + t[i].off + 1, t[i].len - 2, &ip);
		if (n > 0)
			tcp = &t[i], *ip_r = ip;
		ips += n;
	}
	const char *w0s = arena_strndup(a, v + w0->off, w0->len);
	if (ips > 1)
		return unparsed(why, host, "names more than one client IP (a HELO that imitates the stamp?)");
	if (ips == 0) {
		/* Exim: "from [IP]" or "from [IP] (port=N helo=NAME)". */
		const struct tok *c = by == 3 ? &t[2] : NULL;
		if (by > 3 || (c && !exim_items_only(v + c->off, c->len)) ||
		    w0s[0] != '[' || find_ip(a, w0s, strlen(w0s), ip_r) != 1)
			return unparsed(why, host, "has no client IP in its TCP-info comment");
		const char *h = c ? exim_helo(a, v + c->off, c->len) : NULL;
		*helo_r = h ? h : w0s;
		return 0;
	}
	const char *h = exim_helo(a, v + tcp->off, tcp->len);
	if (h && strlen(h) > PR_MAX_DOMAIN)
		return unparsed(why, host, "names a client (HELO) longer than 255 bytes");
	*helo_r = h ? h : w0s;
	return 0;
}

int
auth_received_parse(struct arena *a, const char *v, const char *host, const char **ip_r,
                    const char **helo_r, struct pr_why *why)
{
	size_t at = 0;
	if (!auth_received_names(v, host))
		return 1;
	if (strlen(v) > AUTH_MAX_RECEIVED)
		return unparsed(why, host, "is too long");
	if (by_host_count(v, host, &at) > 1)
		return unparsed(why, host, "names the host twice (a HELO that imitates the stamp?)");
	struct tok *t = arena_alloc(a, AUTH_MAX_TOKENS * sizeof(*t));
	int n = tokenize(v, t, AUTH_MAX_TOKENS);
	if (n < 0)
		return unparsed(why, host, "has unbalanced brackets or too many parts");
	size_t by = 0;
	while (by < (size_t)n && !(tok_is(v, &t[by], "by") && by != 1))
		by++;
	if (by == (size_t)n || t[by].off != at)
		return unparsed(why, host, "has its 'by' clause hidden in a comment or quote");
	if (by == 0) {      /* "by host ... ; date": made on the host, no client */
		*ip_r = "";
		*helo_r = "";
		return 0;
	}
	if (!tok_is(v, &t[0], "from"))
		return unparsed(why, host, "does not start with 'from'");
	return from_clause(a, v, t, by, host, ip_r, helo_r, why);
}

int
auth_received_peer(struct arena *a, struct spool *raw, const char *host, const char **ip_r,
                   const char **helo_r, struct pr_why *why)
{
	const char *vals[AUTH_MAX_FIELDS];
	size_t n = mime_header_values(a, raw, "Received", vals, AUTH_MAX_FIELDS);
	for (size_t i = 0; i < n; i++) {
		int rc = auth_received_parse(a, vals[i], host, ip_r, helo_r, why);
		if (rc <= 0)
			return rc;      /* the topmost one by host decides */
	}
	return 1;
}
