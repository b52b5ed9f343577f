/* test-text.c - core/text.c: cleaning untrusted bytes into UTF-8 and
 * escaping them for a terminal.  Tables of {input, want}; each input is
 * also checked for the property that matters: the clean output is valid
 * UTF-8 without controls, the escaped output has no byte < 0x20 or 0x7F
 * and no C1 or bidi control. */
#include <string.h>

#include "core/arena.h"
#include "core/text.h"
#include "test.h"

#define R "\xEF\xBF\xBD"   /* U+FFFD */

static const struct { const char *in, *want; } clean_cases[] = {
	{"alice@firm.example", "alice@firm.example"},
	{"Gr\xC3\xBC\xC3\x9F" "e \xE4\xBD\xA0 \xF0\x9F\x98\x80", "Gr\xC3\xBC\xC3\x9F" "e \xE4\xBD\xA0 \xF0\x9F\x98\x80"},
	{"\xFF\x1B[31mevil@x", R R "[31mevil@x"},                 /* invalid byte, ESC */
	{"a\tb", "a\tb"},                                          /* TAB kept */
	{"a\r\nb\x7F", "a" R R "b" R},                             /* CR LF DEL */
	{"\xC2\x85\xC2\x9B" "x", R R "x"},                         /* C1: NEL, CSI */
	{"\xC2\xA0", "\xC2\xA0"},                                  /* U+00A0 is not a control */
	{"\xC0\xAF", R R},                                         /* overlong '/' (C0 never leads) */
	{"\xE0\x80\xAF", R R R},                                   /* overlong 3-byte: E0 needs A0..BF */
	{"\xF0\x80\x80\xAF", R R R R},                             /* overlong 4-byte */
	{"\xED\xA0\x80", R R R},                                   /* surrogate U+D800 */
	{"\xED\x9F\xBF", "\xED\x9F\xBF"},                          /* U+D7FF is fine */
	{"\xF4\x90\x80\x80", R R R R},                             /* past U+10FFFF */
	{"\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"},                  /* U+10FFFF is fine */
	{"\xE2\x82", R},                                           /* truncated at the end: one */
	{"\xE2\x82x", R "x"},                                      /* truncated, next byte afresh */
	{"\xF0\x9F\x98", R},
	{"\xF0\x9F\x98\xC3\xA9", R "\xC3\xA9"},
	{"\x80\xBF", R R},                                         /* lone continuations */
	{"\xF5\xFE\xFF", R R R},
	{"\xE2\x80\xAE" "abc", "\xE2\x80\xAE" "abc"},              /* bidi: valid, kept (escaped on print) */
	{"", ""},
};

TEST(text_clean_table)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < sizeof(clean_cases) / sizeof(clean_cases[0]); i++)
		CHECK_STR(text_clean(a, clean_cases[i].in), clean_cases[i].want);
	CHECK(text_clean(a, NULL) == NULL);
	/* an embedded NUL is a control too */
	CHECK_STR(text_cleann(a, "a\0b", 3), "a" R "b");
	arena_free(&a);
}

static const struct { const char *in; unsigned flags; const char *want; } escape_cases[] = {
	{"plain text", 0, "plain text"},
	{"\x1B[31mred\x1B[0m", 0, "\\x1b[31mred\\x1b[0m"},
	{"a\r\nb\tc\x7F", 0, "a\\x0d\\x0ab\\x09c\\x7f"},
	{"\xFF\xC0\xAF" "x", 0, "\\xff\\xc0\\xafx"},               /* invalid bytes from older rows */
	{"\xC2\x9B" "2J", 0, "\\u009b2J"},                         /* C1 CSI */
	{"abc\xE2\x80\xAE" "fdp.exe", 0, "abc\\u202efdp.exe"},     /* RLO */
	{"\xE2\x81\xA6x\xE2\x81\xA9 \xE2\x80\xA8", 0, "\\u2066x\\u2069 \\u2028"},
	{"\xC3\xA9t\xC3\xA9 " R, 0, "\xC3\xA9t\xC3\xA9 " R},       /* ordinary text and U+FFFD kept */
	{"line 1\r\nline\t2\n\x1B[2J\r", TEXT_MULTILINE, "line 1\nline\t2\n\\x1b[2J\\x0d"},
};

static bool
terminal_safe(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += text_utf8_next(p + i, n - i, &cp);
		if (cp == TEXT_INVALID || (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp <= 0x9F) ||
		    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
			return false;
	}
	return true;
}

TEST(text_escape_table)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < sizeof(escape_cases) / sizeof(escape_cases[0]); i++) {
		const char *got = text_escape(a, escape_cases[i].in, strlen(escape_cases[i].in), escape_cases[i].flags);
		CHECK_STR(got, escape_cases[i].want);
		CHECK(terminal_safe(got));
	}
	arena_free(&a);
}

/* Every 1-, 2- and 3-byte string over a set of interesting bytes: the
 * clean output is valid UTF-8 without controls, the escaped one safe. */
TEST(text_exhaustive_short)
{
	static const uint8_t bytes[] = {0x00, 0x09, 0x0A, 0x1B, 0x41, 0x7F, 0x80, 0x9B, 0xBF, 0xC0, 0xC2,
	                                0xDF, 0xE0, 0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x8F};
	size_t nb = sizeof(bytes);
	struct arena *a = arena_new();
	for (size_t i = 0; i < nb * nb * nb; i++) {
		char in[3] = {(char)bytes[i % nb], (char)bytes[i / nb % nb], (char)bytes[i / nb / nb]};
		const char *c = text_cleann(a, in, 3);
		const uint8_t *p = (const uint8_t *)c;
		size_t n = strlen(c);
		for (size_t k = 0; k < n;) {
			uint32_t cp;
			k += text_utf8_next(p + k, n - k, &cp);
			CHECK(cp != TEXT_INVALID && !text_is_control(cp));
		}
		CHECK(terminal_safe(text_escape(a, in, 3, 0)));
	}
	arena_free(&a);
}

TEST(text_fit_boundaries)
{
	CHECK_INT(text_fit("abcdef", 4), 4);
	CHECK_INT(text_fit("ab", 40), 2);
	CHECK_INT(text_fit("a\xC3\xA9", 2), 1);             /* never half of é */
	CHECK_INT(text_fit("a\xE2\x80\xAEz", 3), 1);
	CHECK_INT(text_fit("a\xE2\x80\xAEz", 4), 4);
	CHECK_INT(text_fit("\xFF\xFFx", 2), 2);             /* invalid bytes are single */
}

/* Hex both ways; anything but exactly 2n hex digits is refused. */
TEST(text_hex_both_ways)
{
	const uint8_t b[4] = {0x00, 0x9f, 0xa0, 0xff};
	char hex[9];
	text_hex(b, 4, hex);
	CHECK_STR(hex, "009fa0ff");
	uint8_t out[4];
	CHECK(text_unhex("009FA0ff", out, 4) && memcmp(out, b, 4) == 0);
	CHECK(!text_unhex("009fa0f", out, 4));     /* short */
	CHECK(!text_unhex("009fa0ff0", out, 4));   /* long */
	CHECK(!text_unhex("009fa0fg", out, 4));    /* not a digit */
	CHECK(!text_unhex("", out, 4));
}

int
main(void)
{
	RUN(text_clean_table);
	RUN(text_escape_table);
	RUN(text_exhaustive_short);
	RUN(text_fit_boundaries);
	RUN(text_hex_both_ways);
	return test_summary("text");
}
