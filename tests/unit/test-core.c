/* test-core.c - arena, buf, err table, settings, spool, address lists. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/ipnet.h"
#include "core/jsonw.h"
#include "core/limits.h"
#include "core/settings.h"
#include "core/spool.h"
#include "test.h"

TEST(arena_basics)
{
	struct arena *a = arena_new();
	char *s = arena_strdup(a, "hello");
	CHECK_STR(s, "hello");
	CHECK_STR(arena_printf(a, "%d-%s", 7, "x"), "7-x");
	char *big = arena_alloc(a, 100000);
	CHECK(big[99999] == 0);
	CHECK(arena_used(a) >= 100000);
	arena_free(&a);
	CHECK(a == NULL);
}

static int cleanup_ran;
static void count_cleanup(void *arg) { (void)arg; cleanup_ran++; }

TEST(arena_cleanups)
{
	struct arena *a = arena_new();
	arena_on_free(a, count_cleanup, NULL);
	arena_on_free(a, count_cleanup, NULL);
	arena_free(&a);
	CHECK_INT(cleanup_ran, 2);
}

TEST(buf_ceiling_is_sticky)
{
	struct buf b;
	buf_init(&b, 8);
	buf_addstr(&b, "12345");
	CHECK_INT(b.err, PR_OK);
	buf_addstr(&b, "6789");
	CHECK_INT(b.err, PR_E_TOO_LONG);
	buf_addstr(&b, "a");
	CHECK_INT(b.len, 5);
	buf_reset(&b);
	buf_printf(&b, "%s", "abc");
	CHECK_STR(buf_cstr(&b), "abc");
	buf_consume(&b, 1);
	CHECK_STR(buf_cstr(&b), "bc");
	buf_free(&b);
}

TEST(err_table_complete)
{
	for (int i = 0; i < PR_E_MAX; i++) {
		const struct pr_err_info *e = pr_err_info((enum pr_err)i);
		CHECK(e->name != NULL && e->summary != NULL && e->fix != NULL);
		CHECK_INT(pr_err_from_name(e->name), i);
	}
	CHECK(pr_err_is_temporary(PR_E_DNS_TEMP));
	CHECK(!pr_err_is_temporary(PR_E_TOO_BIG));
	struct pr_why w;
	pr_why_set(&w, PR_E_NOT_A_MEMBER, "alice is not a member of project %s", "1234");
	CHECK_STR(pr_why_text(&w), "alice is not a member of project 1234");
}

/* smtp_server and the split the transport shares with its validator. */
TEST(settings_hostport)
{
	static const struct { const char *in; int rc; const char *host; int port; } cases[] = {
		{"relay.example", 0, "relay.example", 0},
		{"relay.example:587", 0, "relay.example", 587},
		{"[::1]:465", 0, "::1", 465},
		{"[2001:db8::1]", 0, "2001:db8::1", 0},
		{"127.0.0.1:25", 0, "127.0.0.1", 25},
		{"::1", -1, NULL, 0},
		{"relay.example:", -1, NULL, 0},
		{"relay.example:0", -1, NULL, 0},
		{"relay.example:70000", -1, NULL, 0},
		{"relay.example:587x", -1, NULL, 0},
		{":587", -1, NULL, 0},
		{"[::1", -1, NULL, 0},
		{"[::1]x", -1, NULL, 0},
		{"user@relay.example", -1, NULL, 0},
		{"smtp://relay.example", -1, NULL, 0},
		{"relay .example", -1, NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64];
		int port = -1;
		CHECK_INT(settings_split_hostport(cases[i].in, host, sizeof(host), &port), cases[i].rc);
		if (cases[i].rc == 0) {
			CHECK_STR(host, cases[i].host);
			CHECK_INT(port, cases[i].port);
		}
	}
	struct pr_why why;
	struct settings *s = settings_new();
	CHECK_INT(settings_set(s, SET_SMTP_SERVER, "direct", SRC_STORE, &why), 0);
	CHECK_INT(settings_set(s, SET_SMTP_SERVER, "relay.example:587", SRC_STORE, &why), 0);
	CHECK_INT(settings_set(s, SET_SMTP_SERVER, "smtp://relay.example", SRC_STORE, &why), -1);
	CHECK_INT(settings_set(s, SET_SMTP_TLS, "ssl", SRC_STORE, &why), -1);
	CHECK_INT(settings_set(s, SET_SMTP_AUTH, "cram-md5", SRC_STORE, &why), 0);
	CHECK_INT(settings_enum(s, SET_SMTP_AUTH), SMTP_AUTH_CRAM_MD5);
	CHECK_INT(settings_set(s, SET_SMTP_PASSWORD, "hunter2", SRC_STORE, &why), 0);
	CHECK_STR(settings_display(s, SET_SMTP_PASSWORD), "********");
	CHECK_INT(settings_int(s, SET_SMTP_RETRY_FOR), 2 * 86400);
	settings_unref(&s);
}

