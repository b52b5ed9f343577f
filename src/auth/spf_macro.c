/* spf_macro.c - RFC 7208 section 7: macro syntax and expansion, and the
 * domain-spec checks around it.
 *
 * A macro-string is checked once when the record is parsed (a syntax
 * error anywhere makes the whole record permerror, 4.6) and expanded when
 * its term is reached.  %{p} costs DNS lookups and is discouraged by the
 * RFC; it is supported because the suite tests it.  Expansion results are
 * bounded: an expanded domain is cut to 253 octets from the left (7.3),
 * and any expansion past SPF_MAX_RECORD bytes is truncated.
 */
#include "auth/spf_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"

static bool
is_delim(char ch)
{
	return ch != '\0' && strchr(".-+,/_=", ch) != NULL;
}

static bool
is_letter(char ch, bool exp)
{
	ch = (char)tolower((unsigned char)ch);
	if (ch != '\0' && strchr("slodiphv", ch))
		return true;
	return exp && ch != '\0' && strchr("crt", ch);
}

/* Length of the macro-expand at s ("%{...}", "%%", "%_", "%-"), 0 if bad. */
static size_t
macro_len(const char *s, size_t n, bool exp)
{
	if (n < 2 || s[0] != '%')
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || n < 4 || !is_letter(s[2], exp))
		return 0;
	size_t i = 3;
	bool digits = false, nonzero = false;
	while (i < n && isdigit((unsigned char)s[i])) {
		digits = true;
		nonzero |= s[i] != '0';
		i++;
	}
	if (digits && !nonzero)
		return 0;            /* 7.1: a DIGIT transformer must be nonzero */
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < n && is_delim(s[i]))
		i++;
	return i < n && s[i] == '}' ? i + 1 : 0;
}

int
spf_macro_check(const char *s, size_t n, bool exp)
{
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%') {
			size_t l = macro_len(s + i, n - i, exp);
			if (l == 0)
				return -1;
			i += l;
		} else if ((ch >= 0x21 && ch <= 0x7e) || (exp && ch == ' ')) {
			i++;
		} else {
			return -1;
		}
	}
	return 0;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false;
	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && ch != '-')
			return false;
		alpha |= isalpha(ch) || ch == '-';
	}
	return alpha;
}

bool
spf_domain_spec_ok(const char *s, size_t n)
{
	if (n == 0 || spf_macro_check(s, n, false) != 0)
		return false;
	/* ends in a macro-expand? ("}" of %{..}, or %%, %_, %-) */
	if (s[n - 1] == '}')
		return true;
	if (n >= 2 && s[n - 2] == '%' && (n < 3 || s[n - 3] != '%'))
		return true;
	if (s[n - 1] == '.')
		n--;
	const char *dot = memrchr(s, '.', n);
	if (dot == NULL)
		return false;        /* "." toplabel: a single label is not enough */
	return toplabel_ok(dot + 1, n - (size_t)(dot + 1 - s));
}

static const char *
ip_dotted(struct spf_ctx *c, bool readable)
{
	char buf[INET6_ADDRSTRLEN];
	if (c->family == AF_INET || readable) {
		inet_ntop(c->family, c->ip, buf, sizeof(buf));
		return arena_strdup(c->a, buf);
	}
	char *out = arena_alloc(c->a, 65);       /* 32 nibbles dotted, + snprintf's NUL */
	for (int i = 0; i < 16; i++)
		snprintf(out + i * 4, 5, "%X.%X.", c->ip[i] >> 4, c->ip[i] & 15);   /* 7.4 example: upper */
	out[63] = '\0';
	return out;
}

/* %{p}: a validated name, preferring the domain itself, then a subdomain. */
static const char *
macro_p(struct spf_ctx *c, const char *domain)
{
	size_t n, dl = strlen(domain);
	const char **names = spf_validated_names(c, &n);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], domain) == 0)
			return names[i];
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (l > dl && names[i][l - dl - 1] == '.' && strcasecmp(names[i] + l - dl, domain) == 0)
			return names[i];
	}
	return n ? names[0] : "unknown";
}

