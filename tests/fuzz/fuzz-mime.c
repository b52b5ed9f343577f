/* fuzz-mime.c - libFuzzer target for mime_parse and mime_write_attachment.
 *
 * Build and run (seeded with the 208 corpus messages):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -DHAVE_YTNEF=1 -Isrc \
 *     tests/fuzz/fuzz-mime.c src/mime/mime*.c src/core/{arena,buf,err,log,spool}.c \
 *     $(pkg-config --cflags --libs gmime-3.0 jansson openssl libytnef) -o fuzz-mime
 *   ./fuzz-mime -max_len=65536 -rss_limit_mb=1024 ../shared/testdata/mime/...
 * Any crash, leak, or time-out is a bug; -1 (unreadable) is a fine answer.
 */
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct spool *s = spool_from_bytes(a, NULL, data, size);
	struct mime_info m;
	struct pr_why why;
	if (mime_parse(s, a, &m, &why) == 0 && m.nparts > 0) {
		FILE *f = fopen("/dev/null", "w");
		if (f != NULL) {
			mime_write_attachment(data, size, (int)m.nparts, f, &why);
			fclose(f);
		}
	}
	arena_free(&a);
	return 0;
}