TEST(settings_validate)
{
	struct settings *s = settings_new();
	struct pr_why why;
	CHECK_INT(settings_int(s, SET_MAX_MESSAGE_SIZE), 20 * 1024 * 1024);
	CHECK_INT(settings_set(s, SET_MAX_MESSAGE_SIZE, "10M", SRC_STORE, &why), 0);
	CHECK_INT(settings_int(s, SET_MAX_MESSAGE_SIZE), 10 * 1024 * 1024);
	CHECK_INT(settings_set(s, SET_MAX_MESSAGE_SIZE, "lots", SRC_STORE, &why), -1);
	CHECK_INT(settings_set(s, SET_REQUIRE_SPF, "maybe", SRC_STORE, &why), -1);
	CHECK_INT(settings_set(s, SET_UNKNOWN_SENDER, "unassigned", SRC_STORE, &why), 0);
	CHECK_INT(settings_set(s, SET_UNKNOWN_SENDER, "drop", SRC_STORE, &why), -1);
	CHECK_INT(settings_set(s, SET_POP_SERVER, "imaps://mail.example.com:993", SRC_STORE, &why), -1);
	CHECK(strstr(why.detail, "IMAP") != NULL);
	CHECK_INT(settings_set(s, SET_POP_SERVER, "ssl://pop.example.com:995", SRC_STORE, &why), 0);
	CHECK_INT(settings_set_named(s, "no_such_key", "1", SRC_STORE, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(settings_set_named(s, "unknown_recipient", "reject", SRC_STORE, &why), 0);
	CHECK_INT(settings_enum(s, SET_UNKNOWN_RECIPIENT), UNKNOWN_RCPT_REJECT);
	CHECK_INT(settings_key("require_dkim"), SET_REQUIRE_DKIM);
	for (int k = 0; k < SET__COUNT; k++)
		CHECK(settings_def((enum setting_key)k)->name != NULL);
	CHECK_INT(settings_set(s, SET_POP_PASSWORD, "hunter2", SRC_STORE, &why), 0);
	CHECK_STR(settings_display(s, SET_POP_PASSWORD), "********");
	/* fallback on the catch-all's domain is refused */
	settings_set(s, SET_MAILBOX_TYPE, "catchall", SRC_STORE, &why);
	settings_set(s, SET_SYSTEM_ADDRESS, "inbox@firm.example", SRC_STORE, &why);
	settings_set(s, SET_FALLBACK_ADDRESS, "it@firm.example", SRC_STORE, &why);
	CHECK_INT(settings_check(s, &why), -1);
	settings_unref(&s);
}

TEST(spool_spills_and_hashes)
{
	struct arena *a = arena_new();
	struct spool *s = spool_new(a, NULL);
	static char chunk[65536];
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 8; i++)
		spool_write(s, chunk, sizeof(chunk));
	spool_finish(s);
	CHECK_INT(spool_error(s), PR_OK);
	CHECK_INT(spool_size(s), 8 * 65536);
	CHECK(spool_fd(s) >= 0);
	char back[16];
	CHECK_INT(spool_read_at(s, 8 * 65536 - 4, back, sizeof(back)), 4);
	struct spool *m = spool_from_bytes(a, NULL, "abc", 3);
	CHECK(spool_memory(m) != NULL);
	CHECK_STR(spool_sha256_hex(m), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	arena_free(&a);
}

/* Address lists (smtp_client_limit_exceptions): what parses, what matches. */
TEST(ipnet_list_parse)
{
	static const char *const good[] = {
		"", " , ", "127.0.0.1", "192.0.2.10, 10.0.0.0/8, 2001:db8::/32", "0.0.0.0/0 ::/0",
		"192.0.2.1/32", "::1/128", "10.0.0.0/8,\t172.16.0.0/12", "::ffff:127.0.0.1",
		"::ffff:10.0.0.0/104",
	};
	static const char *const bad[] = {
		"localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8",
		"10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/99999999999999999999", "/8", "10.0.0.1/8",
		"2001:db8::1/32", "1.2.3", "1.2.3.4.5", "10.0.0.0//8", "::ffff:10.0.0.0/95",
		"127.0.0.1;10.0.0.1", "127.0.0.1\x1b[2J",
	};
	struct ipnet_list l;
	struct pr_why why;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ipnet_list_parse(good[i], &l, &why) != 0) {
			test_cur_failed++;
			fprintf(stderr, "'%s': refused (%s), want accepted\n", good[i], why.detail);
		}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ipnet_list_parse(bad[i], &l, &why) == 0) {
			test_cur_failed++;
			fprintf(stderr, "'%s': accepted, want refused\n", bad[i]);
		} else {
			CHECK_INT(why.code, PR_E_CONFIG);
		}
	/* bounded: 64 entries are fine, 65 are not */
	char many[PR_MAX_IPNET_LIST * 16 + 32] = "";
	size_t len = 0;
	for (int i = 0; i <= PR_MAX_IPNET_LIST; i++) {
		if (i == PR_MAX_IPNET_LIST)
			CHECK_INT(ipnet_list_parse(many, &l, &why), 0);
		len += (size_t)snprintf(many + len, sizeof(many) - len, "10.0.%d.1 ", i);
	}
	CHECK_INT(ipnet_list_parse(many, &l, &why), -1);
	/* the settings row validates with it */
	struct settings *s = settings_new();
	CHECK_STR(settings_str(s, SET_SMTP_CLIENT_LIMIT_EXCEPTIONS), "");
	CHECK_INT(settings_set(s, SET_SMTP_CLIENT_LIMIT_EXCEPTIONS, "10.0.0.0/8, ::1", SRC_STORE, &why), 0);
	CHECK_INT(settings_set(s, SET_SMTP_CLIENT_LIMIT_EXCEPTIONS, "10.0.0.0/40", SRC_STORE, &why), -1);
	CHECK(strstr(why.detail, "10.0.0.0/40") != NULL);
	settings_unref(&s);
}