static const char *
macro_value(struct spf_ctx *c, char letter, const char *domain)
{
	switch (tolower((unsigned char)letter)) {
	case 's': return c->sender;
	case 'l': return c->local;
	case 'o': return c->sender_domain;
	case 'd': return domain;
	case 'i': return ip_dotted(c, false);
	case 'c': return ip_dotted(c, true);
	case 'p': return macro_p(c, domain);
	case 'v': return c->family == AF_INET ? "in-addr" : "ip6";
	case 'h': return c->rq->helo ? c->rq->helo : "";
	case 'r': return c->rq->receiver ? c->rq->receiver : "unknown";
	case 't': return arena_printf(c->a, "%lld", (long long)time(NULL));
	default: return "";
	}
}

/* Split on delimiters, optionally reverse, keep the rightmost `keep`
 * parts, join with ".". */
static void
macro_transform(struct buf *out, const char *v, const char *delims, size_t keep, bool rev)
{
	const char *parts[256];
	size_t lens[256], np = 0;
	const char *start = v;
	for (const char *p = v;; p++) {
		if (*p == '\0' || strchr(delims, *p)) {
			if (np < 256) {
				parts[np] = start;
				lens[np++] = (size_t)(p - start);
			}
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	size_t first = keep && keep < np ? np - keep : 0;
	for (size_t k = first; k < np; k++) {
		size_t idx = rev ? np - 1 - k : k;     /* k indexes the (reversed) list */
		if (k > first)
			buf_addch(out, '.');
		buf_add(out, parts[idx], lens[idx]);
	}
}

static void
url_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (isalnum(ch) || strchr("-._~", ch))
			buf_addch(out, (char)ch);
		else
			buf_printf(out, "%%%02X", ch);
	}
}

/* One %{...} expand at s (already checked); appends to out. */
static void
macro_one(struct spf_ctx *c, const char *s, size_t len, const char *domain, struct buf *out)
{
	char letter = s[2];
	size_t i = 3, keep = 0;
	while (isdigit((unsigned char)s[i]) && i < len) {
		if (keep < 1000)
			keep = keep * 10 + (size_t)(s[i] - '0');
		i++;
	}
	bool rev = s[i] == 'r' || s[i] == 'R';
	i += rev;
	char delims[16] = "";
	size_t nd = 0;
	while (s[i] != '}' && nd < sizeof(delims) - 1)
		delims[nd++] = s[i++];
	delims[nd] = '\0';
	struct buf t;
	buf_init(&t, SPF_MAX_RECORD);
	macro_transform(&t, macro_value(c, letter, domain), nd ? delims : ".", keep, rev);
	if (isupper((unsigned char)letter))
		url_escape(out, buf_cstr(&t), t.len);
	else
		buf_add(out, buf_cstr(&t), t.len);
	buf_free(&t);
}

char *
spf_macro_expand(struct spf_ctx *c, const char *s, size_t n, const char *domain, bool exp)
{
	if (spf_macro_check(s, n, exp) != 0)
		return NULL;
	struct buf out;
	buf_init(&out, SPF_MAX_RECORD);
	for (size_t i = 0; i < n;) {
		if (s[i] != '%') {
			buf_addch(&out, s[i++]);
			continue;
		}
		size_t l = macro_len(s + i, n - i, exp);
		if (s[i + 1] == '%')
			buf_addch(&out, '%');
		else if (s[i + 1] == '_')
			buf_addch(&out, ' ');
		else if (s[i + 1] == '-')
			buf_addstr(&out, "%20");
		else
			macro_one(c, s + i, l, domain, &out);
		i += l;
	}
	char *r = arena_strndup(c->a, buf_cstr(&out), out.len);
	buf_free(&out);
	return r;
}

const char *
spf_domain_fit(struct spf_ctx *c, const char *name)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	const char *p = name;
	while (n > 253) {
		const char *dot = memchr(p, '.', n);
		if (dot == NULL)
			break;
		n -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	return arena_strndup(c->a, p, n);
}
