/* test-auth.c - the combined verdict over an in-memory zone: SPF results
 * mapped to reasons, the policy under require_spf / require_dkim /
 * auth_policy = dmarc, temperror -> 451, the Authentication-Results header
 * and JSON, and the two trusts for collected mail (the Received parser's
 * formats and hostile HELOs are test-received.c's).  DKIM signatures that
 * pass are covered by test-dkim.c and the integration tests (dkimpy). */
#include <jansson.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/dns.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/settings.h"
#include "core/spool.h"
#include "test.h"

static const char msg[] =
	"Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n"
	"\tby mx.provider.example with ESMTPS id 123; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	"Authentication-Results: mx.provider.example; spf=pass smtp.mailfrom=alice@example.org;\r\n"
	"  dkim=pass (good) header.d=example.org header.s=sel; dmarc=pass header.from=example.org\r\n"
	"Received: from forged (forged [198.51.100.66]) by mx.provider.example; x\r\n"
	"Authentication-Results: evil.example; spf=pass; dkim=pass header.d=example.org\r\n"
	"From: Alice <alice@example.org>\r\n"
	"Subject: hi\r\n"
	"\r\n"
	"body\r\n";

struct fixture {
	struct arena *a;
	struct auth *au;
	struct settings *set;
	struct auth_input in;
	struct auth_verdict v;
	struct pr_why why;
};

static void
setup(struct fixture *f, const char *require_dkim, const char *policy)
{
	memset(f, 0, sizeof(*f));
	struct dns *d = dns_new_memory();
	dns_zone_add(d, "example.org", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 -all", 28);
	dns_zone_add(d, "_dmarc.example.org", DNS_T_TXT, "v=DMARC1; p=reject", 18);
	dns_zone_add(d, "soft.example", DNS_T_TXT, "v=spf1 ~all", 11);
	dns_zone_add(d, "broken.example", DNS_T_TXT, "v=spf1 foo:bar -all", 19);
	const char many[] = "v=spf1 a:e.example a:e.example a:e.example a:e.example a:e.example "
	                    "a:e.example a:e.example a:e.example a:e.example a:e.example mx:e.example -all";
	dns_zone_add(d, "many.example", DNS_T_TXT, many, sizeof(many) - 1);
	dns_zone_add(d, "e.example", DNS_T_A, "192.0.2.99", 10);
	dns_zone_add(d, "mail.example.org", DNS_T_TXT, "v=spf1 a -all", 13);
	dns_zone_add(d, "mail.example.org", DNS_T_A, "192.0.2.10", 10);
	dns_zone_timeout(d, "slow.example");
	f->a = arena_new();
	f->au = auth_new_dns(d);
	f->set = settings_new();
	settings_set(f->set, SET_REQUIRE_DKIM, require_dkim, SRC_FILE, &f->why);
	settings_set(f->set, SET_AUTH_POLICY, policy, SRC_FILE, &f->why);
	settings_set(f->set, SET_AUTHSERV_ID, "mx.firm.example", SRC_FILE, &f->why);
	f->in.raw = spool_from_bytes(f->a, NULL, msg, sizeof(msg) - 1);
	f->in.helo = "mail.example.org";
	f->in.from_domain = "example.org";
	f->in.now = 1700000000;
}

static enum pr_err
run(struct fixture *f, const char *ip, const char *mail_from)
{
	f->in.client_ip = ip;
	f->in.mail_from = mail_from;
	auth_check(f->au, f->a, &f->in, f->set, &f->v);
	return auth_decide(f->set, &f->v, &f->why);
}

static void
teardown(struct fixture *f)
{
	auth_free(&f->au);
	settings_unref(&f->set);
	arena_free(&f->a);
}

TEST(spf_results_and_reasons)
{
	struct fixture f;
	setup(&f, "false", "require");
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_OK);
	CHECK_INT(f.v.spf, AUTH_PASS);
	CHECK_INT(run(&f, "203.0.113.5", "alice@example.org"), PR_E_SPF_FAIL);
	CHECK(strstr(f.why.detail, "SPF fail for example.org: 203.0.113.5 is not allowed") != NULL);
	CHECK_INT(run(&f, "203.0.113.5", "bob@soft.example"), PR_E_SPF_SOFTFAIL);
	CHECK_INT(run(&f, "203.0.113.5", "bob@nothing.example"), PR_E_SPF_NONE);
	CHECK_INT(run(&f, "203.0.113.5", "bob@broken.example"), PR_E_SPF_PERMERROR);
	CHECK_INT(run(&f, "203.0.113.5", "bob@many.example"), PR_E_SPF_PERMERROR);
	CHECK(strstr(f.why.detail, "more than 10 DNS lookups") != NULL);
	CHECK_INT(run(&f, "203.0.113.5", "bob@slow.example"), PR_E_SPF_TEMPERROR);
	CHECK_INT(pr_err_info(f.why.code)->smtp, 451);
	/* null sender: the HELO name is checked */
	CHECK_INT(run(&f, "192.0.2.10", ""), PR_OK);
	CHECK(f.v.spf_helo);
	CHECK_STR(f.v.spf_domain, "mail.example.org");
	teardown(&f);
}

