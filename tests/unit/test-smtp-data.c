/* test-smtp-data.c - the DATA stream machine, fed whole and byte by byte.
 *
 * Each case gives the bytes after "354", whether DATA ends and how many
 * bytes that takes, the message that must land in the spool, and the
 * sticky error.  The smuggling table uses every fake end-of-data sequence
 * of ../shared/testdata/smtp: none may end DATA, all must be refused. */
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "smtp/smtp_data.h"
#include "test.h"

struct dcase {
	const char *in;
	size_t len;            /* 0: strlen(in) */
	int ends;              /* 1: the real end is in the input */
	size_t used;           /* bytes up to and including the end (if ends) */
	const char *msg;       /* NULL: do not compare (refused anyway) */
	const char *err;       /* pr_err name */
	uint64_t max_size;
};

static const struct dcase cases[] = {
	{".\r\n", 0, 1, 3, "", "accepted", 0},
	{"Subject: x\r\n\r\nbody\r\n.\r\n", 0, 1, 23, "Subject: x\r\n\r\nbody\r\n", "accepted", 0},
	{"a\r\n..b\r\n.\r\nQUIT\r\n", 0, 1, 11, "a\r\n.b\r\n", "accepted", 0},
	{"..\r\n.\r\n", 0, 1, 7, ".\r\n", "accepted", 0},
	{".x\r\n.\r\n", 0, 1, 7, "x\r\n", "accepted", 0},
	{"a\r\n. \r\n.\r\n", 0, 1, 10, "a\r\n \r\n", "accepted", 0},
	{"no end yet\r\n", 0, 0, 0, "no end yet\r\n", "accepted", 0},
	{"tail\r\n.\r", 0, 0, 0, "tail\r\n", "accepted", 0},
	{"nul\0byte\r\n.\r\n", 13, 1, 13, NULL, "accepted", 0},
	{"8bit \xc3\xa9\r\n.\r\n", 0, 1, 12, "8bit \xc3\xa9\r\n", "accepted", 0},
	/* size: exactly the limit passes, one more byte is refused */
	{"12345678\r\n.\r\n", 0, 1, 13, "12345678\r\n", "accepted", 10},
	{"123456789\r\n.\r\n", 0, 1, 14, NULL, "too_large", 10},
	/* bare LF / bare CR anywhere: sticky, refused at the real end */
	{"a\nb\r\n.\r\n", 0, 1, 8, NULL, "bare_lf", 0},
	{"a\rb\r\n.\r\n", 0, 1, 8, NULL, "bare_lf", 0},
	{"a\r\r\n.\r\n", 0, 1, 7, NULL, "bare_lf", 0},
	{"\n.\r\n", 0, 0, 0, NULL, "bare_lf", 0},
	{".\n.\r\n", 0, 0, 0, NULL, "bare_lf", 0},
	{".\r.\r\n", 0, 0, 0, NULL, "bare_lf", 0},
};

/* The fake end-of-data sequences (smuggling-vectors.json), each followed
 * by a smuggled transaction and then the real end. */
static const char *const fake_ends[] = {
	"\n.\n", "\r.\r", "\r.\n", "\n.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r",
	"\r\n.\r\r\n", "\r\r\n.\r\r\n",
};

static void
run(const struct dcase *c, size_t step, int *ends_r, size_t *used_r, struct spool **sp_r,
    struct smtp_data **d_r, struct arena *a)
{
	struct spool *sp = spool_new(a, NULL);
	struct smtp_data_limits lim = {.max_size = c->max_size};
	struct smtp_data *d = smtp_data_new(a, sp, &lim);
	size_t len = c->len ? c->len : strlen(c->in);
	*ends_r = 0;
	*used_r = 0;
	for (size_t off = 0; off < len && !*ends_r;) {
		size_t n = len - off < step ? len - off : step, used = 0;
		*ends_r = smtp_data_feed(d, (const uint8_t *)c->in + off, n, &used);
		CHECK(used <= n);
		off += used;
		*used_r = off;
	}
	smtp_data_flush(d);       /* a message without its end is still staged */
	spool_finish(sp);
	*sp_r = sp;
	*d_r = d;
}

