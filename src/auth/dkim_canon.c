/* dkim_canon.c - DKIM canonicalisation (RFC 6376 3.4) and base64.
 *
 * The body canonicaliser is a byte-at-a-time state machine so the body can
 * be fed in any pieces (a CRLF split across two reads is still one line
 * end) and never has to be held in memory: empty lines are not written
 * out but counted, and only emitted when content follows them, which is
 * how "ignore empty lines at the end of the body" works without
 * lookahead.  Only CRLF ends a line; a bare CR or LF is content (RFC 6376
 * does not define them; our SMTP intake refuses bare LF anyway).
 *
 * Canonical output is batched into a 4 KiB buffer before reaching the
 * sink (a hash update), and the l= limit is applied at the sink boundary,
 * counting what falls past it: the caller reports those bytes as unsigned.
 */
#include "auth/dkim_private.h"

#include <pthread.h>
#include <string.h>

#include "core/swar.h"

static void
flush(struct dkim_bodycanon *c)
{
	if (c->outlen > 0)
		c->sink(c->arg, c->out, c->outlen);
	c->outlen = 0;
}

static void
emit_slow(struct dkim_bodycanon *c, const uint8_t *p, size_t n)
{
	uint64_t room = c->limit - c->emitted;
	size_t take = n;
	if ((uint64_t)take > room) {
		c->unsigned_bytes += n - (size_t)room;
		take = (size_t)room;
	}
	c->emitted += take;
	while (take > 0) {
		size_t k = sizeof(c->out) - c->outlen;
		if (k > take)
			k = take;
		memcpy(c->out + c->outlen, p, k);
		c->outlen += k;
		p += k;
		take -= k;
		if (c->outlen == sizeof(c->out))
			flush(c);
	}
}

/* The common case (no l=, room in the buffer) is one memcpy. */
static inline void
emit(struct dkim_bodycanon *c, const uint8_t *p, size_t n)
{
	if (c->limit != UINT64_MAX || n > sizeof(c->out) - c->outlen)
		return emit_slow(c, p, n);
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	c->emitted += n;
}

static void
emit_crlfs(struct dkim_bodycanon *c, uint64_t n)
{
	static const uint8_t crlf[2] = {'\r', '\n'};
	for (; n > 0; n--)
		emit(c, crlf, 2);
}

void
dkim_bodycanon_init(struct dkim_bodycanon *c, bool relaxed, uint64_t limit,
                    dkim_sink_fn sink, void *arg)
{
	memset(c, 0, offsetof(struct dkim_bodycanon, out));
	c->relaxed = relaxed;
	c->limit = limit;
	c->sink = sink;
	c->arg = arg;
}

/* One content byte: first the line ends and whitespace held back. */
static void
content(struct dkim_bodycanon *c, uint8_t ch)
{
	if (c->pending_crlf) {
		emit_crlfs(c, c->pending_crlf);
		c->pending_crlf = 0;
	}
	if (c->pending_wsp) {
		emit(c, (const uint8_t *)" ", 1);
		c->pending_wsp = false;
	}
	emit(c, &ch, 1);
	c->line_content = true;
	c->any_content = true;
}

static void
line_end(struct dkim_bodycanon *c)
{
	c->pending_wsp = false;    /* relaxed: WSP at the end of a line goes */
	c->pending_crlf++;
	c->line_content = false;
}

/* A run of plain content bytes (no CR, and no WSP when relaxed): the
 * state machine's work for it is the same as for its first byte. */
static void
content_run(struct dkim_bodycanon *c, const uint8_t *p, size_t n)
{
	content(c, p[0]);
	if (n > 1)
		emit(c, p + 1, n - 1);
}

static bool
ends_wsp_run(uint8_t next)
{
	return next == ' ' || next == '\t' || next == '\r';
}

/* Relaxed: how far from p (which is not WSP) the bytes need no change:
 * no CR, no tab, and no SP followed by WSP or CR.  Eight bytes at a time
 * (core/swar.h): this scan touches every byte of every signed body, and
 * byte by byte it was the largest cost of the checks after the RSA
 * verify (bench/auth). */
static size_t
relaxed_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (n - i > 8) {     /* the byte after the word is there to see */
			uint64_t w = swar_load(p + i);
			uint64_t sp = swar_eq_mask(w, ' ');
			uint64_t crtab = swar_eq_mask(w, '\r') | swar_eq_mask(w, '\t');
			/* A CR or tab stops the run, and so does an SP whose next
			 * byte is WSP or CR: the mark on the SP itself. */
			uint64_t stop = crtab | (sp & ((sp | crtab) >> 8));
			if (stop == 0 && !((sp >> 63) && ends_wsp_run(p[i + 8]))) {
				i += 8;
				continue;
			}
			/* The bytes before the first stop are plain; the byte
			 * itself is decided below. */
			i += stop ? swar_first(stop) : 7;
		}
		uint8_t ch = p[i];
		if (ch == '\r' || ch == '\t' || (ch == ' ' && (i + 1 >= n || ends_wsp_run(p[i + 1]))))
			break;
		i++;
	}
	return i;
}

