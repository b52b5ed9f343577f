/* address.c - RFC 5321 4.1.2 paths from untrusted input.
 *
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"     (source route: ignored)
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *
 * Refused: anything past the RFC 5321 4.5.3.1 limits (local part 64,
 * domain 255, path 256 octets), control characters anywhere, empty atoms
 * ("a..b", ".a"), unbalanced quotes, a domain label that is not
 * letters/digits/hyphens or is longer than 63.  Bytes >= 0x80 are allowed
 * in the local part only (RFC 6531 mailboxes in the wild); domains must be
 * A-labels.  The cursor never passes the NUL, so no input reads past its
 * end.
 */
#include "route/address.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"

struct cursor {
	const char *p;
	struct pr_why *why;
};

static int
bad(struct cursor *c, const char *what)
{
	pr_why_set(c->why, PR_E_BAD_ADDRESS, "%s", what);
	return -1;
}

static bool
is_atext(unsigned char ch)
{
	return isalnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL || ch >= 0x80;
}

/* Dot-string: atoms separated by single dots.  Appends to out. */
static int
dot_string(struct cursor *c, char *out, size_t *len)
{
	for (;;) {
		if (!is_atext((unsigned char)*c->p) || *c->p == '\0')
			return bad(c, "the local part has an empty or invalid word");
		while (*c->p && is_atext((unsigned char)*c->p)) {
			if (*len >= PR_MAX_LOCAL_PART)
				return bad(c, "the local part is longer than 64 characters (RFC 5321 4.5.3.1.1)");
			out[(*len)++] = *c->p++;
		}
		if (*c->p != '.')
			return 0;
		out[(*len)++] = *c->p++;
	}
}

/* Quoted-string, unquoted into out.  The 64-octet limit counts the
 * unquoted text, which is what a mailbox stores. */
static int
quoted_string(struct cursor *c, char *out, size_t *len)
{
	c->p++;                                   /* opening quote */
	for (;;) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '"') {
			c->p++;
			return *len ? 0 : bad(c, "the quoted local part is empty");
		}
		if (ch == '\\') {
			ch = (unsigned char)*++c->p;
			if (ch < 32 || ch > 126)
				return bad(c, "invalid escape in a quoted local part");
		} else if (ch < 32 || ch == 127) {
			return bad(c, ch ? "control character in a quoted local part" : "unterminated quoted local part");
		}
		if (*len >= PR_MAX_LOCAL_PART)
			return bad(c, "the local part is longer than 64 characters (RFC 5321 4.5.3.1.1)");
		out[(*len)++] = (char)ch;
		c->p++;
	}
}

static int
address_literal(struct cursor *c, char *out, size_t *len)
{
	const char *close = strchr(c->p, ']');
	size_t n = close ? (size_t)(close - c->p) + 1 : 0;
	if (close == NULL || n > 64)
		return bad(c, "invalid address literal");
	char ip[64];
	unsigned char bin[16];
	memcpy(ip, c->p + 1, n - 2);
	ip[n - 2] = '\0';
	bool ok = strncasecmp(ip, "IPv6:", 5) == 0 ? inet_pton(AF_INET6, ip + 5, bin) == 1
	                                           : inet_pton(AF_INET, ip, bin) == 1;
	if (!ok)
		return bad(c, "invalid address literal");
	for (size_t i = 0; i < n; i++)
		out[(*len)++] = (char)tolower((unsigned char)c->p[i]);
	c->p += n;
	return 0;
}

/* Domain = sub-domain *("." sub-domain), lowercased into out. */
static int
domain(struct cursor *c, char *out, size_t *len)
{
	if (*c->p == '[')
		return address_literal(c, out, len);
	for (;;) {
		size_t label = 0;
		while (isalnum((unsigned char)*c->p) || *c->p == '-') {
			if (*len >= PR_MAX_DOMAIN)
				return bad(c, "the domain is longer than 255 characters (RFC 5321 4.5.3.1.2)");
			if (++label > 63)
				return bad(c, "a domain label is longer than 63 characters");
			out[(*len)++] = (char)tolower((unsigned char)*c->p++);
		}
		if (label == 0 || out[*len - label] == '-' || out[*len - 1] == '-')
			return bad(c, "the domain is not valid");
		if (*c->p != '.')
			return 0;
		out[(*len)++] = *c->p++;
	}
}

