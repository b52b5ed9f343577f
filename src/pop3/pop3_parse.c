/* pop3_parse.c - the collector's pure functions: no I/O, unit tested.
 *
 * - pop_server setting -> libcurl URL (ssl:// is pop3s, tcp:// is pop3
 *   with STLS).  IMAP URLs and ports are refused here as well as in the
 *   settings validator, so a stale stored value cannot slip through.
 * - UIDL listings (RFC 1939 7): "n uid" per line, uid 1..70 chars 0x21-0x7E.
 * Nothing here reads the collected messages: their envelope is intake's
 * (intake/envelope.c).
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
#include "net/net_curl.h"
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
	struct net_curl_peer peer = {"the POP3 server", host, port, "pop_ca_file",
	                             "use tcp:// for a plain POP3 port",
	                             greeting && *greeting ? NULL : "if the port expects TLS, use ssl://"};
	if (net_curl_explain(code, errbuf, &peer, why))
		return;
	switch ((CURLcode)code) {
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
