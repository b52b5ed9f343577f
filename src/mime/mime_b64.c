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

/* The value + 1; 65 for '='; 0 for a byte that is skipped. */
static const uint8_t b64_table[256] = {
	['A'] = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
	['a'] = 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
	        50, 51, 52,
	['0'] = 53, 54, 55, 56, 57, 58, 59, 60, 61, 62,
	['+'] = 63, ['/'] = 64, ['='] = 65,
};

size_t
mime_b64_decode(struct mime_b64 *st, const char *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	unsigned int acc = st->acc;
	int bits = st->bits;
	for (size_t i = 0; i < n; i++) {
		uint8_t v = b64_table[(unsigned char)in[i]];
		if (v == 0 || v == 65) {
			if (v == 65)
				acc = 0, bits = 0;   /* the padded group's leftover bits */
			continue;
		}
		acc = (acc << 6) | (unsigned int)(v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	st->acc = acc;
	st->bits = bits;
	return o;
}
