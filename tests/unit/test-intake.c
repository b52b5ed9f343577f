/* test-intake.c - the pure parts of the pipeline (our Received header
 * with no header injection through HELO, loop counting), one run of
 * the real pipeline against a failing disk, the one log writer, and a
 * commit waking the webhook thread. */
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/settings.h"
#include "core/spool.h"
#include "intake/intake_private.h"
#include "store/store.h"
#include "webhook/webhook.h"
#include "dnsmasq.h"
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

/* Queue ids are drawn by every intake worker: none may repeat, within a
 * thread or between two. */
#define IDS_PER_THREAD 20000

static void *
draw_ids(void *arg)
{
	char (*ids)[17] = arg;
	struct arena *a = arena_new();
	for (int i = 0; i < IDS_PER_THREAD; i++) {
		const char *id = intake_queue_id(a);
		memcpy(ids[i], id, 17);
		if (i % 1000 == 999) {             /* keep the arena small */
			arena_free(&a);
			a = arena_new();
		}
	}
	arena_free(&a);
	return NULL;
}

static int
cmp_id(const void *x, const void *y)
{
	return memcmp(x, y, 17);
}

TEST(queue_ids_never_repeat)
{
	char (*ids)[17] = calloc(2 * IDS_PER_THREAD, 17);
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, draw_ids, ids + IDS_PER_THREAD), 0);
	draw_ids(ids);
	CHECK_INT(pthread_join(t, NULL), 0);
	qsort(ids, 2 * IDS_PER_THREAD, 17, cmp_id);
	size_t repeats = 0, hex = 0;
	for (size_t i = 0; i < 2 * IDS_PER_THREAD; i++) {
		hex += strspn(ids[i], "0123456789ABCDEF") == 16 && ids[i][16] == '\0';
		repeats += i > 0 && memcmp(ids[i], ids[i - 1], 17) == 0;
	}
	CHECK_INT(hex, 2 * IDS_PER_THREAD);
	CHECK_INT(repeats, 0);
	free(ids);
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

/* A message from alice to project 1234 whose bytes the caller writes. */
static struct intake_msg *
alice_msg(const char *dir)
{
	struct intake_msg *m = intake_msg_new(INTAKE_SMTP);
	static struct intake_rcpt r = {.address = "a1234@firm.example"};
	m->peer_ip = "127.0.0.1";
	m->helo = "client.example";
	m->mail_from = "alice@firm.example";
	m->rcpts = &r;
	m->nrcpts = 1;
	m->raw = spool_new(m->arena, dir);
	return m;
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
	struct intake_msg *m = alice_msg(dir);
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
	CHECK(j.row != NULL && j.row->e.reason == PR_E_IO);   /* for the committer */
	free(j.row);
	store_close(&w.st);
	/* and through the whole pipeline (which takes m) */
	struct intake_result res;
	intake_submit_wait(in, m, &res);
	CHECK_INT(res.why.code, PR_E_IO);
	CHECK_INT(res.message_id, 0);
	CHECK(res.logged);
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
	CHECK_INT(n, 1);                  /* the worker's step alone wrote nothing */
	CHECK_INT(le[0].reason, PR_E_IO);
	arena_free(&a);
	store_close(&st);
	CHECK_INT(test_rmtree(dir), 0);
}

/* ---- the one writer of the intake log (the committer) ---- */

struct fixture {
	char dir[64], uri[128], db[128];
	struct intake *in;
	sqlite3 *locker;             /* another process's write lock, held */
};

