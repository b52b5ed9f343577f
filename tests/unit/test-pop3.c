/* test-pop3.c - the collector's pure functions (its bookkeeping is store/: test-store.c).
 * The protocol itself is tested against a real Dovecot in
 * tests/integration/test_pop3.py. */
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

static const char msg[] =
    "Return-Path: <bounce@lists.example>\r\n"
    "Delivered-To: a1234@firm.example\r\n"
    "Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n"
    "        by mx.provider.example with ESMTPS id x1;\r\n"
    "        Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    "Received: from [10.0.0.5] (helo=laptop) by mail-sor-f41.google.com; Mon, 1 Jan 2024\r\n"
    "Delivered-To: other@firm.example\r\n"
    "To: \"Smith, Anne\" <anne@firm.example>, bob@firm.example (Bob),\r\n"
    "\tcarol@Firm.Example\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "To: body@firm.example\r\n";

TEST(headers)
{
	struct arena *a = arena_new();
	const uint8_t *m = (const uint8_t *)msg;
	size_t n = strlen(msg);
	CHECK_STR(pop3_header_first(a, m, n, "delivered-to", 256), "a1234@firm.example");
	CHECK_STR(pop3_header_nth(a, m, n, "Delivered-To", 1, 256), "other@firm.example");
	CHECK(pop3_header_nth(a, m, n, "Delivered-To", 2, 256) == NULL);
	CHECK(pop3_header_first(a, m, n, "Cc", 256) == NULL);
	CHECK_STR(pop3_header_first(a, m, n, "Subject", 256), "hi");
	CHECK_STR(pop3_header_first(a, m, n, "Subject", 1), "h");   /* bounded */
	const char *to = pop3_header_first(a, m, n, "To", 4096);
	CHECK_STR(to, "\"Smith, Anne\" <anne@firm.example>, bob@firm.example (Bob), carol@Firm.Example");
	const char *addrs[8];
	CHECK_INT(pop3_addr_list(a, to, addrs, 8), 3);
	CHECK_STR(addrs[0], "anne@firm.example");
	CHECK_STR(addrs[1], "bob@firm.example");
	CHECK_STR(addrs[2], "carol@Firm.Example");
	CHECK_INT(pop3_addr_list(a, "a@x, b@y, c@z", addrs, 2), 2);
	CHECK_INT(pop3_addr_list(a, "undisclosed-recipients:;", addrs, 8), 0);
	CHECK_INT(pop3_addr_list(a, "<a@x", addrs, 8), 0);
	/* a message without a body separator: the whole text is headers */
	CHECK_STR(pop3_header_first(a, (const uint8_t *)"X: 1\r\nY: 2", 10, "Y", 16), "2");
	arena_free(&a);
}

TEST(received_and_return_path)
{
	struct arena *a = arena_new();
	const uint8_t *m = (const uint8_t *)msg;
	size_t n = strlen(msg);
	const char *ip = NULL, *helo = NULL;
	CHECK_INT(pop3_received_peer(a, m, n, "mx.provider.example", &ip, &helo), 0);
	CHECK_STR(ip, "209.85.220.41");
	CHECK_STR(helo, "mail-sor-f41.google.com");
	CHECK_INT(pop3_received_peer(a, m, n, "MAIL-SOR-F41.google.com", &ip, &helo), 0);
	CHECK_STR(ip, "10.0.0.5");
	CHECK_INT(pop3_received_peer(a, m, n, "nobody.example", &ip, &helo), 1);
	CHECK_INT(pop3_received_peer(a, m, n, "", &ip, &helo), 1);
	const char *v6 = "Received: from x.example ([IPv6:2001:db8::1]) by mx.p.example\r\n\r\n";
	CHECK_INT(pop3_received_peer(a, (const uint8_t *)v6, strlen(v6), "mx.p.example", &ip, &helo), 0);
	CHECK_STR(ip, "2001:db8::1");
	CHECK_STR(pop3_return_path(a, m, n), "bounce@lists.example");
	const char *null_rp = "Return-Path: <>\r\n\r\n";
	CHECK_STR(pop3_return_path(a, (const uint8_t *)null_rp, strlen(null_rp)), "");
	CHECK(pop3_return_path(a, (const uint8_t *)"X: y\r\n\r\n", 8) == NULL);
	arena_free(&a);
}

TEST(explain)
{
	static const struct { int code; const char *greeting, *word; enum pr_err e; } t[] = {
		{CURLE_COULDNT_RESOLVE_HOST, "", "was not found", PR_E_NOT_FOUND},
		{CURLE_COULDNT_CONNECT, "", "refused", PR_E_IO},
		{CURLE_PEER_FAILED_VERIFICATION, "", "certificate", PR_E_TLS_FAILED},
		{CURLE_SSL_CONNECT_ERROR, "", "TLS handshake", PR_E_TLS_FAILED},
		{CURLE_USE_SSL_FAILED, "+OK hi", "STLS", PR_E_TLS_REQUIRED},
		{CURLE_LOGIN_DENIED, "+OK hi", "login refused for user 'sys'", PR_E_CONFIG},
		{CURLE_WEIRD_SERVER_REPLY, "* OK [CAPABILITY IMAP4rev1] ready", "IMAP", PR_E_CONFIG},
		{CURLE_WEIRD_SERVER_REPLY, "220 smtp ready", "not a POP3 server", PR_E_IO},
		{CURLE_OPERATION_TIMEDOUT, "", "did not answer", PR_E_IO},
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
	RUN(headers);
	RUN(received_and_return_path);
	RUN(explain);
	return test_summary("pop3");
}
