/* worker.c - the delivery thread of serve: empties the outbound queue.
 *
 * One round: claim up to WORKER_BATCH due rows with a lease (store.h:
 * two claimers never get the same row), hand each to the transport, and
 * record what the server said:
 *
 *   every recipient 250     -> sent
 *   5xx                     -> failed, with the server's answer
 *   4xx, refused, timeout   -> queued again after outbound_backoff(),
 *                              failed once smtp_retry_for has run out
 *
 * THE DURABILITY CONTRACT (the mirror of SMTP intake's "250 only after
 * the commit"): a message is marked sent only after the relay answered
 * 250 to its DATA *and* store_outbound_result committed that.  Until
 * then the row stays "sending" under our lease; if we die in between, the
 * lease runs out and the row is claimed again -- the message may then go
 * out twice (at most once more per crash in that window), but it is never
 * lost, and once the 250 is recorded no claim ever takes it again.  A
 * worker that held a row past its lease (so someone else claimed it) has
 * its result refused: the newer claimer's outcome stands.
 *
 * `send` runs in another process, so the thread polls the store for due
 * rows once a second when it found none (one indexed read), and goes on
 * at once while there are more.  What this process queues (the HTTP API's
 * send and retry, intake's automatic replies) pokes the thread instead,
 * so it leaves within milliseconds, not up to a second later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/poll_thread.h"
#include "core/private.h"
#include "core/settings.h"
#include "outbound/outbound_private.h"

/* Rows one claim takes: enough to keep a transport busy, few enough that
 * another node gets its share. */
#define WORKER_BATCH 8
#define WORKER_POLL_SECONDS 1

time_t
outbound_backoff(int attempts)
{
	static const time_t steps[] = {60, 5 * 60, 15 * 60, 3600, 2 * 3600};
	size_t n = sizeof(steps) / sizeof(steps[0]);
	if (attempts < 1)
		return steps[0];
	return (size_t)attempts <= n ? steps[attempts - 1] : 4 * 3600;
}

static void
log_attempt(const struct store_outbound *row, const struct outbound_attempt *res, int rc)
{
	char reply[256], msgid[256];
	size_t count[3] = {0};
	for (size_t i = 0; i < row->nrcpts; i++)
		count[res->rcpt[i].outcome]++;
	log_sanitize(reply, sizeof(reply), res->reply ? res->reply : "", 200);
	log_sanitize(msgid, sizeof(msgid), row->msgid, 200);
	if (rc == 1)
		log_warn("outbound %lld <%s>: lease lost before the result was recorded (another worker "
		         "claimed it); its result stands", (long long)row->id, msgid);
	else
		log_info("outbound %lld <%s>: attempt %d: %zu sent, %zu failed, %zu deferred%s (%s)",
		         (long long)row->id, msgid, row->attempts, count[OUTBOUND_OK], count[OUTBOUND_PERMFAIL],
		         count[OUTBOUND_TEMPFAIL], count[OUTBOUND_TEMPFAIL] ? ", tried again later" : "", reply);
}

/* Counted once the outcome is recorded, per recipient. */
static void
count_outcomes(const struct store_outbound *row, const struct outbound_attempt *res)
{
	static const enum metrics_counter by_outcome[] = {
		[OUTBOUND_OK] = METRICS_OUTBOUND_SENT,
		[OUTBOUND_TEMPFAIL] = METRICS_OUTBOUND_DEFERRED,
		[OUTBOUND_PERMFAIL] = METRICS_OUTBOUND_FAILED,
	};
	for (size_t i = 0; i < row->nrcpts; i++)
		metrics_inc(by_outcome[res->rcpt[i].outcome], 1);
}

