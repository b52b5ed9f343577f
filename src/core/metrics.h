/* metrics.h - counters and histograms for GET /metrics (Prometheus).
 *
 * Hot paths (the committer, the SMTP loop, the HTTP workers) update them
 * with relaxed atomic adds: no lock, no allocation, no system call, so
 * counting never slows the intake it measures.  Every label comes from a
 * fixed set -- verdicts, sources, reasons from the err table, route
 * patterns from the route tables -- never from what a peer sent, so the
 * number of series is bounded and no label value needs trusting.
 *
 * The counts are this process's own since it started (Prometheus
 * counters: a restart starts them at 0 again).  Each node is scraped on
 * its own; the queue depths, which live in the store, are read at scrape
 * time and passed to metrics_write.
 */
#ifndef PR_METRICS_H
#define PR_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct buf;

/* Plain counters. */
enum metrics_counter {
	METRICS_SMTP_SESSIONS,        /* SMTP sessions admitted */
	METRICS_POP3_ROUNDS_OK,       /* POP3 collection rounds that ran to the end */
	METRICS_POP3_ROUNDS_FAILED,   /* rounds stopped by a failure (connect, login, store) */
	METRICS_POP3_COLLECTED,       /* messages stored from POP3 */
	METRICS_OUTBOUND_SENT,        /* outbound recipients by attempt outcome */
	METRICS_OUTBOUND_DEFERRED,
	METRICS_OUTBOUND_FAILED,
	METRICS_COUNTER_MAX
};

/* Gauges this process keeps (those of the store come with the scrape). */
enum metrics_gauge {
	METRICS_SMTP_SESSIONS_OPEN,
	METRICS_INTAKE_IN_FLIGHT,     /* submitted to intake, not yet answered */
	METRICS_GAUGE_MAX
};

/* Histograms with fixed buckets. */
enum metrics_hist {
	METRICS_TIME_TO_250,          /* seconds: end of DATA to the 250 written */
	METRICS_COMMIT_SECONDS,       /* seconds one group commit took */
	METRICS_COMMIT_BATCH,         /* messages in one group commit */
	METRICS_HIST_MAX
};

void metrics_inc(enum metrics_counter c, uint64_t n);
void metrics_gauge_add(enum metrics_gauge g, int64_t delta);
/* seconds for the *_SECONDS and TIME_TO_250 histograms, a count for
 * METRICS_COMMIT_BATCH. */
void metrics_observe(enum metrics_hist h, double value);

/* One intake-log row made durable: source "smtp"/"pop3", verdict
 * "accepted"/"rejected"/"deferred", its reason.  Anything outside those
 * sets is not counted (it would be our bug, and a label we never promised). */
void metrics_intake(const char *source, const char *verdict, enum pr_err reason);

/* One HTTP request answered.  key identifies the route (its table entry;
 * NULL: no route matched), method and route are its fixed pattern (text
 * that outlives the process, e.g. the route table's strings), status the
 * reply's code. */
void metrics_http(const void *key, const char *method, const char *route, int status,
                  double seconds);

/* Monotonic clock in microseconds, for durations. */
uint64_t metrics_now_us(void);

/* Read from the store at scrape time; a depth < 0 is not shown (the
 * store could not be read, or has no such queue). */
struct metrics_scrape {
	bool store_up;
	int64_t outbound_queued, outbound_sending;
	int64_t webhook_pending;
};

/* The Prometheus text exposition format (version 0.0.4) of everything
 * above, appended to out. */
void metrics_write(struct buf *out, const struct metrics_scrape *sc);

/* Append v as a label value: backslash, double quote and line feed
 * escaped (the format's three escapes). */
void metrics_escape_label(struct buf *out, const char *v);

#endif
