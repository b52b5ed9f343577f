/* pop3_parse.c - the collector's pure functions: no I/O, unit tested.
 *
 * - pop_server setting -> libcurl URL (ssl:// is pop3s, tcp:// is pop3
 *   with STLS).  IMAP URLs and ports are refused here as well as in the
 *   settings validator, so a stale stored value cannot slip through.
 * - UIDL listings (RFC 1939 7): "n uid" per line, uid 1..70 chars 0x21-0x7E.
 * - The few header fields the collector needs before intake parses the
 *   message properly: the catch-all header and To/Cc.  Bounded: only the
 *   header block, at most PR_MIME_MAX_HEADER_BYTES of it, is scanned.
 * - libcurl error codes -> what exactly failed, in plain words.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/limits.h"
#include "pop3/pop3_private.h"

int
pop3_server_parse(const char *v, struct pop3_server *out, struct pr_why *why)
{
	memset(out, 0, sizeof(*out));
	if (v == NULL || *v == '\0') {
		pr_why_set(why, PR_E_CONFIG, "pop_server is not set");
		return -1;
	}
	if (!strncasecmp(v, "imap", 4)) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is an IMAP server; postroom collects by POP3", v);
		return -1;
	}
	if (!strncmp(v, "ssl://", 6))
		out->implicit_tls = true;
	else if (strncmp(v, "tcp://", 6) != 0)
		goto bad;
	const char *h = v + 6, *colon = strrchr(h, ':');
	if (colon == NULL || colon == h || (size_t)(colon - h) >= sizeof(out->host))
		goto bad;
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 1 || port > 65535)
		goto bad;
	if (port == 143 || port == 993) {
		pr_why_set(why, PR_E_CONFIG, "port %ld is IMAP; POP3 is 995 (ssl://) or 110 (tcp://)", port);
		return -1;
	}
	memcpy(out->host, h, (size_t)(colon - h));
	for (const char *p = out->host; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_[]:", *p))
			goto bad;
	out->port = (int)port;
	snprintf(out->url, sizeof(out->url), "%s://%s:%ld", out->implicit_tls ? "pop3s" : "pop3",
	         out->host, port);
	return 0;
bad:
	pr_why_set(why, PR_E_CONFIG, "pop_server '%s' is not ssl://host:995 or tcp://host:110", v);
	return -1;
}

/* One "n uid" line; 0 ok. */
static int
uidl_line(const char *p, size_t n, struct pop3_item *it)
{
	size_t i = 0;
	unsigned long num = 0;
	while (i < n && isdigit((unsigned char)p[i]) && num < 100000000UL)
		num = num * 10 + (unsigned long)(p[i++] - '0');
	if (i == 0 || num == 0 || i >= n || p[i] != ' ')
		return -1;
	while (i < n && p[i] == ' ')
		i++;
	size_t start = i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	size_t ulen = i - start;
	while (i < n && p[i] == ' ')   /* trailing blanks: tolerated */
		i++;
	if (ulen == 0 || ulen > POP3_UIDL_MAX || i != n)
		return -1;
	it->num = num;
	memcpy(it->uidl, p + start, ulen);
	it->uidl[ulen] = '\0';
	return 0;
}

int
pop3_uidl_parse(struct arena *a, const char *body, size_t len, struct pop3_item **out,
                size_t *n, struct pr_why *why)
{
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += body[i] == '\n';
	if (lines > POP3_MAX_LIST)
		lines = POP3_MAX_LIST;
	struct pop3_item *items = arena_alloc(a, (lines + 1) * sizeof(*items));
	size_t k = 0, pos = 0;
	while (pos < len && k < POP3_MAX_LIST) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - body) : len, l = end - pos;
		if (l > 0 && body[pos + l - 1] == '\r')
			l--;
		if (l > 0 && uidl_line(body + pos, l, &items[k++]) < 0) {
			pr_why_set(why, PR_E_INVALID, "the server's UIDL listing has a bad line: '%.*s'",
			           (int)(l > 80 ? 80 : l), body + pos);
			return -1;
		}
		pos = end + 1;
	}
	*out = items;
	*n = k;
	return 0;
}

/* End of the header block (the empty line), bounded. */
static size_t
header_block_len(const uint8_t *raw, size_t len)
{
	if (len > PR_MIME_MAX_HEADER_BYTES)
		len = PR_MIME_MAX_HEADER_BYTES;
	for (size_t i = 0; i + 1 < len; i++) {
		if (raw[i] == '\n' && (raw[i + 1] == '\n' ||
		                       (raw[i + 1] == '\r' && i + 2 < len && raw[i + 2] == '\n')))
			return i + 1;
	}
	return len;
}

