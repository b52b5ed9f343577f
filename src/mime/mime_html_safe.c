/* mime_html_safe.c - a message's HTML made safe to show in a browser.
 *
 * Mail HTML is the sender's code: it may carry script, event handlers,
 * forms that post a reader's password elsewhere, and remote images that
 * tell the sender when and where a message was read.  The HTML is parsed
 * by libxml2's HTML parser (what a browser would build from tag soup,
 * entities decoded, never a hand-rolled tokenizer) and a new document is
 * written from the tree by an allowlist:
 *
 *   - elements: text formatting, lists, tables, links, images; script,
 *     style sheets with URLs, iframe, object, embed, form and its
 *     controls, svg, math, meta, link and base are dropped with their
 *     content; elements not on either list (html, body, Outlook's <o:p>)
 *     are unwrapped: their content is kept.
 *   - attributes: presentation only (align, width, color, style without
 *     url()/expression/escapes, ...); no on* handler, id or name.
 *   - links: http:, https:, mailto: and #fragments only, checked after
 *     the blanks and controls a browser would ignore in a URL are taken
 *     out (so "java\tscript:" is no way round).
 *   - images: data:image/(png|gif|jpeg|webp) and cid: (rewritten to the
 *     attachment route of the part with that Content-ID); https: only
 *     when remote images were asked for; otherwise the src is dropped.
 *
 * Text and attribute values are re-escaped on output, so nothing the
 * parser decoded can close a tag.  The server adds a Content-Security-
 * Policy (sandbox, no script, images only from data: and ourselves) as a
 * second wall: this file is the first.
 *
 * Limits: the input is a body mime/ already cut at MIME_TEXT_MAX; elements
 * nested deeper than MIME_HTML_SAFE_DEPTH are dropped (libxml2 itself
 * stops at 256 levels without XML_PARSE_HUGE); the output is bounded.
 */
#include "mime/mime_private.h"

#include <libxml/HTMLparser.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"

#define MIME_HTML_SAFE_DEPTH 64
/* Escaping can grow text (& -> &amp;): bounded well above any body. */
#define MIME_HTML_SAFE_OUT (8 * 1024 * 1024)

struct safe {
	struct buf out;
	const struct mime_html_opts *o;
	struct arena *a;
};

static bool
in_list(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

/* Dropped with everything inside them. */
static const char *const dropped[] = {
	"script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input",
	"button", "select", "option", "textarea", "svg", "math", "meta", "link", "base", "title",
	 "noscript", "template", "audio", "video", "source", "track", "canvas", "portal",
	"param", "dialog", "xml", "noframes", NULL};
static const char *const kept[] = {
	"a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote", "br",
	"caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div",
	"dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
	"header", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "nav", "ol", "p", "pre", "q",
	"s", "samp", "section", "small", "span", "strike", "strong", "sub", "summary", "sup", "table",
	"tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr", NULL};
static const char *const empty[] = {"br", "col", "hr", "img", "wbr", NULL};
static const char *const attrs[] = {
	"align", "valign", "bgcolor", "border", "cellpadding", "cellspacing", "color", "colspan",
	"rowspan", "dir", "face", "size", "height", "width", "lang", "title", "alt", "class", "start",
	"type", "span", "nowrap", "summary", "abbr", "headers", "scope", "datetime", "clear", "hspace",
	"vspace", "reversed", NULL};

static void
escaped(struct buf *b, const char *s, bool attr)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_addstr(b, "&amp;"); break;
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		case '"': buf_addstr(b, attr ? "&quot;" : "\""); break;
		default: buf_addch(b, *s);
		}
	}
}

/* The URL as a browser reads it: blanks and controls out (browsers drop
 * tab and newline inside URLs and trim the rest at both ends). */
static char *
url_clean(struct arena *a, const char *v)
{
	char *u = arena_alloc(a, strlen(v) + 1), *p = u;
	for (; *v; v++)
		if ((unsigned char)*v > 0x20 && *v != 0x7f)
			*p++ = *v;
	*p = '\0';
	return u;
}