static void
check_case(size_t i, const struct dcase *c, size_t step)
{
	struct arena *a = arena_new();
	int ends;
	size_t used;
	struct spool *sp;
	struct smtp_data *d;
	run(c, step, &ends, &used, &sp, &d, a);
	const char *how = step == 1 ? "trickled" : "whole";
	if (ends != c->ends || (ends && used != c->used)) {
		test_cur_failed++;
		fprintf(stderr, "case %zu %s: got ends=%d used=%zu, want ends=%d used=%zu\n", i, how,
		        ends, used, c->ends, c->used);
	}
	const char *err = pr_err_name(smtp_data_error(d));
	if (strcmp(err, c->err) != 0) {
		test_cur_failed++;
		fprintf(stderr, "case %zu %s: got error %s, want %s\n", i, how, err, c->err);
	}
	if (c->msg != NULL) {
		const char *got = (const char *)spool_memory(sp);
		size_t glen = (size_t)spool_size(sp);
		if (glen != strlen(c->msg) || memcmp(got, c->msg, glen) != 0) {
			test_cur_failed++;
			fprintf(stderr, "case %zu %s: got message \"%.*s\", want \"%s\"\n", i, how,
			        (int)glen, got, c->msg);
		}
	}
	arena_free(&a);
}

TEST(table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_case(i, &cases[i], (size_t)-1);
		check_case(i, &cases[i], 1);
	}
}

TEST(smuggling_never_ends_early)
{
	char in[512];
	for (size_t i = 0; i < sizeof(fake_ends) / sizeof(fake_ends[0]); i++) {
		int n = snprintf(in, sizeof(in),
		                 "Subject: one\r\n\r\nbody%sMAIL FROM:<smuggled@x>\r\nRCPT TO:<a@b>\r\n"
		                 "DATA\r\nSubject: two\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n", fake_ends[i]);
		CHECK(n > 0 && (size_t)n < sizeof(in));
		const char *real_end = strstr(in, "smuggled\r\n.\r\n");
		CHECK(real_end != NULL);
		struct dcase c = {in, (size_t)n, 1, (size_t)(real_end - in) + 13, NULL, "bare_lf", 0};
		check_case(100 + i, &c, (size_t)-1);
		check_case(100 + i, &c, 1);
	}
}

/* The NUL variants are not fake ends: the text stays in the one message. */
TEST(nul_sequences_are_data)
{
	static const char in[] = "a\r\n\0.\r\nMAIL FROM:<s@x>\r\n.\0\r\nb\r\n.\r\n";
	struct dcase c = {in, sizeof(in) - 1, 1, sizeof(in) - 1, NULL, "accepted", 0};
	check_case(200, &c, (size_t)-1);
	check_case(200, &c, 1);
}

/* Past 256 KiB the spool spills to a file; the bytes must be exact. */
TEST(large_message_spills_exactly)
{
	struct arena *a = arena_new();
	struct spool *sp = spool_new(a, NULL);
	struct smtp_data *d = smtp_data_new(a, sp, NULL);
	size_t lines = 20000, used;
	static const char line[] = "0123456789012345678901234567890123456789\r\n";
	static const char stuffed[] = "..dot line\r\n";
	int ends = 0;
	for (size_t i = 0; i < lines; i++) {
		ends |= smtp_data_feed(d, (const uint8_t *)line, sizeof(line) - 1, &used);
		ends |= smtp_data_feed(d, (const uint8_t *)stuffed, sizeof(stuffed) - 1, &used);
	}
	CHECK_INT(ends, 0);
	CHECK_INT(smtp_data_feed(d, (const uint8_t *)".\r\n", 3, &used), 1);
	spool_finish(sp);
	CHECK_STR(pr_err_name(smtp_data_error(d)), "accepted");
	uint64_t want = lines * (sizeof(line) - 1 + sizeof(stuffed) - 2);
	CHECK_INT(spool_size(sp), want);
	CHECK(spool_memory(sp) == NULL);
	char buf[64];
	CHECK_INT(spool_read_at(sp, sizeof(line) - 1, buf, 11), 11);
	CHECK(memcmp(buf, ".dot line\r\n", 11) == 0);
	arena_free(&a);
}

TEST(long_data_line_refused)
{
	struct arena *a = arena_new();
	struct smtp_data_limits lim = {.max_line = 100};
	struct smtp_data *d = smtp_data_new(a, NULL, &lim);
	char in[300];
	memset(in, 'x', 200);
	memcpy(in + 200, "\r\n.\r\n", 5);
	size_t used;
	CHECK_INT(smtp_data_feed(d, (const uint8_t *)in, 205, &used), 1);
	CHECK_STR(pr_err_name(smtp_data_error(d)), "line_too_long");
	arena_free(&a);
}

int
main(void)
{
	RUN(table);
	RUN(smuggling_never_ends_early);
	RUN(nul_sequences_are_data);
	RUN(large_message_spills_exactly);
	RUN(long_data_line_refused);
	return test_summary("smtp-data");
}
