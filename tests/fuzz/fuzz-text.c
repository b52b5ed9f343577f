/* fuzz-text.c - libFuzzer target for core/text.c.
 *
 * Any bytes: text_cleann's output must be valid UTF-8 with no control
 * but TAB, and cleaning it again must change nothing; text_escape's output must
 * hold no byte a terminal obeys (C0 but LF/TAB in multi-line mode, DEL, C1,
 * bidi controls); text_fit never cuts a character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if every character of s satisfies ok(). */
static int
all(const char *s, int (*ok)(uint32_t cp, unsigned flags), unsigned flags)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += text_utf8_next(p + i, n - i, &cp);
		if (!ok(cp, flags))
			return 0;
	}
	return 1;
}

static int
clean_ok(uint32_t cp, unsigned flags)
{
	(void)flags;
	return cp != TEXT_INVALID && !text_is_control(cp);
}

static int
shown_ok(uint32_t cp, unsigned flags)
{
	if ((flags & TEXT_MULTILINE) && (cp == '\n' || cp == '\t'))
		return 1;
	return clean_ok(cp, 0) && cp != '\t' && !(cp >= 0x202A && cp <= 0x202E) &&
	       !(cp >= 0x2066 && cp <= 0x2069) && cp != 0x2028 && cp != 0x2029;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	const char *c = text_cleann(a, (const char *)data, size);
	if (!all(c, clean_ok, 0) || strcmp(text_clean(a, c), c) != 0)
		abort();
	for (unsigned flags = 0; flags <= TEXT_MULTILINE; flags++)
		if (!all(text_escape(a, (const char *)data, size, flags), shown_ok, flags))
			abort();
	size_t fit = text_fit(c, size / 2);
	if (fit > size / 2 || !all(arena_strndup(a, c, fit), clean_ok, 0))
		abort();
	arena_free(&a);
	return 0;
}