/* Deliver one claimed row and record the outcome. */
static void
deliver_one(struct store *st, const struct outbound_worker_options *opt, const char *owner,
            struct arena *a, const struct store_outbound *row)
{
	struct store_message m;
	struct pr_why why;
	struct outbound_attempt res = {OUTBOUND_TEMPFAIL, NULL, NULL};
	const char **rcpts = arena_alloc(a, (row->nrcpts + 1) * sizeof(*rcpts));
	res.rcpt = arena_alloc(a, (row->nrcpts + 1) * sizeof(*res.rcpt));
	for (size_t i = 0; i < row->nrcpts; i++)
		rcpts[i] = res.rcpt[i].address = row->rcpts[i].address;
	int rc = store_message_get(st, a, row->message_id, &m, &why);
	if (rc != 0) {
		res.reply = rc == 1 ? "the stored message is gone" : pr_why_text(&why);
		res.outcome = rc == 1 ? OUTBOUND_PERMFAIL : OUTBOUND_TEMPFAIL;
	} else {
		struct outbound_delivery d = {row->id, row->msgid, row->mail_from, rcpts, row->nrcpts,
		                              m.raw, m.raw_len};
		struct settings *set = settings_current();
		if (outbound_prepare(a, set, &d, &why) < 0) {
			res.outcome = OUTBOUND_TEMPFAIL;      /* the key is fixable: wait, say why */
			res.reply = arena_strdup(a, pr_why_text(&why));
		} else {
			(opt->transport ? opt->transport : outbound_smtp_transport)(opt->transport_arg, a, set, &d, &res);
		}
		settings_unref(&set);
	}
	/* A recipient the transport said nothing particular about shares the
	 * message's outcome. */
	for (size_t i = 0; i < row->nrcpts; i++)
		if (res.rcpt[i].reply == NULL)
			res.rcpt[i].outcome = res.outcome, res.rcpt[i].reply = res.reply;
	time_t now = time(NULL), next_at = now + outbound_backoff(row->attempts);
	rc = store_outbound_result(st, row->id, owner, row->lease, now, res.rcpt, row->nrcpts, next_at,
	                           res.reply, &why);
	if (rc < 0)
		log_error("outbound %lld: the result could not be recorded (%s); the row is retried when "
		          "its lease runs out", (long long)row->id, pr_why_text(&why));
	else
		log_attempt(row, &res, rc);
	if (rc == 0)
		count_outcomes(row, &res);
}

static const char *
owner_of(const struct outbound_worker_options *opt, char *buf, size_t len)
{
	if (opt->node_id)
		return opt->node_id;
	struct settings *set = settings_current();
	snprintf(buf, len, "%s:%ld", settings_str(set, SET_HOSTNAME), (long)getpid());
	settings_unref(&set);
	return buf;
}

int
outbound_worker_round(struct store *st, const struct outbound_worker_options *opt, time_t now,
                      struct pr_why *why)
{
	char owner_buf[300];
	const char *owner = owner_of(opt, owner_buf, sizeof(owner_buf));
	struct arena *a = arena_new();
	struct store_outbound *rows;
	size_t n;
	int lease = opt->lease_seconds > 0 ? opt->lease_seconds : OUTBOUND_LEASE_SECONDS;
	int rc = store_outbound_claim(st, a, owner, now, lease, WORKER_BATCH, &rows, &n, why);
	for (size_t i = 0; rc == 0 && i < n; i++)
		deliver_one(st, opt, owner, a, &rows[i]);
	arena_free(&a);
	return rc < 0 ? -1 : (int)n;
}

struct outbound_worker {
	struct outbound_worker_options opt;
	char *uri, *node;
	struct store *st;
	bool failing;               /* the last round could not read the store */
	struct poll_thread *thread;
};

/* This process's running worker, for outbound_queue_poke. */
static struct poll_slot running = POLL_SLOT_INIT;

void
outbound_queue_poke(void)
{
	poll_slot_wake(&running);
}

static int
worker_round(void *arg)
{
	struct outbound_worker *w = arg;
	struct pr_why why;
	int n = outbound_worker_round(w->st, &w->opt, time(NULL), &why);
	if (n < 0 && !w->failing)
		log_warn("outbound: cannot read the queue (%s); trying again every second", pr_why_text(&why));
	w->failing = n < 0;
	return n;
}

struct outbound_worker *
outbound_worker_start(const struct outbound_worker_options *opt, struct pr_why *why)
{
	struct outbound_worker *w = xcalloc(1, sizeof(*w));
	w->opt = *opt;
	w->opt.store_uri = w->uri = xstrdup(opt->store_uri);
	if (opt->node_id)
		w->opt.node_id = w->node = xstrdup(opt->node_id);
	if ((w->st = store_open(w->uri, why)) == NULL) {
		free(w->uri);
		free(w->node);
		free(w);
		return NULL;
	}
	w->thread = poll_thread_start("outbound", worker_round, w,
	                              opt->poll_ms > 0 ? opt->poll_ms : WORKER_POLL_SECONDS * 1000);
	poll_slot_set(&running, w->thread);
	return w;
}

void
outbound_worker_stop(struct outbound_worker **wp)
{
	struct outbound_worker *w = *wp;
	*wp = NULL;
	if (w == NULL)
		return;
	poll_slot_clear(&running, w->thread);
	poll_thread_stop(&w->thread);
	store_close(&w->st);
	free(w->uri);
	free(w->node);
	free(w);
}

unsigned long
outbound_worker_rounds(struct outbound_worker *w)
{
	return poll_thread_rounds(w->thread);
}