static bool
starts(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static const char *
safe_href(struct safe *S, const char *v)
{
	char *u = url_clean(S->a, v);
	return starts(u, "http://") || starts(u, "https://") || starts(u, "mailto:") || u[0] == '#' ? u : NULL;
}

/* cid:X -> the attachment route of the part whose Content-ID is X. */
static const char *
cid_url(struct safe *S, const char *cid)
{
	for (size_t i = 0; S->o->cid_base && i < S->o->nparts; i++) {
		const struct mime_part *p = &S->o->parts[i];
		if (p->content_id && !strcasecmp(p->content_id, cid))
			return arena_printf(S->a, "%s%d", S->o->cid_base, p->index);
	}
	return NULL;
}

static const char *
safe_src(struct safe *S, const char *v)
{
	char *u = url_clean(S->a, v);
	static const char *const data[] = {"data:image/png;", "data:image/gif;", "data:image/jpeg;",
	                                   "data:image/webp;", NULL};
	for (size_t i = 0; data[i]; i++)
		if (starts(u, data[i]))
			return u;
	if (starts(u, "cid:"))
		return cid_url(S, u + 4);
	return S->o->remote_images && starts(u, "https://") ? u : NULL;
}

/* CSS that can fetch, run or hide what it does is refused whole: url()
 * and image functions, @import, IE's expression() and behavior, XBL
 * bindings, and backslash escapes (which could spell any of those). */
static bool
safe_css(const char *v)
{
	static const char *const bad[] = {"url", "image", "expression", "@import", "behavior",
	                                   "binding", "javascript", "\\", "<", NULL};
	for (size_t i = 0; bad[i]; i++)
		if (strcasestr(v, bad[i]) != NULL)
			return false;
	return true;
}

static void
put_attr(struct safe *S, const char *name, const char *value)
{
	buf_printf(&S->out, " %s=\"", name);
	escaped(&S->out, value, true);
	buf_addch(&S->out, '"');
}

static void
attributes(struct safe *S, xmlNode *n, const char *tag)
{
	for (xmlAttr *at = n->properties; at; at = at->next) {
		const char *name = (const char *)at->name;
		xmlChar *raw = xmlNodeListGetString(n->doc, at->children, 1);
		const char *v = raw ? (const char *)raw : "", *keep = NULL;
		if (!strcmp(name, "href") && !strcmp(tag, "a"))
			keep = safe_href(S, v);
		else if (!strcmp(name, "src") && !strcmp(tag, "img"))
			keep = safe_src(S, v);
		else if (!strcmp(name, "style"))
			keep = safe_css(v) ? v : NULL;
		else if (in_list(name, attrs))
			keep = v;
		if (keep)
			put_attr(S, name, keep);
		xmlFree(raw);
	}
	if (!strcmp(tag, "a"))
		buf_addstr(&S->out, " rel=\"noopener noreferrer\" target=\"_blank\"");
}

static void walk(struct safe *S, xmlNode *n, int depth);

/* A style sheet is kept when it fetches nothing; it is raw text in HTML,
 * so it must not hold "<" either (checked by safe_css). */
static void
style_sheet(struct safe *S, xmlNode *n)
{
	xmlChar *css = xmlNodeGetContent(n);
	if (css && safe_css((const char *)css)) {
		buf_addstr(&S->out, "<style>");
		buf_addstr(&S->out, (const char *)css);
		buf_addstr(&S->out, "</style>");
	}
	xmlFree(css);
}

static void
element(struct safe *S, xmlNode *n, int depth)
{
	const char *tag = (const char *)n->name;
	if (depth > MIME_HTML_SAFE_DEPTH || in_list(tag, dropped))
		return;
	if (!strcmp(tag, "style")) {
		style_sheet(S, n);
		return;
	}
	bool keep = in_list(tag, kept);
	if (keep) {
		buf_printf(&S->out, "<%s", tag);
		attributes(S, n, tag);
		buf_addch(&S->out, '>');
		if (in_list(tag, empty))
			return;
	}
	for (xmlNode *c = n->children; c; c = c->next)
		walk(S, c, depth + 1);
	if (keep)
		buf_printf(&S->out, "</%s>", tag);
}

static void
walk(struct safe *S, xmlNode *n, int depth)
{
	if (n->type == XML_ELEMENT_NODE)
		element(S, n, depth);
	else if (n->type == XML_TEXT_NODE && n->content)
		escaped(&S->out, (const char *)n->content, false);
	/* comments, processing instructions, CDATA, DTD: dropped */
}

int
mime_html_safe(struct arena *a, const char *html, const struct mime_html_opts *o, const char **out,
               struct pr_why *why)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, xmlInitParser);   /* before the HTTP workers share libxml2 */
	size_t len = strlen(html);
	if (len > MIME_TEXT_MAX || len > INT32_MAX) {
		pr_why_set(why, PR_E_TOO_BIG, "the HTML part is %zu bytes, over the %d shown", len, MIME_TEXT_MAX);
		return -1;
	}
	htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
	                                HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	                                HTML_PARSE_RECOVER | HTML_PARSE_NOIMPLIED);
	struct safe S = {.o = o, .a = a};
	buf_init(&S.out, MIME_HTML_SAFE_OUT);
	buf_addstr(&S.out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	           "<meta name=\"referrer\" content=\"no-referrer\"></head><body>\n");
	for (xmlNode *n = doc ? doc->children : NULL; n; n = n->next)
		walk(&S, n, 0);
	buf_addstr(&S.out, "\n</body></html>\n");
	if (doc)
		xmlFreeDoc(doc);
	int rc = 0;
	if (S.out.err) {
		pr_why_set(why, PR_E_TOO_BIG, "the HTML part is too large to show safely (over %d bytes made safe)",
		           MIME_HTML_SAFE_OUT);
		rc = -1;
	} else {
		*out = arena_strndup(a, (const char *)S.out.data, S.out.len);
	}
	buf_free(&S.out);
	return rc;
}
