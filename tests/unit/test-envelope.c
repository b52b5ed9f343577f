/* test-envelope.c - the envelope of collected mail (src/intake/envelope.c)
 * and the one header reader and address-list parser it uses
 * (mime_header_values, address_list): recipients from the catch-all
 * header, the system address or To/Cc; the sender from Return-Path or
 * From; the client from the trusted Received, and a deferral when that
 * field does not parse.  Against a real SQLite store for the routing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/settings.h"
#include "core/spool.h"
#include "intake/envelope.h"
#include "intake/intake.h"
#include "mime/mime.h"
#include "route/address.h"
#include "store/store.h"
#include "test.h"

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

TEST(header_values)
{
	struct arena *a = arena_new();
	struct spool *raw = spool_from_bytes(a, NULL, msg, sizeof(msg) - 1);
	const char *v[4];
	CHECK_INT(mime_header_values(a, raw, "delivered-to", v, 4), 2);
	CHECK_STR(v[0], " a1234@firm.example ");   /* unfolded: CR LF TAB -> spaces */
	CHECK_STR(v[1], " other@firm.example ");
	CHECK_INT(mime_header_values(a, raw, "Delivered-To", v, 1), 1);   /* bounded */
	CHECK_INT(mime_header_values(a, raw, "Cc", v, 4), 0);
	CHECK_INT(mime_header_values(a, raw, "To", v, 4), 1);             /* not the body's */
	CHECK_STR(v[0], " \"Smith, Anne\" <anne@firm.example>, bob@firm.example (Bob),   "
	                "carol@Firm.Example ");
	const char *addrs[8];
	CHECK_INT(address_list(a, v[0], addrs, 8), 3);
	CHECK_STR(addrs[0], "anne@firm.example");
	CHECK_STR(addrs[1], "bob@firm.example");
	CHECK_STR(addrs[2], "carol@Firm.Example");
	CHECK_INT(address_list(a, "a@x, b@y, c@z", addrs, 2), 2);
	CHECK_INT(address_list(a, "undisclosed-recipients:;", addrs, 8), 0);
	CHECK_INT(address_list(a, "<a@x", addrs, 8), 0);
	/* a message without a body separator: the whole text is headers */
	raw = spool_from_bytes(a, NULL, "X: 1\r\nY: 2", 10);
	CHECK_INT(mime_header_values(a, raw, "Y", v, 4), 1);
	CHECK_STR(v[0], " 2");
	arena_free(&a);
}

struct fx {
	char dir[64], uri[128];
	struct store *st;
	struct settings *set;
	struct pr_why why;
};

static void
setup(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/postroom-env-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->uri, sizeof(f->uri), "sqlite:%s/t.db", f->dir);
	f->st = store_open(f->uri, &f->why);
	CHECK(f->st != NULL);
	CHECK_INT(store_domain_add(f->st, "firm.example", &f->why), 0);
	CHECK_INT(store_project_add(f->st, "1234", "Harbour", &f->why), 0);
	f->set = settings_new();
	settings_set(f->set, SET_TRUSTED_RECEIVED_HOST, "mx.provider.example", SRC_FILE, &f->why);
}

static void
teardown(struct fx *f)
{
	store_close(&f->st);
	settings_unref(&f->set);
	CHECK_INT(test_rmtree(f->dir), 0);
}

static int
envelope(struct fx *f, const char *bytes, struct intake_msg **m_r)
{
	struct intake_msg *m = intake_msg_new(INTAKE_POP3);
	m->raw = spool_from_bytes(m->arena, NULL, bytes, strlen(bytes));
	*m_r = m;
	return intake_envelope(f->st, f->set, m, &f->why);
}

static void
done(struct intake_msg *m)
{
	struct arena *a = m->arena;   /* m lives inside its own arena */
	arena_free(&a);
}

TEST(envelope_of_collected_mail)
{
	struct fx f;
	setup(&f);
	struct intake_msg *m;
	/* single mailbox without system_address: To, then Cc */
	CHECK_INT(envelope(&f, msg, &m), 0);
	CHECK_STR(m->mail_from, "bounce@lists.example");
	CHECK_STR(m->peer_ip, "209.85.220.41");
	CHECK_STR(m->helo, "mail-sor-f41.google.com");
	CHECK_INT(m->nrcpts, 3);                      /* unassigned at our domain */
	done(m);
	/* catch-all: the first Delivered-To only */
	settings_set(f.set, SET_MAILBOX_TYPE, "catchall", SRC_FILE, &f.why);
	CHECK_INT(envelope(&f, msg, &m), 0);
	CHECK_INT(m->nrcpts, 1);
	CHECK_STR(m->nrcpts ? m->rcpts[0].address : "", "a1234@firm.example");
	CHECK(m->nrcpts && m->rcpts[0].ntargets == 1 && m->rcpts[0].targets[0].kind == ROUTE_PROJECT);
	done(m);
	/* null sender; From when there is no Return-Path */
	CHECK_INT(envelope(&f, "Return-Path: <>\r\nTo: a1234@firm.example\r\n\r\n", &m), 0);
	CHECK_STR(m->mail_from, "");
	done(m);
	CHECK_INT(envelope(&f, "From: Alice <alice@firm.example>\r\n\r\n", &m), 0);
	CHECK_STR(m->mail_from, "alice@firm.example");
	CHECK_STR(m->peer_ip, "");                     /* no stamp by the host: unknown */
	CHECK_INT(m->nrcpts, 0);
	done(m);
	/* a recipient at a domain we do not serve: kept, for Unassigned */
	CHECK_INT(envelope(&f, "Delivered-To: x@elsewhere.example\r\n\r\n", &m), 0);
	CHECK_INT(m->nrcpts, 0);
	done(m);
	teardown(&f);
}

TEST(unparsed_trusted_received_defers)
{
	struct fx f;
	setup(&f);
	struct intake_msg *m;
	static const char hostile[] =
	    "Received: from x (allowed.example [198.51.100.7]) (unknown [203.0.113.66])\r\n"
	    "\tby mx.provider.example (Postfix) with ESMTP id Q; Mon, 1 Jan 2024\r\n"
	    "Received: from ok (ok [198.51.100.7]) by mx.provider.example; forged\r\n"
	    "To: a1234@firm.example\r\n\r\n";
	CHECK_INT(envelope(&f, hostile, &m), -1);
	CHECK_INT(f.why.code, PR_E_RECEIVED_UNPARSED);
	CHECK(pr_err_is_temporary(f.why.code));
	CHECK(strstr(f.why.detail, "more than one client IP") != NULL);
	CHECK_STR(m->peer_ip, "");
	done(m);
	/* the real stamp with an IP-literal HELO: the TCP-info IP */
	static const char literal[] =
	    "Received: from [198.51.100.7] (unknown [203.0.113.66])\r\n"
	    "\tby mx.provider.example (Postfix) with ESMTP id Q; Mon, 1 Jan 2024\r\n\r\n";
	CHECK_INT(envelope(&f, literal, &m), 0);
	CHECK_STR(m->peer_ip, "203.0.113.66");
	CHECK_STR(m->helo, "[198.51.100.7]");
	done(m);
	teardown(&f);
}

int
main(void)
{
	RUN(header_values);
	RUN(envelope_of_collected_mail);
	RUN(unparsed_trusted_received_defers);
	return test_summary("envelope");
}
