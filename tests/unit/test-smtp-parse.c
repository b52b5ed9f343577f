/* test-smtp-parse.c - the SMTP command line splitter, fed whole and byte by
 * byte.  Each case lists the input and the expected sequence of results,
 * written as "VERB|args;" for a command and "!error_name;" for an error. */
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "smtp/smtp_parse.h"
#include "test.h"

struct pcase {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *want;
	size_t max_line;
};

static const struct pcase valid[] = {
	{"EHLO client.example\r\n", 0, "EHLO|client.example;", 0},
	{"ehlo x\r\nMAIL FROM:<a@b> SIZE=10\r\n", 0, "EHLO|x;MAIL|FROM:<a@b> SIZE=10;", 0},
	{"QUIT\r\n", 0, "QUIT|;", 0},
	{"\r\n", 0, "|;", 0},
	{"NOOP   spaced  \r\n", 0, "NOOP|spaced  ;", 0},
	{"RCPT TO:<x@y>\r\nDATA\r\n", 0, "RCPT|TO:<x@y>;DATA|;", 0},
	{"MaIl from:<>\r\n", 0, "MAIL|from:<>;", 0},
	{"NOOP\r\nNOO", 0, "NOOP|;", 0},                     /* partial line waits */
	{"X-ODD-VERB arg\r\n", 0, "?|arg;", 0},              /* not letters */
	{"AVERYVERYLONGVERB arg\r\n", 0, "?|arg;", 0},       /* > 15 letters */
	{"1234567890\r\n", 10, "", 0},                       /* no CRLF in the first 10 */
	{"HELO 8bit\xe9\r\n", 0, "HELO|8bit\xe9;", 0},
};

static const struct pcase invalid[] = {
	{"NOOP\n", 0, "!bare_lf;", 0},
	{"NOOP\nQUIT\r\n", 0, "!bare_lf;QUIT|;", 0},
	{"NOOP\rQUIT\r\nRSET\r\n", 0, "!bare_lf;RSET|;", 0},       /* resync at the LF */
	{"NOOP\r\r\nRSET\r\n", 0, "!bare_lf;RSET|;", 0},
	{"\n\n\r\n", 0, "!bare_lf;!bare_lf;|;", 0},
	{"0123456789ABCDEF\r\nNOOP\r\n", 0, "!line_too_long;NOOP|;", 10},
	{"ABCDEFGHIJ\r\n", 0, "ABCDEFGHIJ|;", 10},                  /* exactly the limit */
	{"01234567890\r\nNOOP\r\n", 0, "!line_too_long;NOOP|;", 10},
	{"HELO a\0b\r\nNOOP\r\n", 12, "!syntax;", 0},
	{"HELO a\0b\r\nNOOP\r\n", 16, "!syntax;NOOP|;", 0},
	{"MAIL FROM:<a@b>\r\n.\n\r\nQUIT\r\n", 0, "MAIL|FROM:<a@b>;!bare_lf;|;QUIT|;", 0},
};

static void
add_result(struct buf *out, int rc, const struct smtp_cmd *cmd, enum pr_err err)
{
	if (rc == 1) {
		buf_printf(out, "%s|", cmd->verb);
		buf_add(out, cmd->args, cmd->args_len);
		buf_addch(out, ';');
	} else if (rc == -1) {
		buf_printf(out, "!%s;", pr_err_name(err));
	}
}

/* Feed in chunks of at most step bytes, collecting every result. */
static void
run_case(const struct pcase *c, size_t step, struct buf *out)
{
	struct arena *a = arena_new();
	struct smtp_limits lim = {.max_line = c->max_line};
	struct smtp_parser *p = smtp_parser_new(a, &lim);
	size_t len = c->len ? c->len : strlen(c->in);
	const uint8_t *data = (const uint8_t *)c->in;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < step ? len - off : step;
		size_t used = 0;
		struct smtp_cmd cmd;
		enum pr_err err = PR_OK;
		int rc = smtp_parse_feed(p, data + off, n, &used, &cmd, &err);
		CHECK(used <= n);
		CHECK(used > 0 || n == 0);
		add_result(out, rc, &cmd, err);
		off += used;
	}
	arena_free(&a);
}

static void
check_table(const struct pcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf whole, trickle;
		buf_init(&whole, 4096);
		buf_init(&trickle, 4096);
		run_case(&t[i], (size_t)-1, &whole);
		run_case(&t[i], 1, &trickle);
		if (strcmp(buf_cstr(&whole), t[i].want) != 0) {
			test_cur_failed++;
			fprintf(stderr, "case %zu whole: got \"%s\", want \"%s\"\n", i, buf_cstr(&whole), t[i].want);
		}
		if (strcmp(buf_cstr(&trickle), t[i].want) != 0) {
			test_cur_failed++;
			fprintf(stderr, "case %zu trickled: got \"%s\", want \"%s\"\n", i,
			        buf_cstr(&trickle), t[i].want);
		}
		buf_free(&whole);
		buf_free(&trickle);
	}
}

TEST(valid_lines) { check_table(valid, sizeof(valid) / sizeof(valid[0])); }
TEST(invalid_lines) { check_table(invalid, sizeof(invalid) / sizeof(invalid[0])); }

/* A 100 kB line must be refused once and cost no more than max_line. */
TEST(huge_line_resyncs)
{
	struct arena *a = arena_new();
	struct smtp_parser *p = smtp_parser_new(a, NULL);
	size_t n = 100 * 1024;
	uint8_t *big = xmalloc(n + 8);
	memset(big, 'A', n);
	memcpy(big + n, "\r\nNOOP\r\n", 8);
	int errors = 0, cmds = 0;
	for (size_t off = 0; off < n + 8;) {
		size_t used;
		struct smtp_cmd cmd;
		enum pr_err err;
		int rc = smtp_parse_feed(p, big + off, n + 8 - off, &used, &cmd, &err);
		errors += rc == -1;
		if (rc == 1) {
			cmds++;
			CHECK_STR(cmd.verb, "NOOP");
		}
		off += used;
	}
	CHECK_INT(errors, 1);
	CHECK_INT(cmds, 1);
	CHECK(arena_used(a) < 8192);
	free(big);
	arena_free(&a);
}

TEST(reset_drops_partial)
{
	struct arena *a = arena_new();
	struct smtp_parser *p = smtp_parser_new(a, NULL);
	size_t used;
	struct smtp_cmd cmd;
	enum pr_err err;
	CHECK_INT(smtp_parse_feed(p, (const uint8_t *)"MAIL FR", 7, &used, &cmd, &err), 0);
	smtp_parser_reset(p);
	CHECK_INT(smtp_parse_feed(p, (const uint8_t *)"EHLO x\r\n", 8, &used, &cmd, &err), 1);
	CHECK_STR(cmd.verb, "EHLO");
	CHECK_STR(cmd.args, "x");
	arena_free(&a);
}

int
main(void)
{
	RUN(valid_lines);
	RUN(invalid_lines);
	RUN(huge_line_resyncs);
	RUN(reset_drops_partial);
	return test_summary("smtp-parse");
}
