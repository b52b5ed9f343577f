/* test-outbound.c - the outbound queue against a real store (SQLite, or
 * PostgreSQL with POSTROOM_TEST_PG: test-pg.h):
 * send (compose, store in the thread, internal placement, queue row),
 * claims with leases (expired leases, a result without the lease refused,
 * two connections claiming at once never share a row), results per
 * recipient, expiry, retry and cancel, one worker round, and the worker
 * thread woken by a send. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/settings.h"
#include "outbound/outbound.h"
#include "store/store.h"
#include "test.h"
#include "test-pg.h"

static char dir[256], uri[600];
static struct settings *set;

static struct store *
seeded(void)
{
	static int n;
	struct pr_why why;
	char name[16];
	snprintf(name, sizeof(name), "o%d", ++n);
	test_store_uri(uri, sizeof(uri), dir, name);
	struct store *st = store_open(uri, &why);
	const char *alice[] = {"alice@firm.example"}, *bob[] = {"bob@firm.example"};
	CHECK(st != NULL);
	CHECK_INT(store_domain_add(st, "firm.example", &why), 0);
	CHECK_INT(store_user_add(st, "alice", "Alice Archer", alice, 1, &why), 0);
	CHECK_INT(store_user_add(st, "bob", NULL, bob, 1, &why), 0);
	CHECK_INT(store_project_add(st, "1234", "Harbour", &why), 0);
	CHECK_INT(store_project_grant(st, "1234", "alice", &why), 0);
	return st;
}

/* Send from project 1234 as alice to the given To list; the result. */
static int
send_to(struct store *st, struct arena *a, const char *const *to, size_t nto, time_t now,
        struct outbound_send_res *res, struct pr_why *why)
{
	struct outbound_send_req req = {.project = "1234", .user = "alice", .to = to, .nto = nto,
	                                .subject = "Harbour plans", .text = "Hello,\nsee attached.\n",
	                                .now = now};
	return outbound_send(st, set, a, &req, res, why);
}

TEST(send_stores_and_queues)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res res;
	const char *to[] = {"Ext@Client.example", "bob@firm.example"};
	CHECK_INT(send_to(st, a, to, 2, 1700000000, &res, &why), 0);
	CHECK_INT(res.nqueued, 1);
	CHECK_INT(res.ninternal, 1);
	CHECK_STR(res.sender, "a1234@firm.example");
	struct store_outbound o;
	CHECK_INT(store_outbound_by_msgid(st, a, arena_printf(a, "<%s>", res.msgid), &o, &why), 0);
	CHECK_INT(o.id, res.outbound_id);
	CHECK_INT(o.state, OUTBOUND_QUEUED);
	CHECK_INT(o.expires_at, 1700000000 + 172800);
	CHECK_INT(o.nrcpts, 2);
	CHECK_STR(o.rcpts[0].address, "ext@client.example");
	CHECK_STR(o.rcpts[0].state, "queued");
	CHECK_STR(o.rcpts[1].state, "internal");
	struct store_message m;
	CHECK_INT(store_message_get(st, a, res.message_id, &m, &why), 0);
	CHECK_STR(m.source, "outbound");
	CHECK_STR(m.s.placements, "project:1234,user:bob");
	CHECK(memmem(m.raw, m.raw_len, "\r\nTo: Ext@Client.example, bob@firm.example\r\n", 44) != NULL);
	CHECK(memmem(m.raw, m.raw_len, "From: Alice Archer <a1234@firm.example>\r\n", 41) != NULL);
	/* only internal recipients: nothing to deliver, sent at once */
	const char *bob[] = {"bob@firm.example"};
	CHECK_INT(send_to(st, a, bob, 1, 1700000000, &res, &why), 0);
	CHECK_INT(store_outbound_get(st, a, res.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_SENT);
	arena_free(&a);
	store_close(&st);
}

/* The composed message, parsed back by our own reader: encoded words,
 * an RFC 2231 file name, multipart/alternative, lines within 998 octets
 * whatever the body holds, CRLF everywhere, Bcc nowhere. */
