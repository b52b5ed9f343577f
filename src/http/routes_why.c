/* routes_why.c - "why didn't my email come through?" over HTTP: the intake
 * log (`postroom log`) and `why` (`postroom why`); the reason table is
 * routes_core.c's.
 *
 * The documents are the CLI's --json ones.  A member's session sees only
 * the attempts that concern their projects: placed in one, or refused on
 * the way to one's address (store_log_filter.member); tokens and
 * administrators see every attempt.
 */
#include <string.h>
#include <time.h>

#include "api/postroom.h"
#include "http/http_private.h"
#include "http/http_route.h"
#include "store/store.h"

/* A time parameter ("2024-05-01", an ISO time, a Unix time or an age
 * like "2h"); 0 when absent, -1 with why. */
static int
time_param(struct http_req *r, const char *name, time_t *out, struct pr_why *why)
{
	const char *s = http_query(r, name);
	*out = 0;
	if (s == NULL)
		return 0;
	struct pr_why bad;
	if (api_parse_time(s, time(NULL), out, &bad) < 0) {
		pr_why_set(why, PR_E_INVALID, "%s: %s", name, pr_why_text(&bad));
		return -1;
	}
	return 0;
}

/* The filters of `postroom log`, checked; -1 with why. */
static int
log_filter(struct http_req *r, struct store_log_filter *f, struct pr_why *why)
{
	int64_t limit, before;
	memset(f, 0, sizeof(*f));
	f->sender = http_query(r, "sender");
	f->recipient = http_query(r, "recipient");
	f->verdict = http_query(r, "verdict");
	f->project = http_query(r, "project");
	f->member = http_member(r);
	if (f->verdict && strcmp(f->verdict, "accepted") && strcmp(f->verdict, "rejected") &&
	    strcmp(f->verdict, "deferred")) {
		pr_why_set(why, PR_E_INVALID, "verdict '%s' is not accepted, rejected or deferred", f->verdict);
		return -1;
	}
	if (time_param(r, "since", &f->since, why) < 0 || time_param(r, "until", &f->until, why) < 0 ||
	    http_query_int(r, "limit", 0, 1, API_PAGE_MAX, &limit, why) < 0 ||
	    http_query_int(r, "before", 0, 1, INT64_MAX, &before, why) < 0)
		return -1;
	f->limit = (size_t)limit;
	f->before = before;
	return 0;
}

static void
log_list(struct http_req *r)
{
	struct pr_why why;
	struct store_log_filter f;
	if (log_filter(r, &f, &why) < 0) {
		http_reply_why(r, &why);
		return;
	}
	if (f.project != NULL && f.member != NULL && !http_may_see_project(r, f.project)) {
		http_reply_error(r, 403, PR_E_FORBIDDEN, "you are not a member of project %s", f.project);
		return;
	}
	json_t *doc = api_log_list(http_api(r), &f, &why);
	if (doc == NULL)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, doc);
}

static void
why_query(struct http_req *r)
{
	struct pr_why why;
	const char *q = http_query(r, "q");
	int64_t limit, before;
	if (q == NULL || *q == '\0' || strlen(q) > 998) {
		http_reply_error(r, 400, PR_E_INVALID, "q is needed: an address, a Message-ID (<...>) or an "
		                 "intake log id, at most 998 characters");
		return;
	}
	if (http_query_int(r, "limit", 0, 1, API_PAGE_MAX, &limit, &why) < 0 ||
	    http_query_int(r, "before", 0, 1, INT64_MAX, &before, &why) < 0) {
		http_reply_why(r, &why);
		return;
	}
	json_t *doc = api_why(http_api(r), q, (size_t)limit, before, http_member(r), &why);
	if (doc == NULL)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, doc);
}

const struct http_route http_routes_why[] = {
	{"GET", "/api/v1/log", HTTP_READ, log_list, "intake attempts, newest first, with verdict and reason"},
	{"GET", "/api/v1/why", HTTP_READ, why_query,
	 "why a message did or did not arrive: attempts by address, Message-ID or log id"},
	{NULL, NULL, 0, NULL, NULL},
};
