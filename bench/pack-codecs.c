/* pack-codecs.c - what packing the store's message bytes costs: zlib's
 * levels (what the store wrote before zstd) against zstd's, in one run.
 *
 *   cc -O2 -Isrc bench/pack-codecs.c build/libpostroom.a -lz -lzstd -o /tmp/pack-codecs
 *   /tmp/pack-codecs FILE...      (e.g. every file of ../shared/testdata/mime)
 *
 * Packs each file as store_sqlite_zraw.c and store_sqlite_zstd.c do, with
 * the message dictionary (zlib: raw deflate, one stream reset per message;
 * zstd: a shared dictionary and one reused context), 20 times over, and
 * prints the bytes kept and the time per message for zlib levels 1 and 6
 * and zstd levels -1, 1 and 3.  Files over 200 KB are skipped (the store
 * streams those plain).  Each packed message is unpacked once and compared,
 * so a codec that lost bytes would say so rather than look fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

#include "store/store_sqlite.h"

#define MAX_FILES 5000
#define MAX_BYTES 200000
#define ROUNDS 20

static unsigned char *msg[MAX_FILES];
static size_t len[MAX_FILES];
static size_t nmsg, total;
static unsigned char out[MAX_BYTES * 2], back[MAX_BYTES + 1];

static unsigned char *
load(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	unsigned char *buf = malloc(MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (n == 0 || n > MAX_BYTES) {
		free(buf);
		return NULL;
	}
	*len_r = n;
	return buf;
}

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
report(const char *codec, int level, size_t kept, double secs)
{
	printf("%-5s level %2d: %.1f%% of the bytes kept, %.1f us a message\n", codec, level,
	       100.0 * (double)kept / (double)total, secs / ROUNDS / (double)nmsg * 1e6);
}

/* zlib's raw deflate with the dictionary; 0 if a message does not
 * inflate back to itself. */
static int
run_zlib(int level, const void *dict, size_t dlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	size_t kept = 0;
	double t0 = now();
	for (int r = 0; r < ROUNDS; r++) {
		kept = 0;
		for (size_t i = 0; i < nmsg; i++) {
			deflateReset(&z);
			deflateSetDictionary(&z, dict, (uInt)dlen);
			z.next_in = msg[i], z.avail_in = (uInt)len[i];
			z.next_out = out, z.avail_out = sizeof(out);
			if (deflate(&z, Z_FINISH) != Z_STREAM_END)
				return 0;
			kept += z.total_out;
			if (r == 0) {
				z_stream u;
				memset(&u, 0, sizeof(u));
				inflateInit2(&u, -MAX_WBITS);
				inflateSetDictionary(&u, dict, (uInt)dlen);
				u.next_in = out, u.avail_in = (uInt)z.total_out;
				u.next_out = back, u.avail_out = sizeof(back);
				int ok = inflate(&u, Z_FINISH) == Z_STREAM_END && u.total_out == len[i] &&
				         memcmp(back, msg[i], len[i]) == 0;
				inflateEnd(&u);
				if (!ok)
					return 0;
			}
		}
	}
	report("zlib", level, kept, now() - t0);
	deflateEnd(&z);
	return 1;
}

static int
run_zstd(int level, const void *dict, size_t dlen)
{
	ZSTD_CDict *cd = ZSTD_createCDict(dict, dlen, level);
	ZSTD_DDict *dd = ZSTD_createDDict(dict, dlen);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t kept = 0;
	int ok = cd && dd && cc && dc;
	double t0 = now();
	for (int r = 0; r < ROUNDS && ok; r++) {
		kept = 0;
		for (size_t i = 0; i < nmsg && ok; i++) {
			size_t n = ZSTD_compress_usingCDict(cc, out, sizeof(out), msg[i], len[i], cd);
			ok = !ZSTD_isError(n);
			kept += n;
			if (ok && r == 0) {
				size_t b = ZSTD_decompress_usingDDict(dc, back, sizeof(back), out, n, dd);
				ok = !ZSTD_isError(b) && b == len[i] && memcmp(back, msg[i], b) == 0;
			}
		}
	}
	if (ok)
		report("zstd", level, kept, now() - t0);
	ZSTD_freeCDict(cd);
	ZSTD_freeDDict(dd);
	ZSTD_freeCCtx(cc);
	ZSTD_freeDCtx(dc);
	return ok;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc && nmsg < MAX_FILES; i++)
		if ((msg[nmsg] = load(argv[i], &len[nmsg])) != NULL)
			total += len[nmsg++];
	if (nmsg == 0) {
		fprintf(stderr, "pack-codecs: no file of 1 to %d bytes\n", MAX_BYTES);
		return 2;
	}
	size_t dlen;
	const void *dict = sq_zdict(SQ_ZDICT_RAW1, &dlen);
	printf("%zu messages of %zu bytes on average, the message dictionary preset\n", nmsg, total / nmsg);
	static const int zlib_levels[] = {1, 6}, zstd_levels[] = {-1, 1, 3};
	for (size_t i = 0; i < 2; i++)
		if (!run_zlib(zlib_levels[i], dict, dlen)) {
			fprintf(stderr, "pack-codecs: zlib level %d failed or did not read back\n", zlib_levels[i]);
			return 1;
		}
	for (size_t i = 0; i < 3; i++)
		if (!run_zstd(zstd_levels[i], dict, dlen)) {
			fprintf(stderr, "pack-codecs: zstd level %d failed or did not read back\n", zstd_levels[i]);
			return 1;
		}
	return 0;
}
