/* dns_gate.c - slow DNS from one sender domain must not take every worker.
 *
 * Each intake worker does its DNS work synchronously (dns_cares.c), so a
 * domain whose name servers answer slowly, or never, would hold a worker
 * for the whole message budget; a handful of messages from that domain
 * would hold them all and stall everybody's mail.  So the lookups that miss
 * the cache pass through a gate keyed by the message's sender domain:
 *
 *   - at most dns_domain_concurrency lookups of one domain are in flight;
 *     another one waits for a slot at most DNS_GATE_WAIT_MS (most waits end
 *     at once: the lookup in flight fills the cache), then fails;
 *   - a domain whose lookup just timed out is "slow" for DNS_GATE_SLOW_S:
 *     one lookup at a time probes it and the rest fail at once (temporary
 *     error, 451) instead of waiting: fail fast while it is timing out.
 *
 * Cache hits never pass the gate, so a busy but healthy domain is not
 * slowed.  The table is bounded: entries live while in use or slow, and at
 * DNS_GATE_MAX entries no new domain is marked slow (it then only has the
 * concurrency cap).  Process-wide, one mutex, monotonic time.
 */
#include "auth/dns_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"

#define DNS_GATE_BUCKETS 256
#define DNS_GATE_MAX 4096
#define DNS_GATE_SLOW_S 60
/* Long enough for a healthy lookup in flight to fill the cache, short
 * enough that waiters do not become the stuck workers we guard against. */
#define DNS_GATE_WAIT_MS 1000

struct gate_entry {
	struct gate_entry *next;
	char domain[256];
	int inflight;
	int64_t slow_until_ms;
};

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;
static struct gate_entry *gate_tab[DNS_GATE_BUCKETS];
static size_t gate_count;

/* The condition variable waits on CLOCK_MONOTONIC like everything else. */
static void
gate_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&gate_cond, &ca);
	pthread_condattr_destroy(&ca);
}

static struct gate_entry **
gate_slot(const char *domain)
{
	uint32_t h = 2166136261u;
	for (const char *p = domain; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	struct gate_entry **pp = &gate_tab[h % DNS_GATE_BUCKETS];
	while (*pp && strcmp((*pp)->domain, domain) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Drop e from the table when nobody uses it and it is not slow. */
static void
gate_release(struct gate_entry **pp, int64_t now)
{
	struct gate_entry *e = *pp;
	if (e->inflight == 0 && e->slow_until_ms <= now) {
		*pp = e->next;
		free(e);
		gate_count--;
	}
}

static void
gate_wait(int64_t deadline_ms)
{
	struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000};
	int rc = pthread_cond_timedwait(&gate_cond, &gate_lock, &ts);
	(void)rc;                        /* ETIMEDOUT: the loop re-checks the clock */
}

int
dns_gate_enter(const char *domain, int cap, int64_t deadline_ms)
{
	if (domain == NULL || *domain == '\0' || strlen(domain) >= 256)
		return 0;                    /* no sender domain: nothing to key on */
	pthread_once(&gate_once, gate_init);
	pthread_mutex_lock(&gate_lock);
	int rc = -1;
	int64_t wait_end = dns_now_ms() + DNS_GATE_WAIT_MS;
	if (wait_end < deadline_ms)
		deadline_ms = wait_end;
	for (;;) {
		int64_t now = dns_now_ms();
		struct gate_entry **pp = gate_slot(domain);
		if (*pp == NULL) {
			struct gate_entry *e = xcalloc(1, sizeof(*e));
			memcpy(e->domain, domain, strlen(domain) + 1);
			*pp = e;
			gate_count++;
		}
		struct gate_entry *e = *pp;
		bool slow = e->slow_until_ms > now;
		if (e->inflight < (slow ? 1 : cap)) {
			e->inflight++;
			rc = 0;
			break;
		}
		if (slow || now >= deadline_ms) {
			gate_release(pp, now);
			break;
		}
		gate_wait(deadline_ms);
	}
	pthread_mutex_unlock(&gate_lock);
	return rc;
}

void
dns_gate_leave(const char *domain, bool timed_out)
{
	if (domain == NULL || *domain == '\0' || strlen(domain) >= 256)
		return;
	pthread_mutex_lock(&gate_lock);
	int64_t now = dns_now_ms();
	struct gate_entry **pp = gate_slot(domain);
	if (*pp != NULL) {
		(*pp)->inflight--;
		if (timed_out && gate_count <= DNS_GATE_MAX)
			(*pp)->slow_until_ms = now + DNS_GATE_SLOW_S * 1000;
		else if (!timed_out)
			(*pp)->slow_until_ms = 0;    /* it answered: no longer slow */
		gate_release(pp, now);
	}
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}
