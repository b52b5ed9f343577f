/* fuzz-dkim-tags.c - libFuzzer target for the DKIM pieces that read
 * untrusted text without DNS: tag lists, one DKIM-Signature field, key
 * records, base64 with FWS, and both canonicalisations.
 *
 * The input is used as a tag list, as the value of a DKIM-Signature field,
 * as a key TXT record, as a header field and as a body.  Checks beyond
 * "no crash": every tag value lies inside the input, and the streaming
 * body canonicaliser gives the same bytes fed whole and trickled.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_private.h"
#include "core/arena.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
buf_sink(void *arg, const uint8_t *p, size_t n)
{
	buf_add(arg, p, n);
}

/* Body canonicalisation fed whole and 1..7 bytes at a time must agree. */
static void
body(const uint8_t *data, size_t size, bool relaxed, uint64_t limit)
{
	struct dkim_bodycanon *c = xcalloc(2, sizeof(*c));
	struct buf out[2];
	for (int k = 0; k < 2; k++) {
		buf_init(&out[k], 1 << 24);
		dkim_bodycanon_init(&c[k], relaxed, limit, buf_sink, &out[k]);
	}
	dkim_bodycanon_update(&c[0], data, size);
	for (size_t off = 0, n; off < size; off += n) {
		n = 1 + (size_t)data[off] % 7;
		n = n > size - off ? size - off : n;
		dkim_bodycanon_update(&c[1], data + off, n);
	}
	dkim_bodycanon_final(&c[0]);
	dkim_bodycanon_final(&c[1]);
	if (out[0].len != out[1].len ||
	    (out[0].len > 0 && memcmp(out[0].data, out[1].data, out[0].len) != 0) ||
	    c[0].unsigned_bytes != c[1].unsigned_bytes || out[0].len > limit)
		abort();
	buf_free(&out[0]);
	buf_free(&out[1]);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *err = NULL;
	struct arena *a = arena_new();
	struct dkim_tags *tags = arena_alloc(a, sizeof(*tags));
	if (dkim_tags_parse(s, size, tags, &err) == 0)
		for (size_t i = 0; i < tags->n; i++)
			if (tags->t[i].val < s || tags->t[i].val + tags->t[i].len > s + size ||
			    tags->t[i].region_end > size)
				abort();
	struct dkim_sig out;
	struct dkim_sigstate *st = arena_alloc(a, sizeof(*st));
	memset(&out, 0, sizeof(out));
	st->out = &out;
	char *field = arena_alloc(a, size + 18);
	memcpy(field, "DKIM-Signature:", 15);
	memcpy(field + 15, s, size);
	memcpy(field + 15 + size, "\r\n", 2);
	dkim_sig_parse(a, field, size + 17, st);
	struct dkim_key k;
	memset(&k, 0, sizeof(k));
	dkim_key_parse(s, size, &k, &err);
	dkim_key_clear(&k);
	uint8_t raw[1024];
	(void)dkim_base64(s, size, raw, sizeof(raw));
	struct buf h;
	buf_init(&h, 1 << 24);
	dkim_canon_header(&h, s, size, true);
	dkim_canon_header(&h, s, size, false);
	buf_free(&h);
	body(data, size, false, UINT64_MAX);
	body(data, size, true, size > 0 ? data[0] : 0);
	arena_free(&a);
	return 0;
}