TEST(compose_shapes)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res res;
	char *longline = arena_alloc(a, 3001);
	memset(longline, 'x', 3000);
	const char *to[] = {"x@client.example"}, *bcc[] = {"hidden@client.example"};
	struct outbound_attachment at = {"Übersicht März.pdf", NULL, (const uint8_t *)"%PDF-1.4\n\0\xff", 12};
	struct outbound_send_req req = {.project = "1234", .user = "alice", .to = to, .nto = 1,
	                                .bcc = bcc, .nbcc = 1, .subject = "Grüße zum Hafen",
	                                .text = arena_printf(a, "Grüße\n%s\n", longline),
	                                .html = "<p>Grüße</p>", .attach = &at, .nattach = 1};
	CHECK_INT(outbound_send(st, set, a, &req, &res, &why), 0);
	struct store_message m;
	CHECK_INT(store_message_get(st, a, res.message_id, &m, &why), 0);
	size_t line = 0, maxline = 0;
	for (size_t i = 0; i < m.raw_len; i++) {
		if (m.raw[i] == '\n') {
			CHECK(i > 0 && m.raw[i - 1] == '\r');
			maxline = line > maxline ? line : maxline;
			line = 0;
		} else {
			line++;
		}
		CHECK(m.raw[i] < 0x80);      /* 7-bit on the wire: every 8-bit byte is encoded */
	}
	CHECK(maxline <= 998);
	CHECK(memmem(m.raw, m.raw_len, "multipart/alternative", 21) != NULL);
	CHECK(memmem(m.raw, m.raw_len, "multipart/mixed", 15) != NULL);
	CHECK(memmem(m.raw, m.raw_len, "hidden@", 7) == NULL);
	CHECK(strstr(m.parsed_json, "\"Übersicht März.pdf\"") != NULL);
	CHECK_STR(m.s.subject, "Grüße zum Hafen");
	struct store_outbound o;
	CHECK_INT(store_outbound_get(st, a, res.outbound_id, &o, &why), 0);
	CHECK_INT(o.nrcpts, 2);
	CHECK_STR(o.rcpts[1].kind, "bcc");
	CHECK_STR(o.rcpts[1].state, "queued");
	arena_free(&a);
	store_close(&st);
}