static size_t
plain_run(const struct dkim_bodycanon *c, const uint8_t *p, size_t n)
{
	if (c->relaxed) {
		/* A single SP between two content bytes is already canonical. */
		if (p[0] == ' ' || p[0] == '\t')
			return 0;
		return relaxed_run(p, n);
	}
	const uint8_t *cr = memchr(p, '\r', n);
	return cr ? (size_t)(cr - p) : n;
}

void
dkim_bodycanon_update(struct dkim_bodycanon *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (!c->cr_pending) {
			size_t run = plain_run(c, p + i, n - i);
			if (run > 1) {
				content_run(c, p + i, run);
				i += run - 1;
				continue;
			}
		}
		if (c->cr_pending) {
			c->cr_pending = false;
			if (ch == '\n') {
				line_end(c);
				continue;
			}
			content(c, '\r');
		}
		if (ch == '\r')
			c->cr_pending = true;
		else if (c->relaxed && (ch == ' ' || ch == '\t'))
			c->pending_wsp = true;
		else
			content(c, ch);
	}
}

void
dkim_bodycanon_final(struct dkim_bodycanon *c)
{
	if (c->cr_pending) {
		c->cr_pending = false;
		content(c, '\r');
	}
	if (c->line_content)
		line_end(c);           /* a last line without CRLF gets one */
	if (c->any_content)
		emit_crlfs(c, 1);      /* trailing empty lines are dropped */
	else if (!c->relaxed)
		emit_crlfs(c, 1);      /* simple: an empty body is one CRLF */
	flush(c);
}

static bool
is_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Relaxed (3.4.2): lowercase name, unfold, WSP runs to one SP, no WSP
 * around the colon or at the end.  Written in runs, not byte by byte: the
 * DKIM-Signature field alone is hundreds of bytes, for every message. */
static void
canon_relaxed(struct buf *out, const char *f, size_t len)
{
	size_t i = 0, colon;
	while (len > 0 && (f[len - 1] == '\n' || f[len - 1] == '\r'))
		len--;
	const char *c = memchr(f, ':', len);
	colon = c ? (size_t)(c - f) : len;
	size_t nend = colon;
	while (nend > 0 && is_wsp(f[nend - 1]))
		nend--;
	char low[128];
	while (i < nend) {
		size_t k = 0;
		for (; i < nend && k < sizeof(low); i++, k++)
			low[k] = (char)(f[i] >= 'A' && f[i] <= 'Z' ? f[i] + 32 : f[i]);
		buf_add(out, low, k);
	}
	buf_addch(out, ':');
	bool wsp = false, started = false;
	for (i = colon + 1; i < len;) {
		if (f[i] == '\r' && i + 1 < len && f[i + 1] == '\n') {
			i += 2;
			continue;
		}
		if (is_wsp(f[i])) {
			wsp = true;
			i++;
			continue;
		}
		if (wsp && started)
			buf_addch(out, ' ');
		wsp = false;
		started = true;
		size_t j = i + 1;            /* the run: up to the next WSP or CR */
		while (j < len && !is_wsp(f[j]) && f[j] != '\r')
			j++;
		buf_add(out, f + i, j - i);
		i = j;
	}
	buf_add(out, "\r\n", 2);
}

void
dkim_canon_header(struct buf *out, const char *field, size_t len, bool relaxed)
{
	if (relaxed)
		canon_relaxed(out, field, len);
	else
		buf_add(out, field, len);
}

void
dkim_sha_sink(void *arg, const uint8_t *p, size_t n)
{
	if (EVP_DigestUpdate(arg, p, n) != 1)
		pr_panic("SHA-256 update failed");
}

/* base64 digit values, -1 for anything else: a table, since b= and bh= of
 * every signature are decoded for every message. */
static int8_t b64tab[256];
static pthread_once_t b64once = PTHREAD_ONCE_INIT;

static void
b64_init(void)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	memset(b64tab, -1, sizeof(b64tab));
	for (int i = 0; i < 64; i++)
		b64tab[(unsigned char)digits[i]] = (int8_t)i;
}

static int
b64val(char ch)
{
	return b64tab[(unsigned char)ch];
}

long
dkim_base64(const char *s, size_t len, uint8_t *out, size_t max)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t n = 0;
	pthread_once(&b64once, b64_init);
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		if (ch == '=') {
			pad++;
			continue;
		}
		int v = b64val(ch);
		if (v < 0 || pad > 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= max)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6)
		return -1;
	return (long)n;
}
