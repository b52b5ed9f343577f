/* pop3_collect.c - one collection round: every message, exactly once.
 *
 *   UIDL -> for each message:
 *     (mailbox, UIDL) recorded in the store   -> DELE (stored earlier)
 *     else RETR into a spool
 *       (mailbox, content hash) recorded      -> DELE (same bytes, new UIDL)
 *       else submit the bytes, mailbox and UIDL to intake (asynchronously,
 *       up to POP3_WINDOW in flight so group commit shares the fsyncs); the
 *       commit that stores the message also records (mailbox, UIDL, hash)
 *   as intake finishes: record refusals (one transaction per batch), and
 *   only then DELE;  QUIT at the end applies the DELEs.
 *
 * The mailbox is "pop_server pop_username": a UIDL names a message only
 * within one maildrop, so a record of another server or user never
 * deletes anything here.  See store/store_sqlite_pop3.c for why the
 * record is written with the message.
 *
 * What is deleted: a message intake stored (or found already stored), and
 * a message intake refused for good (5xx: sender policy, authentication,
 * loop) once its refusal is in the intake log -- the log row is then the
 * record, exactly as for a refused SMTP transaction, and keeping it would
 * refuse and log it again every round.  A temporary failure (4xx: store
 * busy, DNS) is left in the mailbox for the next round; so is a message
 * over the hard size ceiling (PR_MAX_MESSAGE_SIZE), with a warning.
 *
 * The envelope (recipients, sender, the client the provider saw) is not
 * read here: intake reads it out of the message, with the same parser for
 * every field (intake/envelope.c), as Postfix's cleanup does for pickup.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/settings.h"
#include "core/spool.h"
#include "intake/intake.h"
#include "pop3/pop3.h"
#include "pop3/pop3_private.h"
#include "store/store.h"

/* Messages in the pipeline at once: enough for group commit to batch,
 * few enough that a crash re-downloads little. */
#define POP3_WINDOW 64
/* Records of collected messages are kept this long after the message was
 * last listed (a message still listed has its record refreshed). */
#define POP3_RECORD_KEEP (90 * 24 * 3600)

struct round;
struct pending {
	struct pending *next;
	struct round *rd;
	unsigned long num;
	char uidl[POP3_UIDL_MAX + 1];
	char sha[65];
	struct intake_result res;
};

