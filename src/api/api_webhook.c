/* api_webhook.c - webhooks for the CLI (`postroom webhook ...`) and the
 * HTTP API (/api/v1/webhooks): register, list, remove, the deliveries
 * log, retry.  The secret is shown once, in what api_webhook_add returns;
 * no other document carries it.
 */
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/text.h"
#include "store/store.h"
#include "webhook/webhook.h"

#define SECRET_MIN 16
#define SECRET_MAX 256

json_t *
api_time(time_t t)
{
	char buf[32];
	return t ? json_string(api_format_time(t, buf, sizeof(buf))) : json_null();
}

static int
check_secret(const char *secret, struct pr_why *why)
{
	size_t n = strlen(secret);
	if (n < SECRET_MIN || n > SECRET_MAX) {
		pr_why_set(why, PR_E_INVALID, "a webhook secret must be %d to %d characters long, not %zu "
		           "(leave it out and one is made)", SECRET_MIN, SECRET_MAX, n);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
		if (*p <= ' ' || *p >= 0x7f) {
			pr_why_set(why, PR_E_INVALID, "a webhook secret must be printable ASCII without blanks");
			return -1;
		}
	return 0;
}

/* 32 random bytes as 64 hex digits. */
static int
make_secret(char out[65], struct pr_why *why)
{
	unsigned char r[32];
	if (RAND_bytes(r, sizeof(r)) != 1) {
		pr_why_set(why, PR_E_INTERNAL, "the random number generator failed; try again");
		return -1;
	}
	text_hex(r, sizeof(r), out);
	return 0;
}

json_t *
api_webhook_add(struct pr_api *api, const char *url, const char *project, const char *secret,
                struct pr_why *why)
{
	char made[65];
	if (webhook_check_url(url, why) < 0 || (project && api_check_name("project", project, why) < 0) ||
	    (secret ? check_secret(secret, why) : make_secret(made, why)) < 0)
		return NULL;
	if (secret == NULL)
		secret = made;
	int64_t id;
	time_t now = time(NULL);
	if (store_webhook_add(api->store, url, project, secret, now, &id, why) < 0)
		return NULL;
	return json_pack("{s:I, s:s, s:o, s:s, s:o, s:b}", "id", (json_int_t)id, "url", url,
	                 "project", project ? json_string(project) : json_null(), "secret", secret,
	                 "created_at", api_time(now), "active", 1);
}

/* row: a struct store_webhook (an api_row_fn). */
static json_t *
webhook_json(const void *row)
{
	const struct store_webhook *w = row;
	return json_pack("{s:I, s:o, s:o, s:o, s:b}", "id", (json_int_t)w->id, "url", api_text(w->url),
	                 "project", api_text(w->project), "created_at", api_time(w->created_at),
	                 "active", w->active);
}

json_t *
api_webhook_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_webhook *w;
	size_t n;
	json_t *doc = NULL;
	if (store_webhook_list(api->store, a, &w, &n, why) == 0)
		doc = api_rows("webhooks", w, n, sizeof(*w), webhook_json);
	arena_free(&a);
	return doc;
}

int
api_webhook_remove(struct pr_api *api, int64_t id, struct pr_why *why)
{
	return store_webhook_remove(api->store, id, why);
}

/* row: a struct store_webhook_delivery (an api_row_fn). */
static json_t *
delivery_json(const void *row)
{
	const struct store_webhook_delivery *d = row;
	bool pending = d->state == WEBHOOK_QUEUED || d->state == WEBHOOK_WAITING;
	return json_pack("{s:I, s:I, s:o, s:o, s:I, s:I, s:s, s:i, s:o, s:o, s:o, s:o, s:o}",
		"id", (json_int_t)d->id, "webhook", (json_int_t)d->webhook_id, "url", api_text(d->url),
		"project", *d->project ? api_text(d->project) : json_null(), "seq", (json_int_t)d->seq,
		"message", (json_int_t)d->message_id, "state", store_webhook_state_name(d->state),
		"attempts", d->attempts, "created_at", api_time(d->created_at),
		"next_attempt_at", api_time(pending ? d->next_attempt_at : 0),
		"delivered_at", api_time(d->delivered_at),
		"last_status", d->last_status ? json_integer(d->last_status) : json_null(),
		"last_error", api_text(d->last_error));
}

json_t *
api_webhook_deliveries(struct pr_api *api, bool failed_only, size_t limit, int64_t before,
                       struct pr_why *why)
{
	struct store_webhook_filter f = {.failed_only = failed_only, .before = before};
	if (api_page_ask(limit, 100, &f.limit, why) < 0)
		return NULL;
	struct arena *a = arena_new();
	struct store_webhook_delivery *d;
	size_t n;
	json_t *doc = NULL;
	if (store_webhook_deliveries(api->store, a, &f, &d, &n, why) == 0) {
		size_t shown = api_page_shown(n, f.limit);
		doc = api_rows("deliveries", d, shown, sizeof(*d), delivery_json);
		api_page_set_next(doc, shown < n ? d[shown - 1].id : 0);
	}
	arena_free(&a);
	return doc;
}

int
api_webhook_retry(struct pr_api *api, int64_t id, struct pr_why *why)
{
	int rc = store_webhook_retry(api->store, id, time(NULL), why);
	if (rc == 0)
		webhook_queue_poke();
	return rc;
}
