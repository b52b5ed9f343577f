/* test-webhook.c - webhook deliveries against a real store (SQLite, or
 * PostgreSQL with POSTROOM_TEST_PG: test-pg.h): a
 * delivery per placement and matching webhook written by the commit (and
 * none without the flag) and by a move, order per (webhook, project) -- only the head is
 * claimable and its end promotes the next --, leases (a live lease is not
 * taken twice, an expired one is, a stale result is refused), give-up,
 * retry, moves; and the signature, body, backoff and URL rules. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/settings.h"
#include "store/store.h"
#include "webhook/webhook.h"
#include "test.h"
#include "test-pg.h"

static char dir[256], uri[600];

static struct store *
seeded(void)
{
	static int n;
	struct pr_why why;
	char name[16];
	snprintf(name, sizeof(name), "w%d", ++n);
	test_store_uri(uri, sizeof(uri), dir, name);
	struct store *st = store_open(uri, &why);
	CHECK(st != NULL);
	CHECK_INT(store_project_add(st, "1234", "Harbour", &why), 0);
	CHECK_INT(store_project_add(st, "5678", "Bridge", &why), 0);
	return st;
}

/* Commit one message placed in the given places; its id. */
static int64_t
commit(struct store *st, const char *msgid, const struct store_placement *pl, size_t npl, bool wh)
{
	static const char *const rcpts[] = {"a1234@firm.example"};
	struct store_msg m = {.source = "smtp", .received_at = 1700000000, .mail_from = "alice@firm.example",
	                      .rcpts = rcpts, .nrcpts = 1, .prepend = "Subject: x\r\n\r\nbody\r\n",
	                      .message_id = msgid, .subject = "Harbour \"plans\"", .from_addr = "alice@firm.example",
	                      .placements = pl, .nplacements = npl, .verdict = "accepted", .webhooks = wh};
	struct store_msg *mp = &m;
	struct pr_why why;
	CHECK_INT(store_commit_batch(st, &mp, 1, &why), 0);
	return m.id_r;
}

static const struct store_placement p1234[] = {{ROUTE_PROJECT, "1234", "a1234@firm.example"}};
static const struct store_placement p5678[] = {{ROUTE_PROJECT, "5678", "a5678@firm.example"}};
static const struct store_placement both[] = {{ROUTE_PROJECT, "1234", "a1234@firm.example"},
                                              {ROUTE_USER, "bob", "bob@firm.example"}};

static size_t
claim(struct store *st, struct arena *a, const char *owner, time_t now, struct store_webhook_delivery **d)
{
	size_t n;
	struct pr_why why;
	CHECK_INT(store_webhook_claim(st, a, owner, now, 60, 8, d, &n, &why), 0);
	return n;
}

TEST(placements_write_deliveries)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	bool any = true;
	CHECK_INT(store_webhooks_exist(st, &any, &why), 0);
	CHECK(!any);
	int64_t all, only;
	CHECK_INT(store_webhook_add(st, "http://127.0.0.1:9/all", NULL, "s1", 1700000000, &all, &why), 0);
	CHECK_INT(store_webhook_add(st, "http://127.0.0.1:9/p", "1234", "s2", 1700000000, &only, &why), 0);
	CHECK_INT(store_webhook_add(st, "http://127.0.0.1:9/x", "nope", "s3", 1700000000, &only, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	CHECK_INT(store_webhooks_exist(st, &any, &why), 0);
	CHECK(any);
	commit(st, "<none@test>", both, 2, false);           /* the committer said: no webhooks */
	int64_t id = commit(st, "<a@test>", both, 2, true);
	struct store_webhook_filter f = {0};
	struct store_webhook_delivery *d;
	size_t n;
	CHECK_INT(store_webhook_deliveries(st, a, &f, &d, &n, &why), 0);
	CHECK_INT(n, 3);                  /* all: project + user; p: project */
	json_t *ev = json_loads(d[n - 1].event, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(ev, "event")), "message.placed");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(ev, "message"), "id")), id);
	CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "message"), "subject")),
	          "Harbour \"plans\"");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "message"), "message_id")), "a@test");
	CHECK_STR(json_string_value(json_object_get(ev, "project")), "1234");
	json_decref(ev);
	CHECK_INT(d[0].message_id, id);
	/* a move is a placement too */
	struct store_placement to = {ROUTE_PROJECT, "5678", NULL};
	CHECK_INT(store_message_move(st, id, &to, &why), 0);
	CHECK_INT(store_webhook_deliveries(st, a, &f, &d, &n, &why), 0);
	CHECK_INT(n, 4);
	CHECK_STR(d[0].project, "5678");
	CHECK_INT(store_webhook_remove(st, all, &why), 0);
	CHECK_INT(store_webhook_deliveries(st, a, &f, &d, &n, &why), 0);
	CHECK_INT(n, 1);
	CHECK_INT(store_webhook_remove(st, all, &why), -1);
	arena_free(&a);
	store_close(&st);
}

