/* routes_webhook.c - /api/v1/webhooks: the host application registers the
 * URLs told of every placement, and reads the deliveries log.  The same
 * documents as `postroom webhook ... --json` (api_webhook_*); the secret
 * is in the POST answer only. */
#include <stdlib.h>

#include "api/postroom.h"
#include "http/http_private.h"
#include "http/routes_util.h"

static void
get_webhooks(struct http_req *r)
{
	struct pr_why why;
	routes_reply_doc(r, 200, api_webhook_list(http_api(r), &why), &why);
}

/* {"url", "project"?, "secret"?} */
static void
post_webhook(struct http_req *r)
{
	struct pr_why why;
	const char *url, *project, *secret;
	json_t *body = http_body_json(r, &why), *doc = NULL;
	if (body != NULL && routes_str(body, "url", true, &url, &why) == 0 &&
	    routes_str(body, "project", false, &project, &why) == 0 &&
	    routes_str(body, "secret", false, &secret, &why) == 0)
		doc = api_webhook_add(http_api(r), url, project, secret, &why);
	routes_reply_doc(r, 201, doc, &why);
	json_decref(body);
}

static void
delete_webhook(struct http_req *r)
{
	routes_act_on_id(r, api_webhook_remove, "removed");
}

/* ?failed=1&limit=&before= */
static void
get_deliveries(struct http_req *r)
{
	struct pr_why why;
	int64_t failed, limit, before;
	if (http_query_int(r, "failed", 0, 0, 1, &failed, &why) < 0 ||
	    http_query_int(r, "limit", 0, 1, API_PAGE_MAX, &limit, &why) < 0 ||
	    http_query_int(r, "before", 0, 0, INT64_MAX, &before, &why) < 0) {
		http_reply_why(r, &why);
		return;
	}
	routes_reply_doc(r, 200, api_webhook_deliveries(http_api(r), failed == 1, (size_t)limit, before, &why), &why);
}

/* Queue a failed delivery again now (it goes before the rest of its
 * queue: `webhook deliveries` shows it queued, or waiting behind a
 * delivery in progress). */
static void
retry_delivery(struct http_req *r)
{
	routes_act_on_id(r, api_webhook_retry, "retried");
}

const struct http_route http_routes_webhook[] = {
	{"GET", "/api/v1/webhooks", HTTP_READ, get_webhooks, "registered webhooks (never their secrets)"},
	{"POST", "/api/v1/webhooks", HTTP_ADMIN, post_webhook,
	 "register a URL told of every placement (of one project); its secret is in this answer only"},
	{"GET", "/api/v1/webhooks/deliveries", HTTP_READ, get_deliveries,
	 "webhook deliveries, newest first: state, attempts, the receiver's last answer"},
	{"POST", "/api/v1/webhooks/deliveries/{id}/retry", HTTP_ADMIN, retry_delivery,
	 "queue a failed delivery again now (webhook retry)"},
	{"DELETE", "/api/v1/webhooks/{id}", HTTP_ADMIN, delete_webhook, "remove a webhook and its deliveries"},
	{0},
};
