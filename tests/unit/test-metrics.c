/* test-metrics.c - the Prometheus text exposition (version 0.0.4) that
 * GET /metrics serves: label escaping, histogram buckets, the shape of
 * every line, and counts that stay exact under concurrent increments.
 * Metrics are process-wide, so each test uses series of its own. */
#include <string.h>

#include "core/buf.h"
#include "core/metrics.h"
#include "test.h"

static const struct metrics_scrape no_store = {false, -1, -1, -1};

/* The scrape as text (caller frees). */
static char *
scrape(const struct metrics_scrape *sc)
{
	struct buf b;
	buf_init(&b, 1 << 22);
	metrics_write(&b, sc);
	char *s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

/* 1 if text has a line that is exactly `line`. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

#define CHECK_LINE(text, line) do { if (!has_line((text), (line))) { test_cur_failed++; \
	fprintf(stderr, "%s:%d: no line \"%s\"\n", __FILE__, __LINE__, (line)); } } while (0)

TEST(escape_label_values)
{
	static const struct { const char *in, *want; } cases[] = {
		{"plain", "plain"},
		{"", ""},
		{"say \"hi\"", "say \\\"hi\\\""},
		{"back\\slash", "back\\\\slash"},
		{"two\nlines", "two\\nlines"},
		{"\\\"\n", "\\\\\\\"\\n"},
		{"caf\xc3\xa9 tab\there", "caf\xc3\xa9 tab\there"},   /* UTF-8 and tab as they are */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b, 256);
		metrics_escape_label(&b, cases[i].in);
		CHECK_STR(buf_cstr(&b), cases[i].want);
		buf_free(&b);
	}
}

/* A route pattern with every character that needs escaping reaches the
 * output escaped, in both the counter and the histogram. */
TEST(http_series_escaped)
{
	static const int key;
	metrics_http(&key, "GET", "/odd/\"q\"/back\\slash/\nnl", 204, 0.003);
	metrics_http(&key, "GET", "/odd/\"q\"/back\\slash/\nnl", 404, 0.2);
	char *t = scrape(&no_store);
	CHECK_LINE(t, "postroom_http_requests_total{method=\"GET\","
	              "route=\"/odd/\\\"q\\\"/back\\\\slash/\\nnl\",code=\"2xx\"} 1");
	CHECK_LINE(t, "postroom_http_requests_total{method=\"GET\","
	              "route=\"/odd/\\\"q\\\"/back\\\\slash/\\nnl\",code=\"4xx\"} 1");
	CHECK_LINE(t, "postroom_http_request_duration_seconds_bucket{method=\"GET\","
	              "route=\"/odd/\\\"q\\\"/back\\\\slash/\\nnl\",le=\"0.005\"} 1");
	CHECK_LINE(t, "postroom_http_request_duration_seconds_bucket{method=\"GET\","
	              "route=\"/odd/\\\"q\\\"/back\\\\slash/\\nnl\",le=\"+Inf\"} 2");
	CHECK_LINE(t, "postroom_http_request_duration_seconds_count{method=\"GET\","
	              "route=\"/odd/\\\"q\\\"/back\\\\slash/\\nnl\"} 2");
	free(t);
}

TEST(histogram_cumulative)
{
	metrics_observe(METRICS_COMMIT_BATCH, 1);
	metrics_observe(METRICS_COMMIT_BATCH, 3);
	metrics_observe(METRICS_COMMIT_BATCH, 4);
	metrics_observe(METRICS_COMMIT_BATCH, 1000);
	char *t = scrape(&no_store);
	CHECK_LINE(t, "# TYPE postroom_commit_batch_messages histogram");
	CHECK_LINE(t, "postroom_commit_batch_messages_bucket{le=\"1\"} 1");
	CHECK_LINE(t, "postroom_commit_batch_messages_bucket{le=\"2\"} 1");
	CHECK_LINE(t, "postroom_commit_batch_messages_bucket{le=\"4\"} 3");      /* le is inclusive */
	CHECK_LINE(t, "postroom_commit_batch_messages_bucket{le=\"256\"} 3");
	CHECK_LINE(t, "postroom_commit_batch_messages_bucket{le=\"+Inf\"} 4");
	CHECK_LINE(t, "postroom_commit_batch_messages_sum 1008");
	CHECK_LINE(t, "postroom_commit_batch_messages_count 4");
	metrics_observe(METRICS_TIME_TO_250, 0.0004);
	metrics_observe(METRICS_TIME_TO_250, 0.0125);
	free(t);
	t = scrape(&no_store);
	CHECK_LINE(t, "postroom_smtp_time_to_250_seconds_bucket{le=\"0.001\"} 1");
	CHECK_LINE(t, "postroom_smtp_time_to_250_seconds_bucket{le=\"0.01\"} 1");
	CHECK_LINE(t, "postroom_smtp_time_to_250_seconds_bucket{le=\"0.025\"} 2");
	CHECK_LINE(t, "postroom_smtp_time_to_250_seconds_sum 0.0129");
	CHECK_LINE(t, "postroom_smtp_time_to_250_seconds_count 2");
	free(t);
}