/* Copy the unfolded value starting at p (after the colon) to a buffer. */
static char *
unfold(struct arena *a, const uint8_t *p, const uint8_t *end, size_t max)
{
	char *out = arena_alloc(a, max + 1);
	size_t k = 0;
	for (; p < end; p++) {
		if (*p == '\n') {
			if (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
				continue;   /* folded line goes on */
			break;
		}
		if (*p == '\r' || (k == 0 && (*p == ' ' || *p == '\t')))
			continue;
		if (k < max)
			out[k++] = (*p == '\t') ? ' ' : (char)*p;
	}
	out[k] = '\0';
	size_t s = 0;
	while (out[s] == ' ')
		s++;
	while (k > s && out[k - 1] == ' ')
		out[--k] = '\0';
	return out + s;
}

char *
pop3_header_nth(struct arena *a, const uint8_t *raw, size_t len, const char *name, size_t nth,
                size_t max)
{
	size_t hl = header_block_len(raw, len), nl = strlen(name);
	const uint8_t *end = raw + hl;
	for (const uint8_t *p = raw; p < end;) {
		if ((size_t)(end - p) > nl && p[nl] == ':' && !strncasecmp((const char *)p, name, nl) &&
		    nth-- == 0)
			return unfold(a, p + nl + 1, end, max);
		const uint8_t *q = memchr(p, '\n', (size_t)(end - p));
		if (q == NULL)
			break;
		p = q + 1;
	}
	return NULL;
}

char *
pop3_header_first(struct arena *a, const uint8_t *raw, size_t len, const char *name,
                  size_t max)
{
	return pop3_header_nth(a, raw, len, name, 0, max);
}

/* The word after " kw " in s (before `stop`), or NULL. */
static const char *
word_after(struct arena *a, const char *s, const char *kw, const char *stop)
{
	size_t kl = strlen(kw);
	for (const char *p = s; *p && (stop == NULL || p < stop); p++) {
		if ((p == s || p[-1] == ' ') && !strncasecmp(p, kw, kl) && p[kl] == ' ') {
			const char *w = p + kl + 1;
			size_t n = strcspn(w, " ;()");
			return n ? arena_strndup(a, w, n) : NULL;
		}
	}
	return NULL;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" inside the from clause. */
static const char *
bracket_ip(struct arena *a, const char *s, const char *stop)
{
	for (const char *p = s; *p && p < stop; p++) {
		if (*p != '[')
			continue;
		const char *q = strchr(p, ']');
		if (q == NULL || q > stop)
			return NULL;
		p++;
		if (!strncasecmp(p, "IPv6:", 5))
			p += 5;
		size_t n = (size_t)(q - p);
		if (n == 0 || n > 45 || strspn(p, "0123456789abcdefABCDEF.:") != n)
			return NULL;
		return arena_strndup(a, p, n);
	}
	return NULL;
}

int
pop3_received_peer(struct arena *a, const uint8_t *raw, size_t len, const char *host,
                   const char **ip_r, const char **helo_r)
{
	if (host == NULL || *host == '\0')
		return 1;
	for (size_t i = 0; i < 100; i++) {   /* bound: mail rarely has 100 hops */
		const char *v = pop3_header_nth(a, raw, len, "Received", i, 4096);
		if (v == NULL)
			return 1;
		const char *by = word_after(a, v, "by", NULL);
		if (by == NULL || strcasecmp(by, host) != 0)
			continue;
		const char *stop = strcasestr(v, " by ");
		if (stop == NULL)
			stop = v + strlen(v);
		const char *helo = word_after(a, v, "from", stop);
		const char *ip = bracket_ip(a, v, stop);
		*helo_r = helo ? helo : "";
		*ip_r = ip ? ip : "";
		return 0;
	}
	return 1;
}

const char *
pop3_return_path(struct arena *a, const uint8_t *raw, size_t len)
{
	const char *v = pop3_header_first(a, raw, len, "Return-Path", PR_MAX_PATH + 16);
	if (v == NULL)
		return NULL;
	if (!strcmp(v, "<>"))
		return "";
	const char *out[1];
	return pop3_addr_list(a, v, out, 1) == 1 ? out[0] : NULL;
}

/* One addr-spec out of an element: the part in <>, else the bare text. */
static const char *
addr_of(struct arena *a, const char *s, size_t n)
{
	const char *lt = memchr(s, '<', n);
	char bare[PR_MAX_PATH + 1];
	if (lt) {
		const char *gt = memchr(lt, '>', n - (size_t)(lt - s));
		if (gt == NULL)
			return NULL;
		s = lt + 1, n = (size_t)(gt - lt - 1);
	} else {
		/* "bob@x (Bob)": drop the comments (RFC 5322 3.2.2) */
		size_t k = 0;
		int depth = 0;
		for (size_t i = 0; i < n && k < sizeof(bare) - 1; i++) {
			if (s[i] == '(')
				depth++;
			else if (s[i] == ')' && depth > 0)
				depth--;
			else if (depth == 0)
				bare[k++] = s[i];
		}
		s = bare, n = k;
	}
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n > PR_MAX_PATH || memchr(s, '@', n) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == ',')
			return NULL;
	return arena_strndup(a, s, n);
}

size_t
pop3_addr_list(struct arena *a, const char *v, const char **out, size_t max)
{
	size_t k = 0, start = 0;
	bool quoted = false, angle = false;
	int paren = 0;
	for (size_t i = 0;; i++) {
		char c = v[i];
		if (c == '\0' || (c == ',' && !quoted && !angle && paren == 0)) {
			const char *addr = addr_of(a, v + start, i - start);
			if (addr && k < max)
				out[k++] = addr;
			if (c == '\0')
				break;
			start = i + 1;
		} else if (c == '\\' && v[i + 1]) {
			i++;
		} else if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == '(') {
			paren++;
		} else if (!quoted && c == ')' && paren > 0) {
			paren--;
		} else if (!quoted && c == '<') {
			angle = true;
		} else if (!quoted && c == '>') {
			angle = false;
		}
	}
	return k;
}

