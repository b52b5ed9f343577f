/* deflate-levels.c - what each zlib level costs the store's message bytes.
 *
 *   cc -O2 -Isrc bench/deflate-levels.c build/libpostroom.a -lz -o /tmp/deflate-levels
 *   /tmp/deflate-levels LEVEL FILE...      (e.g. every file of ../shared/testdata/mime)
 *
 * Deflates each file as store_sqlite_zraw.c does (raw deflate, one stream
 * reset per message, the message dictionary preset), 20 times over, and
 * prints the bytes kept and the time per message.  Files over 200 KB are
 * skipped (the store streams those plain).  Only measures; no peer: the
 * choice it informs is between zlib's own levels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "store/store_sqlite.h"

#define MAX_FILES 5000
#define MAX_BYTES 200000
#define ROUNDS 20

static unsigned char *load(const char *path, size_t *len_r)
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

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: deflate-levels LEVEL FILE...\n");
		return 2;
	}
	static unsigned char *msg[MAX_FILES];
	static size_t len[MAX_FILES];
	size_t n = 0, total = 0;
	for (int i = 2; i < argc && n < MAX_FILES; i++)
		if ((msg[n] = load(argv[i], &len[n])) != NULL)
			total += len[n++];
	if (n == 0) {
		fprintf(stderr, "deflate-levels: no file of 1 to %d bytes\n", MAX_BYTES);
		return 2;
	}
	int level = atoi(argv[1]);
	size_t dlen;
	const void *dict = sq_zdict(SQ_ZDICT_RAW1, &dlen);
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 1;
	unsigned char *out = malloc(deflateBound(&z, MAX_BYTES));
	size_t kept = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < ROUNDS; r++) {
		kept = 0;
		for (size_t i = 0; i < n; i++) {
			deflateReset(&z);
			deflateSetDictionary(&z, dict, (uInt)dlen);
			z.next_in = msg[i];
			z.avail_in = (uInt)len[i];
			z.next_out = out;
			z.avail_out = (uInt)deflateBound(&z, MAX_BYTES);
			if (deflate(&z, Z_FINISH) != Z_STREAM_END)
				return 1;
			kept += z.total_out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("level %d: %zu messages of %zu bytes on average: %.1f%% of the bytes kept, %.1f us a message\n",
	       level, n, total / n, 100.0 * (double)kept / (double)total, secs / ROUNDS / (double)n * 1e6);
	deflateEnd(&z);
	return 0;
}