/* Skip an obsolete source route "@a,@b:" (RFC 5321 4.1.2, C.1). */
static int
skip_source_route(struct cursor *c)
{
	char scratch[PR_MAX_DOMAIN + 2];
	while (*c->p == '@') {
		size_t len = 0;
		c->p++;
		if (domain(c, scratch, &len) < 0)
			return -1;
		if (*c->p == ':') {
			c->p++;
			return 0;
		}
		if (*c->p != ',')
			return bad(c, "invalid source route");
		c->p++;
	}
	return 0;
}

static bool
needs_quotes(const char *local)
{
	if (*local == '.' || *local == '\0' || local[strlen(local) - 1] == '.' || strstr(local, ".."))
		return true;
	for (const char *p = local; *p; p++)
		if (*p != '.' && !is_atext((unsigned char)*p))
			return true;
	return false;
}

static void
fill(struct arena *a, const char *local, size_t llen, const char *dom, size_t dlen, struct address *out)
{
	out->local = arena_strndup(a, local, llen);
	out->domain = arena_strndup(a, dom, dlen);
	if (!needs_quotes(out->local)) {
		out->full = arena_printf(a, "%s@%s", out->local, out->domain);
		return;
	}
	char q[2 * PR_MAX_LOCAL_PART + 3];
	size_t n = 0;
	q[n++] = '"';
	for (const char *p = out->local; *p; p++) {
		if (*p == '"' || *p == '\\')
			q[n++] = '\\';
		q[n++] = *p;
	}
	q[n++] = '"';
	q[n] = '\0';
	out->full = arena_printf(a, "%s@%s", q, out->domain);
}

/* Mailbox = Local-part "@" Domain; leaves the cursor after the domain. */
static int
mailbox(struct cursor *c, struct arena *a, struct address *out)
{
	char local[PR_MAX_LOCAL_PART + 1], dom[PR_MAX_DOMAIN + 2];
	size_t llen = 0, dlen = 0;
	int rc = *c->p == '"' ? quoted_string(c, local, &llen) : dot_string(c, local, &llen);
	if (rc < 0)
		return -1;
	if (*c->p != '@')
		return bad(c, *c->p ? "unexpected character in the local part" : "the address has no @domain");
	c->p++;
	if (domain(c, dom, &dlen) < 0)
		return -1;
	fill(a, local, llen, dom, dlen, out);
	return 0;
}

int
address_parse_path(struct arena *a, const char *s, bool allow_null,
                   struct address *out, const char **end_r, struct pr_why *why)
{
	struct cursor c = {s, why};
	memset(out, 0, sizeof(*out));
	if (*c.p != '<')
		return bad(&c, "the address must be enclosed in <>");
	const char *close = memchr(s, '>', strnlen(s, PR_MAX_PATH + 1));
	if (close == NULL)
		return bad(&c, strnlen(s, PR_MAX_PATH + 1) > PR_MAX_PATH
		               ? "the path is longer than 256 characters (RFC 5321 4.5.3.1.3)"
		               : "the address has no closing >");
	c.p++;
	if (*c.p == '>') {
		if (!allow_null)
			return bad(&c, "the null path <> is not allowed here");
		out->local = out->domain = out->full = arena_strdup(a, "");
		*end_r = c.p + 1;
		return 0;
	}
	if (skip_source_route(&c) < 0 || mailbox(&c, a, out) < 0)
		return -1;
	if (*c.p != '>')
		return bad(&c, "unexpected character after the domain");
	if ((size_t)(c.p + 1 - s) > PR_MAX_PATH)
		return bad(&c, "the path is longer than 256 characters (RFC 5321 4.5.3.1.3)");
	*end_r = c.p + 1;
	return 0;
}

int
address_parse(struct arena *a, const char *s, struct address *out, struct pr_why *why)
{
	struct cursor c = {s, why};
	memset(out, 0, sizeof(*out));
	if (*s == '<') {
		const char *end;
		if (address_parse_path(a, s, false, out, &end, why) < 0)
			return -1;
		return *end ? bad(&c, "unexpected text after the address") : 0;
	}
	if (strnlen(s, PR_MAX_PATH + 1) > PR_MAX_PATH - 2)
		return bad(&c, "the address is longer than 254 characters (RFC 5321 4.5.3.1.3)");
	if (mailbox(&c, a, out) < 0)
		return -1;
	return *c.p ? bad(&c, "unexpected character after the domain") : 0;
}

char *
address_normalize(struct arena *a, const char *addr)
{
	char *d = arena_strdup(a, addr);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

const char *
address_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

/* ---- address lists of header fields (collected mail's To, Cc and
 * catch-all header): lenient, the route check that follows is strict ---- */

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
address_list(struct arena *a, const char *v, const char **out, size_t max)
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
