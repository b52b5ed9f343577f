/* mime_html.c - plain text from an HTML body, for the reply text of
 * HTML-only mail (Outlook often sends no text/plain part).
 *
 * Not a renderer: the HTML is cut where the common clients start the quoted
 * history (Gmail's gmail_quote, Outlook's divRplyFwdMsg / appendonsend,
 * Apple Mail and Thunderbird <blockquote type="cite">, Yahoo's
 * yahoo_quoted), then tags are dropped (<br>, <p>, <div>, <tr>, <li> become
 * line breaks; <head>, <style>, <script> lose their content) and the five
 * XML entities plus &nbsp; are decoded.  The result then goes through the
 * same line rules as a text body (mime_reply.c).
 */
#include "mime/mime_private.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"

/* Where the quoted history starts, or the end of the HTML. */
static size_t
history_cut(const char *h)
{
	static const char *const marks[] = {
	    "class=\"gmail_quote", "id=\"divRplyFwdMsg\"", "id=\"appendonsend\"",
	    "<blockquote type=\"cite\"", "class=\"yahoo_quoted\"", "id=\"mail-editor-reference-message-container\"",
	    "class=\"moz-cite-prefix\"", NULL};
	size_t cut = strlen(h);
	for (int i = 0; marks[i]; i++) {
		const char *m = strcasestr(h, marks[i]);
		if (m == NULL || (size_t)(m - h) >= cut)
			continue;
		/* Cut at the start of the tag that carries the mark. */
		while (m > h && *m != '<')
			m--;
		cut = (size_t)(m - h);
	}
	return cut;
}

static bool
tag_is(const char *t, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n > 0 && t[0] == '/')
		t++, n--;
	return n >= k && !strncasecmp(t, name, k) && (n == k || !g_ascii_isalnum(t[k]));
}

/* Skip a tag starting at h[i] == '<'; returns the index after '>', and
 * appends a line break for block tags.  <head>, <style>, <script> skip to
 * their closing tag. */
static size_t
skip_tag(const char *h, size_t i, size_t end, GString *out)
{
	const char *close = memchr(h + i, '>', end - i);
	size_t j = close ? (size_t)(close - h) + 1 : end;
	const char *t = h + i + 1;
	size_t n = j - i - 1;
	static const char *const blocks[] = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", NULL};
	/* <br> is always a break; other blocks only end the current line. */
	bool at_line_start = out->len == 0 || out->str[out->len - 1] == '\n';
	for (int k = 0; blocks[k]; k++)
		if (tag_is(t, n, blocks[k])) {
			if (k == 0 || !at_line_start)
				g_string_append_c(out, '\n');
			break;
		}
	static const char *const hidden[] = {"head", "style", "script", NULL};
	for (int k = 0; hidden[k] && t[0] != '/'; k++) {
		if (!tag_is(t, n, hidden[k]))
			continue;
		char *endtag = g_strconcat("</", hidden[k], NULL);
		const char *e = strcasestr(h + j, endtag);
		g_free(endtag);
		j = e && (size_t)(e - h) < end ? (size_t)(e - h) : end;
	}
	return j;
}

static size_t
entity(const char *h, size_t i, size_t end, GString *out)
{
	static const struct { const char *name, *text; } ents[] = {
	    {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
	    {"&apos;", "'"}, {"&nbsp;", " "}, {NULL, NULL}};
	for (int k = 0; ents[k].name; k++) {
		size_t len = strlen(ents[k].name);
		if (i + len <= end && !strncasecmp(h + i, ents[k].name, len)) {
			g_string_append(out, ents[k].text);
			return i + len;
		}
	}
	g_string_append_c(out, '&');
	return i + 1;
}

const char *
mime_html_to_text(struct arena *a, const char *html)
{
	if (html == NULL)
		return NULL;
	size_t end = history_cut(html);
	GString *out = g_string_sized_new(end / 2 + 1);
	for (size_t i = 0; i < end;) {
		if (html[i] == '<')
			i = skip_tag(html, i, end, out);
		else if (html[i] == '&')
			i = entity(html, i, end, out);
		else if (g_ascii_isspace(html[i])) {
			/* Source line breaks are spaces in HTML; runs collapse. */
			char last = out->len ? out->str[out->len - 1] : '\n';
			if (last != ' ' && last != '\n')
				g_string_append_c(out, ' ');
			i++;
		} else {
			g_string_append_c(out, html[i++]);
		}
	}
	const char *r = arena_strdup(a, out->str);
	g_string_free(out, TRUE);
	return r;
}
