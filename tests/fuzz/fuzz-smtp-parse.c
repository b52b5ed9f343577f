/* fuzz-smtp-parse.c - libFuzzer target for smtp_parse_feed.
 *
 * The input is a client's byte stream.  It is parsed twice: whole, and
 * trickled in pieces of 1..7 bytes (sizes taken from the input itself).
 * Both runs must give the same commands and errors, in the same order
 * (Dovecot's trickle rule), and no command may carry a CR or LF: that is
 * what a smuggled line would look like.  A mismatch aborts, so libFuzzer
 * reports it like a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every result as "VERB|args;" or "!err;" into out. */
static void
parse_all(struct arena *a, const uint8_t *data, size_t size, size_t step, struct buf *out)
{
	struct smtp_limits lim = {.max_line = size > 0 && data[0] == 'L' ? 64 : 0};
	struct smtp_parser *p = smtp_parser_new(a, &lim);
	for (size_t off = 0, k = 0; off < size; k++) {
		size_t n = step ? 1 + (size_t)data[k % size] % step : size - off;
		n = n > size - off ? size - off : n;
		size_t used = 0;
		struct smtp_cmd cmd;
		enum pr_err err = PR_OK;
		int rc = smtp_parse_feed(p, data + off, n, &used, &cmd, &err);
		if (used > n || (rc != 0 && used == 0) || (rc == 0 && used != n))
			abort();
		off += used;
		if (rc == 1) {
			if (memchr(cmd.args, '\r', cmd.args_len) || memchr(cmd.args, '\n', cmd.args_len) ||
			    strlen(cmd.args) != cmd.args_len)
				abort();
			buf_printf(out, "%s|", cmd.verb);
			buf_add(out, cmd.args, cmd.args_len);
			buf_addch(out, ';');
		} else if (rc == -1) {
			buf_printf(out, "!%s;", pr_err_name(err));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct buf whole, trickled;
	buf_init(&whole, 1 << 24);
	buf_init(&trickled, 1 << 24);
	parse_all(a, data, size, 0, &whole);
	parse_all(a, data, size, 7, &trickled);
	if (whole.len != trickled.len ||
	    (whole.len > 0 && memcmp(whole.data, trickled.data, whole.len) != 0))
		abort();
	buf_free(&whole);
	buf_free(&trickled);
	arena_free(&a);
	return 0;
}
