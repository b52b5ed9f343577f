/* store_sqlite_zraw.c - a short message's bytes, and the JSON and the
 * References kept beside every message, are stored packed.
 *
 * Why: a short message is mostly text, and text stored as it came was most
 * of what the store wrote per message (issue 12: 2.7x the bytes received).
 * Packing keeps a third or less of mail text and costs tens of
 * microseconds for a message of a few KiB; unpacking it for `messages
 * show` is cheaper still.  New rows are packed with zstd level 1
 * (store_sqlite_zstd.c, which says why not zlib any more); rows deflated
 * by earlier versions are read here as they always were.  With a preset
 * dictionary (store_sqlite_zdict.c) the headers and JSON every row repeats
 * cost little more than a back-reference each.
 *
 * How a row says what it holds, so that rows an older version wrote read
 * as before:
 * - message_raw.codec: SQ_RAW_PLAIN (0), SQ_RAW_DEFLATE (1: a zlib stream,
 *   no dictionary; written before codec 2), SQ_RAW_DICT1 (2: raw deflate
 *   with the first message dictionary; written before codec 3) or
 *   SQ_RAW_ZSTD1 (3: a zstd frame, the same dictionary as raw content).
 *   Only messages bound in one piece (store_sqlite_msg.c, up to
 *   SQ_BIND_MAX) are packed; larger ones are streamed plain, or kept as
 *   files (store_sqlite_body.c).
 * - messages.parsed_json / auth_json / refs: a TEXT value is the text as
 *   it is; a BLOB is a type byte, the text's length (4 bytes,
 *   little-endian) and the packed text with the JSON dictionary: raw
 *   deflate after SQ_TEXT_DICT1, a zstd frame after SQ_TEXT_ZSTD1.  refs
 *   (a thread's References: message-ids sharing their right-hand sides)
 *   is no JSON, but the dictionary costs it nothing and the column's own
 *   repetition is what packing finds: 142 -> 54 bytes in bench/growth.
 * A value is stored plain when packing would not save a tenth.
 *
 * Where: packing 256 KiB takes milliseconds, and inside the group commit
 * every message of the batch would wait for it, so the intake worker
 * packs (sq_raw_pack, sq_text_pack, through store_body_put) before the
 * message reaches the committer, which only binds.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/spool.h"
#include "store/store_sqlite.h"

/* Shorter JSON is not worth a blob: the 5-byte header eats the saving. */
#define TEXT_PACK_MIN 32
#define TEXT_HEADER 5

/* Exactly len bytes into out from a raw deflate stream with dictionary d. */
static bool
inflate_dict(const void *z, size_t zlen, enum sq_zdict_id d, uint8_t *out, size_t len)
{
	z_stream s;
	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
		return false;
	size_t dlen;
	const void *dict = sq_zdict(d, &dlen);
	s.next_in = (Bytef *)z;
	s.avail_in = (uInt)zlen;
	s.next_out = out;
	s.avail_out = (uInt)len;
	bool ok = inflateSetDictionary(&s, dict, (uInt)dlen) == Z_OK && inflate(&s, Z_FINISH) == Z_STREAM_END &&
	          s.total_out == len && s.avail_in == 0;
	inflateEnd(&s);
	return ok;
}

int
sq_inflate(struct arena *a, int codec, const void *z, size_t zlen, size_t len, uint8_t **out_r,
           struct pr_why *why)
{
	/* len is the size the row says the message has (written with it). */
	uint8_t *out = arena_alloc(a, len + 1);
	uLongf got = (uLongf)len;
	bool ok = len <= SQ_BIND_MAX && zlen <= SQ_BIND_MAX &&
	          (codec == SQ_RAW_ZSTD1 ? sq_zstd_unpack(z, zlen, SQ_ZDICT_RAW1, out, len)
	           : codec == SQ_RAW_DICT1 ? inflate_dict(z, zlen, SQ_ZDICT_RAW1, out, len)
	           : codec == SQ_RAW_DEFLATE && uncompress(out, &got, z, (uLong)zlen) == Z_OK && got == len);
	if (!ok) {
		pr_why_set(why, PR_E_STORE_FAILED, "the stored bytes of a message (codec %d) do not inflate to "
		           "its %zu bytes: the store file is damaged; restore it from a backup", codec, len);
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
	uint8_t *z = sq_zstd_pack(buf, total, SQ_ZDICT_RAW1, 0, &zlen);
	if (z != NULL) {
		free(buf);
		*p = (struct sq_packed){.bytes = z, .len = zlen, .codec = SQ_RAW_ZSTD1};
	} else {
		*p = (struct sq_packed){.bytes = buf, .len = total, .codec = SQ_RAW_PLAIN};
	}
	return 0;
}

void
sq_text_pack(const char *text, struct sq_ztext *out)
{
	*out = (struct sq_ztext){.tried = true};
	size_t len = text ? strlen(text) : 0, zlen = 0;
	uint8_t *z = len >= TEXT_PACK_MIN ? sq_zstd_pack((const uint8_t *)text, len, SQ_ZDICT_JSON1,
	                                                 TEXT_HEADER, &zlen) : NULL;
	if (z == NULL)
		return;
	z[0] = SQ_TEXT_ZSTD1;
	for (int i = 0; i < 4; i++)
		z[1 + i] = (uint8_t)(len >> (8 * i));
	out->bytes = z;
	out->len = zlen;
}

void
sq_bind_ztext(sqlite3_stmt *s, int i, const char *text, const struct sq_ztext *packed)
{
	struct sq_ztext now;
	if (packed == NULL || !packed->tried) {
		sq_text_pack(text, &now);
		if (now.bytes != NULL) {
			sqlite3_bind_blob64(s, i, now.bytes, now.len, free);
			return;
		}
	} else if (packed->bytes != NULL) {
		sqlite3_bind_blob64(s, i, packed->bytes, packed->len, SQLITE_STATIC);
		return;
	}
	sq_bind_text(s, i, text);
}

const char *
sq_text_unpack(struct arena *a, const void *blob, size_t n)
{
	const uint8_t *b = blob;
	if (n < TEXT_HEADER || (b[0] != SQ_TEXT_DICT1 && b[0] != SQ_TEXT_ZSTD1))
		return NULL;
	size_t len = (size_t)b[1] | (size_t)b[2] << 8 | (size_t)b[3] << 16 | (size_t)b[4] << 24;
	if (len > SQ_BIND_MAX)
		return NULL;
	uint8_t *out = arena_alloc(a, len + 1);
	bool ok = b[0] == SQ_TEXT_ZSTD1 ? sq_zstd_unpack(b + TEXT_HEADER, n - TEXT_HEADER, SQ_ZDICT_JSON1, out, len)
	                                : inflate_dict(b + TEXT_HEADER, n - TEXT_HEADER, SQ_ZDICT_JSON1, out, len);
	if (!ok ||
	    memchr(out, '\0', len) != NULL)
		return NULL;
	out[len] = '\0';
	return (const char *)out;
}

const char *
sq_col_ztext(struct arena *a, sqlite3_stmt *s, int col)
{
	if (sqlite3_column_type(s, col) != SQLITE_BLOB)
		return sq_col_text(a, s, col);
	const char *t = sq_text_unpack(a, sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col));
	if (t == NULL)
		log_warn("store: column %s of a row does not inflate: the store file is damaged; "
		         "restore it from a backup", sqlite3_column_name(s, col));
	return t;
}
