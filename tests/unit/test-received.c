/* test-received.c - the trusted Received stamp (src/auth/auth_received.c).
 *
 * Each of the five formats collected mail arrives in (Postfix, Exim,
 * Gmail, Microsoft 365, Dovecot LMTP), as those servers write them, first
 * with an ordinary HELO and then with the hostile ones a sender can give:
 * an IP literal of an SPF-allowed address, the word "by", parentheses,
 * brackets, and a very long name.  The client really is 203.0.113.66; the
 * allowed address the HELO tries to smuggle in is 198.51.100.7.  The
 * parser either finds the real IP or says "does not parse" (the caller
 * defers); it never returns 198.51.100.7.
 */
#include <stdbool.h>
#include <string.h>

#include "auth/auth_private.h"
#include "core/arena.h"
#include "core/spool.h"
#include "test.h"

#define REAL "203.0.113.66"
#define FAKE "198.51.100.7"

struct format {
	const char *name, *host, *before, *after;   /* stamp = before HELO after */
};

/* As the servers write them (folded as they fold them). */
static const struct format formats[] = {
	{"postfix", "mx.provider.example", "from ",
	 " (unknown [" REAL "])\r\n\tby mx.provider.example (Postfix) with ESMTPS id 4Tq9Xv1Lz2z9sW1\r\n"
	 "\tfor <a1234@firm.example>; Mon,  1 Jan 2024 10:00:00 +0100 (CET)"},
	{"postfix-tls", "mx.provider.example", "from ",
	 " (unknown [" REAL "])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
	 "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
	 "\t(No client certificate requested)\r\n"
	 "\tby mx.provider.example (Postfix) with ESMTPS id 4Tq9Xv1Lz2z9sW1\r\n"
	 "\tfor <a1234@firm.example>; Mon,  1 Jan 2024 10:00:00 +0100 (CET)"},
	{"gmail", "mx.google.com", "from ",
	 " (mail-sor-f41.google.com. [" REAL "])\r\n        by mx.google.com with SMTPS id "
	 "a640c23a62f3a-a9a0b5e1c2esor123456766b.6.2024.01.01.10.00.00\r\n        for "
	 "<a1234@firm.example>\r\n        (Google Transport Security);\r\n        Mon, 01 Jan 2024 "
	 "02:00:00 -0800 (PST)"},
	{"m365", ".mail.protection.outlook.com", "from ",
	 " (" REAL ") by\r\n BN2PEPF000044A9.mail.protection.outlook.com (10.167.243.160) with "
	 "Microsoft\r\n SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.7452.22\r\n"
	 " via Frontend Transport; Mon, 1 Jan 2024 10:00:00 +0000"},
	{"dovecot-lmtp", "imap.provider.example", "from ",
	 " ([" REAL "])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
	 "\tby imap.provider.example with LMTP\r\n\tid 8B3aH1mmvWWrLQAAp6m4Dg\r\n"
	 "\t(envelope-from <alice@firm.example>)\r\n\tfor <a1234@firm.example>; Mon, 01 Jan 2024 "
	 "10:00:00 +0100"},
	{"exim", "mx.provider.example", "from client.example.net ([" REAL "] helo=",
	 ")\r\n\tby mx.provider.example with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n"
	 "\t(Exim 4.96)\r\n\t(envelope-from <alice@firm.example>)\r\n\tid 1rKq0o-00AbCd-2x\r\n"
	 "\tfor a1234@firm.example; Mon, 01 Jan 2024 10:00:00 +0000"},
};

/* Hostile HELOs.  ok: the parser finds REAL (else: does not parse) in the
 * four formats that write the HELO first; exim_ok: in Exim's, where the
 * HELO sits inside the TCP-info as helo=NAME (up to a space), so some
 * hostile names are harmless there. */
static const struct {
	const char *helo;
	int ok, exim_ok;
	const char *exim_helo;
} helos[] = {
	{"mail.client.example", 1, 1, NULL},
	{"[" FAKE "]", 1, 1, NULL},                             /* IP literal */
	{"[IPv6:2001:db8::7]", 1, 1, NULL},
	{"by", 1, 1, NULL},                                     /* shifts a naive "by" scan */
	{"x(allowed.example [" FAKE "])", 0, 0, NULL},          /* parentheses: a second TCP-info */
	{"x (allowed.example [" FAKE "]) by mx.provider.example", 0, 0, NULL},
	{"x (" FAKE ")", 0, 1, "x"},                            /* M365-style TCP-info */
	{"x]", 0, 1, NULL},                                     /* brackets */
	{"[" FAKE, 0, 1, NULL},
	{"x[" FAKE "]", 0, 0, NULL},
	{"x(", 0, 0, NULL},
	{"x\"", 0, 1, NULL},
	{"a b", 0, 1, "a"},                                     /* spaces: two words */
	{"x;by mx.provider.example", 0, 0, NULL},
};

