/* smtp_guard.c - the bounds on a session that the idle timeout cannot give.
 *
 * The idle timeout (a read timeout on the bufferevent) restarts with every
 * byte, so a client that trickles one byte every few minutes would keep
 * its session, and its max_sessions slot, for ever.  One timer per session
 * adds two bounds measured from the clock, not from the last byte:
 *
 *   - smtp_session_lifetime: the whole session, whatever it does.  A
 *     message already handed to intake is answered first (its 250 means
 *     committed; cutting it would make the client send it again), then the
 *     session ends.
 *   - smtp_min_data_rate: during DATA, each smtp_data_rate_window seconds
 *     must bring at least rate * window bytes (Postfix smtpd_min_data_rate;
 *     averaging over a window lets a healthy link stall briefly).
 *
 * Both cuts answer 421 4.7.0 and write an intake-log row when a transaction
 * was open, like the idle timeout.  Monotonic time: a clock step must not
 * end or extend sessions.  Loop thread only.
 */
#include <event2/event.h>
#include <time.h>

#include "core/log.h"
#include "core/settings.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_private.h"

static int64_t
guard_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
lifetime_end(const struct smtp_session *s)
{
	return s->started_ms + settings_int(s->set, SET_SMTP_SESSION_LIFETIME) * 1000;
}

/* Fire at the next thing due: the end of the DATA window or of the life. */
static void
guard_arm(struct smtp_session *s, int64_t now)
{
	int64_t due = lifetime_end(s);
	if (s->state == SMTP_DATA && settings_int(s->set, SET_SMTP_MIN_DATA_RATE) > 0) {
		int64_t w = s->window_start_ms + settings_int(s->set, SET_SMTP_DATA_RATE_WINDOW) * 1000;
		if (w < due)
			due = w;
	}
	int64_t left = due > now ? due - now : 0;
	struct timeval tv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
	evtimer_add(s->guard, &tv);
}

/* The DATA window ended: enough bytes, or cut the session. */
static bool
data_rate_ok(struct smtp_session *s, int64_t now)
{
	long long rate = settings_int(s->set, SET_SMTP_MIN_DATA_RATE);
	long long window = settings_int(s->set, SET_SMTP_DATA_RATE_WINDOW);
	if (s->state != SMTP_DATA || rate <= 0 || now < s->window_start_ms + window * 1000)
		return true;
	if (s->window_bytes >= (uint64_t)(rate * window)) {
		s->window_start_ms = now;
		s->window_bytes = 0;
		return true;
	}
	struct pr_why why;
	pr_why_set(&why, PR_E_DATA_TOO_SLOW, "the message arrived too slowly: %llu bytes in %lld "
	           "seconds, at least %lld bytes per second are needed", (unsigned long long)s->window_bytes,
	           window, rate);
	smtp_cut(s, &why);
	return false;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)fd, (void)what;
	if (s->state == SMTP_CLOSING || s->bev == NULL)
		return;
	int64_t now = guard_now_ms();
	if (now >= lifetime_end(s)) {
		if (s->state == SMTP_WAIT) {
			s->expired = true;       /* answered first; process() ends it */
			return;
		}
		smtp_guard_expire(s);
		return;
	}
	if (data_rate_ok(s, now))
		guard_arm(s, now);
}

void
smtp_guard_expire(struct smtp_session *s)
{
	struct pr_why why;
	pr_why_set(&why, PR_E_SESSION_LIFETIME, "the session lasted longer than %lld seconds; "
	           "reconnect to send more", settings_int(s->set, SET_SMTP_SESSION_LIFETIME));
	smtp_cut(s, &why);
}

void
smtp_guard_start(struct smtp_session *s)
{
	s->guard = evtimer_new(s->srv->base, on_guard, s);
	if (s->guard == NULL)
		pr_panic("evtimer_new failed");
	s->started_ms = guard_now_ms();
	guard_arm(s, s->started_ms);
}

void
smtp_guard_restart(struct smtp_session *s)
{
	int64_t now = guard_now_ms();
	s->window_start_ms = now;
	s->window_bytes = 0;
	guard_arm(s, now);
}

void
smtp_guard_stop(struct smtp_session *s)
{
	if (s->guard != NULL) {
		event_free(s->guard);
		s->guard = NULL;
	}
}
