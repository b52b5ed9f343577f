/* buf.h - growable byte buffer with a mandatory ceiling and a sticky error.
 *
 * buf_init(&b, max): appends past max set b.err = PR_E_TOO_LONG and are
 * ignored from then on, so a caller appends freely and checks once (curl
 * dynbuf).  The data is always NUL-terminated for convenience, but it is
 * bytes: use b.len, never strlen.
 */
#ifndef PR_BUF_H
#define PR_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct buf {
	uint8_t *data;
	size_t len, cap, max;
	enum pr_err err;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);          /* len = 0, err cleared, memory kept */
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drop the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);
const char *buf_cstr(const struct buf *b);   /* "" when empty */

#endif
