/* test-pop3.c - the collector's pure functions (its bookkeeping is store/: test-store.c).
 * The protocol itself is tested against a real Dovecot in
 * tests/integration/test_pop3.py.  What is read out of a collected message
 * (recipients, sender, client) is intake's: test-envelope.c. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "pop3/pop3_private.h"
#include "test.h"

TEST(server_parse_valid)
{
	static const struct { const char *in, *url; bool tls; int port; } t[] = {
		{"ssl://pop.example.com:995", "pop3s://pop.example.com:995", true, 995},
		{"tcp://pop.example.com:110", "pop3://pop.example.com:110", false, 110},
		{"ssl://127.0.0.1:40995", "pop3s://127.0.0.1:40995", true, 40995},
		{"tcp://localhost:1110", "pop3://localhost:1110", false, 1110},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pop3_server s;
		struct pr_why why;
		CHECK_INT(pop3_server_parse(t[i].in, &s, &why), 0);
		CHECK_STR(s.url, t[i].url);
		CHECK_INT(s.implicit_tls, t[i].tls);
		CHECK_INT(s.port, t[i].port);
	}
}

TEST(server_parse_invalid)
{
	static const struct { const char *in, *word; } t[] = {
		{"imap://mail.example.com:143", "IMAP"},
		{"imaps://mail.example.com:993", "IMAP"},
		{"ssl://mail.example.com:993", "IMAP"},
		{"tcp://mail.example.com:143", "IMAP"},
		{"pop.example.com:995", "not ssl://"},
		{"ssl://pop.example.com", "not ssl://"},
		{"ssl://pop.example.com:0", "not ssl://"},
		{"ssl://pop.example.com:99999", "not ssl://"},
		{"ssl://pop/x.example.com:995", "not ssl://"},
		{"ssl://:995", "not ssl://"},
		{"", "not set"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pop3_server s;
		struct pr_why why;
		pr_why_clear(&why);
		CHECK_INT(pop3_server_parse(t[i].in, &s, &why), -1);
		CHECK_INT(why.code, PR_E_CONFIG);
		if (strstr(why.detail, t[i].word) == NULL)
			CHECK_STR(why.detail, t[i].word);
	}
}

TEST(uidl_parse)
{
	struct arena *a = arena_new();
	struct pop3_item *it;
	size_t n;
	struct pr_why why;
	const char *ok = "1 000000016b036785\r\n2 abc\r\n10 x-y.z\r\n";
	CHECK_INT(pop3_uidl_parse(a, ok, strlen(ok), &it, &n, &why), 0);
	CHECK_INT(n, 3);
	CHECK_INT(it[0].num, 1);
	CHECK_STR(it[0].uidl, "000000016b036785");
	CHECK_INT(it[2].num, 10);
	CHECK_STR(it[2].uidl, "x-y.z");
	CHECK_INT(pop3_uidl_parse(a, "", 0, &it, &n, &why), 0);
	CHECK_INT(n, 0);
	/* LF only and trailing blanks are tolerated */
	CHECK_INT(pop3_uidl_parse(a, "3 q \n", 5, &it, &n, &why), 0);
	CHECK_STR(it[0].uidl, "q");
	static const char *bad[] = {
		"x abc\r\n", "0 abc\r\n", "1\r\n", "1 \r\n", "1 a b\r\n", "-1 a\r\n", "1 a\x01\r\n",
		"1 0123456789012345678901234567890123456789012345678901234567890123456789X\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pr_why_clear(&why);
		CHECK_INT(pop3_uidl_parse(a, bad[i], strlen(bad[i]), &it, &n, &why), -1);
		CHECK_INT(why.code, PR_E_INVALID);
	}
	arena_free(&a);
}

TEST(explain)
{
	static const struct { int code; const char *greeting, *word; enum pr_err e; } t[] = {
		{CURLE_COULDNT_RESOLVE_HOST, "", "was not found", PR_E_NOT_FOUND},
		{CURLE_COULDNT_CONNECT, "", "refused", PR_E_UNREACHABLE},
		{CURLE_PEER_FAILED_VERIFICATION, "", "certificate", PR_E_TLS_CERT},
		{CURLE_SSL_CONNECT_ERROR, "", "TLS handshake", PR_E_TLS_FAILED},
		{CURLE_USE_SSL_FAILED, "+OK hi", "STLS", PR_E_TLS_REQUIRED},
		{CURLE_LOGIN_DENIED, "+OK hi", "login refused for user 'sys'", PR_E_CONFIG},
		{CURLE_WEIRD_SERVER_REPLY, "* OK [CAPABILITY IMAP4rev1] ready", "IMAP", PR_E_CONFIG},
		{CURLE_WEIRD_SERVER_REPLY, "220 smtp ready", "not a POP3 server", PR_E_IO},
		{CURLE_OPERATION_TIMEDOUT, "", "did not answer", PR_E_UNREACHABLE},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pr_why why;
		pop3_explain(t[i].code, "pop.example", 995, "sys", t[i].greeting, "-ERR no", "", &why);
		CHECK_INT(why.code, t[i].e);
		if (strstr(why.detail, t[i].word) == NULL)
			CHECK_STR(why.detail, t[i].word);
	}
}

int
main(void)
{
	RUN(server_parse_valid);
	RUN(server_parse_invalid);
	RUN(uidl_parse);
	RUN(explain);
	return test_summary("pop3");
}
