/* test-address.c - RFC 5321 path parsing: valid[] and invalid[] tables,
 * each input fed whole (the parser works on a complete argument; the SMTP
 * line splitter upstream handles trickled bytes). */
#include <string.h>

#include "core/arena.h"
#include "route/address.h"
#include "test.h"

static const struct {
	const char *in;
	bool allow_null;
	const char *local, *domain, *full, *rest;
} valid[] = {
	{"<alice@firm.example>", false, "alice", "firm.example", "alice@firm.example", ""},
	{"<Alice@FIRM.Example> SIZE=100", false, "Alice", "firm.example", "Alice@firm.example", " SIZE=100"},
	{"<>", true, "", "", "", ""},
	{"<@relay.example,@b.example:bob@firm.example>", false, "bob", "firm.example", "bob@firm.example", ""},
	{"<\"john doe\"@firm.example>", false, "john doe", "firm.example", "\"john doe\"@firm.example", ""},
	{"<\"a\\\"b\"@firm.example>", false, "a\"b", "firm.example", "\"a\\\"b\"@firm.example", ""},
	{"<\"simple\"@firm.example>", false, "simple", "firm.example", "simple@firm.example", ""},
	{"<first.last+tag@sub.firm.example>", false, "first.last+tag", "sub.firm.example",
	 "first.last+tag@sub.firm.example", ""},
	{"<x@[127.0.0.1]>", false, "x", "[127.0.0.1]", "x@[127.0.0.1]", ""},
	{"<x@[IPv6:::1]>", false, "x", "[ipv6:::1]", "x@[ipv6:::1]", ""},
	{"<a1234@firm.example>", false, "a1234", "firm.example", "a1234@firm.example", ""},
	{"<o'brien@firm.example>", false, "o'brien", "firm.example", "o'brien@firm.example", ""},
	{"<x@a-b.example>", false, "x", "a-b.example", "x@a-b.example", ""},
	/* 64-octet local part: exactly at the limit */
	{"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@firm.example>", false,
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "firm.example",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@firm.example", ""},
};

static const struct {
	const char *in;
	bool allow_null;
	enum pr_err want;
} invalid[] = {
	{"alice@firm.example", false, PR_E_BAD_ADDRESS},          /* no <> */
	{"<alice@firm.example", false, PR_E_BAD_ADDRESS},         /* no > */
	{"<>", false, PR_E_BAD_ADDRESS},                          /* null path not allowed for RCPT */
	{"<alice>", false, PR_E_BAD_ADDRESS},
	{"<@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<alice@>", false, PR_E_BAD_ADDRESS},
	{"<a..b@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<.a@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a.@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a b@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a@firm..example>", false, PR_E_BAD_ADDRESS},
	{"<a@-firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a@firm-.example>", false, PR_E_BAD_ADDRESS},
	{"<a@firm.example.>", false, PR_E_BAD_ADDRESS},
	{"<a@fi_rm.example>", false, PR_E_BAD_ADDRESS},
	{"<a@b@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<\"unterminated@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<\"\"@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<\"a\rb\"@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a\r\n@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a@[999.1.1.1]>", false, PR_E_BAD_ADDRESS},
	{"<a@[127.0.0.1>", false, PR_E_BAD_ADDRESS},
	{"<@relay.example:>", false, PR_E_BAD_ADDRESS},
	{"<@relay.example;a@firm.example>", false, PR_E_BAD_ADDRESS},
	{"<a@firm.example>>", false, PR_E_MAX},   /* parses; '>' left over is the caller's */
};

TEST(valid_paths)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct address ad;
		struct pr_why why = {0};
		const char *end = NULL;
		int rc = address_parse_path(a, valid[i].in, valid[i].allow_null, &ad, &end, &why);
		if (rc != 0) {
			fprintf(stderr, "valid[%zu] %s: got error '%s'\n", i, valid[i].in, why.detail);
			CHECK_INT(rc, 0);
			continue;
		}
		CHECK_STR(ad.local, valid[i].local);
		CHECK_STR(ad.domain, valid[i].domain);
		CHECK_STR(ad.full, valid[i].full);
		CHECK_STR(end, valid[i].rest);
	}
	arena_free(&a);
}

