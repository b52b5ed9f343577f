/* pop3_lease.c - POP3 collection of a mailbox on one node at a time.
 *
 * Several serve nodes sharing one store would otherwise each collect the
 * same system mailbox (their sessions fighting over the maildrop lock, or
 * racing to RETR what the other is about to DELE).  A lease row in the
 * store, "pop3:<mailbox>", says which node collects: the holder renews
 * it, the others try to take it, and a node that dies stops renewing so
 * its lease runs out and another takes over.
 *
 * Timing, for pop_interval I: every node tries (the holder renews) every
 * tick = I/3 seconds (at least 1), and a lease lasts I - tick.  A holder
 * that dies right after renewing is taken over I - tick later at the
 * earliest and I at the latest: within one interval.  A holder renews
 * between the messages of a round too, and stops the round if it finds
 * the lease gone (it stalled past its lease and another node took over).
 * A clean stop releases the lease, so another node takes over at its
 * next tick instead of waiting for the lease to run out.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/sha256.h"
#include "pop3/pop3_private.h"
#include "store/store.h"

/* A lease name is a key of the store's index: a mailbox too long for one
 * (pop_server and pop_username may each be 4 KiB) is named by its hash. */
#define POP3_LEASE_NAME_MAX 512

struct pop3_lease {
	char *store_uri;
	struct store *st;            /* its own connection, opened on first use */
	char name[POP3_LEASE_NAME_MAX];      /* "pop3:<mailbox>" (see lease_name) */
	char shown[200];             /* name, sanitized for the log */
	char owner[300];             /* this node: "<hostname>:<pid>" */
	char other[300];             /* the other holder last logged, sanitized */
	bool held;
	time_t held_until;           /* wall clock, as stored */
	double tried_at;             /* CLOCK_MONOTONIC seconds; 0: never */
	bool failing;                /* the store failed: logged once */
};

int
pop3_lease_tick(long long interval)
{
	return interval >= 6 ? (int)(interval / 3) : 1;
}

double
pop3_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct pop3_lease *
pop3_lease_new(const char *store_uri)
{
	struct pop3_lease *l = xcalloc(1, sizeof(*l));
	l->store_uri = xstrdup(store_uri);
	/* As the outbound and webhook workers name their lease owner: a
	 * restarted serve is a new owner, so it never mistakes the lease of
	 * the process it replaced for its own. */
	struct settings *set = settings_current();
	snprintf(l->owner, sizeof(l->owner), "%s:%ld", settings_str(set, SET_HOSTNAME), (long)getpid());
	settings_unref(&set);
	return l;
}

static void
release(struct pop3_lease *l)
{
	struct pr_why why;
	if (!l->held || l->st == NULL)
		return;
	if (store_lease_release(l->st, l->name, l->owner, &why) < 0)
		log_warn("pop3: could not release %s (another node takes it over when it runs out): %s",
		         l->shown, pr_why_text(&why));
	else
		log_info("pop3: released %s: another node may collect now", l->shown);
	l->held = false;
	l->held_until = 0;
}

void
pop3_lease_free(struct pop3_lease **lp)
{
	struct pop3_lease *l = *lp;
	*lp = NULL;
	if (l == NULL)
		return;
	release(l);
	store_close(&l->st);
	free(l->store_uri);
	free(l);
}

/* What the take said: log when this node starts or stops collecting, and
 * (once per holder) who collects while it stands by. */
static void
note(struct pop3_lease *l, const struct store_lease *got)
{
	const char *other = got->held ? got->previous : got->holder;
	char who[sizeof(l->other)];
	log_sanitize(who, sizeof(who), other ? other : "", other ? strlen(other) : 0);
	if (got->held && !l->held && got->previous)
		log_info("pop3: took over collecting %s from %s (its lease %s); this node (%s) collects now",
		         l->shown, who, got->previous_released ? "was released" : "ran out", l->owner);
	else if (got->held && !l->held)
		log_info("pop3: this node (%s) collects %s", l->owner, l->shown);
	else if (!got->held && l->held)
		log_warn("pop3: %s was taken over by %s; this node stops collecting", l->shown, who);
	else if (!got->held && strcmp(who, l->other) != 0)
		log_info("pop3: %s is collected by %s; this node stands by to take over", l->shown, who);
	snprintf(l->other, sizeof(l->other), "%s", got->held ? "" : who);
}

static void
take(struct pop3_lease *l, time_t now, int seconds)
{
	struct pr_why why;
	struct store_lease got;
	struct arena *a = arena_new();
	if ((l->st == NULL && (l->st = store_open(l->store_uri, &why)) == NULL) ||
	    store_lease_take(l->st, a, l->name, l->owner, now, seconds, &got, &why) < 0) {
		if (!l->failing)
			log_warn("pop3: cannot take or renew %s: %s%s", l->shown, pr_why_text(&why),
			         l->held ? "; collecting on until it runs out" : "");
		l->failing = true;
		arena_free(&a);
		return;
	}
	l->failing = false;
	note(l, &got);
	l->held = got.held;
	l->held_until = got.held ? got.until : 0;
	arena_free(&a);
}

/* "pop3:<mailbox>", or "pop3:sha256:<hex>" of a mailbox too long for it. */
static void
lease_name(const char *mailbox, char *out, size_t cap)
{
	int n = snprintf(out, cap, "pop3:%s", mailbox);
	if (n >= 0 && (size_t)n < cap)
		return;
	uint8_t md[32];
	sha256_digest(mailbox, strlen(mailbox), md);
	size_t at = (size_t)snprintf(out, cap, "pop3:sha256:");
	for (size_t i = 0; i < sizeof(md) && at + 2 < cap; i++)
		at += (size_t)snprintf(out + at, cap - at, "%02x", md[i]);
}

bool
pop3_lease_keep(struct pop3_lease *l, const char *mailbox, long long interval)
{
	char name[sizeof(l->name)];
	lease_name(mailbox, name, sizeof(name));
	if (strcmp(name, l->name) != 0) {          /* pop_server or pop_username changed */
		release(l);
		memcpy(l->name, name, sizeof(name));
		log_sanitize(l->shown, sizeof(l->shown), name, strlen(name));
		l->tried_at = 0;
		l->other[0] = '\0';
	}
	int tick = pop3_lease_tick(interval);
	double m = pop3_mono();
	if (l->tried_at == 0 || m - l->tried_at >= tick) {
		l->tried_at = m;
		take(l, time(NULL), (int)(interval > tick ? interval - tick : tick));
	}
	if (l->held && time(NULL) >= l->held_until) {
		log_warn("pop3: %s ran out without a renewal (the store did not answer); this node stops "
		         "collecting until it holds it again", l->shown);
		l->held = false;
	}
	return l->held;
}
