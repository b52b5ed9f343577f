/* dkim_hdr.c - the header side of a DKIM signature (RFC 6376 3.7, 5.4.2),
 * shared by the verifier (dkim.c) and the signer (dkim_sign.c) so that what
 * we sign is, by construction, what we verify.
 *
 * Header bytes are split into fields (a continuation line starts with SP
 * or HT); for each h= name the lowest unused field of that name is chosen
 * (bottom-up), so a name listed more often than it occurs contributes
 * nothing -- which is how oversigning works.  The signature's own field
 * comes last, with its b= value emptied and without its trailing CRLF.
 */
#include "auth/dkim_private.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"

bool
dkim_field_is(const char *h, const struct dkim_field *f, const char *name, size_t nl)
{
	return f->nlen == nl && strncasecmp(h + f->off, name, nl) == 0;
}

size_t
dkim_fields_split(struct arena *a, const char *h, size_t len, struct dkim_field **out,
                  bool *truncated)
{
	size_t i = 0, cap = 1, nf = 0;
	/* A field takes at least one line, so the lines bound the fields. */
	for (const char *p = h; len > 0 && p != NULL && cap < DKIM_MAX_FIELDS; cap++) {
		p = memchr(p, '\n', len - (size_t)(p - h));
		p = p ? p + 1 : NULL;
	}
	struct dkim_field *fs = arena_alloc(a, cap * sizeof(*fs));
	while (i < len && nf < cap) {
		size_t start = i;
		do {
			const char *nl = memchr(h + i, '\n', len - i);
			i = nl ? (size_t)(nl - h) + 1 : len;
		} while (i < len && (h[i] == ' ' || h[i] == '\t'));
		struct dkim_field *f = &fs[nf++];
		f->off = start;
		f->len = i - start;
		const char *c = memchr(h + start, ':', f->len);
		f->nlen = c ? (size_t)(c - h - start) : 0;
		while (f->nlen > 0 && (h[start + f->nlen - 1] == ' ' || h[start + f->nlen - 1] == '\t'))
			f->nlen--;
	}
	*truncated = i < len;
	*out = fs;
	return nf;
}

void
dkim_header_data(struct arena *a, const struct dkim_hdrsel *sel, struct buf *out)
{
	const char *h = sel->head;
	bool *used = arena_alloc(a, sel->nf ? sel->nf : 1);
	if (sel->self < sel->nf)
		used[sel->self] = true;
	for (size_t k = 0; k < sel->nh; k++) {
		for (size_t i = sel->nf; i-- > 0;) {
			if (used[i] || !dkim_field_is(h, &sel->f[i], sel->h[k].p, sel->h[k].len))
				continue;
			used[i] = true;
			dkim_canon_header(out, h + sel->f[i].off, sel->f[i].len, sel->relaxed);
			break;
		}
	}
	struct buf self;
	buf_init(&self, sel->siglen);
	buf_add(&self, sel->sig, sel->b_start);
	buf_add(&self, sel->sig + sel->b_end, sel->siglen - sel->b_end);
	size_t before = out->len;
	dkim_canon_header(out, (const char *)self.data, self.len, sel->relaxed);
	if (out->len - before >= 2 && out->data[out->len - 2] == '\r' && out->data[out->len - 1] == '\n')
		out->len -= 2;
	buf_free(&self);
}