TEST(order_per_project)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	int64_t wid;
	time_t t = time(NULL) + 5;
	CHECK_INT(store_webhook_add(st, "http://127.0.0.1:9/", NULL, "s", t, &wid, &why), 0);
	commit(st, "<1@t>", p1234, 1, true);
	commit(st, "<2@t>", p1234, 1, true);
	commit(st, "<3@t>", p5678, 1, true);
	struct store_webhook_delivery *d;
	/* the heads of both queues, not the second of 1234 */
	CHECK_INT(claim(st, a, "n1", t, &d), 2);
	CHECK_STR(d[0].secret, "s");
	CHECK_INT(d[0].seq, 1);
	CHECK_INT(d[1].seq, 1);
	int64_t first = d[0].project[0] == '1' ? d[0].id : d[1].id, lease = d[0].project[0] == '1' ? d[0].lease : d[1].lease;
	CHECK_INT(claim(st, a, "n2", t, &d), 0);              /* leases held */
	/* 1234's head fails: retried later; its follower still waits */
	CHECK_INT(store_webhook_result(st, first, "n1", lease, t, false, 500, "HTTP 500", t + 1, 86400, &why), 0);
	CHECK_INT(claim(st, a, "n1", t, &d), 0);
	CHECK_INT(store_webhook_result(st, first, "n1", lease, t, true, 200, NULL, t, 86400, &why), 1);
	CHECK_INT(claim(st, a, "n1", t + 1, &d), 1);
	CHECK_INT(d[0].id, first);
	CHECK_INT(d[0].attempts, 2);
	CHECK_INT(store_webhook_result(st, first, "n1", d[0].lease, t + 1, true, 204, NULL, 0, 86400, &why), 0);
	CHECK_INT(claim(st, a, "n1", t + 1, &d), 1);          /* now the second of 1234 */
	CHECK_INT(d[0].seq, 2);
	CHECK_STR(d[0].project, "1234");
	/* its lease expires (the node died): another claims it */
	CHECK_INT(claim(st, a, "n2", t + 100, &d), 2);
	arena_free(&a);
	store_close(&st);
}

TEST(give_up_and_retry)
{
	struct store *st = seeded();
	struct arena *a = arena_new();
	struct pr_why why;
	int64_t wid;
	time_t t = time(NULL);
	CHECK_INT(store_webhook_add(st, "http://127.0.0.1:9/", "1234", "s", t, &wid, &why), 0);
	commit(st, "<1@t>", p1234, 1, true);
	commit(st, "<2@t>", p1234, 1, true);
	struct store_webhook_delivery *d;
	CHECK_INT(claim(st, a, "n", t + 10, &d), 1);
	int64_t first = d[0].id;
	CHECK_INT(store_webhook_retry(st, first, t + 10, &why), -1);     /* being delivered */
	CHECK_INT(store_webhook_result(st, first, "n", d[0].lease, t + 10, false, 0, "timeout", t + 11, 5, &why), 0);
	struct store_webhook_filter f = {.failed_only = true};
	size_t n;
	CHECK_INT(store_webhook_deliveries(st, a, &f, &d, &n, &why), 0);
	CHECK_INT(n, 1);
	CHECK_STR(d[0].last_error, "timeout");
	CHECK_INT(claim(st, a, "n", t + 10, &d), 1);          /* the next one goes */
	CHECK(d[0].id != first);
	/* retried while the queue has a head: it waits, then goes before the rest */
	CHECK_INT(store_webhook_retry(st, first, t + 10, &why), 0);
	CHECK_INT(store_webhook_result(st, d[0].id, "n", d[0].lease, t + 10, true, 200, NULL, 0, 5, &why), 0);
	CHECK_INT(claim(st, a, "n", t + 10, &d), 1);
	CHECK_INT(d[0].id, first);
	CHECK_INT(store_webhook_result(st, first, "n", d[0].lease, t + 10, true, 200, NULL, 0, 5, &why), 0);
	CHECK_INT(store_webhook_retry(st, first, t + 10, &why), -1);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK_INT(store_webhook_retry(st, 999, t, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	arena_free(&a);
	store_close(&st);
}

TEST(signature_body_backoff_url)
{
	char hex[65];
	/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
	/* Python: hmac.new(b"Jefe", b"1700000000.what do ya want for nothing?", "sha256") */
	webhook_sign("Jefe", "1700000000", "what do ya want for nothing?", 28, hex);
	CHECK_STR(hex, "1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85faafc582d2e182c57e");
	struct store_webhook_delivery d = {.id = 42,
		.event = "{\"event\":\"message.placed\",\"message\":{\"id\":7},\"project\":null}"};
	char *body = webhook_body(&d);
	CHECK_STR(body, "{\"event\":\"message.placed\",\"delivery_id\":42,\"message\":{\"id\":7},\"project\":null}");
	free(body);
	d.event = "[1]";
	CHECK(webhook_body(&d) == NULL);
	CHECK_INT(webhook_backoff(1), 1);
	CHECK_INT(webhook_backoff(2), 2);
	CHECK_INT(webhook_backoff(10), 512);
	CHECK_INT(webhook_backoff(11), 600);
	CHECK_INT(webhook_backoff(1000), 600);
	struct pr_why why;
	CHECK_INT(webhook_check_url("https://app.example/hook?x=1", &why), 0);
	CHECK_INT(webhook_check_url("http://127.0.0.1:8080/", &why), 0);
	CHECK_INT(webhook_check_url("file:///etc/passwd", &why), -1);
	CHECK_INT(webhook_check_url("gopher://x/", &why), -1);
	CHECK_INT(webhook_check_url("http://", &why), -1);
	CHECK_INT(webhook_check_url("http://a b/", &why), -1);
	CHECK_INT(webhook_check_url("http://a/\r\nX: y", &why), -1);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-webhook-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	struct settings *set = settings_new();
	settings_publish(settings_clone(set));
	RUN(placements_write_deliveries);
	RUN(order_per_project);
	RUN(give_up_and_retry);
	RUN(signature_body_backoff_url);
	settings_unref(&set);
	if (getenv("KEEP") == NULL)
		test_rmtree(dir);
	test_pg_drop_all();
	return test_summary("webhook");
}