void
pop3_explain(int code, const char *host, int port, const char *user, const char *greeting,
             const char *last_reply, const char *errbuf, struct pr_why *why)
{
	const char *eb = (errbuf && *errbuf) ? errbuf : curl_easy_strerror((CURLcode)code);
	if (greeting && greeting[0] == '*' && !strncasecmp(greeting, "* OK", 4)) {
		pr_why_set(why, PR_E_CONFIG, "%s:%d is an IMAP server (it greeted with '* OK'); "
		           "postroom collects by POP3: use the POP3 port (995 with ssl://, 110 with tcp://)",
		           host, port);
		return;
	}
	switch ((CURLcode)code) {
	case CURLE_COULDNT_RESOLVE_HOST:
		pr_why_set(why, PR_E_NOT_FOUND, "the POP3 server name '%s' was not found in DNS", host);
		break;
	case CURLE_COULDNT_CONNECT:
		pr_why_set(why, PR_E_IO, "connection to %s port %d refused: no POP3 server listens there (%s)",
		           host, port, eb);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		pr_why_set(why, PR_E_IO, "the POP3 server %s:%d did not answer in time (%s)%s", host, port,
		           eb, greeting && *greeting ? ""
		                : "; it sent no greeting: if the port expects TLS, use ssl://");
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		pr_why_set(why, PR_E_TLS_FAILED, "TLS certificate problem with %s:%d: %s "
		           "(set pop_ca_file to the CA that signed it)", host, port, eb);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		pr_why_set(why, PR_E_TLS_FAILED, "TLS handshake with %s:%d failed: %s%s", host, port, eb,
		           strstr(eb, "wrong version number")
		               ? " (the port does not speak TLS: use tcp:// for a plain POP3 port)" : "");
		break;
	case CURLE_USE_SSL_FAILED:
		pr_why_set(why, PR_E_TLS_REQUIRED, "%s:%d does not offer STLS and pop_require_tls is on "
		           "(use ssl:// on port 995)", host, port);
		break;
	case CURLE_LOGIN_DENIED:
		pr_why_set(why, PR_E_CONFIG, "login refused for user '%s' on %s:%d%s%s", user, host, port,
		           last_reply && *last_reply ? ": the server said: " : "",
		           last_reply ? last_reply : "");
		break;
	case CURLE_WEIRD_SERVER_REPLY:
		pr_why_set(why, PR_E_IO, "%s:%d is not a POP3 server (it greeted with '%s')", host, port,
		           greeting && *greeting ? greeting : "nothing");
		break;
	default:
		pr_why_set(why, PR_E_IO, "POP3 with %s:%d failed: %s%s%s", host, port, eb,
		           last_reply && *last_reply ? "; the server said: " : "",
		           last_reply ? last_reply : "");
		break;
	}
}
