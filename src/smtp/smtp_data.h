/* smtp_data.h - the DATA stream: CRLF rules, dot-unstuffing, size.
 *
 * Feed the bytes after "354"; the machine writes the message (unstuffed,
 * byte-exact otherwise) into a spool and says when the end came.  Only
 * CR LF "." CR LF ends DATA (RFC 5321 4.1.1.4).  Every other dot sequence
 * (\n.\n, \r.\r, \r\n.\n, ...) is ordinary data, and a bare LF or bare CR
 * anywhere sets a sticky PR_E_BARE_LF, so the message is refused at the
 * final dot: a smuggled second message can neither end DATA early nor be
 * stored inside the first one.
 *
 * Errors are sticky (OpenSMTPD): once set, bytes are no longer written to
 * the spool, but the machine keeps reading to the real end so the session
 * stays in step with the client, then the caller answers with the error:
 *   PR_E_BARE_LF       554 5.6.11
 *   PR_E_TOO_BIG       552 5.3.4  (more than lim->max_size bytes)
 *   PR_E_LINE_TOO_LONG 500 5.5.6  (a line over PR_SMTP_MAX_DATA_LINE)
 *   PR_E_IO            451 4.3.0  (the spool could not be written)
 */
#ifndef PR_SMTP_DATA_H
#define PR_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;
struct spool;

struct smtp_data_limits {
	uint64_t max_size;        /* message bytes after unstuffing; 0: PR_MAX_MESSAGE_SIZE */
	size_t max_line;          /* 0: PR_SMTP_MAX_DATA_LINE */
};

struct smtp_data;

/* out may be NULL (count and check only).  Allocated in a. */
struct smtp_data *smtp_data_new(struct arena *a, struct spool *out,
                                const struct smtp_data_limits *lim);
/* Returns 1 when the final CRLF.CRLF was consumed (*used_r counts up to
 * and including it; the rest of data belongs to the next command), or 0
 * when all of data was consumed and more is needed.  Bytes reach the spool
 * in writes of up to 64 KiB: all of them once 1 is returned, before that
 * only after smtp_data_flush(). */
int smtp_data_feed(struct smtp_data *d, const uint8_t *data, size_t len, size_t *used_r);
void smtp_data_flush(struct smtp_data *d);
/* PR_OK or the first sticky error. */
enum pr_err smtp_data_error(const struct smtp_data *d);
/* Message bytes seen so far (after unstuffing), also past the limit. */
uint64_t smtp_data_size(const struct smtp_data *d);

#endif