TEST(dkim_required)
{
	struct fixture f;
	setup(&f, "true", "require");
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_E_DKIM_NONE);
	CHECK(strstr(f.why.detail, "DKIM none for example.org") != NULL);
	teardown(&f);
}

TEST(dmarc_policy)
{
	struct fixture f;
	setup(&f, "true", "dmarc");
	/* SPF passes aligned: DMARC pass even without DKIM */
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_OK);
	CHECK_INT(f.v.dmarc, AUTH_PASS);
	/* SPF fails, no DKIM: p=reject */
	CHECK_INT(run(&f, "203.0.113.5", "alice@example.org"), PR_E_DMARC_REJECT);
	CHECK_STR(f.v.dmarc_policy, "reject");
	teardown(&f);
	/* SPF could not finish: a DMARC fail is not final -> 451, not 550 */
	setup(&f, "true", "dmarc");
	struct dns *d = dns_new_memory();
	dns_zone_timeout(d, "example.org");
	dns_zone_add(d, "_dmarc.example.org", DNS_T_TXT, "v=DMARC1; p=reject", 18);
	auth_free(&f.au);
	f.au = auth_new_dns(d);
	CHECK_INT(run(&f, "203.0.113.5", "alice@example.org"), PR_E_DNS_TEMP);
	CHECK_INT(pr_err_info(f.why.code)->smtp, 451);
	teardown(&f);
}

TEST(header_and_json)
{
	struct fixture f;
	setup(&f, "false", "require");
	run(&f, "203.0.113.5", "alice@example.org");
	CHECK(strncmp(f.v.header, "Authentication-Results: mx.firm.example;\r\n\tspf=fail (", 52) == 0);
	CHECK(strstr(f.v.header, "smtp.mailfrom=example.org;\r\n\tdkim=none") != NULL);
	CHECK(strstr(f.v.header, "dmarc=fail (p=reject) header.from=example.org\r\n") != NULL);
	json_error_t err;
	json_t *j = json_loads(f.v.json, 0, &err);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "spf"), "result")), "fail");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "spf"), "reason")), "spf_fail");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "dmarc"), "policy")), "reject");
	json_decref(j);
	teardown(&f);
}

TEST(trusted_received_host)
{
	struct fixture f;
	setup(&f, "false", "require");
	const char *ip = NULL, *helo = NULL;
	CHECK_INT(auth_received_peer(f.a, f.in.raw, "MX.provider.example", &ip, &helo, &f.why), 0);
	CHECK_STR(ip, "192.0.2.10");
	CHECK_STR(helo, "mail.example.org");
	CHECK_INT(auth_received_peer(f.a, f.in.raw, "other.example", &ip, &helo, &f.why), 1);
	CHECK_INT(auth_received_peer(f.a, f.in.raw, "", &ip, &helo, &f.why), 1);
	f.in.helo = helo;
	CHECK_INT(run(&f, ip, "alice@example.org"), PR_OK);   /* the IP the host saw: pass */
	CHECK_INT(f.v.spf, AUTH_PASS);
	teardown(&f);
}

TEST(trusted_authserv_id)
{
	struct fixture f;
	setup(&f, "true", "require");
	f.in.trusted_authserv_id = "mx.provider.example";
	CHECK_INT(run(&f, "", "alice@example.org"), PR_OK);
	CHECK_STR(f.v.adopted_from, "mx.provider.example");
	CHECK_INT(f.v.ndkim, 1);
	CHECK(f.v.ndkim == 1 && f.v.dkim[0].aligned);
	CHECK_STR(f.v.ndkim ? f.v.dkim[0].selector : "", "sel");
	CHECK(strstr(f.v.header, "(results adopted from mx.provider.example)") != NULL);
	/* an id nobody stamped: checked here, and DKIM is missing */
	f.in.trusted_authserv_id = "someone.else";
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_E_DKIM_NONE);
	teardown(&f);
}

/* The provider stamped no Authentication-Results of its own; the sender
 * wrote one with the provider's id below its own Received (or right
 * under the provider's, with no Received of its own but below ours). */
