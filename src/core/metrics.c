/* metrics.c - see metrics.h.
 *
 * The one deliberate piece of global mutable state besides the settings
 * snapshot: counters are process-wide by nature (Prometheus client
 * libraries keep a default registry for the same reason), and passing a
 * registry through every stage would touch every signature for numbers
 * nothing reads back.  Every cell is an _Atomic uint64_t updated with
 * memory_order_relaxed: an increment is one locked add on x86, no cache
 * line is shared with a lock, and a scrape may see one counter a moment
 * ahead of another, which the format allows.
 *
 * Histograms keep one cell per bucket (not cumulative) and their sum in
 * integer units (microseconds for seconds), so an observation is two adds;
 * the scrape accumulates the buckets, which makes _count equal the +Inf
 * bucket in every scrape.
 */
#include "core/metrics.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

typedef _Atomic uint64_t counter_t;

static inline void
add(counter_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
get(counter_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- histograms ---- */
#define HIST_MAX_BOUNDS 16

struct hist_def {
	const char *name, *help;
	const double *bounds;       /* upper bounds (le), increasing */
	size_t nbounds;
	double scale;               /* units per value in the sum (1e6: microseconds) */
};

struct hist {
	counter_t n[HIST_MAX_BOUNDS + 1];   /* last: above every bound (+Inf) */
	counter_t sum;
};

/* Latencies from 1 ms (a commit on a quiet disk) to 10 s (a store busy
 * past its timeout is 5 s). */
static const double seconds_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10};
/* Group commit: 1 when idle, up to the committer's batch limit of 256. */
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define NB(a) (sizeof(a) / sizeof((a)[0]))

static const struct hist_def hist_defs[METRICS_HIST_MAX] = {
	[METRICS_TIME_TO_250] = {"postroom_smtp_time_to_250_seconds",
		"Time from the end of DATA to the 250 being written (the group commit included).",
		seconds_bounds, NB(seconds_bounds), 1e6},
	[METRICS_COMMIT_SECONDS] = {"postroom_commit_duration_seconds",
		"Time one group commit (one transaction, one fsync) took.",
		seconds_bounds, NB(seconds_bounds), 1e6},
	[METRICS_COMMIT_BATCH] = {"postroom_commit_batch_messages",
		"Messages committed by one group commit (sharing its fsync).",
		batch_bounds, NB(batch_bounds), 1},
};
static struct hist hists[METRICS_HIST_MAX];

static void
hist_observe(struct hist *h, const struct hist_def *d, double v)
{
	if (!(v >= 0))
		v = 0;                  /* NaN or a clock step back: count it, as 0 */
	size_t i = 0;
	while (i < d->nbounds && v > d->bounds[i])
		i++;
	add(&h->n[i], 1);
	add(&h->sum, (uint64_t)(v * d->scale + 0.5));
}

static uint64_t
hist_count(struct hist *h)
{
	uint64_t n = 0;
	for (size_t i = 0; i <= HIST_MAX_BOUNDS; i++)
		n += get(&h->n[i]);
	return n;
}

/* ---- plain counters and gauges ---- */
static counter_t counters[METRICS_COUNTER_MAX];
static _Atomic int64_t gauges[METRICS_GAUGE_MAX];

void
metrics_inc(enum metrics_counter c, uint64_t n)
{
	if ((unsigned)c < METRICS_COUNTER_MAX)
		add(&counters[c], n);
}

void
metrics_gauge_add(enum metrics_gauge g, int64_t delta)
{
	if ((unsigned)g < METRICS_GAUGE_MAX)
		atomic_fetch_add_explicit(&gauges[g], delta, memory_order_relaxed);
}

void
metrics_observe(enum metrics_hist h, double value)
{
	if ((unsigned)h < METRICS_HIST_MAX)
		hist_observe(&hists[h], &hist_defs[h], value);
}

uint64_t
metrics_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- intake attempts: verdict x reason x source ---- */
static const char *const verdicts[] = {"accepted", "rejected", "deferred"};
static const char *const sources[] = {"smtp", "pop3"};
#define NVERDICTS NB(verdicts)
#define NSOURCES NB(sources)
static counter_t intake[NVERDICTS][PR_E_MAX][NSOURCES];

static int
index_of(const char *const *set, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(set[i], s) == 0)
			return (int)i;
	return -1;
}

void
metrics_intake(const char *source, const char *verdict, enum pr_err reason)
{
	int v = index_of(verdicts, NVERDICTS, verdict), s = index_of(sources, NSOURCES, source);
	if (v >= 0 && s >= 0 && (unsigned)reason < PR_E_MAX)
		add(&intake[v][reason][s], 1);
}