static char *
stamp(struct arena *a, const struct format *f, const char *helo)
{
	/* the field as mime_header_values gives it: unfolded, leading space */
	char *s = arena_printf(a, " %s%s%s", f->before, helo, f->after);
	for (char *p = s; *p; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	return s;
}

static int
parse(struct arena *a, const char *v, const char *host, const char **ip, const char **helo)
{
	struct pr_why why;
	pr_why_clear(&why);
	*ip = *helo = NULL;
	int rc = auth_received_parse(a, v, host, ip, helo, &why);
	if (rc < 0 && (why.code != PR_E_RECEIVED_UNPARSED || strstr(why.detail, host) == NULL))
		return -2;
	return rc;
}

TEST(five_formats_hostile_helos)
{
	struct arena *a = arena_new();
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		bool exim = !strcmp(formats[f].name, "exim");
		for (size_t h = 0; h < sizeof(helos) / sizeof(helos[0]); h++) {
			const char *ip, *helo, *v = stamp(a, &formats[f], helos[h].helo);
			int rc = parse(a, v, formats[f].host, &ip, &helo);
			const char *want_helo = exim && helos[h].exim_helo ? helos[h].exim_helo
			                                                   : helos[h].helo;
			if (exim ? helos[h].exim_ok : helos[h].ok) {
				if (rc != 0 || ip == NULL || strcmp(ip, REAL) != 0)
					fprintf(stderr, "%s / HELO '%s': rc %d ip %s\n", formats[f].name,
					        helos[h].helo, rc, ip ? ip : "-");
				CHECK_INT(rc, 0);
				CHECK_STR(ip, REAL);
				CHECK_STR(helo, want_helo);
			} else {
				if (rc != -1)
					fprintf(stderr, "%s / HELO '%s': rc %d ip %s, want unparsed\n",
					        formats[f].name, helos[h].helo, rc, ip ? ip : "-");
				CHECK_INT(rc, -1);
			}
		}
	}
	arena_free(&a);
}

TEST(very_long_helo)
{
	struct arena *a = arena_new();
	char ok[254], bad[2001];
	memset(ok, 'a', sizeof(ok) - 1);
	ok[sizeof(ok) - 1] = '\0';
	memset(bad, 'a', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		const char *ip, *helo;
		CHECK_INT(parse(a, stamp(a, &formats[f], ok), formats[f].host, &ip, &helo), 0);
		CHECK_STR(ip, REAL);
		CHECK_INT(parse(a, stamp(a, &formats[f], bad), formats[f].host, &ip, &helo), -1);
	}
	/* past the field bound: does not parse, whatever it holds */
	char *huge = arena_alloc(a, 20001);
	memset(huge, 'x', 20000);
	huge[20000] = '\0';
	const char *ip, *helo;
	CHECK_INT(parse(a, arena_printf(a, "from h (unknown [" REAL "]) by mx.provider.example %s; d",
	                                huge), "mx.provider.example", &ip, &helo), -1);
	arena_free(&a);
}

/* Exim writes the IP as the from-word when the client has no name. */
TEST(exim_without_rdns)
{
	struct arena *a = arena_new();
	const char *ip, *helo, *h = "mx.provider.example";
	CHECK_INT(parse(a, "from [" REAL "] (port=51234 helo=[" FAKE "]) by mx.provider.example "
	                   "with esmtp (Exim 4.96) id 1rKq; Mon, 01 Jan 2024", h, &ip, &helo), 0);
	CHECK_STR(ip, REAL);
	CHECK_STR(helo, "[" FAKE "]");
	CHECK_INT(parse(a, "from [" REAL "] by mx.provider.example with esmtp id 1rKq; d", h, &ip,
	                &helo), 0);
	CHECK_STR(ip, REAL);
	CHECK_STR(helo, "[" REAL "]");
	CHECK_INT(parse(a, "from client.example ([" REAL "]:51234 helo=x) by mx.provider.example "
	                   "id 1; d", h, &ip, &helo), 0);
	CHECK_STR(ip, REAL);
	CHECK_STR(helo, "x");
	/* a Postfix stamp whose HELO is an IP literal is not Exim's form */
	CHECK_INT(parse(a, "from [" FAKE "] (unknown text) by mx.provider.example id 1; d", h, &ip,
	                &helo), -1);
	CHECK_INT(parse(a, "from [" FAKE "] by mx.provider.example id 1; d", h, &ip, &helo), 0);
	CHECK_STR(ip, FAKE);   /* only Exim writes this, and then it is the real IP */
	arena_free(&a);
}