TEST(ipnet_list_match)
{
	static const struct {
		const char *list, *ip;
		bool want;
	} cases[] = {
		{"", "127.0.0.1", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
		{"127.0.0.1/32", "127.0.0.1", true},
		{"127.0.0.1", "::ffff:127.0.0.1", true},        /* v4-mapped is the v4 address */
		{"::ffff:127.0.0.1", "127.0.0.1", true},
		{"::ffff:127.0.0.0/120", "127.0.0.9", true},
		{"127.0.0.1", "::1", false},
		{"0.0.0.0/0", "203.0.113.7", true},
		{"0.0.0.0/0", "2001:db8::1", false},            /* a v4 network holds no v6 address */
		{"::/0", "2001:db8::1", true},
		{"::/0", "192.0.2.1", false},
		{"10.0.0.0/8", "10.255.255.255", true},
		{"10.0.0.0/8", "11.0.0.0", false},
		{"192.0.2.128/25", "192.0.2.127", false},
		{"192.0.2.128/25", "192.0.2.200", true},
		{"2001:db8::/32", "2001:db8:ffff::1", true},
		{"2001:db8::/32", "2001:db9::1", false},
		{"::1/128", "::1", true},
		{"::1/128", "::2", false},
		{"2001:db8::/33", "2001:db8:8000::1", false},
		{"192.0.2.10, 10.0.0.0/8", "10.1.2.3", true},
		{"127.0.0.1", "", false},
		{"127.0.0.1", "not an address", false},
	};
	struct ipnet_list l;
	struct pr_why why;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(ipnet_list_parse(cases[i].list, &l, &why), 0);
		if (ipnet_list_match(&l, cases[i].ip) != cases[i].want) {
			test_cur_failed++;
			fprintf(stderr, "'%s' in '%s': got %d, want %d\n", cases[i].ip, cases[i].list,
			        !cases[i].want, cases[i].want);
		}
	}
}

