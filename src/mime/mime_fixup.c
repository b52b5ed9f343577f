/* mime_fixup.c - two repairs made on the bytes GMime reads (never on the
 * stored bytes), where GMime 3.2.13 reads broken mail worse than CPython
 * and RFC 2045 do:
 *
 *   - a header block with a second Content-Type: GMime keeps the last,
 *     CPython, MIME-tools and Thunderbird the first.  We keep the first
 *     (README "Duplicated header fields") by renaming the later field names
 *     to "X-Duplicate-" (same length, so every offset stays).
 *   - a part whose headers are not followed by a blank line: GMime reads
 *     the content as more header lines, and a text part then swallows the
 *     next one.  Like CPython, the first line that is neither a header field
 *     nor a continuation starts the body: we insert the missing line break.
 *     (Not on a message's first line: with no header at all it stays what
 *     it was, "not an email message".)
 *
 * Header blocks are found the way a MIME parser finds them: the message
 * start, the line after a delimiter "--b" of a boundary b declared by a
 * Content-Type seen before, and the start of a message/rfc822 part's
 * content.  One linear pass, lines kept to FIX_LINE bytes, at most
 * FIX_MAX_BOUNDARIES boundaries and FIX_MAX_EDITS edits (past those the
 * message is read as it is).
 */
#include "mime/mime_private.h"

#include <string.h>

#define FIX_LINE 2048
#define FIX_BODY_LINE 256             /* "--" + a 200-byte boundary + blanks */
#define FIX_MAX_BOUNDARIES 64
#define FIX_MAX_EDITS 256
#define FIX_CHUNK 65536

struct edit {
	gint64 at;
	bool rename;                  /* else: insert a line break */
	bool crlf;
};

struct fixer {
	GArray *edits;
	GPtrArray *bounds;
	char line[FIX_LINE + 1];
	size_t len;
	gint64 line_at, pos;
	bool in_header, top, first_line, long_line;
	bool next_is_message;         /* message/rfc822: its content is headers */
	int ct_count;
	GString *field;               /* the current Content-Type field, unfolded */
	struct mime_fixup *out;
};

/* "Name:" or "Name :" with RFC 5322 field-name characters. */
static size_t
field_name_len(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
		i++;
	size_t name = i;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return name > 0 && i < n && p[i] == ':' ? name : 0;
}

static void
add_boundary(struct fixer *f, const char *ct)
{
	const char *b = strcasestr(ct, "boundary=");
	if (b == NULL || f->bounds->len >= FIX_MAX_BOUNDARIES)
		return;
	b += 9;
	bool q = *b == '"';
	b += q;
	size_t n = 0;
	while (b[n] && (q ? b[n] != '"' : (b[n] != ';' && b[n] != ' ' && b[n] != '\t')) && n < 200)
		n++;
	if (n > 0)
		g_ptr_array_add(f->bounds, g_strndup(b, n));
}

/* The end of a field: a Content-Type may declare a boundary or say that
 * the content is a message. */
static void
end_field(struct fixer *f)
{
	if (f->field->len == 0)
		return;
	const char *v = strchr(f->field->str, ':');
	v = v ? v + 1 : f->field->str;
	while (*v == ' ' || *v == '\t')
		v++;
	add_boundary(f, v);
	if (f->ct_count == 1)
		f->next_is_message = !g_ascii_strncasecmp(v, "message/rfc822", 14) ||
		                     !g_ascii_strncasecmp(v, "message/global", 14);
	g_string_truncate(f->field, 0);
}

static void
add_edit(struct fixer *f, gint64 at, bool rename, bool crlf)
{
	if (f->edits->len >= FIX_MAX_EDITS)
		return;
	struct edit e = {.at = at, .rename = rename, .crlf = crlf};
	g_array_append_val(f->edits, e);
}

static void
start_block(struct fixer *f, bool top)
{
	f->in_header = true;
	f->top = top;
	f->first_line = true;
	f->ct_count = 0;
	f->next_is_message = false;
}