TEST(intake_by_reason)
{
	metrics_intake("smtp", "rejected", PR_E_SPF_FAIL);
	metrics_intake("smtp", "rejected", PR_E_SPF_FAIL);
	metrics_intake("pop3", "accepted", PR_OK);
	metrics_intake("smtp", "maybe", PR_OK);       /* not a verdict: not counted */
	metrics_intake("uucp", "accepted", PR_OK);    /* not a source */
	metrics_intake("smtp", "accepted", PR_E_MAX);
	char *t = scrape(&no_store);
	CHECK_LINE(t, "# TYPE postroom_intake_messages_total counter");
	CHECK_LINE(t, "postroom_intake_messages_total{verdict=\"rejected\",reason=\"spf_fail\","
	              "source=\"smtp\"} 2");
	CHECK_LINE(t, "postroom_intake_messages_total{verdict=\"accepted\",reason=\"accepted\","
	              "source=\"pop3\"} 1");
	CHECK(strstr(t, "maybe") == NULL && strstr(t, "uucp") == NULL);
	CHECK(strstr(t, "source=\"smtp\"} 1\n") == NULL);
	free(t);
}

TEST(store_gauges_only_when_read)
{
	char *t = scrape(&no_store);
	CHECK_LINE(t, "postroom_store_up 0");
	CHECK(strstr(t, "postroom_outbound_queue_messages") == NULL);
	CHECK(strstr(t, "postroom_webhook_deliveries_pending") == NULL);
	free(t);
	struct metrics_scrape sc = {true, 3, 1, 0};
	t = scrape(&sc);
	CHECK_LINE(t, "postroom_store_up 1");
	CHECK_LINE(t, "postroom_outbound_queue_messages{state=\"queued\"} 3");
	CHECK_LINE(t, "postroom_outbound_queue_messages{state=\"sending\"} 1");
	CHECK_LINE(t, "postroom_webhook_deliveries_pending 0");
	free(t);
}

/* Every line is HELP, TYPE, or a sample of the family whose TYPE came
 * last (histogram samples: _bucket, _sum, _count), and ends with \n. */
TEST(every_line_well_formed)
{
	char *t = scrape(&no_store);
	CHECK(*t && t[strlen(t) - 1] == '\n');
	char fam[200] = "";
	int lines = 0, bad = 0;
	for (char *line = strtok(t, "\n"); line != NULL; line = strtok(NULL, "\n"), lines++) {
		char name[200], type[32];
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (sscanf(line, "# TYPE %199s %31s", name, type) == 2) {
			snprintf(fam, sizeof(fam), "%s", name);
			continue;
		}
		size_t n = strlen(fam);
		const char *rest = line + n;
		int ok = n > 0 && strncmp(line, fam, n) == 0 &&
		         (*rest == ' ' || *rest == '{' || strncmp(rest, "_bucket{", 8) == 0 ||
		          strncmp(rest, "_sum", 4) == 0 || strncmp(rest, "_count", 6) == 0);
		if (!ok && bad++ < 5)
			fprintf(stderr, "line outside its family %s: %s\n", fam, line);
	}
	CHECK_INT(bad, 0);
	CHECK(lines > 40);
	free(t);
}

static void *
count_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		metrics_inc(METRICS_POP3_COLLECTED, 1);
		metrics_gauge_add(METRICS_INTAKE_IN_FLIGHT, 1);
		metrics_gauge_add(METRICS_INTAKE_IN_FLIGHT, -1);
	}
	return NULL;
}

TEST(exact_under_threads)
{
	CHECK_INT(test_in_threads(4, count_many, NULL), 0);
	char *t = scrape(&no_store);
	CHECK_LINE(t, "postroom_pop3_messages_collected_total 400000");
	CHECK_LINE(t, "postroom_intake_in_flight 0");
	free(t);
}

int
main(void)
{
	RUN(escape_label_values);
	RUN(http_series_escaped);
	RUN(histogram_cumulative);
	RUN(intake_by_reason);
	RUN(store_gauges_only_when_read);
	RUN(every_line_well_formed);
	RUN(exact_under_threads);
	return test_summary("metrics");
}