struct round {
	struct intake *in;
	const struct settings *set;
	struct store *st;            /* the collector's own connection */
	const char *mailbox;         /* "server user" */
	struct pop3_conn *conn;
	struct pop3_round *r;
	const volatile int *stop;
	struct pop3_lease *lease;    /* serve: renewed between messages; NULL: collect --once */
	bool broken;                 /* connection unusable: no more commands */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct pending *done;        /* finished by intake, not yet recorded */
	size_t inflight;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void init_curl(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void
pop3_global_init(void)
{
	pthread_once(&curl_once, init_curl);
}

static void
set_error(struct round *rd, const struct pr_why *why)
{
	if (rd->r->why.code == PR_OK)
		rd->r->why = *why;
}

static void
dele(struct round *rd, unsigned long num)
{
	struct pr_why why;
	if (rd->broken)
		return;
	if (pop3_conn_dele(rd->conn, num, &why) < 0) {
		rd->broken = true;
		set_error(rd, &why);
		return;
	}
	rd->r->deleted++;
}

static void
on_done(void *arg, const struct intake_result *res)
{
	struct pending *p = arg;
	struct round *rd = p->rd;
	p->res = *res;
	pthread_mutex_lock(&rd->lock);
	p->next = rd->done;
	rd->done = p;
	rd->inflight--;
	pthread_cond_signal(&rd->cv);
	pthread_mutex_unlock(&rd->lock);
}

enum outcome { LEAVE, STORED, REFUSED };

/* The verdict decides: delete (it is stored, or refused and logged), or
 * leave it for the next round. */
static enum outcome
outcome(struct round *rd, const struct pending *p)
{
	const struct pr_why *w = &p->res.why;
	char uidl[80];
	log_sanitize(uidl, sizeof(uidl), p->uidl, strlen(p->uidl));
	if (w->code == PR_OK) {
		rd->r->collected++;
		return STORED;
	}
	if (!pr_err_is_temporary(w->code) && p->res.logged) {
		rd->r->refused++;
		log_info("pop3: message %s refused (%s); logged, deleted from the mailbox", uidl,
		         pr_err_name(w->code));
		return REFUSED;
	}
	rd->r->failed++;
	log_warn("pop3: message %s left in the mailbox for the next round: %s", uidl,
	         pr_why_text(w));
	return LEAVE;
}

/* Record the refusals among the finished messages in one transaction,
 * then DELE what is stored or recorded.  Stored messages were recorded
 * by their own commit.  If the refusals cannot be recorded they stay in
 * the mailbox (refused and logged again next round) and the round stops. */
static void
record_done(struct round *rd, bool wait_all)
{
	pthread_mutex_lock(&rd->lock);
	while (wait_all ? rd->inflight > 0 : rd->inflight >= POP3_WINDOW)
		pthread_cond_wait(&rd->cv, &rd->lock);
	struct pending *list = rd->done;
	rd->done = NULL;
	pthread_mutex_unlock(&rd->lock);
	size_t n = 0, nmarks = 0;
	for (struct pending *p = list; p; p = p->next)
		n++;
	if (n == 0)
		return;
	struct store_pop3_mark *marks = xcalloc(n, sizeof(*marks));
	enum outcome *oc = xcalloc(n, sizeof(*oc));
	size_t i = 0;
	for (struct pending *p = list; p; p = p->next, i++)
		if ((oc[i] = outcome(rd, p)) == REFUSED)
			marks[nmarks++] = (struct store_pop3_mark){p->uidl, p->sha, "refused", 0};
	struct pr_why why;
	bool marked = store_pop3_mark(rd->st, rd->mailbox, marks, nmarks, &why) == 0;
	i = 0;
	for (struct pending *p = list, *next; p; p = next, i++) {
		next = p->next;
		if (oc[i] == STORED || (oc[i] == REFUSED && marked))
			dele(rd, p->num);
		free(p);
	}
	free(marks);
	free(oc);
	if (!marked) {
		set_error(rd, &why);
		rd->broken = true;
	}
}

/* RETR one message and hand it to intake. */
static void
collect_one(struct round *rd, const struct pop3_item *it)
{
	struct intake_msg *m = intake_msg_new(INTAKE_POP3);
	struct pr_why why;
	bool too_big = false;
	uint64_t max = (uint64_t)PR_MAX_MESSAGE_SIZE;
	if (pop3_conn_retr(rd->conn, m->arena, intake_spool_dir(rd->in), it->num, max, &m->raw,
	                   &too_big, &why) < 0) {
		rd->broken = true;
		set_error(rd, &why);
		goto drop;
	}
	char uidl[80];
	log_sanitize(uidl, sizeof(uidl), it->uidl, strlen(it->uidl));
	if (too_big) {
		rd->r->failed++;
		log_warn("pop3: message %s is over %lld bytes; left in the mailbox", uidl,
		         (long long)PR_MAX_MESSAGE_SIZE);
		goto drop;
	}
	const char *sha = spool_sha256_hex(m->raw);
	int known = store_pop3_known_hash(rd->st, rd->mailbox, sha, &why);
	if (known != 0) {
		struct store_pop3_mark mk = {it->uidl, sha, "stored", 0};
		if (known > 0 && store_pop3_mark(rd->st, rd->mailbox, &mk, 1, &why) == 0) {
			rd->r->skipped_known++;
			dele(rd, it->num);
		} else {
			rd->broken = true;
			set_error(rd, &why);
		}
		goto drop;
	}
	m->source_ref = arena_printf(m->arena, "uidl:%s", uidl);
	m->pop3_mailbox = arena_strdup(m->arena, rd->mailbox);
	m->pop3_uidl = arena_strdup(m->arena, it->uidl);
	struct pending *p = xcalloc(1, sizeof(*p));
	p->rd = rd;
	p->num = it->num;
	memcpy(p->uidl, it->uidl, sizeof(p->uidl));
	memcpy(p->sha, sha, sizeof(p->sha));
	/* Only the bytes, the mailbox and the UIDL: intake reads the
	 * envelope (recipients, sender, client) out of the message. */
	pthread_mutex_lock(&rd->lock);
	rd->inflight++;
	pthread_mutex_unlock(&rd->lock);
	intake_submit(rd->in, m, on_done, p);
	return;
drop:
	{
		struct arena *ma = m->arena;   /* m lives inside its own arena */
		arena_free(&ma);
	}
}

/* serve: still this node's mailbox to collect?  If another node took it
 * over (this one stalled past its lease), stop taking messages: those
 * already stored are still deleted at QUIT, the rest are the other's. */
static bool
still_ours(struct round *rd)
{
	if (rd->lease == NULL ||
	    pop3_lease_keep(rd->lease, rd->mailbox, settings_int(rd->set, SET_POP_INTERVAL)))
		return true;
	log_warn("pop3: round stopped: this node no longer holds the mailbox's lease");
	return false;
}

static void
run_items(struct round *rd, const struct pop3_item *items, size_t n)
{
	for (size_t i = 0; i < n && !rd->broken && !*rd->stop && still_ours(rd); i++) {
		struct pr_why why;
		int known = store_pop3_known_uidl(rd->st, rd->mailbox, items[i].uidl, &why);
		if (known < 0) {
			set_error(rd, &why);
			break;
		}
		if (known) {
			rd->r->skipped_known++;
			if (store_pop3_touch(rd->st, rd->mailbox, items[i].uidl, &why) < 0)
				log_warn("pop3: %s", pr_why_text(&why));   /* only shortens its life */
			dele(rd, items[i].num);
		} else {
			collect_one(rd, &items[i]);
		}
		record_done(rd, false);
	}
	record_done(rd, true);
}

static int
round_run(struct intake *in, const char *store_uri, const struct settings *set,
          const volatile int *stop, struct pop3_lease *lease, struct pop3_round *r)
{
	pop3_global_init();
	memset(r, 0, sizeof(*r));
	struct round rd = {.in = in, .set = set, .r = r, .stop = stop, .lease = lease};
	pthread_mutex_init(&rd.lock, NULL);
	pthread_cond_init(&rd.cv, NULL);
	struct arena *a = arena_new();
	struct pop3_item *items = NULL;
	rd.mailbox = arena_printf(a, "%s %s", settings_str(set, SET_POP_SERVER),
	                          settings_str(set, SET_POP_USERNAME));
	if ((rd.st = store_open(store_uri, &r->why)) == NULL ||
	    store_pop3_expire(rd.st, time(NULL) - POP3_RECORD_KEEP, &r->why) < 0 ||
	    (rd.conn = pop3_conn_new(set, &r->why)) == NULL ||
	    pop3_conn_uidl(rd.conn, a, &items, &r->listed, &r->why) < 0)
		goto out;
	run_items(&rd, items, r->listed);
out:
	if (rd.conn && pop3_conn_lost(rd.conn))
		r->deleted = 0;   /* no QUIT: the server keeps them all */
	/* QUIT commits the DELEs sent; pop3_conn_free drops the connection
	 * without QUIT if the session was in doubt. */
	pop3_conn_free(&rd.conn, true);
	store_close(&rd.st);
	arena_free(&a);
	pthread_mutex_destroy(&rd.lock);
	pthread_cond_destroy(&rd.cv);
	log_info("pop3: round: %zu listed, %zu collected, %zu refused, %zu known, %zu left, "
	         "%zu deleted%s%s", r->listed, r->collected, r->refused, r->skipped_known, r->failed,
	         r->deleted, r->why.code ? "; " : "", r->why.code ? pr_why_text(&r->why) : "");
	metrics_inc(r->why.code == PR_OK ? METRICS_POP3_ROUNDS_OK : METRICS_POP3_ROUNDS_FAILED, 1);
	metrics_inc(METRICS_POP3_COLLECTED, r->collected);
	return r->why.code == PR_OK ? 0 : -1;
}

int
pop3_collect_once(struct intake *in, const char *store_uri, const struct settings *set,
                  struct pop3_round *r)
{
	static const volatile int never = 0;
	return round_run(in, store_uri, set, &never, NULL, r);
}

int
pop3_check(const struct settings *set, size_t *n_r, struct pr_why *why)
{
	pop3_global_init();
	pr_why_clear(why);
	struct pop3_conn *c = pop3_conn_new(set, why);
	if (c == NULL)
		return -1;
	int rc = pop3_conn_stat(c, n_r, why);
	pop3_conn_free(&c, true);
	return rc;
}

/* ---- serve: a round every pop_interval seconds, on the node holding
 * the mailbox's lease (pop3_lease.c); the others try to take it every
 * tick, and one that takes it over collects at once. ---- */
struct pop3_service {
	struct intake *in;
	char *store_uri;
	struct pop3_lease *lease;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	volatile int stop;
};

/* One wake-up: take or renew the lease, and run a round when it is due
 * (or this node just took the mailbox over).  The seconds to sleep. */
static long long
service_tick(struct pop3_service *s, const struct settings *set, double *next_round)
{
	long long interval = settings_int(set, SET_POP_INTERVAL);
	interval = interval > 0 ? interval : 60;
	if (!*settings_str(set, SET_POP_SERVER))
		return interval;
	char mailbox[PR_SETTING_MAX * 2 + 2];
	snprintf(mailbox, sizeof(mailbox), "%s %s", settings_str(set, SET_POP_SERVER),
	         settings_str(set, SET_POP_USERNAME));
	bool had = *next_round > 0;
	if (!pop3_lease_keep(s->lease, mailbox, interval)) {
		*next_round = 0;            /* taken over later: collect at once */
		return pop3_lease_tick(interval);
	}
	if (!had || pop3_mono() >= *next_round) {
		struct pop3_round r;
		if (round_run(s->in, s->store_uri, set, &s->stop, s->lease, &r) < 0)
			log_warn("pop3: collection failed: %s", pr_why_text(&r.why));
		*next_round = pop3_mono() + (double)interval;
	}
	long long wait = (long long)(*next_round - pop3_mono() + 0.999);
	int tick = pop3_lease_tick(interval);
	return wait < 1 ? 1 : wait > tick ? tick : wait;
}

static void *
service_main(void *arg)
{
	struct pop3_service *s = arg;
	double next_round = 0;          /* CLOCK_MONOTONIC; 0: not collecting */
	while (!s->stop) {
		struct settings *set = settings_current();
		long long wait = service_tick(s, set, &next_round);
		settings_unref(&set);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait;
		pthread_mutex_lock(&s->lock);
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->lock, &until) == 0)
			;
		pthread_mutex_unlock(&s->lock);
	}
	pop3_lease_free(&s->lease);     /* a clean stop: another node may take over now */
	return NULL;
}

struct pop3_service *
pop3_service_start(struct intake *in, const char *store_uri)
{
	pop3_global_init();
	struct pop3_service *s = xcalloc(1, sizeof(*s));
	s->in = in;
	s->store_uri = xstrdup(store_uri);
	s->lease = pop3_lease_new(store_uri);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->thread, NULL, service_main, s) != 0)
		pr_panic("cannot start the POP3 collector thread");
	pthread_setname_np(s->thread, "pop3-collect");
	return s;
}

void
pop3_service_stop(struct pop3_service **sp)
{
	struct pop3_service *s = *sp;
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	free(s->store_uri);
	free(s);
	*sp = NULL;
}
