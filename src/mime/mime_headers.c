/* mime_headers.c - the envelope-like fields of a message, as UTF-8.
 *
 * GMime decodes RFC 2047 words and 8-bit header bytes (our parser options
 * fall back to Windows-1252 when bytes are not UTF-8).  Everything copied
 * out is checked once more with g_utf8_make_valid: GMime's result should
 * already be UTF-8, and a U+FFFD is better than a NUL or a broken byte in
 * the store.  Subject and display names are decoded by our RFC 2047
 * decoder (mime_rfc2047.c), address lists split by mime_addr.c.  A field
 * that should be there once and is there twice (Subject, Date; Content-Type
 * in mime_fixup.c): the first counts, as in CPython and MIME-tools, and
 * the duplicate is flagged (README "Duplicated header fields").
 */
#include "mime/mime_private.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/limits.h"

static const char *
dup_utf8(struct arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	if (g_utf8_validate(s, -1, NULL))
		return arena_strdup(a, s);
	char *v = g_utf8_make_valid(s, -1);
	const char *r = arena_strdup(a, v);
	g_free(v);
	return r;
}

/* UTF-16 and UTF-32 text has NUL bytes inside its characters. */
static bool
wide_charset(const char *charset)
{
	return charset != NULL && (!g_ascii_strncasecmp(charset, "utf-16", 6) ||
	                           !g_ascii_strncasecmp(charset, "utf-32", 6) ||
	                           !g_ascii_strncasecmp(charset, "ucs-", 4));
}

/* A NUL would end the C string and hide the rest of the text (it did: "we
 * havea lot of" and nothing after): U+FFFD in UTF-8 text, a space in a
 * legacy charset (where U+FFFD's bytes would be read as three letters). */
static char *
without_nul(struct mime_walk *w, const char *charset, bool utf8ish, const char *p, size_t n)
{
	GString *g = g_string_sized_new(n + 16);
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\0')
			g_string_append_c(g, p[i]);
		else
			g_string_append(g, utf8ish ? "\xEF\xBF\xBD" : " ");
	char *r = mime_to_utf8(w, charset, g->str, g->len);
	g_string_free(g, TRUE);
	return r;
}

char *
mime_to_utf8(struct mime_walk *w, const char *charset, const char *p, size_t n)
{
	if (n == 0)
		return arena_strdup(w->a, "");
	bool utf8ish = charset == NULL || !g_ascii_strcasecmp(charset, "utf-8") ||
	               !g_ascii_strcasecmp(charset, "us-ascii") || !g_ascii_strcasecmp(charset, "utf8");
	if (memchr(p, '\0', n) != NULL && !wide_charset(charset))
		return without_nul(w, charset, utf8ish, p, n);
	if (utf8ish && g_utf8_validate(p, (gssize)n, NULL) && memchr(p, '\0', n) == NULL)
		return arena_strndup(w->a, p, n);
	char *conv = NULL;
	if (!utf8ish) {
		/* GB2312 text often uses GBK characters: decode with the superset. */
		const char *cs = !g_ascii_strcasecmp(charset, "gb2312") ? "GB18030" : g_mime_charset_iconv_name(charset);
		iconv_t cd = g_mime_iconv_open("UTF-8", cs);
		if (cd != (iconv_t)-1) {
			conv = g_mime_iconv_strndup(cd, p, n);
			g_mime_iconv_close(cd);
		}
	} else if (charset != NULL && g_ascii_strcasecmp(charset, "us-ascii")) {
		/* Labelled UTF-8 but invalid: keep what is valid, mark the rest
		 * with U+FFFD rather than dropping it silently. */
		conv = g_utf8_make_valid(p, (gssize)n);
	}
	if (conv == NULL)
		conv = g_mime_utils_decode_8bit(w->opts, p, n);
	const char *r = dup_utf8(w->a, conv ? conv : "");
	g_free(conv);
	return (char *)r;
}

static const char *
raw_header(GMimeObject *o, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(g_mime_object_get_header_list(o), name);
	return h ? g_mime_header_get_raw_value(h) : NULL;
}

static void
fill_ids(struct mime_walk *w, GMimeMessage *msg)
{
	struct mime_info *m = w->info;
	m->message_id = dup_utf8(w->a, g_mime_message_get_message_id(msg));
	const char *irt = raw_header(GMIME_OBJECT(msg), "In-Reply-To");
	GMimeReferences *r = irt ? g_mime_references_parse(w->opts, irt) : NULL;
	if (r && g_mime_references_length(r) > 0)
		m->in_reply_to = dup_utf8(w->a, g_mime_references_get_message_id(r, 0));
	if (r)
		g_mime_references_free(r);
	const char *rv = raw_header(GMIME_OBJECT(msg), "References");
	GMimeReferences *refs = rv ? g_mime_references_parse(w->opts, rv) : NULL;
	int n = refs ? g_mime_references_length(refs) : 0;
	m->references = arena_alloc(w->a, ((size_t)n + 1) * sizeof(char *));
	for (int i = 0; i < n; i++)
		m->references[m->nreferences++] = dup_utf8(w->a, g_mime_references_get_message_id(refs, i));
	if (refs)
		g_mime_references_free(refs);
}

