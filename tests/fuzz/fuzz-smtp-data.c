/* fuzz-smtp-data.c - libFuzzer target for the DATA stream (smtp_data_feed).
 *
 * The input is what a client sends after "354".  Checks, each an abort:
 *  - fed whole and trickled in 1..7-byte pieces, the end position, the
 *    size, the sticky error and the spooled message are the same;
 *  - an accepted message has CRLF line ends only (no smuggled bare LF/CR);
 *  - dot-stuffing the accepted message again and appending ".\r\n" gives
 *    back exactly that message, ending exactly at the new final dot.
 * An input starting with 'S' gets tiny limits so the size and line-length
 * errors are reachable.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/spool.h"
#include "smtp/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	int ends;
	size_t used;
	uint64_t size;
	enum pr_err err;
	struct buf msg;
};

static void
feed(const uint8_t *data, size_t size, bool tiny, const uint8_t *steps, size_t nsteps,
     struct run *r)
{
	struct arena *a = arena_new();
	struct spool *sp = spool_new(a, NULL);
	struct smtp_data_limits lim = {.max_size = tiny ? 64 : 0, .max_line = tiny ? 16 : 0};
	struct smtp_data *d = smtp_data_new(a, sp, &lim);
	memset(r, 0, sizeof(*r));
	for (size_t off = 0, k = 0; off < size && !r->ends; k++) {
		size_t n = nsteps ? 1 + (size_t)steps[k % nsteps] % 7 : size - off, used = 0;
		n = n > size - off ? size - off : n;
		r->ends = smtp_data_feed(d, data + off, n, &used);
		if (used > n || (!r->ends && used != n))
			abort();
		off += used;
		r->used = off;
	}
	spool_finish(sp);
	r->size = smtp_data_size(d);
	r->err = smtp_data_error(d);
	buf_init(&r->msg, 1 << 24);
	uint8_t tmp[4096];
	ssize_t got;
	for (uint64_t off = 0; (got = spool_read_at(sp, off, tmp, sizeof(tmp))) > 0; off += (uint64_t)got)
		buf_add(&r->msg, tmp, (size_t)got);
	arena_free(&a);
}

/* The error must not depend on how the bytes were split into reads (this
 * once differed when one run crossed both the size and the line limit). */
static bool
same_err(enum pr_err x, enum pr_err y)
{
	return x == y;
}

static bool
same(const struct run *x, const struct run *y)
{
	return x->ends == y->ends && x->used == y->used && x->size == y->size && same_err(x->err, y->err) &&
	       (x->err != PR_OK || (x->msg.len == y->msg.len &&
	                            (x->msg.len == 0 || memcmp(x->msg.data, y->msg.data, x->msg.len) == 0)));
}

/* CRLF only, then stuff it again and parse that: must round-trip. */
static void
check_accepted(const struct run *r)
{
	struct buf s;
	buf_init(&s, 1 << 25);
	for (size_t i = 0; i < r->msg.len; i++) {
		uint8_t c = r->msg.data[i];
		if ((c == '\r' && (i + 1 == r->msg.len || r->msg.data[i + 1] != '\n')) ||
		    (c == '\n' && (i == 0 || r->msg.data[i - 1] != '\r')))
			abort();
		if (c == '.' && (i == 0 || r->msg.data[i - 1] == '\n'))
			buf_addch(&s, '.');
		buf_addch(&s, (char)c);
	}
	buf_add(&s, ".\r\n", 3);
	struct run back;
	feed(s.data, s.len, false, NULL, 0, &back);
	if (!back.ends || back.used != s.len || back.err != PR_OK || back.msg.len != r->msg.len ||
	    (r->msg.len > 0 && memcmp(back.msg.data, r->msg.data, r->msg.len) != 0))
		abort();
	buf_free(&back.msg);
	buf_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, trickled;
	bool tiny = size > 0 && data[0] == 'S';
	feed(data, size, tiny, NULL, 0, &whole);
	feed(data, size, tiny, data, size, &trickled);
	if (!same(&whole, &trickled))
		abort();
	if (whole.ends && whole.err == PR_OK && !tiny)
		check_accepted(&whole);
	buf_free(&whole.msg);
	buf_free(&trickled.msg);
	return 0;
}
