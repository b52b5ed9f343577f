/* api_health.c - what GET /healthz answers, within a deadline.
 *
 * Why a thread: the probe is one cheap store read, but a stalled store
 * makes a read wait -- SQLite retries a blocked WAL read for about ten
 * seconds before it fails, PostgreSQL waits out lock_timeout (5 s).  A
 * load balancer's probe gives up sooner (1-5 s is usual) and would see a
 * timeout instead of an answer, while the HTTP worker sat blocked.  So the
 * read runs on a thread of its own, with its own connection (opened on
 * the first probe), and a request waits for it at most HEALTH_WAIT_MS:
 * past that the answer is 503 with "store": "timeout".  A probe still
 * running is never doubled: later requests wait for its answer, each up
 * to its own deadline, so a stalled store costs one stuck read, not one
 * per request.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/poll_thread.h"
#include "store/store.h"

#define HEALTH_WAIT_MS 2000

/* Between probes the thread naps; a request wakes it (poll_thread.h). */
#define HEALTH_NAP_MS (3600 * 1000)

struct api_health {
	pthread_mutex_t lock;
	pthread_cond_t cv;           /* an answer came */
	struct poll_thread *prober;
	char *store_uri;
	struct store *st;            /* the prober's own; opened by it */
	unsigned long long asked, answered;    /* probes, by number */
	enum pr_err code;            /* the last answer: PR_OK or why it failed */
};

/* One probe: 0, or -1 with why (logged here, whole; the reply names
 * only the code, the route being public). */
static int
probe_once(struct api_health *h, struct pr_why *why)
{
	if (h->st == NULL && (h->st = store_open(h->store_uri, why)) == NULL)
		return -1;
	int64_t version;
	return store_settings_version(h->st, &version, why);
}

/* The prober's round: the probe asked for, if any. */
static int
prober_round(void *arg)
{
	struct api_health *h = arg;
	pthread_mutex_lock(&h->lock);
	unsigned long long n = h->asked;
	bool idle = n == h->answered;
	pthread_mutex_unlock(&h->lock);
	if (idle)
		return 0;
	struct pr_why why;
	pr_why_clear(&why);
	if (probe_once(h, &why) < 0)
		log_warn("healthz: the store cannot be read: %s", pr_why_text(&why));
	pthread_mutex_lock(&h->lock);
	h->code = why.code;
	h->answered = n;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static struct api_health *
health_new(const char *store_uri)
{
	struct api_health *h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->store_uri = xstrdup(store_uri);
	h->prober = poll_thread_start("healthz", prober_round, h, HEALTH_NAP_MS);
	return h;
}

void
api_health_free(struct api_health **hp)
{
	struct api_health *h = *hp;
	*hp = NULL;
	if (h == NULL)
		return;
	poll_thread_stop(&h->prober);     /* a stuck probe ends with its read's own wait */
	store_close(&h->st);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->lock);
	free(h->store_uri);
	free(h);
}

/* PR_OK, the probe's failure, or PR_E_TIMEOUT when no answer came in
 * HEALTH_WAIT_MS. */
static enum pr_err
ask(struct api_health *h)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);      /* the condition variable's clock */
	until.tv_sec += HEALTH_WAIT_MS / 1000;
	until.tv_nsec += (HEALTH_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	if (h->answered == h->asked) {      /* none running: start one */
		h->asked++;
		poll_thread_wake(h->prober);
	}
	unsigned long long want = h->asked;
	int rc = 0;
	while (h->answered < want && rc == 0)
		rc = pthread_cond_timedwait(&h->cv, &h->lock, &until);
	enum pr_err code = h->answered >= want ? h->code : PR_E_TIMEOUT;
	pthread_mutex_unlock(&h->lock);
	return code;
}

int
api_health(struct pr_api *api, json_t **doc_r)
{
	if (api->health == NULL)
		api->health = health_new(api->store_uri);
	enum pr_err code = ask(api->health);
	if (code == PR_OK) {
		*doc_r = json_pack("{s:s, s:s}", "status", "ok", "store", "ok");
		return 0;
	}
	if (code == PR_E_TIMEOUT)
		log_warn("healthz: the store did not answer within %d ms", HEALTH_WAIT_MS);
	*doc_r = json_pack("{s:s, s:s}", "status", "unavailable", "store", pr_err_name(code));
	return -1;
}
