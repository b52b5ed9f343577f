/* mime_rfc2047.c - our own RFC 2047 decoder, for Subject and display names.
 *
 * Why not GMime's: GMime 3.2.13 (Debian 12) decodes a run of base64
 * encoded-words that are each padded ("=?UTF-8?B?…=?= =?UTF-8?B?…?=", how
 * Outlook and Exchange split long subjects and names) to the first word
 * only; 3.2.14 fixed it.  This decoder is as loose as GMime's loose mode
 * (words inside atoms, any padding, missing padding) and joins the bytes of
 * adjacent words of one charset before converting them, so a character
 * split between two words (Outlook does that) survives.
 *
 * Limits: at most MIME_EW_MAX_WORDS encoded words per value (the rest is
 * kept as written), a word's charset at most 64 bytes, a word at most
 * MIME_EW_MAX_LEN bytes; the input is a header value, itself bounded by
 * PR_MIME_MAX_HEADER_BYTES.  Control characters in decoded text become
 * spaces: a decoded CR/LF must never start a new line anywhere.
 */
#include "mime/mime_private.h"

#include <string.h>

#include "core/arena.h"

#define MIME_EW_MAX_WORDS 1000
#define MIME_EW_MAX_LEN 4096
#define MIME_EW_MAX_CHARSET 64

struct ew {
	char charset[MIME_EW_MAX_CHARSET + 1];
	char enc;                      /* 'B' or 'Q' */
	const char *text;
	size_t tlen;
	size_t len;                    /* of the whole word, "=?" to "?=" */
};

/* An encoded word at p (p[0..n)), or false. */
static bool
ew_parse(const char *p, size_t n, struct ew *e)
{
	if (n < 8 || p[0] != '=' || p[1] != '?')
		return false;
	size_t i = 2, cs = 0;
	while (i < n && p[i] != '?' && cs < MIME_EW_MAX_CHARSET && g_ascii_isgraph(p[i]))
		e->charset[cs++] = p[i++];
	if (i + 2 >= n || p[i] != '?' || cs == 0 || p[i + 2] != '?')
		return false;
	e->charset[cs] = '\0';
	char *star = strchr(e->charset, '*');        /* RFC 2231 language */
	if (star)
		*star = '\0';
	e->enc = g_ascii_toupper(p[i + 1]);
	if (e->enc != 'B' && e->enc != 'Q')
		return false;
	i += 3;
	e->text = p + i;
	for (; i + 1 < n && i < MIME_EW_MAX_LEN; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			return false;
		if (p[i] == '?' && p[i + 1] == '=') {
			e->tlen = (size_t)(p + i - e->text);
			e->len = i + 2;
			return true;
		}
	}
	return false;
}

/* One B-word on its own: its padding ends it (mime_b64.c). */
static void
b64_append(GByteArray *out, const char *p, size_t n)
{
	struct mime_b64 st = {0};
	guint old = out->len;
	g_byte_array_set_size(out, old + (guint)(n * 3 / 4 + 3));
	out->len = old + (guint)mime_b64_decode(&st, p, n, out->data + old);
}

static void
q_append(GByteArray *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		guint8 b = (guint8)p[i];
		if (p[i] == '_') {
			b = ' ';
		} else if (p[i] == '=' && i + 2 < n && g_ascii_isxdigit(p[i + 1]) && g_ascii_isxdigit(p[i + 2])) {
			b = (guint8)(g_ascii_xdigit_value(p[i + 1]) * 16 + g_ascii_xdigit_value(p[i + 2]));
			i += 2;
		}
		g_byte_array_append(out, &b, 1);
	}
}

/* How decoded text is placed in the result: as is (unstructured text),
 * or made safe for an address list (phrase: quoted when it has specials;
 * inside a quoted string or a comment: escaped). */
enum place { PLACE_TEXT, PLACE_PHRASE, PLACE_QUOTED, PLACE_COMMENT };

struct dec {
	struct mime_walk *w;
	GString *out;
	GByteArray *pending;           /* bytes of adjacent words, one charset */
	char charset[MIME_EW_MAX_CHARSET + 1];
	enum place place;
};

