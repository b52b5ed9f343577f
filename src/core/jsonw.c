/* jsonw.c - see jsonw.h. */
#include "core/jsonw.h"

#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/text.h"

void
jsonw_init(struct jsonw *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

static void
quoted(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s);
	if (!text_is_utf8(s, n))
		s = "(not UTF-8)", n = strlen(s);
	buf_addch(b, '"');
	size_t run = 0;           /* bytes copied as they are, written in one go */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', (char)c, 0};
		size_t len = 2;
		switch (c) {
		case '"': case '\\': break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
			len = 6;
		}
		buf_add(b, esc, len);
	}
	buf_add(b, s + run, n - run);
	buf_addch(b, '"');
}

/* The separator and key before a value. */
static void
member(struct jsonw *w, const char *key)
{
	if (w->depth > 0 && w->any[w->depth - 1])
		buf_addch(w->b, ',');
	if (w->depth > 0)
		w->any[w->depth - 1] = true;
	if (key != NULL) {
		quoted(w->b, key);
		buf_addch(w->b, ':');
	}
}

void
jsonw_open(struct jsonw *w, const char *key, char open)
{
	if (w->depth >= JSONW_DEPTH || (open != '{' && open != '['))
		pr_panic("jsonw_open: nesting too deep or not '{'/'['");
	member(w, key);
	buf_addch(w->b, open);
	w->close[w->depth] = open == '{' ? '}' : ']';
	w->any[w->depth] = false;
	w->depth++;
}

void
jsonw_close(struct jsonw *w)
{
	if (w->depth == 0)
		pr_panic("jsonw_close without an open container");
	w->depth--;
	buf_addch(w->b, w->close[w->depth]);
}

void
jsonw_str(struct jsonw *w, const char *key, const char *s)
{
	member(w, key);
	if (s == NULL)
		buf_add(w->b, "null", 4);
	else
		quoted(w->b, s);
}

void
jsonw_bool(struct jsonw *w, const char *key, bool v)
{
	member(w, key);
	buf_addstr(w->b, v ? "true" : "false");
}
