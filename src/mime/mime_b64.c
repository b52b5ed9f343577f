/* mime_b64.c - a base64 decoder that keeps what can be decoded.
 *
 * GMime 3.2.13 drops the last 1-2 bytes of a body whose final group is
 * cut short ("YWJjZA" without "=="); CPython and most readers keep them.
 * This decoder emits every whole byte as soon as its bits are in: a
 * 2-character tail gives 1 byte, 3 characters give 2.  '=' ends a group
 * wherever it is (padded pieces glued together, as in Outlook's encoded
 * words), and bytes outside the alphabet (line breaks, junk) are skipped.
 * Used for base64 bodies and parts (mime_walk.c) and RFC 2047 B-words.
 */
#include "mime/mime_private.h"

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

size_t
mime_b64_decode(struct mime_b64 *st, const char *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '=') {
			st->acc = 0, st->bits = 0;   /* the padded group's leftover bits */
			continue;
		}
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			continue;
		st->acc = (st->acc << 6) | (unsigned int)v;
		st->bits += 6;
		if (st->bits >= 8) {
			st->bits -= 8;
			out[o++] = (uint8_t)(st->acc >> st->bits);
			st->acc &= (1u << st->bits) - 1;
		}
	}
	return o;
}
