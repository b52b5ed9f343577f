/* store_sqlite_zstd.c - Zstandard with the preset dictionaries: how the
 * SQLite store packs a short message's bytes and its JSON columns since
 * codec SQ_RAW_ZSTD1 / SQ_TEXT_ZSTD1 (store_sqlite_zraw.c reads both
 * these and the deflated rows written before).
 *
 * Why not zlib any more: every message a busy server receives is packed
 * on its intake worker, and zlib's fastest level took 95-119 us for a
 * message of ../shared/testdata/mime (12.7 KB on average) and kept 28.7%
 * of its bytes; zstd's level 1 with the same dictionary keeps 27.4% in
 * about 28 us (bench/pack-codecs.c prints both).  On bench/smtp-intake's
 * checks mode deflate was 6% of serve's CPU.
 *
 * The dictionaries are the deflate ones (store_sqlite_zdict.c), used as
 * raw content: zstd would parse a buffer that starts with its dictionary
 * magic number (0xEC30A437) as a trained dictionary, and ours start with
 * "Content-Type" and '{', and are never edited.  The frame names no
 * dictionary; the codec says which.  One compressed and one decompressed dictionary
 * of each, made once and shared (zstd only reads them); one compression
 * and one decompression context a thread, kept and reused, since making
 * one costs more than packing a short message.  A frame records the
 * size it holds, and unpacking checks it against the row's. */
#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_sqlite.h"

/* zstd's fastest regular level; its negative levels save a few us more
 * and keep a fifth more bytes (bench/pack-codecs.c). */
#define ZSTD_LEVEL 1

struct zctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
};

static ZSTD_CDict *cdicts[2];
static ZSTD_DDict *ddicts[2];
static pthread_key_t ctx_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
ctx_free(void *p)
{
	struct zctx *z = p;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void
make_dicts(void)
{
	if (pthread_key_create(&ctx_key, ctx_free) != 0)
		pr_panic("pthread_key_create failed");
	for (int i = 0; i < 2; i++) {
		size_t len;
		const void *dict = sq_zdict(i == 0 ? SQ_ZDICT_RAW1 : SQ_ZDICT_JSON1, &len);
		cdicts[i] = ZSTD_createCDict(dict, len, ZSTD_LEVEL);
		ddicts[i] = ZSTD_createDDict(dict, len);
		if (cdicts[i] == NULL || ddicts[i] == NULL)
			pr_panic("zstd cannot load the store's dictionaries: out of memory");
	}
}

static int
dict_index(enum sq_zdict_id d)
{
	return d == SQ_ZDICT_RAW1 ? 0 : 1;
}

/* This thread's contexts; NULL if there is no memory for them. */
static struct zctx *
thread_ctx(void)
{
	pthread_once(&once, make_dicts);
	struct zctx *z = pthread_getspecific(ctx_key);
	if (z != NULL)
		return z;
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	if (z->c == NULL || z->d == NULL || pthread_setspecific(ctx_key, z) != 0) {
		ctx_free(z);
		return NULL;
	}
	return z;
}

uint8_t *
sq_zstd_pack(const uint8_t *in, size_t len, enum sq_zdict_id d, size_t header, size_t *zlen_r)
{
	struct zctx *z = thread_ctx();
	if (z == NULL || len > SQ_BIND_MAX)
		return NULL;
	size_t cap = header + ZSTD_compressBound(len);
	uint8_t *out = xmalloc(cap);
	size_t n = ZSTD_compress_usingCDict(z->c, out + header, cap - header, in, len,
	                                    cdicts[dict_index(d)]);
	if (ZSTD_isError(n) || header + n > len - len / 10) {
		free(out);
		return NULL;
	}
	*zlen_r = header + n;
	return out;
}

bool
sq_zstd_unpack(const void *zb, size_t zlen, enum sq_zdict_id d, uint8_t *out, size_t len)
{
	struct zctx *z = thread_ctx();
	if (z == NULL || ZSTD_getFrameContentSize(zb, zlen) != (unsigned long long)len)
		return false;
	size_t n = ZSTD_decompress_usingDDict(z->d, out, len, zb, zlen, ddicts[dict_index(d)]);
	return !ZSTD_isError(n) && n == len;
}
