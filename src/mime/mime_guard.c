/* mime_guard.c - refuse MIME bombs before GMime builds them.
 *
 * GMime builds the whole part tree before we can count it, and it has no
 * limit of its own: 5 MB of "--p\n\n" lines became a million parts, 1.3 GB
 * of heap and 12 s; 5.6 MB of nested multiparts (100,000 levels) cost
 * 2.4 s, quadratic in the depth.  So one linear pass over the raw bytes
 * (64 KiB at a time) counts what could become MIME objects and refuses the
 * message (PR_E_UNREADABLE; the caller stores it raw) when
 *   - more than PR_MIME_MAX_PARTS "Content-Type: multipart/..." or
 *     "message/..." fields start a line (every nesting level needs one), or
 *   - one delimiter-like line ("--X", compared as GMime does: exactly, up
 *     to trailing blanks) repeats more than PR_MIME_MAX_PARTS times in a
 *     message that says "boundary" anywhere, or
 *   - more than GUARD_MAX_DISTINCT different "--X" lines appear (which
 *     also bounds this pass's own memory).
 * This is a resource guard, not a parser: it only ever refuses early what
 * the walk in mime_walk.c would refuse after GMime had paid for it.  The
 * price is a rare false refusal (a multipart message carrying over a
 * thousand identical "-----" lines in 7-bit text), which goes to Fallback.
 */
#include "mime/mime_private.h"

#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "core/spool.h"
#include "core/swar.h"

#define GUARD_LINE 1024               /* longer lines are not delimiters we track */
#define GUARD_MAX_DISTINCT 100000

struct guard {
	GHashTable *delims;               /* "--X" line -> int count */
	char line[GUARD_LINE + 1];
	size_t len;
	bool long_line, ct_pending, saw_boundary;
	int word;                         /* bytes of "boundary" matched so far */
	int containers;                   /* multipart/message Content-Types */
	int max_repeat;
};

static bool
is_container_value(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	return (n >= 10 && !g_ascii_strncasecmp(p, "multipart/", 10)) ||
	       (n >= 8 && !g_ascii_strncasecmp(p, "message/", 8));
}

/* A Content-Type field: the value (possibly folded to the next line). */
static void
content_type(struct guard *g, const char *p, size_t n)
{
	bool folded = n && (p[0] == ' ' || p[0] == '\t');
	if (g->ct_pending && folded)
		g->containers += is_container_value(p, n);
	g->ct_pending = false;
	if (n < 12 || g_ascii_strncasecmp(p, "content-type", 12))
		return;
	size_t i = 12;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= n || p[i] != ':')
		return;
	i++;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n)
		g->ct_pending = true;
	else
		g->containers += is_container_value(p + i, n - i);
}

/* A delimiter-like line "--X" (blanks and CR already cut), counted. */
static void
count_delimiter(struct guard *g, const char *p, size_t n)
{
	if (g_hash_table_size(g->delims) > GUARD_MAX_DISTINCT)
		return;
	char key[GUARD_LINE + 1];
	memcpy(key, p, n);
	key[n] = '\0';
	int *c = g_hash_table_lookup(g->delims, key);
	if (c == NULL) {
		c = g_new0(int, 1);
		g_hash_table_insert(g->delims, g_strdup(key), c);
	}
	(*c)++;
	if (*c > g->max_repeat)
		g->max_repeat = *c;
}

/* One whole line (without its LF); long: it had more than GUARD_LINE
 * bytes, of which p holds the first. */
static void
line_done(struct guard *g, const char *p, size_t n, bool long_line)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (long_line)
		return;
	content_type(g, p, n);
	if (n >= 2 && p[0] == '-' && p[1] == '-')
		count_delimiter(g, p, n);
}

/* The line gathered across reads in g->line. */
static void
end_line(struct guard *g)
{
	line_done(g, g->line, g->len, g->long_line);
	g->len = 0;
	g->long_line = false;
}

/* Any byte of v equal to 'b' or 'B'?  (OR 0x20 folds exactly those two
 * onto 'b'; the zero-byte test is exact: no false answer either way.) */
static bool
has_b(uint64_t v)
{
	return swar_has_zero((v | 0x2020202020202020ULL) ^ (SWAR_ONES * 'b'));
}

static void
find_word(struct guard *g, const uint8_t *p, size_t n)
{
	static const char word[] = "boundary";
	size_t i = 0;
	while (i < n && !g->saw_boundary) {
		/* Outside a match, skip 8 bytes at a time while none is a 'b':
		 * a 20 MiB body is read at memory speed, not a call per byte. */
		if (g->word == 0) {
			while (i + 8 <= n && !has_b(swar_load(p + i)))
				i += 8;
			if (i == n)
				return;
		}
		int lc = p[i++] | 0x20;
		g->word = lc == word[g->word] ? g->word + 1 : lc == 'b';
		g->saw_boundary = g->word == 8;
	}
}

static void
feed(struct guard *g, const uint8_t *p, size_t n)
{
	find_word(g, p, n);
	while (n > 0) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (nl != NULL && g->len == 0 && !g->long_line) {
			/* A whole line in this read: looked at where it is. */
			line_done(g, (const char *)p, MIN(take, GUARD_LINE), take > GUARD_LINE);
		} else {
			size_t room = GUARD_LINE - g->len;
			memcpy(g->line + g->len, p, take < room ? take : room);
			g->len += take < room ? take : room;
			g->long_line |= take > room;
			if (nl == NULL)
				return;
			end_line(g);
		}
		p += take + 1;
		n -= take + 1;
	}
}

/* Already certain to refuse: stop reading. */
static bool
hopeless(const struct guard *g)
{
	return g->containers > PR_MIME_MAX_PARTS || g_hash_table_size(g->delims) > GUARD_MAX_DISTINCT ||
	       (g->saw_boundary && g->max_repeat > PR_MIME_MAX_PARTS);
}

static bool
verdict(struct guard *g, struct pr_why *why)
{
	if (g->containers > PR_MIME_MAX_PARTS)
		pr_why_set(why, PR_E_UNREADABLE, "more than %d multipart or message parts", PR_MIME_MAX_PARTS);
	else if (g_hash_table_size(g->delims) > GUARD_MAX_DISTINCT)
		pr_why_set(why, PR_E_UNREADABLE, "more than %d different boundary-like lines", GUARD_MAX_DISTINCT);
	else if (g->saw_boundary && g->max_repeat > PR_MIME_MAX_PARTS)
		pr_why_set(why, PR_E_UNREADABLE, "more than %d MIME parts (one boundary repeats %d times)",
		           PR_MIME_MAX_PARTS, g->max_repeat);
	else
		return true;
	return false;
}

bool
mime_guard_ok(struct spool *raw, const uint8_t *mem, size_t len, struct pr_why *why)
{
	struct guard *g = g_new0(struct guard, 1);
	g->delims = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (raw != NULL) {
		uint8_t *buf = g_malloc(65536);
		ssize_t r;
		uint64_t off = 0;
		while (!hopeless(g) && (r = spool_read_at(raw, off, buf, 65536)) > 0) {
			feed(g, buf, (size_t)r);
			off += (uint64_t)r;
		}
		g_free(buf);
	} else {
		feed(g, mem, len);
	}
	end_line(g);
	bool ok = verdict(g, why);
	g_hash_table_destroy(g->delims);
	g_free(g);
	return ok;
}