static void
put_decoded(struct dec *d, const char *s)
{
	bool quote = false;
	if (d->place == PLACE_PHRASE)
		for (const char *q = s; *q && !quote; q++)
			quote = strchr("()<>[]:;@\\,.\"", *q) != NULL;
	if (quote)
		g_string_append_c(d->out, '"');
	for (; *s; s++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
		bool esc = ((quote || d->place == PLACE_QUOTED) && (c == '"' || c == '\\')) ||
		           (d->place == PLACE_COMMENT && (c == '(' || c == ')' || c == '\\'));
		if (esc)
			g_string_append_c(d->out, '\\');
		g_string_append_c(d->out, c);
	}
	if (quote)
		g_string_append_c(d->out, '"');
}

static void
flush(struct dec *d)
{
	if (d->pending->len == 0)
		return;
	put_decoded(d, mime_to_utf8(d->w, d->charset, (const char *)d->pending->data, d->pending->len));
	g_byte_array_set_size(d->pending, 0);
}

/* Literal bytes (not encoded words), tracking quotes and comments when
 * the value is an address list. */
static void
put_literal(struct dec *d, const char *p, size_t n, bool structured)
{
	flush(d);
	if (structured)
		g_string_append_len(d->out, p, (gssize)n);
	else if (n > 0)        /* 8-bit bytes: UTF-8 if valid, else the fallback */
		g_string_append(d->out, mime_to_utf8(d->w, NULL, p, n));
	for (size_t i = 0; structured && i < n; i++) {
		if (p[i] == '\\') {
			i++;
		} else if (p[i] == '"' && d->place != PLACE_COMMENT) {
			d->place = d->place == PLACE_QUOTED ? PLACE_PHRASE : PLACE_QUOTED;
		} else if (p[i] == '(' && d->place == PLACE_PHRASE) {
			d->place = PLACE_COMMENT;
		} else if (p[i] == ')' && d->place == PLACE_COMMENT) {
			d->place = PLACE_PHRASE;   /* nested comments: rare, treated flat */
		}
	}
}

static bool
only_blanks(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* Decode value v (raw header value; NULL gives NULL).  structured: v is
 * an address list, and decoded text is quoted or escaped so that it reads
 * as one phrase (the result is then given to GMime's address parser; it
 * is UTF-8, which our parser options take as is). */
static const char *
decode(struct mime_walk *w, const char *v, bool structured)
{
	if (v == NULL)
		return NULL;
	struct dec d = {.w = w, .out = g_string_new(NULL), .pending = g_byte_array_new(),
	                .place = structured ? PLACE_PHRASE : PLACE_TEXT};
	size_t n = strlen(v), i = 0, lit = 0, words = 0;
	bool after_word = false;
	while (i < n) {
		struct ew e;
		const char *at = memmem(v + i, n - i, "=?", 2);
		if (at == NULL || words >= MIME_EW_MAX_WORDS)
			break;
		size_t k = (size_t)(at - v);
		if (!ew_parse(at, n - k, &e)) {
			i = k + 2;
			continue;
		}
		/* Blanks between two encoded words are not text (RFC 2047 6.2). */
		if (!(after_word && only_blanks(v + lit, k - lit)))
			put_literal(&d, v + lit, k - lit, structured);
		if (g_ascii_strcasecmp(e.charset, d.charset) != 0)
			flush(&d);
		memcpy(d.charset, e.charset, sizeof(d.charset));
		(e.enc == 'B' ? b64_append : q_append)(d.pending, e.text, e.tlen);
		words++;
		i = lit = k + e.len;
		after_word = true;
	}
	put_literal(&d, v + lit, n - lit, structured);
	flush(&d);
	g_byte_array_free(d.pending, TRUE);
	const char *r = arena_strndup(w->a, d.out->str, d.out->len);
	g_string_free(d.out, TRUE);
	return r;
}

const char *
mime_decode_text(struct mime_walk *w, const char *raw)
{
	if (raw == NULL)
		return NULL;
	/* Unfold (a CRLF before a blank is not content) and trim. */
	GString *u = g_string_new(NULL);
	for (const char *p = raw; *p; p++)
		if (*p != '\r' && *p != '\n')
			g_string_append_c(u, *p);
	const char *d = decode(w, g_strstrip(u->str), false);
	g_string_free(u, TRUE);
	return d;
}

const char *
mime_decode_phrases(struct mime_walk *w, const char *raw)
{
	return raw && strstr(raw, "=?") ? decode(w, raw, true) : raw;
}