/* The topmost field by the host decides; never a fall-through. */
static const char trail[] =
	"Return-Path: <alice@firm.example>\r\n"
	"Received: from mx.provider.example ([10.1.2.3])\r\n\tby imap.provider.example with LMTP\r\n"
	"\tid X; Mon, 01 Jan 2024 10:00:01 +0100\r\n"
	"Received: from by (unknown [" REAL "])\r\n\tby mx.provider.example (Postfix) with ESMTP id Q;\r\n"
	"\tMon, 01 Jan 2024 10:00:00 +0100\r\n"
	"Received: from allowed (allowed [" FAKE "]) by mx.provider.example; forged by the sender\r\n"
	"Subject: x\r\n\r\nbody\r\n";

TEST(topmost_field_decides)
{
	struct arena *a = arena_new();
	struct spool *raw = spool_from_bytes(a, NULL, trail, sizeof(trail) - 1);
	const char *ip = NULL, *helo = NULL;
	struct pr_why why;
	CHECK_INT(auth_received_peer(a, raw, "mx.provider.example", &ip, &helo, &why), 0);
	CHECK_STR(ip, REAL);
	CHECK_STR(helo, "by");
	CHECK_INT(auth_received_peer(a, raw, "imap.provider.example", &ip, &helo, &why), 0);
	CHECK_STR(ip, "10.1.2.3");
	CHECK_INT(auth_received_peer(a, raw, "nobody.example", &ip, &helo, &why), 1);
	CHECK_INT(auth_received_peer(a, raw, "", &ip, &helo, &why), 1);
	/* The trusted field unreadable: -1, not the forged one below it. */
	static const char bad[] =
		"Received: from x (no address here) by mx.provider.example id Q; d\r\n"
		"Received: from allowed (allowed [" FAKE "]) by mx.provider.example; forged\r\n\r\n";
	raw = spool_from_bytes(a, NULL, bad, sizeof(bad) - 1);
	ip = NULL;
	CHECK_INT(auth_received_peer(a, raw, "mx.provider.example", &ip, &helo, &why), -1);
	CHECK_INT(why.code, PR_E_RECEIVED_UNPARSED);
	CHECK(ip == NULL);
	/* A stamp made on the host itself (no from clause): no client. */
	CHECK_INT(parse(a, "by mx.provider.example (Postfix, from userid 0) id 1; d",
	                "mx.provider.example", &ip, &helo), 0);
	CHECK_STR(ip, "");
	arena_free(&a);
}

/* A recipient or envelope sender can hold "by host" too: ambiguous. */
TEST(by_host_in_the_tail)
{
	struct arena *a = arena_new();
	const char *ip, *helo, *h = "mx.provider.example";
	CHECK_INT(parse(a, "from c (unknown [" REAL "]) by mx.provider.example id 1 for "
	                   "<\"x) by mx.provider.example (a [" FAKE "])\"@firm.example>; d",
	                h, &ip, &helo), -1);
	CHECK_INT(parse(a, "from c (unknown [" REAL "]) by mx.provider.example id 1 for "
	                   "<a@firm.example>; d", h, &ip, &helo), 0);
	CHECK_STR(ip, REAL);
	CHECK_INT(parse(a, "from c (unknown [" REAL "]) by mx.provider.example.evil id 1; d",
	                h, &ip, &helo), 1);
	arena_free(&a);
}

/* The trusted A-R boundary (auth_trust.c) finds the provider's Received
 * with the same test: a HELO "by" must not move it down to a Received
 * the sender wrote, above which the sender's own A-R would be trusted. */
TEST(results_boundary_not_shifted_by_helo)
{
	static const char m[] =
		"Received: from by (unknown [" REAL "])\r\n\tby mx.provider.example (Postfix) id Q; d\r\n"
		"Received: from x (x [" FAKE "]) by mx.provider.example; forged\r\n"
		"Authentication-Results: mx.provider.example; spf=pass smtp.mailfrom=firm.example;\r\n"
		"\tdkim=pass header.d=firm.example header.s=sel; dmarc=pass\r\n"
		"Received: from localhost by attacker.example; d\r\n"
		"From: alice@firm.example\r\n\r\nbody\r\n";
	struct arena *a = arena_new();
	struct auth_input in = {.client_ip = "", .helo = "", .mail_from = "", .from_domain = "firm.example",
	                        .raw = spool_from_bytes(a, NULL, m, sizeof(m) - 1),
	                        .trusted_received_host = "mx.provider.example",
	                        .trusted_authserv_id = "mx.provider.example"};
	struct auth_verdict v;
	memset(&v, 0, sizeof(v));
	CHECK(!auth_adopt_trusted(a, &in, &v));
	arena_free(&a);
}

int
main(void)
{
	RUN(five_formats_hostile_helos);
	RUN(very_long_helo);
	RUN(exim_without_rdns);
	RUN(topmost_field_decides);
	RUN(by_host_in_the_tail);
	RUN(results_boundary_not_shifted_by_helo);
	return test_summary("received");
}
