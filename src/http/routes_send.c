/* routes_send.c - sending from a project and the outbound queue over HTTP:
 * `postroom send` and `postroom outbox` as routes.
 *
 * The request document is checked by api_send_doc (shared rules: unknown
 * fields refused, attachments base64 within max_message_size); this file
 * decides only who sends.  With a token the document names the member
 * ("user"); with a session it is the signed-in user, always -- a session
 * cannot send as someone else.  outbound_send refuses a user who is not
 * a member of the project, so a member sends only from their projects.
 * A member's session sees and changes only the outbox rows of their
 * projects; a row of another project is "not found", as if absent.
 */
#include <stdlib.h>
#include <string.h>

#include "api/postroom.h"
#include "http/http_private.h"
#include "http/http_route.h"
#include "http/routes_util.h"

static void
send_mail(struct http_req *r)
{
	struct pr_why why;
	pr_why_clear(&why);
	json_t *doc = http_body_json(r, &why);
	if (doc == NULL) {
		http_reply_why(r, &why);
		return;
	}
	const struct http_principal *who = http_who(r);
	json_t *user = json_object_get(doc, "user");
	if (who->session && user != NULL && !json_is_null(user) &&
	    !(json_is_string(user) && strcmp(json_string_value(user), who->name) == 0)) {
		http_reply_error(r, 403, PR_E_FORBIDDEN, "signed in as %s: a session sends as its own "
		                 "user (leave \"user\" out)", who->name);
		json_decref(doc);
		return;
	}
	if (who->session)
		json_object_set_new(doc, "user", json_string(who->name));
	json_t *res = api_send_doc(http_api(r), doc, &why);
	json_decref(doc);
	if (res == NULL)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 201, res);
}

static void
outbox_list(struct http_req *r)
{
	struct pr_why why;
	int64_t failed, limit, before;
	if (http_query_int(r, "failed", 0, 0, 1, &failed, &why) < 0 ||
	    http_query_int(r, "limit", 0, 1, API_PAGE_MAX, &limit, &why) < 0 ||
	    http_query_int(r, "before", 0, 1, INT64_MAX, &before, &why) < 0) {
		http_reply_why(r, &why);
		return;
	}
	json_t *doc = api_outbox_list(http_api(r), failed == 1, (size_t)limit, before, http_member(r), &why);
	if (doc == NULL)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, doc);
}

/* The row {id} names, if the caller may see it; NULL after replying. */
static json_t *
visible_row(struct http_req *r, int64_t *id_r)
{
	int64_t id;
	if (!routes_path_id(r, "id", INT64_MAX, &id))
		return NULL;
	struct pr_why why;
	json_t *row = api_outbox_get(http_api(r), id, &why);
	if (row == NULL) {
		http_reply_why(r, &why);
		return NULL;
	}
	const char *project = json_string_value(json_object_get(row, "project"));
	if (http_member(r) != NULL && (project == NULL || !http_may_see_project(r, project))) {
		json_decref(row);
		http_reply_error(r, 404, PR_E_NOT_FOUND, "no outbound message %lld in your projects", (long long)id);
		return NULL;
	}
	*id_r = id;
	return row;
}

static void
outbox_get(struct http_req *r)
{
	int64_t id;
	json_t *row = visible_row(r, &id);
	if (row != NULL)
		http_reply_json(r, 200, row);
}

/* Retry or cancel, then answer with the row as it is now. */
static void
outbox_change(struct http_req *r, int (*change)(struct pr_api *, int64_t, struct pr_why *))
{
	int64_t id;
	json_t *row = visible_row(r, &id);
	if (row == NULL)
		return;
	json_decref(row);
	struct pr_why why;
	if (change(http_api(r), id, &why) < 0 || (row = api_outbox_get(http_api(r), id, &why)) == NULL)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, row);
}

static void
outbox_retry(struct http_req *r)
{
	outbox_change(r, api_outbox_retry);
}

static void
outbox_cancel(struct http_req *r)
{
	outbox_change(r, api_outbox_cancel);
}

const struct http_route http_routes_send[] = {
	{"POST", "/api/v1/send", HTTP_WRITE, send_mail,
	 "send from a project as a member: stored in its thread, then delivered"},
	{"GET", "/api/v1/outbox", HTTP_READ, outbox_list, "the outbound queue, newest first (?failed=1)"},
	{"GET", "/api/v1/outbox/{id}", HTTP_READ, outbox_get, "one outbound message with each recipient's state"},
	{"POST", "/api/v1/outbox/{id}/retry", HTTP_WRITE, outbox_retry,
	 "try a failed, cancelled or waiting message again now"},
	{"POST", "/api/v1/outbox/{id}/cancel", HTTP_WRITE, outbox_cancel, "stop trying to deliver a message"},
	{NULL, NULL, 0, NULL, NULL},
};