/* ---- HTTP: route x status class, latency by route ----
 * A slot per route, claimed by the first request that reaches it: the
 * route tables are fixed at build time, so their count bounds the slots.
 * The claim is a compare-and-swap of the key; the scrape shows a slot
 * once its names are published (ready, release/acquire). */
#define HTTP_SLOTS 192
#define HTTP_CLASSES 5          /* 1xx .. 5xx */

struct http_slot {
	_Atomic(const void *) key;
	atomic_bool ready;
	const char *method, *route;
	counter_t by_class[HTTP_CLASSES];
	struct hist latency;
};
static struct http_slot http_slots[HTTP_SLOTS];
/* No route matched (or every slot taken): one series, route "other". */
static struct http_slot http_other = {.ready = true, .method = "", .route = "other"};

static const struct hist_def http_hist = {"postroom_http_request_duration_seconds",
	"Time from the request read to its reply queued, by route.", seconds_bounds,
	NB(seconds_bounds), 1e6};

static struct http_slot *
http_slot(const void *key, const char *method, const char *route)
{
	if (key == NULL)
		return &http_other;
	for (size_t i = 0; i < HTTP_SLOTS; i++) {
		struct http_slot *sl = &http_slots[i];
		const void *k = atomic_load_explicit(&sl->key, memory_order_acquire);
		if (k == key)
			return sl;
		if (k != NULL)
			continue;
		const void *expect = NULL;
		if (atomic_compare_exchange_strong(&sl->key, &expect, key)) {
			sl->method = method ? method : "";
			sl->route = route ? route : "";
			atomic_store_explicit(&sl->ready, true, memory_order_release);
			return sl;
		}
		if (expect == key)
			return sl;          /* another thread claimed it for this route */
	}
	return &http_other;
}

void
metrics_http(const void *key, const char *method, const char *route, int status, double seconds)
{
	struct http_slot *sl = http_slot(key, method, route);
	int cls = status / 100 - 1;
	if (cls >= 0 && cls < HTTP_CLASSES)
		add(&sl->by_class[cls], 1);
	hist_observe(&sl->latency, &http_hist, seconds);
}

/* ---- the exposition format ---- */
void
metrics_escape_label(struct buf *out, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\')
			buf_addstr(out, "\\\\");
		else if (*p == '"')
			buf_addstr(out, "\\\"");
		else if (*p == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *p);
	}
}

/* HELP text escapes backslash and line feed only. */
static void
family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			buf_addstr(out, "\\\\");
		else if (*p == '\n')
			buf_addstr(out, "\\n");
		else
			buf_addch(out, *p);
	}
	buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* labels: name="value" pairs already escaped, or "". */
static void
write_hist(struct buf *out, const char *name, const char *labels, const struct hist_def *d,
           struct hist *h)
{
	const char *sep = *labels ? "," : "";
	uint64_t cum = 0;
	for (size_t i = 0; i <= d->nbounds; i++) {
		cum += get(&h->n[i]);
		if (i < d->nbounds)
			buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
			           d->bounds[i], (unsigned long long)cum);
		else
			buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
			           (unsigned long long)cum);
	}
	const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
	buf_printf(out, "%s_sum%s%s%s %.15g\n", name, open, labels, close,
	           (double)get(&h->sum) / d->scale);
	buf_printf(out, "%s_count%s%s%s %llu\n", name, open, labels, close, (unsigned long long)cum);
}

static void
write_intake(struct buf *out)
{
	family(out, "postroom_intake_messages_total", "counter",
	       "Intake attempts whose log row was made durable, by verdict, reason (the reason "
	       "table, `why --reasons`) and source.");
	for (size_t v = 0; v < NVERDICTS; v++)
		for (int r = 0; r < PR_E_MAX; r++)
			for (size_t s = 0; s < NSOURCES; s++) {
				uint64_t n = get(&intake[v][r][s]);
				if (n > 0)
					buf_printf(out, "postroom_intake_messages_total{verdict=\"%s\","
					           "reason=\"%s\",source=\"%s\"} %llu\n", verdicts[v],
					           pr_err_name((enum pr_err)r), sources[s], (unsigned long long)n);
			}
}

static void
counter(struct buf *out, const char *name, const char *help, enum metrics_counter c)
{
	family(out, name, "counter", help);
	buf_printf(out, "%s %llu\n", name, (unsigned long long)get(&counters[c]));
}

static void
gauge(struct buf *out, const char *name, const char *help, int64_t v)
{
	family(out, name, "gauge", help);
	buf_printf(out, "%s %lld\n", name, (long long)v);
}

