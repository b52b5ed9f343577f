/* mime_reply.c - the new text of a reply, without quoted history or signature.
 *
 * Heuristics for the common clients, applied to the text body line by
 * line; the text is cut at the first line that starts the history:
 *   - "-- " (RFC 3676 4.3 signature delimiter; "--" too, as some clients
 *     strip the trailing blank);
 *   - Gmail / Apple Mail / Thunderbird attribution: "On <date>, <who>
 *     wrote:", possibly wrapped over up to three lines, or any line ending
 *     in "wrote:" that is followed by a quoted ("> ") line;
 *   - Outlook: "-----Original Message-----", a "From:" line followed within
 *     a few lines by "Sent:"/"Date:" and "To:"/"Subject:" (also after a
 *     line of underscores), and the same words in German and French;
 *   - forwarded history: "---------- Forwarded message ---------" (Gmail),
 *     "Begin forwarded message:" (Apple Mail);
 *   - a trailing block of quoted lines.
 * Quoted lines interleaved in the kept text are dropped.  The result never
 * grows and is empty only if the message was nothing but history; its
 * line ends are LF.
 */
#include "mime/mime_private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"

struct line {
	const char *p;
	size_t n;         /* without the line end */
};

/* Every marker is tried on every line: compare one byte before calling
 * strncasecmp (most lines fail there; it was 2% of intake's CPU). */
static bool
same_ci(char c, char w)
{
	return tolower((unsigned char)c) == tolower((unsigned char)w);
}

static bool
starts_ci(const struct line *l, const char *w)
{
	size_t k = strlen(w);
	return l->n >= k && same_ci(l->p[0], w[0]) && strncasecmp(l->p, w, k) == 0;
}

static bool
has_ci(const struct line *l, const char *w)
{
	size_t k = strlen(w);
	for (size_t i = 0; i + k <= l->n; i++)
		if (same_ci(l->p[i], w[0]) && strncasecmp(l->p + i, w, k) == 0)
			return true;
	return false;
}

static struct line
trimmed(struct line l)
{
	while (l.n && isspace((unsigned char)l.p[0]))
		l.p++, l.n--;
	while (l.n && isspace((unsigned char)l.p[l.n - 1]))
		l.n--;
	/* Outlook bolds its header names in plain text: "*From:*". */
	while (l.n && l.p[0] == '*')
		l.p++, l.n--;
	return l;
}

static bool
ends_ci(const struct line *l, const char *w)
{
	size_t k = strlen(w);
	return l->n >= k && same_ci(l->p[l->n - 1], w[k - 1]) && strncasecmp(l->p + l->n - k, w, k) == 0;
}

static bool
is_quoted(const struct line *l)
{
	return l->n > 0 && l->p[0] == '>';
}

static bool
is_attribution_end(const struct line *t)
{
	return ends_ci(t, "wrote:") || ends_ci(t, "schrieb:") || ends_ci(t, "a \xc3\xa9" "crit :") ||
	       ends_ci(t, "a \xc3\xa9" "crit:") || ends_ci(t, "escribi\xc3\xb3:");
}

/* "On ... wrote:" starting at line i, wrapped over at most 3 lines. */
static bool
is_on_wrote(const struct line *v, size_t n, size_t i)
{
	struct line t = trimmed(v[i]);
	if (!(starts_ci(&t, "On ") || starts_ci(&t, "Am ") || starts_ci(&t, "Le ") || starts_ci(&t, "El ")))
		return false;
	for (size_t j = i; j < n && j < i + 3; j++) {
		struct line u = trimmed(v[j]);
		if (is_attribution_end(&u))
			return true;
		if (u.n == 0)
			return false;
	}
	return false;
}

/* "<who> wrote:" directly followed (blank lines aside) by a quote. */
static bool
is_wrote_then_quote(const struct line *v, size_t n, size_t i)
{
	struct line t = trimmed(v[i]);
	if (!is_attribution_end(&t))
		return false;
	size_t j = i + 1;
	while (j < n && trimmed(v[j]).n == 0)
		j++;
	return j < n && is_quoted(&v[j]);
}

