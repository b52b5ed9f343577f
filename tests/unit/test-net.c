/* test-net.c - listen address parsing and the loop-thread wake-up. */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <string.h>

#include "net/net.h"
#include "test.h"

TEST(addresses)
{
	static const char *const valid[] = {"127.0.0.1:2525", "0.0.0.0:25", "*:587", "[::1]:2525", "[::]:25"};
	static const char *const invalid[] = {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "localhost:25",
	                                      "[::1]", "[::1:25", "::1:25", ":25", "1.2.3.4:25x", "[zz]:25", ""};
	struct net_addr a;
	struct pr_why why;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		if (net_parse_addr(valid[i], &a, &why) != 0) {
			test_cur_failed++;
			fprintf(stderr, "%s: got refused (%s), want accepted\n", valid[i], why.detail);
		} else {
			CHECK_STR(a.text, valid[i]);
		}
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		if (net_parse_addr(invalid[i], &a, &why) == 0) {
			test_cur_failed++;
			fprintf(stderr, "%s: got accepted, want refused\n", invalid[i]);
		}
	}
}

static int wake_count;
static struct net_wake *wake;

static void
on_wake(void *arg)
{
	if (++wake_count == 100)
		event_base_loopbreak(arg);
}

static void *
poster(void *arg)
{
	for (int i = 0; i < 50; i++)
		net_wake_post(wake, on_wake, arg);
	return NULL;
}

/* Two threads post 100 callbacks; all run on the loop thread, none lost. */
TEST(wake_from_threads)
{
	CHECK_INT(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	wake = net_wake_new(base);
	pthread_t t1, t2;
	pthread_create(&t1, NULL, poster, base);
	pthread_create(&t2, NULL, poster, base);
	struct timeval limit = {.tv_sec = 10};
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	net_wake_run(wake);
	CHECK_INT(wake_count, 100);
	net_wake_free(&wake);
	event_base_free(base);
}

TEST(tls_context_errors)
{
	struct pr_why why;
	CHECK(net_tls_server_ctx("/nonexistent/cert.pem", "/nonexistent/key.pem", &why) == NULL);
	CHECK(strstr(why.detail, "tls_cert") != NULL);
}

int
main(void)
{
	RUN(addresses);
	RUN(wake_from_threads);
	RUN(tls_context_errors);
	return test_summary("net");
}
