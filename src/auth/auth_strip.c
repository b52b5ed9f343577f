/* auth_strip.c - remove Authentication-Results that claim to be ours.
 *
 * Our own verdict is prepended to the stored message as an
 * Authentication-Results header with our authserv-id.  A sender can write
 * one with the same id ("mx.firm.example; dkim=pass") into the message it
 * sends; a reader (a person, a mail client, a later filter) cannot tell it
 * from ours.  RFC 8601 5: a border MTA MUST delete (or rename) such fields
 * arriving from outside.  We delete them from the bytes we store.
 *
 * Two passes over the spool, bounded memory: the first walks the header
 * block line by line (only a prefix of each line is kept) and records
 * the byte ranges of the fields to drop; only when there are some does
 * the second copy the message without them into a new spool.  The body
 * is never touched.  An Authentication-Results whose authserv-id cannot be
 * read within AUTH_RESULTS_ID_SCAN bytes is dropped too: hiding the id
 * behind a long comment must not save a forgery.
 */
#include "auth/auth_private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/spool.h"

/* How much of one field's value we look through for its authserv-id. */
#define AUTH_RESULTS_ID_SCAN 4096
#define STRIP_CHUNK (64 * 1024)

/* Lines of the spool, one at a time: where each starts, how long it is
 * (LF included) and its first bytes. */
struct lines {
	struct spool *sp;
	uint64_t off;                 /* start of the next line */
	uint8_t win[STRIP_CHUNK];
	uint64_t win_off;
	size_t win_len;
	bool err;
};

static bool
fill(struct lines *l, uint64_t at)
{
	ssize_t r = spool_read_at(l->sp, at, l->win, sizeof(l->win));
	if (r < 0)
		l->err = true;
	l->win_off = at;
	l->win_len = r > 0 ? (size_t)r : 0;
	return r > 0;
}

/* The next line: its offset in *start, length in *len (0 at the end),
 * its first bytes (up to max) copied to pre with their count in *plen. */
static void
next_line(struct lines *l, uint64_t *start, uint64_t *len, char *pre, size_t max, size_t *plen)
{
	*start = l->off;
	*plen = 0;
	uint64_t at = l->off;
	for (;;) {
		if (at < l->win_off || at >= l->win_off + l->win_len)
			if (!fill(l, at))
				break;
		size_t i = (size_t)(at - l->win_off), n = l->win_len - i;
		const uint8_t *nl = memchr(l->win + i, '\n', n);
		size_t k = nl ? (size_t)(nl - (l->win + i)) + 1 : n;
		size_t c = *plen + k <= max ? k : max - *plen;
		memcpy(pre + *plen, l->win + i, c);
		*plen += c;
		at += k;
		if (nl)
			break;
	}
	*len = at - *start;
	l->off = at;
}

/* Skip CFWS (RFC 5322: folding white space and nested comments). */
static size_t
skip_cfws(const char *v, size_t n, size_t i)
{
	int depth = 0;
	for (; i < n; i++) {
		char c = v[i];
		if (c == '\\' && depth > 0)
			i++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
	}
	return i;
}

int
auth_results_id(const char *v, size_t n, char *out, size_t max)
{
	size_t i = skip_cfws(v, n, 0), k = 0;
	bool quoted = i < n && v[i] == '"';
	for (i += quoted; i < n; i++) {
		char c = v[i];
		if (quoted && c == '\\' && i + 1 < n)
			c = v[++i];
		else if (quoted ? c == '"' : (c == ';' || c == '(' || c == '"' || isspace((unsigned char)c)))
			break;
		if (k + 1 >= max)
			return -1;
		out[k++] = c;
	}
	if (i >= n || k == 0)           /* ran off what we were given: unknown */
		return -1;
	out[k] = '\0';
	return (int)k;
}

struct field_scan {
	uint64_t start;
	bool is_ar;
	char val[AUTH_RESULTS_ID_SCAN];
	size_t vlen;
};

/* "Authentication-Results" [WSP] ":" at the start of pre; the offset of
 * the value in *voff. */
