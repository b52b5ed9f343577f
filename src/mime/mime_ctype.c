/* mime_ctype.c - what a part's Content-Type says when it is broken.
 *
 * RFC 2045 5.2: a syntactically invalid Content-Type ("text plain",
 * "text") is to be read as text/plain; charset=us-ascii.  GMime reads it
 * as application/octet-stream, and a text body became an anonymous
 * attachment.  And GMime drops the parameters of a type it cannot read,
 * so "Content-Type: text; name=notes.txt" or "application/pdf
 * name=report.pdf" (no ';') lost the file's name: we read the name from
 * the raw field then.
 */
#include "mime/mime_private.h"

#include <string.h>

/* RFC 2045 token characters (tspecials and blanks excluded). */
static bool
is_token(char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static size_t
token_len(const char *p)
{
	size_t n = 0;
	while (is_token(p[n]))
		n++;
	return n;
}

/* The first Content-Type field of o, raw, or NULL. */
static const char *
raw_content_type(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, "Content-Type") : NULL;
	return h ? g_mime_header_get_raw_value(h) : NULL;
}

/* Past "type/subtype" (blanks allowed around '/'), or NULL if p does not
 * start with one. */
static const char *
after_type(const char *p)
{
	p += strspn(p, " \t\r\n");
	size_t t = token_len(p);
	if (t == 0)
		return NULL;
	p += t;
	p += strspn(p, " \t");
	if (*p != '/')
		return NULL;
	p++;
	p += strspn(p, " \t");
	size_t s = token_len(p);
	return s ? p + s : NULL;
}

bool
mime_type_invalid(GMimeObject *o)
{
	const char *raw = raw_content_type(o);
	if (raw == NULL)
		return false;
	/* "application/pdf name=x" is read as application/pdf (its name is
	 * recovered below): only a type that is not type/subtype is invalid. */
	return after_type(raw) == NULL;
}

const char *
mime_part_filename(struct mime_walk *w, GMimePart *part)
{
	const char *fn = g_mime_part_get_filename(part);
	const char *raw = raw_content_type(GMIME_OBJECT(part));
	if (fn != NULL || raw == NULL || strcasestr(raw, "name") == NULL)
		return fn;
	/* The parameters start after the type (valid or not) and its ';'. */
	const char *p = after_type(raw);
	if (p == NULL) {
		p = raw + strspn(raw, " \t\r\n");
		p += token_len(p);
		p += strspn(p, " \t");
		if (*p == '/')
			p += 1 + token_len(p + 1);
	}
	p += strspn(p, " \t\r\n;");
	GMimeParamList *l = g_mime_param_list_parse(w->opts, p);
	GMimeParam *prm = l ? g_mime_param_list_get_parameter(l, "name") : NULL;
	const char *v = prm ? g_mime_param_get_value(prm) : NULL;
	const char *r = v && *v ? mime_to_utf8(w, "utf-8", v, strlen(v)) : NULL;
	if (l)
		g_object_unref(l);
	return r;
}