static void
fixture_open(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/postroom-test-XXXXXX");
	CHECK(mkdtemp(f->dir) != NULL);
	snprintf(f->uri, sizeof(f->uri), "sqlite:%s/t.db", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/t.db", f->dir);
	struct pr_why why;
	struct intake_options opt = {.store_uri = f->uri, .spool_dir = f->dir, .workers = 1};
	f->in = intake_new(&opt, &why);
	CHECK(f->in != NULL);
	f->locker = NULL;
}

/* What a CLI write or a POP3 round does to the committer: hold the write
 * lock (WAL: readers go on, writers wait for the busy timeout). */
static void
fixture_lock(struct fixture *f)
{
	CHECK_INT(sqlite3_open(f->db, &f->locker), SQLITE_OK);
	CHECK_INT(sqlite3_exec(f->locker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void
fixture_unlock(struct fixture *f)
{
	CHECK_INT(sqlite3_exec(f->locker, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(f->locker);
	f->locker = NULL;
}

static size_t
fixture_rows(struct fixture *f, const char *verdict)
{
	struct pr_why why;
	struct store *st = store_open(f->uri, &why);
	struct arena *a = arena_new();
	struct store_log_filter lf = {.verdict = verdict, .limit = 100000};
	struct store_log_entry *le;
	size_t n = 0;
	CHECK_INT(store_log_list(st, a, &lf, &le, &n, &why), 0);
	arena_free(&a);
	store_close(&st);
	return n;
}

static void
fixture_close(struct fixture *f)
{
	if (f->locker)
		fixture_unlock(f);
	intake_free(&f->in);
	CHECK_INT(test_rmtree(f->dir), 0);
}

/* A message every worker refuses at once, without DNS: a mail loop. */
static struct intake_msg *
looping_msg(const char *dir)
{
	struct intake_msg *m = alice_msg(dir);
	struct settings *set = settings_current();
	const char *host = settings_str(set, SET_HOSTNAME);
	for (int i = 0; i <= PR_MAX_OWN_RECEIVED; i++) {
		char line[300];
		int n = snprintf(line, sizeof(line), "Received: from x.example by %s (postroom) with ESMTP "
		                 "id %d; Thu, 1 Jan 2026 00:00:00 +0000\r\n", host, i);
		spool_write(m->raw, line, (size_t)n);
	}
	settings_unref(&set);
	static const char rest[] = "From: alice@firm.example\r\nSubject: loop\r\n\r\nbody\r\n";
	spool_write(m->raw, rest, sizeof(rest) - 1);
	spool_finish(m->raw);
	return m;
}

/* A worker never writes: with the store's write lock held elsewhere, its
 * refusal step returns at once with the row for the committer (before,
 * each refusal waited up to the 5 s busy timeout for its own fsync). */
TEST(worker_refusal_does_not_write)
{
	struct fixture f;
	fixture_open(&f);
	fixture_lock(&f);
	struct pr_why why;
	struct intake_worker w = {.in = f.in, .st = store_open(f.uri, &why)};
	struct intake_job j = {.m = looping_msg(f.dir)};
	double t0 = test_seconds();
	intake_process(&w, &j);
	CHECK(test_seconds() - t0 < 2.0);
	CHECK(j.sm == NULL);
	CHECK_INT(j.res.why.code, PR_E_LOOP);
	CHECK(j.row != NULL && !strcmp(j.row->e.verdict, "rejected"));
	free(j.row);
	store_close(&w.st);
	struct arena *ma = j.m->arena;
	arena_free(&ma);
	fixture_unlock(&f);
	/* through the pipeline: done() hears that the row is durable */
	struct intake_result res;
	double w0 = test_seconds();
	intake_submit_wait(f.in, looping_msg(f.dir), &res);
	double wall_ms = (test_seconds() - w0) * 1e3;
	CHECK_INT(res.why.code, PR_E_LOOP);
	CHECK(res.logged);
	CHECK_INT(fixture_rows(&f, "rejected"), 1);
	struct intake_stats s;
	intake_get_stats(f.in, &s);
	CHECK_INT(s.rows_written, 1);
	/* its time in each stage was counted, and adds up to no more than
	 * the wait for its answer */
	CHECK_INT(s.staged, 1);
	CHECK(s.wait_worker_ms >= 0 && s.work_ms > 0 && s.wait_commit_ms >= 0 && s.in_commit_ms > 0);
	CHECK(s.wait_worker_ms + s.work_ms + s.wait_commit_ms + s.in_commit_ms <= wall_ms);
	CHECK(s.checks_cpu_ms == 0);              /* a loop is refused before any check */
	fixture_close(&f);
}

struct held_result {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool done;
	struct intake_result res;
};

static void
held_done(void *arg, const struct intake_result *res)
{
	struct held_result *h = arg;
	pthread_mutex_lock(&h->lock);
	h->res = *res;
	h->done = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->lock);
}

/* The store stays locked past the busy timeout: done() says the refusal's
 * row is NOT durable (so POP3 keeps the message), and the row is written
 * by a later commit once the lock is gone. */
TEST(busy_commit_row_written_later)
{
	struct fixture f;
	fixture_open(&f);
	fixture_lock(&f);
	struct held_result h = {.done = false};
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cv, NULL);
	intake_submit(f.in, looping_msg(f.dir), held_done, &h);
	pthread_mutex_lock(&h.lock);
	while (!h.done)
		pthread_cond_wait(&h.cv, &h.lock);    /* after the 5 s busy timeout */
	pthread_mutex_unlock(&h.lock);
	CHECK_INT(h.res.why.code, PR_E_LOOP);     /* the answer is still the refusal */
	CHECK(!h.res.logged);
	fixture_unlock(&f);
	intake_free(&f.in);                       /* writes what is queued */
	CHECK_INT(fixture_rows(&f, "rejected"), 1);
	pthread_mutex_destroy(&h.lock);
	pthread_cond_destroy(&h.cv);
	fixture_close(&f);
}

/* A flood of refusals while the store is locked: the queue stops at its
 * cap, the rest are counted as dropped, and everything queued is written
 * once the lock is gone -- no more, no fewer. */
TEST(row_queue_has_a_cap)
{
	struct fixture f;
	fixture_open(&f);
	fixture_lock(&f);
	struct intake_msg *m = intake_msg_new(INTAKE_SMTP);
	m->peer_ip = "192.0.2.1";
	m->helo = "flood.example";
	m->mail_from = "x@flood.example";
	struct pr_why why;
	pr_why_set(&why, PR_E_TOO_BIG, "message size too big");
	size_t total = PR_INTAKE_MAX_QUEUED_ROWS + 1000, refused = 0;
	for (size_t i = 0; i < total; i++)
		refused += !intake_log_refusal(f.in, m, 1, &why);
	CHECK(refused >= 1000 - 256);             /* the committer holds at most a batch */
	struct intake_stats s;
	intake_get_stats(f.in, &s);
	CHECK_INT(s.rows_dropped, refused);
	CHECK(s.rows_queued <= PR_INTAKE_MAX_QUEUED_ROWS);
	fixture_unlock(&f);
	intake_get_stats(f.in, &s);
	struct intake *in = f.in;
	struct intake_stats end;
	f.in = NULL;
	/* stats are read before intake_free frees them */
	double t0 = test_seconds();
	while (test_seconds() - t0 < 30) {
		intake_get_stats(in, &end);
		if (end.rows_queued == 0 && end.rows_written + end.rows_dropped == total)
			break;
		usleep(20000);
	}
	CHECK_INT(end.rows_written + end.rows_dropped, total);
	intake_free(&in);
	CHECK_INT(fixture_rows(&f, "rejected"), end.rows_written);
	CHECK(end.rows_written >= PR_INTAKE_MAX_QUEUED_ROWS);
	struct arena *ma = m->arena;
	arena_free(&ma);
	fixture_close(&f);
}

/* The workers' queue (workq.c): a small message is taken before large
 * ones that came first; one worker is always left for small mail; a
 * large message that waited too long goes before small ones; stopping
 * takes everything. */
static struct intake_job *
sized_job(struct arena *a, size_t size)
{
	struct intake_job *j = arena_alloc(a, sizeof(*j));
	memset(j, 0, sizeof(*j));
	j->m = arena_alloc(a, sizeof(*j->m));
	memset(j->m, 0, sizeof(*j->m));
	char *bytes = arena_alloc(a, size);
	memset(bytes, 'x', size);
	j->m->raw = spool_from_bytes(a, "/tmp", bytes, size);
	return j;
}

TEST(small_mail_first)
{
	struct arena *a = arena_new();
	struct intake_workq q;
	intake_workq_init(&q, 4);
	struct intake_job *big[5], *small = sized_job(a, 10 * 1024);
	for (int i = 0; i < 5; i++) {
		big[i] = sized_job(a, PR_STORE_BODY_MIN);
		intake_workq_push(&q, big[i]);
	}
	intake_workq_push(&q, small);
	CHECK(small->large == false && big[0]->large);
	CHECK(intake_workq_pop(&q, false) == small);            /* behind five large ones */
	CHECK(intake_workq_pop(&q, false) == big[0]);
	CHECK(intake_workq_pop(&q, false) == big[1]);
	CHECK(intake_workq_pop(&q, false) == big[2]);
	CHECK(intake_workq_pop(&q, false) == NULL);             /* the fourth worker waits for small mail */
	CHECK(intake_workq_done(&q, small) == false);
	CHECK(intake_workq_done(&q, big[0]) == true);           /* a large one may go now */
	CHECK(intake_workq_pop(&q, false) == big[3]);
	/* A large message that waited long enough goes before small ones. */
	struct intake_job *late = sized_job(a, 100);
	intake_workq_push(&q, late);
	CHECK(intake_workq_done(&q, big[1]) == true);
	big[4]->queued_ms -= 1000.0;
	CHECK(intake_workq_pop(&q, false) == big[4]);
	CHECK(intake_workq_pop(&q, false) == late);
	CHECK(intake_workq_empty(&q));
	/* Stopping: the reserve no longer holds a large one back. */
	struct intake_job *last = sized_job(a, PR_STORE_BODY_MIN);
	intake_workq_push(&q, last);
	CHECK(intake_workq_pop(&q, false) == NULL);
	CHECK(intake_workq_pop(&q, true) == last);
	arena_free(&a);
}

/* A stored message's webhook deliveries go out at once: the committer
 * pokes this process's webhook thread (webhook_queue_poke).  The thread's
 * nap here is two minutes, past the 30 s deadline, so only the poke can
 * bring the attempt in time.  The webhook's URL is a closed loopback port:
 * the attempt fails at once and is recorded (attempts 1).  DNS: a loopback
 * dnsmasq that knows no name (SPF and DMARC none, nothing required). */
TEST(commit_wakes_webhooks)
{
	struct test_dnsmasq dns;
	if (!test_dnsmasq_start(&dns, "", 0))
		SKIP("dnsmasq could not be started (/usr/sbin/dnsmasq)");
	char dir[] = "/tmp/postroom-test-XXXXXX", uri[128], server[40];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(uri, sizeof(uri), "sqlite:%s/t.db", dir);
	snprintf(server, sizeof(server), "127.0.0.1:%d", dns.port);
	struct pr_why why;
	struct settings *set = settings_new();
	CHECK_INT(settings_set(set, SET_DNS_SERVER, server, SRC_FILE, &why), 0);
	CHECK_INT(settings_set(set, SET_REQUIRE_SPF, "false", SRC_FILE, &why), 0);
	CHECK_INT(settings_set(set, SET_REQUIRE_DKIM, "false", SRC_FILE, &why), 0);
	settings_publish(settings_clone(set));
	struct store *st = store_open(uri, &why);
	const char *alice[] = {"alice@firm.example"};
	int64_t wid;
	CHECK(st != NULL);
	CHECK_INT(store_domain_add(st, "firm.example", &why), 0);
	CHECK_INT(store_user_add(st, "alice", "Alice Archer", alice, 1, &why), 0);
	CHECK_INT(store_project_add(st, "1234", "Harbour", &why), 0);
	CHECK_INT(store_project_grant(st, "1234", "alice", &why), 0);
	CHECK_INT(store_webhook_add(st, "http://127.0.0.1:9/hook", "1234", "s", time(NULL), &wid, &why), 0);
	struct intake_options opt = {.store_uri = uri, .spool_dir = dir, .workers = 1};
	struct intake *in = intake_new(&opt, &why);
	struct webhook_worker_options wo = {.store_uri = uri, .node_id = "test", .poll_ms = 120000};
	struct webhook_worker *w = webhook_worker_start(&wo, &why);
	CHECK(in != NULL && w != NULL);
	double end = test_seconds() + 30;
	while (webhook_worker_rounds(w) < 1 && test_seconds() < end)
		nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
	CHECK_INT(webhook_worker_rounds(w), 1);          /* napping, nothing due */
	struct intake_msg *m = alice_msg(dir);
	struct intake_rcpt *r = arena_alloc(m->arena, sizeof(*r));
	CHECK_INT(intake_judge_rcpt(in, m->arena, "a1234@firm.example", r, &why), 0);
	m->rcpts = r;
	static const char text[] = "From: alice@firm.example\r\nTo: a1234@firm.example\r\n"
	                           "Subject: plans\r\nMessage-ID: <wake@firm.example>\r\n\r\nhello\r\n";
	spool_write(m->raw, text, sizeof(text) - 1);
	spool_finish(m->raw);
	struct intake_result res;
	intake_submit_wait(in, m, &res);
	CHECK_INT(res.why.code, PR_OK);
	CHECK(res.message_id > 0);
	struct arena *a = arena_new();
	struct store_webhook_filter f = {0};
	struct store_webhook_delivery *d = NULL;
	size_t n = 0;
	while (test_seconds() < end) {
		CHECK_INT(store_webhook_deliveries(st, a, &f, &d, &n, &why), 0);
		if (n == 1 && d[0].attempts >= 1)
			break;
		nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
	}
	CHECK_INT(n, 1);
	CHECK(n == 1 && d[0].attempts == 1 && d[0].message_id == res.message_id);
	webhook_worker_stop(&w);
	intake_free(&in);
	arena_free(&a);
	store_close(&st);
	settings_unref(&set);
	settings_publish(settings_new());
	test_dnsmasq_stop(&dns);
	CHECK_INT(test_rmtree(dir), 0);
}

int
main(void)
{
	RUN(received_header_is_clean);
	RUN(queue_ids_never_repeat);
	RUN(own_received_counted);
	RUN(spool_read_error_is_temporary);
	RUN(worker_refusal_does_not_write);
	RUN(busy_commit_row_written_later);
	RUN(row_queue_has_a_cap);
	RUN(small_mail_first);
	RUN(commit_wakes_webhooks);
	return test_summary("intake");
}