/* A random string rich in what JSON must escape or refuse: quotes,
 * backslashes, controls, DEL, valid multi-byte characters and stray bytes
 * that make it invalid UTF-8. */
static void
random_text(char *out, size_t max)
{
	static const char *pieces[] = {"\"", "\\", "\n", "\r", "\t", "\x01", "\x1f", "\x7f",
	                               "a", "Z", "/", " ", "\xc3\xa9", "\xe2\x80\xae", "\xf0\x9f\x98\x80",
	                               "\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf"};
	size_t n = 0, want = (size_t)rand() % 24;
	out[0] = 0;
	for (size_t i = 0; i < want; i++) {
		const char *p = pieces[rand() % (int)(sizeof(pieces) / sizeof(pieces[0]))];
		if (n + strlen(p) + 1 > max)
			break;
		memcpy(out + n, p, strlen(p) + 1);
		n += strlen(p);
	}
}

/* jansson's value for what jsonw writes for s (auth_header.c's contract). */
static json_t *
expected_string(const char *s)
{
	if (s == NULL)
		return json_null();
	json_t *j = json_string(s);
	return j ? j : json_string("(not UTF-8)");
}

TEST(jsonw_parses_back_as_jansson_builds_it)
{
	srand(12);
	int cases = 0, invalid = 0;
	for (int round = 0; round < 3000; round++) {
		char s1[128], s2[128];
		random_text(s1, sizeof(s1));
		random_text(s2, sizeof(s2));
		const char *maybe_null = round % 5 == 0 ? NULL : s2;
		struct buf b;
		buf_init(&b, 1 << 20);
		struct jsonw w;
		jsonw_init(&w, &b);
		jsonw_open(&w, NULL, '{');
		jsonw_str(&w, "one", s1);
		jsonw_open(&w, "list", '[');
		for (int i = 0; i < round % 3; i++) {
			jsonw_open(&w, NULL, '{');
			jsonw_str(&w, "two", maybe_null);
			jsonw_bool(&w, "yes", i % 2 == 0);
			jsonw_close(&w);
		}
		jsonw_close(&w);
		jsonw_open(&w, "empty", '{');
		jsonw_close(&w);
		jsonw_close(&w);
		CHECK(w.depth == 0 && b.err == PR_OK);

		json_error_t jerr;
		json_t *got = json_loadb((const char *)b.data, b.len, 0, &jerr);
		if (got == NULL)
			fprintf(stderr, "not JSON (%s): %s\n", jerr.text, buf_cstr(&b));
		json_t *list = json_array();
		for (int i = 0; i < round % 3; i++)
			json_array_append_new(list, json_pack("{s:o, s:b}", "two", expected_string(maybe_null),
			                                      "yes", i % 2 == 0));
		json_t *want = json_pack("{s:o, s:o, s:{}}", "one", expected_string(s1), "list", list, "empty");
		CHECK(got != NULL && json_equal(got, want));
		json_t *probe = json_string(s1);
		invalid += probe == NULL;
		json_decref(probe);
		json_decref(got);
		json_decref(want);
		buf_free(&b);
		cases++;
	}
	CHECK(cases == 3000);
	CHECK(invalid > 300 && invalid < 2700);   /* both kinds were tried */
}

int
main(void)
{
	RUN(arena_basics);
	RUN(arena_cleanups);
	RUN(buf_ceiling_is_sticky);
	RUN(err_table_complete);
	RUN(settings_validate);
	RUN(settings_hostport);
	RUN(spool_spills_and_hashes);
	RUN(ipnet_list_parse);
	RUN(ipnet_list_match);
	RUN(jsonw_parses_back_as_jansson_builds_it);
	return test_summary("core");
}