TEST(trusted_authserv_id_written_by_sender)
{
	static const char forged[] =
		"Received: from attacker.example (attacker.example [203.0.113.66])\r\n"
		"\tby mx.provider.example with ESMTP id 9; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"Received: from localhost by attacker.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"Authentication-Results: mx.provider.example; spf=pass smtp.mailfrom=alice@example.org;\r\n"
		"  dkim=pass header.d=example.org header.s=sel; dmarc=pass header.from=example.org\r\n"
		"From: Alice <alice@example.org>\r\n\r\nbody\r\n";
	struct fixture f;
	setup(&f, "true", "require");
	f.in.raw = spool_from_bytes(f.a, NULL, forged, sizeof(forged) - 1);
	f.in.trusted_authserv_id = "mx.provider.example";
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_E_DKIM_NONE);
	CHECK(f.v.adopted_from == NULL);
	/* the same with trusted_received_host naming the provider's MX */
	f.in.trusted_received_host = "mx.provider.example";
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_E_DKIM_NONE);
	CHECK(f.v.adopted_from == NULL);
	/* a provider stamp the sender wrote lower down does not move the line */
	static const char two[] =
		"Received: from attacker.example (attacker.example [203.0.113.66])\r\n"
		"\tby mx.provider.example with ESMTP id 9; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"Received: from x (x [192.0.2.10]) by mx.provider.example; Mon, 1 Jan 2024\r\n"
		"Authentication-Results: mx.provider.example; dkim=pass header.d=example.org\r\n"
		"From: Alice <alice@example.org>\r\n\r\nbody\r\n";
	f.in.raw = spool_from_bytes(f.a, NULL, two, sizeof(two) - 1);
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_E_DKIM_NONE);
	CHECK(f.v.adopted_from == NULL);
	/* ... nor does a HELO of "by" hide the provider's real stamp */
	static const char helo_by[] =
		"Received: from by (attacker.example [203.0.113.66])\r\n"
		"\tby mx.provider.example with ESMTP id 9; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
		"Received: from x (x [192.0.2.10]) by mx.provider.example; Mon, 1 Jan 2024\r\n"
		"Authentication-Results: mx.provider.example; dkim=pass header.d=example.org\r\n"
		"From: Alice <alice@example.org>\r\n\r\nbody\r\n";
	f.in.raw = spool_from_bytes(f.a, NULL, helo_by, sizeof(helo_by) - 1);
	CHECK_INT(run(&f, "192.0.2.10", "alice@example.org"), PR_E_DKIM_NONE);
	CHECK(f.v.adopted_from == NULL);
	teardown(&f);
}

static const char *
stripped(struct arena *a, const char *m, const char *id, size_t *n)
{
	struct pr_why why;
	struct spool *in = spool_from_bytes(a, NULL, m, strlen(m));
	struct spool *out = auth_strip_own_results(a, in, id, NULL, n, &why);
	if (out == NULL)
		return "(error)";
	char *buf = arena_alloc(a, spool_size(out) + 1);
	spool_read_at(out, 0, buf, spool_size(out));
	return buf;
}

/* Our own authserv-id in what the sender wrote: removed, however it is
 * spelt; other ids, and the body, stay byte for byte. */
TEST(strip_own_results)
{
	struct arena *a = arena_new();
	size_t n;
	const char *m =
		"Authentication-Results: MX.Firm.Example; dkim=pass header.d=firm.example\r\n"
		"Subject: hi\r\n"
		"Authentication-Results: (looks innocent) \"mx.firm.example\";\r\n"
		"\tdkim=pass header.d=firm.example\r\n"
		"Authentication-Results :\r\n mx.firm.example; spf=pass\r\n"
		"Authentication-Results: mx.provider.example; dkim=pass\r\n"
		"Authentication-Results: mx.firm.example.evil; dkim=pass\r\n"
		"\r\n"
		"Authentication-Results: mx.firm.example; body text stays\r\n";
	CHECK_STR(stripped(a, m, "mx.firm.example", &n),
	          "Subject: hi\r\n"
	          "Authentication-Results: mx.provider.example; dkim=pass\r\n"
	          "Authentication-Results: mx.firm.example.evil; dkim=pass\r\n"
	          "\r\n"
	          "Authentication-Results: mx.firm.example; body text stays\r\n");
	CHECK_INT(n, 3);
	/* an id hidden behind a comment longer than we read: removed too */
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "Authentication-Results: (");
	for (int i = 0; i < 600; i++)
		buf_addstr(&b, "padding \r\n ");
	buf_addstr(&b, ") mx.firm.example; dkim=pass\r\nSubject: x\r\n\r\nb\r\n");
	CHECK_STR(stripped(a, buf_cstr(&b), "mx.firm.example", &n), "Subject: x\r\n\r\nb\r\n");
	buf_free(&b);
	/* nothing of ours: the same spool comes back */
	struct pr_why why;
	struct spool *in = spool_from_bytes(a, NULL, "Subject: x\r\n\r\n", 14);
	CHECK(auth_strip_own_results(a, in, "mx.firm.example", NULL, &n, &why) == in);
	CHECK_INT(n, 0);
	arena_free(&a);
}

int
main(void)
{
	RUN(spf_results_and_reasons);
	RUN(dkim_required);
	RUN(dmarc_policy);
	RUN(header_and_json);
	RUN(trusted_received_host);
	RUN(trusted_authserv_id);
	RUN(trusted_authserv_id_written_by_sender);
	RUN(strip_own_results);
	return test_summary("auth");
}
