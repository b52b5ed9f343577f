/* smtp_anvil.c - per-client-IP connection counters (Postfix anvil(8)).
 *
 * max_sessions bounds the server; without a per-address bound one address
 * could take every slot and trickle a byte every few minutes, and nobody
 * else could connect.  So each client IP gets two limits, checked at
 * accept time before a session is built:
 *
 *   - concurrent sessions (smtp_client_session_limit), counted up at
 *     accept and down when the session is freed;
 *   - connections per minute (smtp_client_connection_rate), a fixed
 *     60-second window per address like anvil_rate_time_unit.  Refused
 *     attempts count too, so a client that keeps hammering stays refused
 *     until it pauses.
 *
 * The table is bounded: at ANVIL_MAX_ENTRIES it first forgets addresses
 * with no session whose window has ended, then any address with no
 * session (the rate memory of an attacker with that many addresses is the
 * least of our problems).  Addresses with a session are never dropped, and
 * there are at most max_sessions of those.  Loop thread only.
 *
 * Addresses in smtp_client_limit_exceptions (a relay or filter in front of
 * us, through which all mail comes from one address) skip both checks but
 * are counted like any other, so a session opened before the list changed
 * is still counted down when it ends.
 */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/ipnet.h"
#include "core/log.h"
#include "core/settings.h"
#include "smtp/smtp_private.h"

#define ANVIL_BUCKETS 1024
#define ANVIL_MAX_ENTRIES 16384
#define ANVIL_RATE_WINDOW 60

struct anvil_entry {
	struct anvil_entry *next;
	char ip[64];
	long sessions;
	long conns;              /* connections in the current window */
	time_t window_start;
};

struct smtp_anvil {
	struct anvil_entry *tab[ANVIL_BUCKETS];
	size_t count;
	/* smtp_client_limit_exceptions, parsed once per value seen */
	char *exceptions_text;
	struct ipnet_list exceptions;
};

struct smtp_anvil *
smtp_anvil_new(void)
{
	return xcalloc(1, sizeof(struct smtp_anvil));
}

static unsigned
anvil_hash(const char *ip)
{
	uint32_t h = 2166136261u;          /* FNV-1a */
	for (const char *p = ip; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % ANVIL_BUCKETS;
}

/* Forget idle addresses; with keep_rates, only those whose window ended. */
static void
anvil_sweep(struct smtp_anvil *a, time_t now, bool keep_rates)
{
	for (unsigned b = 0; b < ANVIL_BUCKETS; b++) {
		struct anvil_entry **pp = &a->tab[b];
		while (*pp) {
			struct anvil_entry *e = *pp;
			bool live = now - e->window_start < ANVIL_RATE_WINDOW;
			if (e->sessions == 0 && !(keep_rates && live)) {
				*pp = e->next;
				free(e);
				a->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct anvil_entry *
anvil_find(struct smtp_anvil *a, const char *ip, bool create, time_t now)
{
	unsigned b = anvil_hash(ip);
	for (struct anvil_entry *e = a->tab[b]; e; e = e->next)
		if (strcmp(e->ip, ip) == 0)
			return e;
	if (!create)
		return NULL;
	if (a->count >= ANVIL_MAX_ENTRIES)
		anvil_sweep(a, now, true);
	if (a->count >= ANVIL_MAX_ENTRIES) {
		log_warn("smtp: more than %d client addresses seen within a minute; forgetting their "
		         "connection rates", ANVIL_MAX_ENTRIES);
		anvil_sweep(a, now, false);
	}
	struct anvil_entry *e = xcalloc(1, sizeof(*e));
	size_t n = strlen(ip);
	memcpy(e->ip, ip, n < sizeof(e->ip) ? n : sizeof(e->ip) - 1);
	e->window_start = now;
	e->next = a->tab[b];
	a->tab[b] = e;
	a->count++;
	return e;
}

/* Is ip exempt under set?  The list was validated when set was built. */
static bool
anvil_exempt(struct smtp_anvil *a, const char *ip, const struct settings *set)
{
	const char *text = settings_str(set, SET_SMTP_CLIENT_LIMIT_EXCEPTIONS);
	if (a->exceptions_text == NULL || strcmp(a->exceptions_text, text) != 0) {
		struct pr_why why;
		free(a->exceptions_text);
		a->exceptions_text = xstrdup(text);
		if (PR_NEVER(ipnet_list_parse(text, &a->exceptions, &why) < 0))
			a->exceptions.n = 0;
	}
	return ipnet_list_match(&a->exceptions, ip);
}

int
smtp_anvil_connect(struct smtp_anvil *a, const char *ip, const struct settings *set, time_t now,
                   struct pr_why *why)
{
	struct anvil_entry *e = anvil_find(a, ip, true, now);
	if (now - e->window_start >= ANVIL_RATE_WINDOW || now < e->window_start) {
		e->window_start = now;
		e->conns = 0;
	}
	e->conns++;
	long long rate = settings_int(set, SET_SMTP_CLIENT_CONNECTION_RATE);
	long long limit = settings_int(set, SET_SMTP_CLIENT_SESSION_LIMIT);
	if (anvil_exempt(a, ip, set)) {
		e->sessions++;
		return 0;
	}
	if (rate > 0 && e->conns > rate) {
		pr_why_set(why, PR_E_CLIENT_LIMIT, "too many connections from %s: more than %lld per "
		           "minute; try again later", ip, rate);
		return -1;
	}
	if (e->sessions >= limit) {
		pr_why_set(why, PR_E_CLIENT_LIMIT, "too many connections from %s: %lld sessions are "
		           "open already; try again later", ip, limit);
		return -1;
	}
	e->sessions++;
	return 0;
}

void
smtp_anvil_disconnect(struct smtp_anvil *a, const char *ip)
{
	struct anvil_entry *e = anvil_find(a, ip, false, 0);
	if (PR_ALWAYS(e != NULL && e->sessions > 0))
		e->sessions--;
}

void
smtp_anvil_free(struct smtp_anvil **ap)
{
	struct smtp_anvil *a = *ap;
	if (a == NULL)
		return;
	for (unsigned b = 0; b < ANVIL_BUCKETS; b++)
		while (a->tab[b]) {
			struct anvil_entry *e = a->tab[b];
			a->tab[b] = e->next;
			free(e);
		}
	free(a->exceptions_text);
	free(a);
	*ap = NULL;
}
