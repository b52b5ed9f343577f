/* mime_addr.c - address-list fields (From, To, Cc, Reply-To) as mailboxes.
 *
 * GMime drops what it cannot parse as an address without a word:
 * "To: a@x, s..palmer@x, b@x" gave two recipients.  A recipient that
 * vanishes cannot be routed, made a stakeholder or explained by `why`, so
 * we split the list ourselves at its top-level commas (not inside quotes,
 * comments or <>; a group's "name:" and ";" split too, groups are
 * flattened) and let GMime parse each piece: a piece that gives no
 * mailbox is kept as written, marked invalid.  Every field of the name
 * counts, in order (two To: fields are one list, as GMime reads them).
 * Encoded words are decoded by our decoder first (mime_rfc2047.c).
 * Addresses are addr-specs with a lowercased domain (the local part is
 * case-sensitive by RFC 5321 2.4).
 */
#include "mime/mime_private.h"

#include <string.h>

#include "core/arena.h"
#include "core/limits.h"

/* No more than this many mailboxes per field name: the header block is
 * bounded (PR_MIME_MAX_HEADER_BYTES), this bounds the work per piece. */
#define ADDR_MAX 10000

static const char *
addr_spec(struct mime_walk *w, const char *addr)
{
	char *r = mime_to_utf8(w, "utf-8", addr ? addr : "", addr ? strlen(addr) : 0);
	char *at = strrchr(r, '@');
	for (char *q = at; q && *q; q++)
		*q = g_ascii_tolower(*q);
	return r;
}

static void
push(struct mime_walk *w, GArray *v, const char *name, const char *address, bool invalid)
{
	if (v->len >= ADDR_MAX)
		return;
	struct mime_address m = {
		.name = mime_to_utf8(w, "utf-8", name ? name : "", name ? strlen(name) : 0),
		.address = address, .invalid = invalid};
	g_array_append_val(v, m);
}

static void
add_list(struct mime_walk *w, GArray *v, InternetAddressList *l, int depth)
{
	int len = l ? internet_address_list_length(l) : 0;
	for (int i = 0; i < len; i++) {
		InternetAddress *ia = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth == 0)
			add_list(w, v, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), 1);
		else if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			push(w, v, internet_address_get_name(ia),
			     addr_spec(w, internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia))), false);
	}
}

/* Nothing but blanks and comments: "(no To-header on input)" names no
 * recipient, valid or not. */
static bool
blank(const char *p, size_t n)
{
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		if (depth > 0 && p[i] == '\\' && i + 1 < n)
			i++;
		else if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !g_ascii_isspace(p[i]))
			return false;
	}
	return true;
}

/* One piece between separators: GMime's mailboxes, or the text, invalid. */
static void
piece(struct mime_walk *w, GArray *v, const char *p, size_t n)
{
	if (v->len >= ADDR_MAX || blank(p, n))
		return;
	char *s = g_strndup(p, n);
	InternetAddressList *l = internet_address_list_parse(w->opts, s);
	guint before = v->len;
	add_list(w, v, l, 0);
	if (v->len == before) {
		g_strstrip(s);
		char *t = mime_to_utf8(w, NULL, s, strlen(s));
		for (char *c = t; *c; c++)     /* shown as written, never raw controls */
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		push(w, v, "", t, true);
	}
	if (l)
		g_object_unref(l);
	g_free(s);
}

/* Split at top-level ',' ';' and a group's ':' (the group name before it
 * is not an address). */
static void
split(struct mime_walk *w, GArray *v, const char *s)
{
	int angle = 0, comment = 0;
	bool quoted = false;
	const char *start = s;
	for (const char *p = s; *p; p++) {
		if ((quoted || comment) && *p == '\\' && p[1]) {
			p++;
		} else if (quoted) {
			quoted = *p != '"';
		} else if (comment) {
			comment += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '(') {
			comment = 1;
		} else if (*p == '<') {
			angle++;
		} else if (*p == '>' && angle > 0) {
			angle--;
		} else if (angle == 0 && (*p == ',' || *p == ';' || *p == ':')) {
			if (*p != ':')
				piece(w, v, start, (size_t)(p - start));
			start = p + 1;
		}
	}
	piece(w, v, start, strlen(start));
}

void
mime_addresses_fill(struct mime_walk *w, GMimeObject *o, const char *name,
                    struct mime_address **out, size_t *n)
{
	GArray *v = g_array_new(FALSE, TRUE, sizeof(struct mime_address));
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int count = hl ? g_mime_header_list_get_count(hl) : 0;
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *raw = g_mime_header_get_raw_value(h);
		if (raw != NULL && !g_ascii_strcasecmp(g_mime_header_get_name(h), name))
			split(w, v, mime_decode_phrases(w, raw));
	}
	*out = arena_alloc(w->a, (v->len + 1) * sizeof(**out));
	if (v->len)
		memcpy(*out, v->data, v->len * sizeof(**out));
	*n = v->len;
	g_array_free(v, TRUE);
}
