/* text.h - untrusted bytes made into text a person can read safely.
 *
 * Peers, headers and DNS records hand us bytes that need not be UTF-8 and
 * may carry terminal controls (ESC sequences recolour or rewrite a screen;
 * CR/LF forge lines; bidi overrides reorder what is shown).  Two steps:
 *
 *   text_clean()   once, where an intake record is built: valid UTF-8,
 *                  with every invalid sequence and every control character
 *                  (C0 except TAB, DEL, C1) replaced by U+FFFD.  JSON
 *                  refuses invalid UTF-8, so an unclean field would make
 *                  its whole record vanish from `log --json` and `why`.
 *   text_escape()  when printing for a terminal: whatever could still move
 *                  the cursor or reorder text (controls, bidi controls,
 *                  line separators, invalid bytes from older rows) becomes
 *                  a visible escape: \x1b, \xff, \u202e.
 *
 * Decoding follows Unicode's "maximal subpart" rule (Unicode 15, 3.9):
 * overlong forms, surrogates (ED A0..BF) and code points past U+10FFFF are
 * invalid; a truncated sequence is one replacement, its next byte starts
 * afresh.
 */
#ifndef PR_TEXT_H
#define PR_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define TEXT_INVALID 0xFFFFFFFFu

/* The sequence at p (n > 0 bytes): its length (>= 1) and code point in
 * *cp_r, or TEXT_INVALID with the length of the maximal invalid subpart. */
size_t text_utf8_next(const uint8_t *p, size_t n, uint32_t *cp_r);
/* Whether the n bytes at s are valid UTF-8 throughout (the same rules). */
bool text_is_utf8(const char *s, size_t n);
/* C0 (but TAB), DEL and C1 controls. */
bool text_is_control(uint32_t cp);

/* A clean copy of s (NULL stays NULL), allocated in a. */
char *text_clean(struct arena *a, const char *s);
char *text_cleann(struct arena *a, const char *s, size_t n);

/* The longest prefix of s, at most max bytes, that ends between two
 * characters (for "%.*s" columns: a cut sequence would print as garbage). */
size_t text_fit(const char *s, size_t max);

/* TEXT_MULTILINE: keep LF and TAB, and drop the CR of CRLF (a body). */
#define TEXT_MULTILINE 1u
/* An escaped copy of the n bytes at s for a terminal, in a. */
char *text_escape(struct arena *a, const char *s, size_t n, unsigned flags);

/* The n bytes at p as lowercase hex into out (2n + 1 bytes, terminated). */
void text_hex(const uint8_t *p, size_t n, char *out);
/* A hex digit's value (either case), or -1. */
int text_hex_digit(char c);
/* The reverse: exactly 2n hex digits (either case) at hex into out (n
 * bytes); false, out undefined, for any other text. */
bool text_unhex(const char *hex, uint8_t *out, size_t n);

#endif