TEST(send_refuses)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res res;
	const char *bad[] = {"not an address"};
	CHECK_INT(send_to(st, a, bad, 1, 0, &res, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK_INT(send_to(st, a, NULL, 0, 0, &res, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	const char *to[] = {"ext@client.example"};
	struct outbound_send_req req = {.project = "1234", .user = "bob", .to = to, .nto = 1,
	                                .subject = "x", .text = "y"};
	CHECK_INT(outbound_send(st, set, a, &req, &res, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_A_MEMBER);
	req.user = "alice";
	req.subject = "two\r\nBcc: evil@example.org";
	CHECK_INT(outbound_send(st, set, a, &req, &res, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	req.subject = "ok";
	req.in_reply_to = "<nowhere@example.org>";
	CHECK_INT(outbound_send(st, set, a, &req, &res, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	arena_free(&a);
	store_close(&st);
}

TEST(claim_lease_result)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res res;
	const char *to[] = {"x@client.example", "y@client.example"};
	time_t t = 1700000000;
	CHECK_INT(send_to(st, a, to, 2, t, &res, &why), 0);
	struct store_outbound *rows;
	size_t n;
	CHECK_INT(store_outbound_claim(st, a, "A", t, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 1);
	CHECK_INT(rows[0].state, OUTBOUND_SENDING);
	CHECK_INT(rows[0].attempts, 1);
	CHECK_INT(rows[0].nrcpts, 2);
	int64_t lease_a = rows[0].lease;
	/* leased: nobody else gets it ... */
	CHECK_INT(store_outbound_claim(st, a, "B", t + 30, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 0);
	/* ... until the lease runs out (A died, or stalled) */
	CHECK_INT(store_outbound_claim(st, a, "B", t + 61, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 1);
	int64_t lease_b = rows[0].lease;
	CHECK(lease_b != lease_a);
	/* A's late result is refused: B owns the row now */
	struct store_outbound_rcpt_result ok[] = {{"x@client.example", OUTBOUND_OK, "250 ok"},
	                                          {"y@client.example", OUTBOUND_OK, "250 ok"}};
	CHECK_INT(store_outbound_result(st, res.outbound_id, "A", lease_a, t + 62, ok, 2, 0, "250 ok", &why), 1);
	/* B: one recipient taken, one 4xx: queued again for the other only */
	struct store_outbound_rcpt_result mixed[] = {{"x@client.example", OUTBOUND_OK, "250 ok"},
	                                             {"y@client.example", OUTBOUND_TEMPFAIL, "451 later"}};
	CHECK_INT(store_outbound_result(st, res.outbound_id, "B", lease_b, t + 62, mixed, 2, t + 400,
	                                "451 later", &why), 0);
	struct store_outbound o;
	CHECK_INT(store_outbound_get(st, a, res.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_QUEUED);
	CHECK_INT(o.next_attempt_at, t + 400);
	CHECK_STR(o.last_reply, "451 later");
	CHECK_INT(store_outbound_claim(st, a, "A", t + 399, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 0);
	CHECK_INT(store_outbound_claim(st, a, "A", t + 400, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 1);
	CHECK_INT(rows[0].nrcpts, 1);
	CHECK_STR(rows[0].rcpts[0].address, "y@client.example");
	CHECK_INT(store_outbound_result(st, res.outbound_id, "A", rows[0].lease, t + 401, &ok[1], 1, 0,
	                                "250 ok", &why), 0);
	CHECK_INT(store_outbound_get(st, a, res.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_SENT);
	CHECK_INT(o.done_at, t + 401);
	/* sent: never claimed again, even with every lease long gone */
	CHECK_INT(store_outbound_claim(st, a, "C", t + 100000, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 0);
	arena_free(&a);
	store_close(&st);
}

TEST(permfail_and_expiry)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res r1, r2;
	const char *to1[] = {"x@client.example", "y@client.example"}, *to2[] = {"z@client.example"};
	time_t t = 1700000000;
	CHECK_INT(send_to(st, a, to1, 2, t, &r1, &why), 0);
	CHECK_INT(send_to(st, a, to2, 1, t, &r2, &why), 0);
	struct store_outbound *rows;
	size_t n;
	CHECK_INT(store_outbound_claim(st, a, "A", t, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 2);
	struct store_outbound_rcpt_result res[] = {{"x@client.example", OUTBOUND_OK, "250 ok"},
	                                           {"y@client.example", OUTBOUND_PERMFAIL, "550 5.1.1 no such user"}};
	CHECK_INT(store_outbound_result(st, r1.outbound_id, "A", rows[0].lease, t, res, 2, 0, "250 ok", &why), 0);
	struct store_outbound o;
	CHECK_INT(store_outbound_get(st, a, r1.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_FAILED);
	CHECK_STR(o.rcpts[0].state, "sent");
	CHECK_STR(o.rcpts[1].state, "failed");
	CHECK_STR(o.rcpts[1].reply, "550 5.1.1 no such user");
	/* a temporary failure whose next try would fall after expires_at fails */
	struct store_outbound_rcpt_result tf = {"z@client.example", OUTBOUND_TEMPFAIL, "421 busy"};
	CHECK_INT(store_outbound_result(st, r2.outbound_id, "A", rows[1].lease, t, &tf, 1, t + 172800,
	                                "421 busy", &why), 0);
	CHECK_INT(store_outbound_get(st, a, r2.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_FAILED);
	CHECK_STR(o.last_reply, "421 busy");
	CHECK_STR(o.rcpts[0].state, "failed");
	/* retry: queued again with a fresh expiry; a queued row past expiry
	 * fails at the next claim instead of being sent */
	CHECK_INT(store_outbound_retry(st, r2.outbound_id, t + 10, 100, &why), 0);
	CHECK_INT(store_outbound_get(st, a, r2.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_QUEUED);
	CHECK_STR(o.rcpts[0].state, "queued");
	CHECK_INT(store_outbound_claim(st, a, "A", t + 110, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 0);
	CHECK_INT(store_outbound_get(st, a, r2.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_FAILED);
	CHECK(strstr(o.last_reply, "gave up after 1 attempt(s): 421 busy") != NULL);
	arena_free(&a);
	store_close(&st);
}

TEST(retry_cancel)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res r;
	const char *to[] = {"x@client.example"};
	time_t t = 1700000000;
	CHECK_INT(send_to(st, a, to, 1, t, &r, &why), 0);
	CHECK_INT(store_outbound_cancel(st, r.outbound_id, t, &why), 0);
	struct store_outbound *rows;
	size_t n;
	CHECK_INT(store_outbound_claim(st, a, "A", t, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 0);
	CHECK_INT(store_outbound_cancel(st, r.outbound_id, t, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK_INT(store_outbound_retry(st, r.outbound_id, t, 1000, &why), 0);
	CHECK_INT(store_outbound_claim(st, a, "A", t, 60, 8, &rows, &n, &why), 0);
	CHECK_INT(n, 1);
	/* being sent (a live lease): neither cancel nor retry */
	CHECK_INT(store_outbound_cancel(st, r.outbound_id, t + 1, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK_INT(store_outbound_retry(st, r.outbound_id, t + 1, 1000, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK_INT(store_outbound_retry(st, 999, t, 1000, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	arena_free(&a);
	store_close(&st);
}

/* Two connections claiming the same queue at the same time. */
#define RACE_MSGS 60
struct claimer {
	const char *name;
	int64_t got[RACE_MSGS];
	int ngot, errors;
};

static void *
claim_loop(void *arg)
{
	struct claimer *c = arg;
	struct pr_why why;
	struct store *st = store_open(uri, &why);
	store_set_busy_timeout(st, 20000);
	for (int round = 0; round < 200; round++) {
		struct arena *a = arena_new();
		struct store_outbound *rows;
		size_t n = 0;
		if (store_outbound_claim(st, a, c->name, 1700000000, 600, 3, &rows, &n, &why) < 0)
			c->errors++;
		for (size_t i = 0; i < n && c->ngot < RACE_MSGS; i++)
			c->got[c->ngot++] = rows[i].id;
		arena_free(&a);
		if (n == 0 && c->errors == 0 && round > 0)
			break;
	}
	store_close(&st);
	return NULL;
}

TEST(two_claimers_never_share)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	const char *to[] = {"x@client.example"};
	for (int i = 0; i < RACE_MSGS; i++) {
		struct outbound_send_res r;
		CHECK_INT(send_to(st, a, to, 1, 1700000000, &r, &why), 0);
	}
	store_close(&st);
	struct claimer c1 = {.name = "node1"}, c2 = {.name = "node2"};
	pthread_t t1, t2;
	pthread_create(&t1, NULL, claim_loop, &c1);
	pthread_create(&t2, NULL, claim_loop, &c2);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_INT(c1.errors + c2.errors, 0);
	CHECK_INT(c1.ngot + c2.ngot, RACE_MSGS);
	int seen[RACE_MSGS + 1] = {0};
	for (int i = 0; i < c1.ngot; i++)
		seen[c1.got[i]]++;
	for (int i = 0; i < c2.ngot; i++)
		seen[c2.got[i]]++;
	for (int i = 1; i <= RACE_MSGS; i++)
		CHECK_INT(seen[i], 1);
	arena_free(&a);
}

/* A transport double for the worker's bookkeeping (real SMTP delivery is
 * tested in the integration tests): 550 for "bad@", 250 otherwise. */
static void
picky(void *arg, struct arena *a, const struct settings *s, const struct outbound_delivery *d,
      struct outbound_attempt *res)
{
	(void)s;
	(*(int *)arg)++;
	res->outcome = OUTBOUND_OK;
	res->reply = "250 2.0.0 queued";
	for (size_t i = 0; i < d->nrcpts; i++)
		if (!strncmp(d->rcpts[i], "bad@", 4))
			res->rcpt[i].outcome = OUTBOUND_PERMFAIL, res->rcpt[i].reply = arena_strdup(a, "550 5.1.1 unknown");
	CHECK(d->len > 0 && memmem(d->data, d->len, d->msgid, strlen(d->msgid)) != NULL);
}

TEST(worker_round)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res r1, r2;
	const char *to1[] = {"good@client.example"}, *to2[] = {"good@client.example", "bad@client.example"};
	CHECK_INT(send_to(st, a, to1, 1, 0, &r1, &why), 0);
	CHECK_INT(send_to(st, a, to2, 2, 0, &r2, &why), 0);
	int calls = 0;
	struct outbound_worker_options opt = {.store_uri = uri, .node_id = "test", .transport = picky,
	                                      .transport_arg = &calls};
	CHECK_INT(outbound_worker_round(st, &opt, time(NULL), &why), 2);
	CHECK_INT(calls, 2);
	CHECK_INT(outbound_worker_round(st, &opt, time(NULL), &why), 0);
	struct store_outbound o;
	CHECK_INT(store_outbound_get(st, a, r1.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_SENT);
	CHECK_INT(store_outbound_get(st, a, r2.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_FAILED);
	CHECK_STR(o.rcpts[1].reply, "550 5.1.1 unknown");
	CHECK_STR(o.rcpts[0].state, "sent");
	CHECK_INT(outbound_backoff(1), 60);
	CHECK_INT(outbound_backoff(3), 900);
	CHECK_INT(outbound_backoff(40), 4 * 3600);
	arena_free(&a);
	store_close(&st);
}

/* The worker thread's deliveries, counted under a lock; all 250. */
struct counted {
	pthread_mutex_t mu;
	int n;
};

static void
counted_ok(void *arg, struct arena *a, const struct settings *s, const struct outbound_delivery *d,
           struct outbound_attempt *res)
{
	struct counted *c = arg;
	(void)a, (void)s, (void)d;
	pthread_mutex_lock(&c->mu);
	c->n++;
	pthread_mutex_unlock(&c->mu);
	res->outcome = OUTBOUND_OK;
	res->reply = "250 2.0.0 queued";
}

static int
deliveries(struct counted *c)
{
	pthread_mutex_lock(&c->mu);
	int n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* Wait up to 30 s for the worker to finish `rounds` rounds and make
 * `sent` deliveries. */
static bool
wait_worker(struct outbound_worker *w, unsigned long rounds, struct counted *c, int sent)
{
	double end = test_seconds() + 30;
	while (outbound_worker_rounds(w) < rounds || deliveries(c) < sent) {
		if (test_seconds() > end)
			return false;
		nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
	}
	return true;
}

/* A message queued by this process does not wait for the worker's next
 * poll: its nap here is two minutes, past the 30 s deadline, so only the
 * poke (outbound_queue_poke, from outbound_send) can bring the second
 * message out in time. */
TEST(worker_woken_by_send)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	struct outbound_send_res r1, r2;
	const char *to[] = {"good@client.example"};
	struct counted c = {PTHREAD_MUTEX_INITIALIZER, 0};
	struct outbound_worker_options opt = {.store_uri = uri, .node_id = "test", .transport = counted_ok,
	                                      .transport_arg = &c, .poll_ms = 120000};
	CHECK_INT(send_to(st, a, to, 1, 0, &r1, &why), 0);
	struct outbound_worker *w = outbound_worker_start(&opt, &why);
	CHECK(w != NULL);
	/* The first round sends it; the second finds nothing, then the nap. */
	CHECK(wait_worker(w, 2, &c, 1));
	CHECK_INT(send_to(st, a, to, 1, 0, &r2, &why), 0);
	CHECK(wait_worker(w, 3, &c, 2));
	CHECK_INT(deliveries(&c), 2);
	outbound_worker_stop(&w);
	struct store_outbound o;
	CHECK_INT(store_outbound_get(st, a, r2.outbound_id, &o, &why), 0);
	CHECK_INT(o.state, OUTBOUND_SENT);
	arena_free(&a);
	store_close(&st);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-outbound-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	set = settings_new();
	settings_publish(settings_clone(set));
	RUN(send_stores_and_queues);
	RUN(compose_shapes);
	RUN(send_refuses);
	RUN(claim_lease_result);
	RUN(permfail_and_expiry);
	RUN(retry_cancel);
	RUN(two_claimers_never_share);
	RUN(worker_round);
	RUN(worker_woken_by_send);
	settings_unref(&set);
	test_rmtree(dir);
	test_pg_drop_all();
	return test_summary("outbound");
}