static void
header_line(struct fixer *f, const char *p, size_t n, bool crlf)
{
	bool first = f->first_line;
	f->first_line = false;
	if (n == 0) {                                   /* the blank line */
		end_field(f);
		f->in_header = false;
		if (f->next_is_message)
			start_block(f, false);
		return;
	}
	if (p[0] == ' ' || p[0] == '\t') {              /* continuation */
		if (f->field->len > 0 && f->field->len < FIX_LINE)
			g_string_append_len(f->field, p, (gssize)n);
		return;
	}
	end_field(f);
	size_t name = f->long_line ? 1 : field_name_len(p, n);
	if (name == 0 && !(first && f->top && n >= 5 && !memcmp(p, "From ", 5))) {
		if (!first) {                               /* the body starts here */
			add_edit(f, f->line_at, false, crlf);
			f->in_header = false;
		}
		return;
	}
	if (name == 12 && !g_ascii_strncasecmp(p, "content-type", 12)) {
		if (++f->ct_count > 1) {
			add_edit(f, f->line_at, true, crlf);
			if (f->top)
				f->out->duplicate_content_type = true;
			return;
		}
		g_string_append_len(f->field, p, (gssize)n);
	}
}

static void
body_line(struct fixer *f, const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n < 3 || p[0] != '-' || p[1] != '-')
		return;
	for (guint i = 0; i < f->bounds->len; i++) {
		const char *b = g_ptr_array_index(f->bounds, i);
		size_t bl = strlen(b);
		if (n == bl + 2 && !memcmp(p + 2, b, bl)) {
			start_block(f, false);
			return;
		}
	}
}

static void
end_line(struct fixer *f, bool had_lf)
{
	size_t n = f->len;
	bool crlf = n > 0 && f->line[n - 1] == '\r';
	if (crlf)
		n--;
	if (f->in_header)
		header_line(f, f->line, n, crlf || !had_lf);
	else if (!f->long_line)
		body_line(f, f->line, n);
	f->len = 0;
	f->long_line = false;
}

static void
feed(struct fixer *f, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		/* In a body only a delimiter matters, and none is longer than
		 * FIX_BODY_LINE: the rest of a long line is not copied. */
		size_t cap = f->in_header ? FIX_LINE : FIX_BODY_LINE;
		size_t take = nl ? (size_t)(nl - p) : n, room = cap > f->len ? cap - f->len : 0;
		if (f->len == 0)
			f->line_at = f->pos;
		memcpy(f->line + f->len, p, MIN(take, room));
		f->len += MIN(take, room);
		f->long_line |= take > room;
		f->pos += (gint64)take + (nl != NULL);
		if (nl == NULL)
			return;
		end_line(f, true);
		p += take + 1;
		n -= take + 1;
	}
}

/* s with the edits applied, as a new stream (GMime's cat of pieces). */
static GMimeStream *
apply(GMimeStream *s, GArray *edits, gint64 len)
{
	GMimeStream *cat = g_mime_stream_cat_new();
	gint64 from = 0;
	for (guint i = 0; i < edits->len; i++) {
		struct edit *e = &g_array_index(edits, struct edit, i);
		GMimeStream *piece = g_mime_stream_substream(s, from, e->at);
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), piece);
		g_object_unref(piece);
		const char *ins = e->rename ? "X-Duplicate-" : e->crlf ? "\r\n" : "\n";
		GMimeStream *m = g_mime_stream_mem_new_with_buffer(ins, strlen(ins));
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), m);
		g_object_unref(m);
		from = e->at + (e->rename ? 12 : 0);
	}
	GMimeStream *rest = g_mime_stream_substream(s, from, len);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), rest);
	g_object_unref(rest);
	return cat;
}

GMimeStream *
mime_fixup_stream(GMimeStream *s, struct mime_fixup *out)
{
	memset(out, 0, sizeof(*out));
	struct fixer f = {.edits = g_array_new(FALSE, FALSE, sizeof(struct edit)),
	                  .bounds = g_ptr_array_new_with_free_func(g_free), .field = g_string_new(NULL),
	                  .out = out};
	start_block(&f, true);
	char *buf = g_malloc(FIX_CHUNK);
	ssize_t r;
	g_mime_stream_reset(s);
	while ((r = g_mime_stream_read(s, buf, FIX_CHUNK)) > 0)
		feed(&f, buf, (size_t)r);
	if (f.len > 0)
		end_line(&f, false);
	g_free(buf);
	g_mime_stream_reset(s);
	GMimeStream *res = f.edits->len ? apply(s, f.edits, f.pos) : g_object_ref(s);
	g_array_free(f.edits, TRUE);
	g_ptr_array_free(f.bounds, TRUE);
	g_string_free(f.field, TRUE);
	return res;
}