static bool
is_header_name(const struct line *t, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (starts_ci(t, names[i]))
			return true;
	return false;
}

/* Outlook's header block: From:, then Sent:/Date: and To:/Subject:. */
static bool
is_outlook_block(const struct line *v, size_t n, size_t i)
{
	static const char *const from[] = {"From:", "Von:", "De :", "De:", NULL};
	static const char *const sent[] = {"Sent:", "Date:", "Gesendet:", "Datum:", "Envoy\xc3\xa9 :", NULL};
	static const char *const to[] = {"To:", "Subject:", "An:", "Betreff:", "\xc3\x80 :", "Objet :", NULL};
	struct line t = trimmed(v[i]);
	if (!is_header_name(&t, from))
		return false;
	bool s = false, o = false;
	for (size_t j = i + 1; j < n && j < i + 6; j++) {
		struct line u = trimmed(v[j]);
		s |= is_header_name(&u, sent);
		o |= is_header_name(&u, to);
	}
	return s && o;
}

static bool
is_separator(const struct line *v, size_t n, size_t i)
{
	struct line raw = v[i], t = trimmed(v[i]);
	if ((raw.n == 3 && !memcmp(raw.p, "-- ", 3)) || (raw.n == 2 && !memcmp(raw.p, "--", 2)))
		return true;
	if (t.n >= 2 && t.p[0] == '-' && t.p[1] == '-' &&
	    (has_ci(&t, "original message") || has_ci(&t, "forwarded message") ||
	     has_ci(&t, "urspr\xc3\xbcngliche nachricht") || has_ci(&t, "message d'origine")))
		return true;
	if (starts_ci(&t, "Begin forwarded message:"))
		return true;
	return false;
}

/* One past the last non-blank line that is not quoted: every quoted line
 * at or after it is in the trailing quote (computed once, so a long
 * interleaved reply stays linear). */
static size_t
last_unquoted(const struct line *v, size_t n)
{
	for (size_t j = n; j > 0; j--)
		if (trimmed(v[j - 1]).n > 0 && !is_quoted(&v[j - 1]))
			return j;
	return 0;
}

static size_t
history_start(const struct line *v, size_t n)
{
	size_t tail = last_unquoted(v, n);
	for (size_t i = 0; i < n; i++) {
		if (is_separator(v, n, i) || is_on_wrote(v, n, i) || is_wrote_then_quote(v, n, i) ||
		    is_outlook_block(v, n, i) || (i >= tail && is_quoted(&v[i])))
			return i;
		/* A line of underscores before an Outlook block starts it. */
		struct line t = trimmed(v[i]);
		if (t.n >= 10 && strspn(t.p, "_") >= t.n && i + 1 < n && is_outlook_block(v, n, i + 1))
			return i;
	}
	return n;
}

static struct line *
split_lines(const char *text, size_t *n_r)
{
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	struct line *v = xcalloc(cap, sizeof(*v));
	size_t n = 0;
	const char *p = text;
	while (*p && n < cap) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		v[n].p = p;
		v[n].n = len && p[len - 1] == '\r' ? len - 1 : len;
		n++;
		p += len + (e != NULL);
	}
	*n_r = n;
	return v;
}

const char *
mime_reply_text(struct arena *a, const char *text)
{
	if (text == NULL)
		return NULL;
	size_t n;
	struct line *v = split_lines(text, &n);
	size_t end = history_start(v, n), begin = 0;
	while (end > 0 && trimmed(v[end - 1]).n == 0)
		end--;
	while (begin < end && trimmed(v[begin]).n == 0)
		begin++;
	char *r = arena_alloc(a, strlen(text) + 1), *q = r;
	for (size_t i = begin; i < end; i++) {
		if (is_quoted(&v[i]))
			continue;
		memcpy(q, v[i].p, v[i].n);
		q += v[i].n;
		*q++ = '\n';
	}
	if (q > r)
		q--;               /* no newline after the last line */
	*q = '\0';
	free(v);
	return r;
}