TEST(invalid_paths)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct address ad;
		struct pr_why why = {0};
		const char *end = NULL;
		int rc = address_parse_path(a, invalid[i].in, invalid[i].allow_null, &ad, &end, &why);
		if (invalid[i].want == PR_E_MAX) {
			CHECK_INT(rc, 0);
			continue;
		}
		if (rc != -1 || why.code != invalid[i].want)
			fprintf(stderr, "invalid[%zu] %s: got rc %d code %s, want %s\n", i, invalid[i].in, rc,
			        pr_err_name(why.code), pr_err_name(invalid[i].want));
		CHECK_INT(rc, -1);
		CHECK_INT(why.code, invalid[i].want);
	}
	arena_free(&a);
}

/* RFC 5321 4.5.3.1: local part 64, domain 255, path 256 octets. */
TEST(limits)
{
	struct arena *a = arena_new();
	struct address ad;
	struct pr_why why;
	const char *end;
	char buf[1200];
	snprintf(buf, sizeof(buf), "<%s@firm.example>",
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");   /* 65 */
	CHECK_INT(address_parse_path(a, buf, false, &ad, &end, &why), -1);
	CHECK(strstr(why.detail, "64") != NULL);
	/* a 63-char label is fine, a 64-char one is not */
	char label[70];
	memset(label, 'b', 63);
	label[63] = '\0';
	snprintf(buf, sizeof(buf), "<x@%s.example>", label);
	CHECK_INT(address_parse_path(a, buf, false, &ad, &end, &why), 0);
	snprintf(buf, sizeof(buf), "<x@b%s.example>", label);
	CHECK_INT(address_parse_path(a, buf, false, &ad, &end, &why), -1);
	/* domain over 255 */
	snprintf(buf, sizeof(buf), "<x@%s.%s.%s.%s.example>", label, label, label, label);
	CHECK_INT(address_parse_path(a, buf, false, &ad, &end, &why), -1);
	CHECK_INT(why.code, PR_E_BAD_ADDRESS);
	/* path over 256 with legal parts: 64 + 1 + 4 labels of 47 */
	char l47[48];
	memset(l47, 'c', 47);
	l47[47] = '\0';
	snprintf(buf, sizeof(buf), "<%.64s@%s.%s.%s.%s.%s>", "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
	         l47, l47, l47, l47, "example");
	CHECK_INT(address_parse_path(a, buf, false, &ad, &end, &why), -1);
	CHECK(strstr(why.detail, "256") != NULL);
	/* a huge unterminated input is refused without reading all of it */
	char *huge = malloc(1 << 20);
	memset(huge, 'a', (1 << 20) - 1);
	huge[0] = '<';
	huge[(1 << 20) - 1] = '\0';
	CHECK_INT(address_parse_path(a, huge, false, &ad, &end, &why), -1);
	free(huge);
	arena_free(&a);
}

TEST(bare_addresses)
{
	struct arena *a = arena_new();
	struct address ad;
	struct pr_why why;
	CHECK_INT(address_parse(a, "Bob@Home.Example", &ad, &why), 0);
	CHECK_STR(ad.full, "Bob@home.example");
	CHECK_INT(address_parse(a, "<bob@home.example>", &ad, &why), 0);
	CHECK_INT(address_parse(a, "bob@home.example trailing", &ad, &why), -1);
	CHECK_INT(address_parse(a, "<bob@home.example> x", &ad, &why), -1);
	CHECK_INT(address_parse(a, "", &ad, &why), -1);
	CHECK_INT(address_parse(a, "<>", &ad, &why), -1);
	CHECK_STR(address_normalize(a, "Bob@Home.EXAMPLE"), "bob@home.example");
	CHECK_STR(address_domain("a@b@c.example"), "c.example");
	CHECK_STR(address_domain("nodomain"), "");
	arena_free(&a);
}

int
main(void)
{
	RUN(valid_paths);
	RUN(invalid_paths);
	RUN(limits);
	RUN(bare_addresses);
	return test_summary("address");
}
