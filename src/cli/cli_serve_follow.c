/* cli_serve_follow.c - see cli_serve_follow.h.
 *
 * One slot between the thread and the loop: the thread leaves the newest
 * snapshot there (a newer one replaces one the loop has not taken yet: the
 * newer holds every change of the older) and activates an event; the loop
 * takes it.  The thread logs a failing poll once, not every tick.
 */
#include "cli/cli_serve_follow.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "api/postroom.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "core/poll_thread.h"
#include "core/settings.h"

struct settings_follow {
	struct api_settings_watch *watch;
	settings_apply_fn *apply;
	void *arg;
	struct event *ready;         /* activated from the thread */
	struct poll_thread *thread;
	bool failing;                /* thread only */
	pthread_mutex_t mu;          /* guards the fields below */
	bool force;                  /* SIGHUP asked for a full reload */
	struct settings *slot;       /* a snapshot the loop has not taken */
	const char *slot_origin;
};

/* Loop thread: apply what the poll thread left. */
static void
on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct settings_follow *f = arg;
	(void)fd, (void)what;
	pthread_mutex_lock(&f->mu);
	struct settings *set = f->slot;
	const char *origin = f->slot_origin;
	f->slot = NULL;
	pthread_mutex_unlock(&f->mu);
	if (set)
		f->apply(f->arg, set, origin);
}

/* Poll thread: one read of the version; a merge when it moved. */
static int
poll_round(void *arg)
{
	struct settings_follow *f = arg;
	pthread_mutex_lock(&f->mu);
	bool force = f->force;
	f->force = false;
	pthread_mutex_unlock(&f->mu);
	const char *origin = force ? "SIGHUP" : "stored settings";
	struct settings *set = NULL;
	struct pr_why why;
	int rc = api_settings_watch_poll(f->watch, force, &set, &why);
	if (rc < 0 && (force || !f->failing))
		log_error("%s: keeping the running settings: %s", origin, pr_why_text(&why));
	f->failing = rc < 0;
	if (rc <= 0)
		return 0;
	pthread_mutex_lock(&f->mu);
	struct settings *older = f->slot;
	f->slot = set;
	f->slot_origin = origin;
	pthread_mutex_unlock(&f->mu);
	settings_unref(&older);
	event_active(f->ready, 0, 0);
	return 0;
}

struct settings_follow *
settings_follow_start(struct event_base *base, struct api_settings_watch *watch, int poll_ms,
                      settings_apply_fn *apply, void *arg)
{
	struct settings_follow *f = xcalloc(1, sizeof(*f));
	f->watch = watch;
	f->apply = apply;
	f->arg = arg;
	pthread_mutex_init(&f->mu, NULL);
	f->ready = event_new(base, -1, 0, on_ready, f);
	if (f->ready == NULL)
		pr_panic("event_new failed");
	f->thread = poll_thread_start("settings", poll_round, f, poll_ms);
	return f;
}

void
settings_follow_reload(struct settings_follow *f)
{
	pthread_mutex_lock(&f->mu);
	f->force = true;
	pthread_mutex_unlock(&f->mu);
	poll_thread_wake(f->thread);
}

void
settings_follow_stop(struct settings_follow **fp)
{
	struct settings_follow *f = *fp;
	*fp = NULL;
	if (f == NULL)
		return;
	poll_thread_stop(&f->thread);
	event_free(f->ready);
	settings_unref(&f->slot);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
