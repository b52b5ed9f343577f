/* store_sqlite_zraw.c - the stored bytes of a short message are deflated.
 *
 * Why: a short message is mostly text, and text stored as it came was most
 * of what the store wrote per message (issue 12: 2.7x the bytes received).
 * zlib at its default level keeps 35-50% of mail text, costs well under a
 * millisecond for a message of a few KiB, and inflating it back for
 * `messages show` is cheaper still.  Only messages bound in one piece
 * (store_sqlite_msg.c, up to SQ_BIND_MAX) are deflated; larger ones are
 * streamed as they are.  The row says which (message_raw.codec), so rows
 * an older version wrote (codec 0) read as before.
 *
 * Where: deflating 256 KiB takes milliseconds, and inside the group
 * commit every message of the batch would wait for it, so the intake
 * worker packs the bytes (sq_raw_pack, through store_body_put) before the
 * message reaches the committer, which only binds them.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/spool.h"
#include "store/store_sqlite.h"

uint8_t *
sq_deflate(const uint8_t *in, size_t len, size_t *zlen_r)
{
	uLongf zlen = compressBound((uLong)len);
	uint8_t *z = xmalloc(zlen);
	/* Keep it plain unless it saves a tenth: not worth an inflate. */
	if (compress2(z, &zlen, in, (uLong)len, Z_DEFAULT_COMPRESSION) != Z_OK || zlen > len - len / 10) {
		free(z);
		return NULL;
	}
	*zlen_r = (size_t)zlen;
	return z;
}

int
sq_inflate(struct arena *a, const void *z, size_t zlen, size_t len, uint8_t **out_r,
           struct pr_why *why)
{
	/* len is the size the row says the message has (written with it). */
	uint8_t *out = arena_alloc(a, len + 1);
	uLongf got = (uLongf)len;
	if (len > SQ_BIND_MAX || uncompress(out, &got, z, (uLong)zlen) != Z_OK || got != len) {
		pr_why_set(why, PR_E_STORE_FAILED, "the stored bytes of a message do not inflate to its "
		           "%zu bytes: the store file is damaged; restore it from a backup", len);
		return -1;
	}
	out[len] = '\0';
	*out_r = out;
	return 0;
}

int
sq_raw_pack(const struct store_msg *m, struct sq_packed *p, struct pr_why *why)
{
	size_t plen = m->prepend ? strlen(m->prepend) : 0;
	size_t total = (size_t)store_msg_size(m);
	uint8_t *buf = xmalloc(total ? total : 1);
	if (plen)
		memcpy(buf, m->prepend, plen);
	if (m->raw && spool_read_exact(m->raw, 0, buf + plen, total - plen, why) < 0) {
		free(buf);
		return -1;
	}
	size_t zlen = 0;
	uint8_t *z = sq_deflate(buf, total, &zlen);
	if (z != NULL) {
		free(buf);
		*p = (struct sq_packed){.bytes = z, .len = zlen, .codec = SQ_RAW_DEFLATE};
	} else {
		*p = (struct sq_packed){.bytes = buf, .len = total, .codec = SQ_RAW_PLAIN};
	}
	return 0;
}
