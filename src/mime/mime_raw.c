/* mime_raw.c - header fields read straight from the bytes, without GMime.
 *
 * The envelope normaliser (intake/envelope.c) and auth need a few fields
 * of messages GMime may refuse (unreadable mail still has recipients and
 * a trusted Received), and need every field of one name in order, topmost
 * first.  This is the one reader for that: bounded to the first
 * MIME_RAW_HEADER_BYTES of the header block, no failure (past the bound,
 * or at a NUL byte, we stop looking).
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"

/* Reads the header block (up to MIME_RAW_HEADER_BYTES) into the arena. */
static const char *
read_headers(struct arena *a, struct spool *raw, size_t *len_r)
{
	/* Sized by the message, not the bound: a message is read several
	 * times (one field name per call) and most are a few KiB. */
	uint64_t size = spool_size(raw);
	size_t cap = size < MIME_RAW_HEADER_BYTES ? (size_t)size : MIME_RAW_HEADER_BYTES;
	char *buf = arena_alloc(a, cap + 1);
	size_t n = 0;
	while (n < cap) {
		ssize_t r = spool_read_at(raw, n, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	buf[n] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	char *end2 = strstr(buf, "\n\n");
	if (end2 && (end == NULL || end2 < end))
		end = end2;
	*len_r = end ? (size_t)(end - buf) : n;
	return buf;
}

size_t
mime_header_fields(struct arena *a, struct spool *raw, const char *const *names, size_t nnames,
                   struct mime_hfield *out, size_t max)
{
	size_t len, k = 0;
	const char *h = read_headers(a, raw, &len), *end = h + len;
	for (const char *p = h; p < end && k < max;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *fe = eol ? eol : end;
		while (fe + 1 < end && (fe[1] == ' ' || fe[1] == '\t')) {   /* folded */
			const char *next = memchr(fe + 1, '\n', (size_t)(end - fe - 1));
			fe = next ? next : end;
		}
		for (size_t w = 0; w < nnames; w++) {
			size_t nl = strlen(names[w]);
			if ((size_t)(fe - p) <= nl || strncasecmp(p, names[w], nl) != 0 || p[nl] != ':')
				continue;
			char *v = arena_strndup(a, p + nl + 1, (size_t)(fe - p - nl - 1));
			for (char *c = v; *c; c++)       /* unfold */
				if (*c == '\r' || *c == '\n' || *c == '\t')
					*c = ' ';
			out[k++] = (struct mime_hfield){(unsigned)w, v};
			break;
		}
		p = fe < end ? fe + 1 : end;
	}
	return k;
}

size_t
mime_header_values(struct arena *a, struct spool *raw, const char *name, const char **out,
                   size_t max)
{
	struct mime_hfield *f = arena_alloc(a, (max ? max : 1) * sizeof(*f));
	size_t n = mime_header_fields(a, raw, &name, 1, f, max);
	for (size_t i = 0; i < n; i++)
		out[i] = f[i].value;
	return n;
}
