/* routes_metrics.c - GET /metrics (Prometheus) and GET /healthz.
 *
 * /metrics needs a token or a session (HTTP_READ): the counts tell how
 * much mail arrives and why it is refused, which is not for anyone.
 * /healthz is public, for load balancers and orchestrators that carry no
 * credentials: 200 after one cheap store read, 503 when the store cannot
 * be read, with the reason's code only.
 */
#include "api/postroom.h"
#include "core/buf.h"
#include "core/limits.h"
#include "http/http_private.h"
#include "http/http_route.h"

/* The exposition format's media type (text format version 0.0.4). */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static void
get_metrics(struct http_req *r)
{
	struct buf b;
	struct pr_why why;
	buf_init(&b, PR_METRICS_TEXT_MAX);
	if (api_metrics_text(http_api(r), &b, &why) < 0)
		http_reply_why(r, &why);
	else
		http_reply_bytes(r, 200, METRICS_CONTENT_TYPE, b.data, b.len);
	buf_free(&b);
}

static void
get_healthz(struct http_req *r)
{
	json_t *doc = NULL;
	int rc = api_health(http_api(r), &doc);
	http_reply_json(r, rc == 0 ? 200 : 503, doc);
}

const struct http_route http_routes_metrics[] = {
	{"GET", "/metrics", HTTP_READ, get_metrics,
	 "this process's metrics in the Prometheus text format (each node is scraped on its own)"},
	{"GET", HTTP_HEALTHZ_PATH, HTTP_PUBLIC, get_healthz,
	 "200 {\"status\":\"ok\"} after a store read; 503 with the reason when the store cannot be read "
	 "or does not answer in 2 s"},
	{0},
};