static void
fill_received(struct mime_walk *w, GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = g_mime_header_list_get_count(hl);
	w->info->received = arena_alloc(w->a, ((size_t)n + 1) * sizeof(char *));
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Received") != 0)
			continue;
		const char *v = g_mime_header_get_raw_value(h);
		GString *s = g_string_new(NULL);
		for (; v && *v; v++)
			if (*v != '\r' && *v != '\n')
				g_string_append_c(s, *v);
		w->info->received[w->info->nreceived++] = dup_utf8(w->a, g_strstrip(s->str));
		g_string_free(s, TRUE);
	}
}

static bool
value_is(const char *v, const char *const *words)
{
	if (v == NULL)
		return false;
	char *t = g_strstrip(g_strdup(v));
	char *semi = strchr(t, ';');        /* "auto-replied; owner-email=..." */
	if (semi)
		*semi = '\0';
	g_strstrip(t);
	bool hit = false;
	for (int i = 0; words[i] && !hit; i++)
		hit = !g_ascii_strcasecmp(t, words[i]);
	g_free(t);
	return hit;
}

/* RFC 3834 Auto-Submitted (anything but "no"), Precedence bulk/junk/list
 * (RFC 2076, what vacation programs honour), and the X-Autoreply /
 * X-Autorespond marks some responders set instead. */
static bool
auto_submitted(GMimeObject *o)
{
	static const char *const no[] = {"no", NULL};
	static const char *const prec[] = {"bulk", "junk", "list", NULL};
	const char *as = raw_header(o, "Auto-Submitted");
	if (as != NULL && !value_is(as, no))
		return true;
	if (value_is(raw_header(o, "Precedence"), prec))
		return true;
	return raw_header(o, "X-Autoreply") != NULL || raw_header(o, "X-Autorespond") != NULL;
}

static int
count_fields(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = hl ? g_mime_header_list_get_count(hl) : 0, c = 0;
	for (int i = 0; i < n; i++)
		c += !g_ascii_strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i)), name);
	return c;
}

/* GMime reads "14:35:12.345 +0100" as midnight: drop a fraction of a
 * second (digits after the seconds' '.') before it reads the date. */
static const char *
date_rfc3339(struct mime_walk *w, const char *raw)
{
	if (raw == NULL)
		return NULL;
	char *v = g_strdup(raw), *o = v;
	for (const char *p = raw; *p; p++) {
		*o++ = *p;
		if (p[0] == ':' && g_ascii_isdigit(p[1]) && g_ascii_isdigit(p[2]) && p[3] == '.' &&
		    g_ascii_isdigit(p[4])) {
			*o++ = p[1], *o++ = p[2];
			for (p += 4; g_ascii_isdigit(p[1]); p++)
				;
		}
	}
	*o = '\0';
	GDateTime *d = g_mime_utils_header_decode_date(v);
	g_free(v);
	if (d == NULL)
		return NULL;
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%S%:z");
	const char *r = dup_utf8(w->a, s);
	g_free(s);
	g_date_time_unref(d);
	return r;
}

static void
flag_duplicates(struct mime_walk *w, GMimeObject *o)
{
	struct mime_info *m = w->info;
	m->duplicates = arena_alloc(w->a, 4 * sizeof(char *));
	if (count_fields(o, "Subject") > 1)
		m->duplicates[m->nduplicates++] = "subject";
	if (count_fields(o, "Date") > 1)
		m->duplicates[m->nduplicates++] = "date";
	if (w->fix.duplicate_content_type)
		m->duplicates[m->nduplicates++] = "content-type";
}

void
mime_headers_fill(struct mime_walk *w, GMimeMessage *msg)
{
	struct mime_info *m = w->info;
	GMimeObject *o = GMIME_OBJECT(msg);
	m->subject = mime_decode_text(w, raw_header(o, "Subject"));
	m->date = date_rfc3339(w, raw_header(o, "Date"));
	flag_duplicates(w, o);
	mime_addresses_fill(w, o, "From", &m->from, &m->nfrom);
	mime_from_check(m, o);
	mime_addresses_fill(w, o, "To", &m->to, &m->nto);
	mime_addresses_fill(w, o, "Cc", &m->cc, &m->ncc);
	mime_addresses_fill(w, o, "Reply-To", &m->reply_to, &m->nreply_to);
	fill_ids(w, msg);
	fill_received(w, GMIME_OBJECT(msg));
	m->auto_submitted = auto_submitted(GMIME_OBJECT(msg));
}

bool
mime_headers_within_limit(struct mime_walk *w, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *rn = g_mime_header_get_raw_name(h), *rv = g_mime_header_get_raw_value(h);
		total += (rn ? strlen(rn) : 0) + (rv ? strlen(rv) : 0) + 2;
	}
	if (total <= PR_MIME_MAX_HEADER_BYTES)
		return true;
	pr_why_set(w->why, PR_E_UNREADABLE, "a MIME part's header block is larger than %d bytes",
	           PR_MIME_MAX_HEADER_BYTES);
	w->failed = true;
	return false;
}
