/* test-intake.c - the pure parts of the pipeline: our Received header
 * (no header injection through HELO) and loop counting. */
#include <string.h>

#include "core/arena.h"
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

int
main(void)
{
	RUN(received_header_is_clean);
	RUN(own_received_counted);
	return test_summary("intake");
}
