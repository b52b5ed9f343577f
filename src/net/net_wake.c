/* net_wake.c - hand work back to the event loop thread.
 *
 * Intake finishes messages on its own threads, but bufferevents belong to
 * the loop thread.  Workers append to a mutex-protected list and make one
 * persistent event active; the loop then runs the whole list at once, so
 * a group commit of 50 messages costs one wake-up, not 50.
 */
#include "net/net.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/arena.h"

struct wake_item {
	struct wake_item *next;
	net_wake_fn fn;
	void *arg;
};

struct net_wake {
	pthread_mutex_t lock;
	struct wake_item *head, *tail;
	struct event *ev;
};

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	net_wake_run(arg);
}

struct net_wake *
net_wake_new(struct event_base *base)
{
	struct net_wake *w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->ev = event_new(base, -1, EV_PERSIST, on_wake, w);
	if (w->ev == NULL)
		pr_panic("net_wake: event_new failed");
	return w;
}

void
net_wake_post(struct net_wake *w, net_wake_fn fn, void *arg)
{
	struct wake_item *it = xmalloc(sizeof(*it));
	it->next = NULL;
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	pthread_mutex_unlock(&w->lock);
	event_active(w->ev, EV_READ, 0);
}

void
net_wake_run(struct net_wake *w)
{
	pthread_mutex_lock(&w->lock);
	struct wake_item *it = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->lock);
	while (it != NULL) {
		struct wake_item *next = it->next;
		it->fn(it->arg);
		free(it);
		it = next;
	}
}

void
net_wake_free(struct net_wake **wp)
{
	struct net_wake *w = *wp;
	if (w == NULL)
		return;
	net_wake_run(w);
	event_free(w->ev);
	pthread_mutex_destroy(&w->lock);
	free(w);
	*wp = NULL;
}
