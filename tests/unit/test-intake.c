/* test-intake.c - the pure parts of the pipeline (our Received header
 * with no header injection through HELO, loop counting) and one run of
 * the real pipeline against a failing disk. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/spool.h"
#include "intake/intake_private.h"
#include "test.h"

TEST(received_header_is_clean)
{
	struct intake_msg *m = intake_msg_new(INTAKE_SMTP);
	struct intake_rcpt r = {.address = "a1234@firm.example"};
	m->helo = "evil\r\nX-Injected: yes";
	m->peer_ip = "127.0.0.1";
	m->rcpts = &r;
	m->nrcpts = 1;
	const char *h = intake_received_header(m->arena, m, "mx.firm.example", "ABCDEF0123456789");
	CHECK(strncmp(h, "Received: from evil__X-Injected:_yes (unknown [127.0.0.1])", 58) == 0);
	CHECK(strstr(h, "\r\n\tby mx.firm.example (postroom) with ESMTP id ABCDEF0123456789") != NULL);
	CHECK(strstr(h, "for <a1234@firm.example>") != NULL);
	/* every line but the last ends in CRLF and continues with a tab */
	size_t crlf = 0;
	for (const char *p = h; (p = strstr(p, "\r\n")) != NULL; p += 2) {
		crlf++;
		CHECK(p[2] == '\t' || p[2] == '\0');
	}
	CHECK_INT(crlf, 4);
	CHECK_INT(strlen(intake_queue_id(m->arena)), 16);
	struct arena *a = m->arena;   /* m lives inside its own arena */
	arena_free(&a);
}

TEST(own_received_counted)
{
	const char *rcv[] = {
		"from a.example by mx.firm.example (postroom) with ESMTP id 1; date",
		"from b.example\r\n\tby MX.FIRM.EXAMPLE (postroom) with ESMTP id 2; date",
		"from c.example by mx.firm.example.evil (x) with ESMTP id 3; date",
		"from d.example by other.example with ESMTP; date",
	};
	struct mime_info mi;
	memset(&mi, 0, sizeof(mi));
	mi.received = rcv;
	mi.nreceived = 4;
	CHECK_INT(intake_count_own_received(&mi, "mx.firm.example"), 2);
}

/* A message spilled to a spool file that can no longer be read (a disk
 * error; here the descriptor is swapped for a directory's, so pread fails
 * with EISDIR) must be deferred with 451 and stored nowhere -- not filed
 * in Fallback as if the sender had sent garbage. */
TEST(spool_read_error_is_temporary)
{
	char dir[] = "/tmp/postroom-test-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char uri[128];
	snprintf(uri, sizeof(uri), "sqlite:%s/t.db", dir);
	struct pr_why why;
	struct intake_options opt = {.store_uri = uri, .spool_dir = dir, .workers = 1};
	struct intake *in = intake_new(&opt, &why);
	CHECK(in != NULL);
	struct intake_msg *m = intake_msg_new(INTAKE_SMTP);
	static struct intake_rcpt r = {.address = "a1234@firm.example"};
	m->peer_ip = "127.0.0.1";
	m->helo = "client.example";
	m->mail_from = "alice@firm.example";
	m->rcpts = &r;
	m->nrcpts = 1;
	m->raw = spool_new(m->arena, dir);
	static const char head[] = "From: alice@firm.example\r\nSubject: big\r\n\r\n";
	spool_write(m->raw, head, sizeof(head) - 1);
	char line[80];
	memset(line, 'x', 78);
	memcpy(line + 78, "\r\n", 2);
	for (size_t n = 0; n < 2 * PR_SPOOL_MEMORY_MAX; n += sizeof(line))
		spool_write(m->raw, line, sizeof(line));
	spool_finish(m->raw);
	CHECK(spool_fd(m->raw) >= 0);
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0 && dup2(d, spool_fd(m->raw)) >= 0);
	close(d);
	/* The worker's step alone first: it must not build a record (the
	 * commit's own read would fail too and hide a Fallback filing). */
	struct intake_worker w = {.in = in, .st = store_open(uri, &why)};
	struct intake_job j = {.m = m};
	intake_process(&w, &j);
	CHECK(j.sm == NULL);
	CHECK_INT(j.res.why.code, PR_E_IO);
	store_close(&w.st);
	/* and through the whole pipeline (which takes m) */
	struct intake_result res;
	intake_submit_wait(in, m, &res);
	CHECK_INT(res.why.code, PR_E_IO);
	CHECK_INT(res.message_id, 0);
	intake_free(&in);
	struct store *st = store_open(uri, &why);
	struct arena *a = arena_new();
	struct store_message_filter f = {0};
	struct store_message_summary *ms;
	size_t n = 99;
	CHECK_INT(store_message_list(st, a, &f, &ms, &n, &why), 0);
	CHECK_INT(n, 0);
	struct store_log_filter lf = {.verdict = "deferred"};
	struct store_log_entry *le;
	CHECK_INT(store_log_list(st, a, &lf, &le, &n, &why), 0);
	CHECK_INT(n, 2);
	CHECK_INT(le[0].reason, PR_E_IO);
	arena_free(&a);
	store_close(&st);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
}

int
main(void)
{
	RUN(received_header_is_clean);
	RUN(own_received_counted);
	RUN(spool_read_error_is_temporary);
	return test_summary("intake");
}
