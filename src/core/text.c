/* text.c - see text.h.  Both functions walk the input once with
 * text_utf8_next; output is bounded by a fixed factor of the input
 * (3 bytes per replaced byte, 6 per escaped character). */
#include "core/text.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"

bool
text_is_utf8(const char *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0; i < n;) {
		i += text_utf8_next((const uint8_t *)s + i, n - i, &cp);
		if (cp == TEXT_INVALID)
			return false;
	}
	return true;
}

size_t
text_utf8_next(const uint8_t *p, size_t n, uint32_t *cp_r)
{
	uint8_t c = p[0];
	uint8_t lo = 0x80, hi = 0xBF;
	size_t len;
	uint32_t cp;
	*cp_r = TEXT_INVALID;
	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		/* E0: no overlongs; ED: no surrogates */
		len = 3, cp = c & 0x0F, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		/* F0: no overlongs; F4: nothing past U+10FFFF */
		len = 4, cp = c & 0x07, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 1;   /* a continuation byte, C0/C1 (overlong) or F5..FF */
	}
	for (size_t i = 1; i < len; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;
		cp = cp << 6 | (p[i] & 0x3F);
		lo = 0x80, hi = 0xBF;
	}
	*cp_r = cp;
	return len;
}

bool
text_is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F);
}

/* Bidi embedding/override/isolate marks and the line and paragraph
 * separators: valid text, but they reorder or break what a terminal shows
 * (CVE-2021-42574, "Trojan Source"). */
static bool
reorders(uint32_t cp)
{
	return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

char *
text_cleann(struct arena *a, const char *s, size_t n)
{
	if (s == NULL)
		return NULL;
	static const char fffd[] = "\xEF\xBF\xBD";
	const uint8_t *p = (const uint8_t *)s;
	char *out = arena_alloc(a, 3 * n + 1), *o = out;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = text_utf8_next(p + i, n - i, &cp);
		if (cp == TEXT_INVALID || text_is_control(cp)) {
			memcpy(o, fffd, 3);
			o += 3;
		} else {
			memcpy(o, p + i, len);
			o += len;
		}
		i += len;
	}
	*o = '\0';
	return out;
}

char *
text_clean(struct arena *a, const char *s)
{
	return s ? text_cleann(a, s, strlen(s)) : NULL;
}

size_t
text_fit(const char *s, size_t max)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strnlen(s, max + 1), end = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += text_utf8_next(p + i, n - i, &cp);
		if (i > max)
			break;
		end = i;
	}
	return end;
}

/* How one character is printed: kept as it is, or escaped. */
static bool
keep(uint32_t cp, unsigned flags)
{
	if ((flags & TEXT_MULTILINE) && (cp == '\n' || cp == '\t'))
		return true;
	return cp != TEXT_INVALID && cp != '\t' && !text_is_control(cp) && !reorders(cp);
}

char *
text_escape(struct arena *a, const char *s, size_t n, unsigned flags)
{
	const uint8_t *p = (const uint8_t *)s;
	char *out = arena_alloc(a, 6 * n + 1), *o = out;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = text_utf8_next(p + i, n - i, &cp);
		if ((flags & TEXT_MULTILINE) && cp == '\r' && i + 1 < n && p[i + 1] == '\n') {
			/* CRLF line end of a body: the LF alone is the line end */
		} else if (keep(cp, flags)) {
			memcpy(o, p + i, len);
			o += len;
		} else if (cp == TEXT_INVALID || cp < 0x80) {
			for (size_t k = 0; k < len; k++)
				o += snprintf(o, 5, "\\x%02x", p[i + k]);
		} else {
			o += snprintf(o, 7, "\\u%04x", (unsigned)cp);
		}
		i += len;
	}
	*o = '\0';
	return out;
}

void
text_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
text_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
text_unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = text_hex_digit(hex[2 * i]), lo = hi < 0 ? -1 : text_hex_digit(hex[2 * i + 1]);
		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * n] == '\0';
}