static bool
is_ar_name(const char *pre, size_t n, size_t *voff)
{
	static const char name[] = "Authentication-Results";
	size_t nl = sizeof(name) - 1, i = nl;
	if (n <= nl || strncasecmp(pre, name, nl) != 0)
		return false;
	while (i < n && (pre[i] == ' ' || pre[i] == '\t'))
		i++;
	*voff = i + 1;
	return i < n && pre[i] == ':';
}

static bool
field_is_ours(const struct field_scan *f, const char *id)
{
	char got[256];
	if (!f->is_ar)
		return false;
	if (auth_results_id(f->val, f->vlen, got, sizeof(got)) < 0)
		return true;
	return strcasecmp(got, id) == 0;
}

struct range { uint64_t off, len; };

/* Pass 1: the ranges to drop, in order. */
static size_t
find_ours(struct arena *a, struct spool *raw, const char *id, struct range **out, bool *err)
{
	struct lines *l = arena_alloc(a, sizeof(*l));
	struct field_scan *f = arena_alloc(a, sizeof(*f));
	char pre[AUTH_RESULTS_ID_SCAN];
	size_t n = 0, cap = 0;
	l->sp = raw;
	for (;;) {
		uint64_t start, len;
		size_t plen, voff = 0;
		next_line(l, &start, &len, pre, sizeof(pre), &plen);
		bool cont = plen > 0 && (pre[0] == ' ' || pre[0] == '\t');
		bool end = len == 0 || pre[0] == '\r' || pre[0] == '\n';
		if (cont && f->is_ar) {
			size_t c = plen < sizeof(f->val) - f->vlen ? plen : sizeof(f->val) - f->vlen;
			memcpy(f->val + f->vlen, pre, c);
			f->vlen += c;
			continue;
		}
		if (cont)
			continue;
		if (field_is_ours(f, id)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				struct range *g = arena_alloc(a, cap * sizeof(*g));
				if (n)
					memcpy(g, *out, n * sizeof(*g));
				*out = g;
			}
			(*out)[n++] = (struct range){f->start, start - f->start};
		}
		if (end)
			break;
		f->start = start;
		f->is_ar = is_ar_name(pre, plen, &voff);
		f->vlen = f->is_ar ? plen - voff : 0;
		memcpy(f->val, pre + voff, f->vlen);
	}
	*err = l->err;
	return n;
}

static void
copy_span(struct spool *from, uint64_t off, uint64_t len, struct spool *to, uint8_t *chunk,
          bool *err)
{
	while (len > 0 && !*err) {
		size_t want = len < STRIP_CHUNK ? (size_t)len : STRIP_CHUNK;
		ssize_t r = spool_read_at(from, off, chunk, want);
		if (r <= 0) {
			*err = true;
			return;
		}
		spool_write(to, chunk, (size_t)r);
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
}

struct spool *
auth_strip_own_results(struct arena *a, struct spool *raw, const char *authserv_id,
                       const char *dir, size_t *removed_r, struct pr_why *why)
{
	struct range *r = NULL;
	bool err = false;
	size_t n = find_ours(a, raw, authserv_id, &r, &err);
	*removed_r = n;
	if (err) {
		pr_why_set(why, PR_E_IO, "reading the spooled message failed");
		return NULL;
	}
	if (n == 0)
		return raw;
	struct spool *out = spool_new(a, dir);
	uint8_t *chunk = arena_alloc(a, STRIP_CHUNK);
	uint64_t at = 0;
	for (size_t i = 0; i < n && !err; i++) {
		copy_span(raw, at, r[i].off - at, out, chunk, &err);
		at = r[i].off + r[i].len;
	}
	copy_span(raw, at, spool_size(raw) - at, out, chunk, &err);
	spool_finish(out);
	if (err || spool_error(out) != PR_OK) {
		pr_why_set(why, PR_E_IO, "copying the message without forged Authentication-Results failed");
		return NULL;
	}
	return out;
}