static void
write_counters(struct buf *out)
{
	counter(out, "postroom_smtp_sessions_total", "SMTP sessions admitted.", METRICS_SMTP_SESSIONS);
	gauge(out, "postroom_smtp_sessions_open", "SMTP sessions open now.",
	      atomic_load(&gauges[METRICS_SMTP_SESSIONS_OPEN]));
	gauge(out, "postroom_intake_in_flight", "Messages handed to intake and not yet answered.",
	      atomic_load(&gauges[METRICS_INTAKE_IN_FLIGHT]));
	family(out, "postroom_pop3_rounds_total", "counter",
	       "POP3 collection rounds, by result (failed: connect, login, listing or store).");
	buf_printf(out, "postroom_pop3_rounds_total{result=\"ok\"} %llu\n",
	           (unsigned long long)get(&counters[METRICS_POP3_ROUNDS_OK]));
	buf_printf(out, "postroom_pop3_rounds_total{result=\"failed\"} %llu\n",
	           (unsigned long long)get(&counters[METRICS_POP3_ROUNDS_FAILED]));
	counter(out, "postroom_pop3_messages_collected_total", "Messages stored from the POP3 mailbox.",
	        METRICS_POP3_COLLECTED);
	family(out, "postroom_outbound_recipients_total", "counter",
	       "Outbound delivery attempts per recipient, by outcome (deferred: tried again later).");
	static const char *const outcomes[] = {"sent", "deferred", "failed"};
	for (size_t i = 0; i < NB(outcomes); i++)
		buf_printf(out, "postroom_outbound_recipients_total{outcome=\"%s\"} %llu\n", outcomes[i],
		           (unsigned long long)get(&counters[METRICS_OUTBOUND_SENT + i]));
}

static void
write_store(struct buf *out, const struct metrics_scrape *sc)
{
	gauge(out, "postroom_store_up", "1 if this scrape could read the store.", sc->store_up);
	if (sc->outbound_queued >= 0 && sc->outbound_sending >= 0) {
		family(out, "postroom_outbound_queue_messages", "gauge",
		       "Messages in the outbound queue (read from the store at scrape time), by state.");
		buf_printf(out, "postroom_outbound_queue_messages{state=\"queued\"} %lld\n",
		           (long long)sc->outbound_queued);
		buf_printf(out, "postroom_outbound_queue_messages{state=\"sending\"} %lld\n",
		           (long long)sc->outbound_sending);
	}
	if (sc->webhook_pending >= 0)
		gauge(out, "postroom_webhook_deliveries_pending",
		      "Webhook deliveries not yet delivered (read from the store at scrape time).",
		      sc->webhook_pending);
}

static void
write_http_slot(struct buf *out, struct http_slot *sl, bool latency)
{
	struct buf lab;
	buf_init(&lab, 1024);
	buf_addstr(&lab, "method=\"");
	metrics_escape_label(&lab, sl->method);
	buf_addstr(&lab, "\",route=\"");
	metrics_escape_label(&lab, sl->route);
	buf_addch(&lab, '"');
	if (latency) {
		if (hist_count(&sl->latency) > 0)
			write_hist(out, http_hist.name, buf_cstr(&lab), &http_hist, &sl->latency);
	} else {
		for (int c = 0; c < HTTP_CLASSES; c++) {
			uint64_t n = get(&sl->by_class[c]);
			if (n > 0)
				buf_printf(out, "postroom_http_requests_total{%s,code=\"%dxx\"} %llu\n",
				           buf_cstr(&lab), c + 1, (unsigned long long)n);
		}
	}
	buf_free(&lab);
}

static void
write_http(struct buf *out)
{
	family(out, "postroom_http_requests_total", "counter",
	       "HTTP requests answered, by route pattern and status class.");
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			family(out, http_hist.name, "histogram", http_hist.help);
		for (size_t i = 0; i < HTTP_SLOTS; i++)
			if (atomic_load_explicit(&http_slots[i].ready, memory_order_acquire))
				write_http_slot(out, &http_slots[i], pass == 1);
		write_http_slot(out, &http_other, pass == 1);
	}
}

void
metrics_write(struct buf *out, const struct metrics_scrape *sc)
{
	write_intake(out);
	write_counters(out);
	for (int h = 0; h < METRICS_HIST_MAX; h++) {
		family(out, hist_defs[h].name, "histogram", hist_defs[h].help);
		write_hist(out, hist_defs[h].name, "", &hist_defs[h], &hists[h]);
	}
	write_store(out, sc);
	write_http(out);
}
