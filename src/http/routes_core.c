/* routes_core.c - the reason table and API tokens (health: routes_metrics.c). */
#include <stdlib.h>

#include "api/postroom.h"
#include "http/http_private.h"
#include "http/routes_util.h"

static void
get_reasons(struct http_req *r)
{
	http_reply_json(r, 200, api_reasons());
}

static void
get_tokens(struct http_req *r)
{
	struct pr_why why;
	routes_reply_doc(r, 200, api_token_list(http_api(r), &why), &why);
}

static void
post_token(struct http_req *r)
{
	struct pr_why why;
	json_t *body = http_body_json(r, &why);
	if (body == NULL) {
		http_reply_why(r, &why);
		return;
	}
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *scope = json_string_value(json_object_get(body, "scope"));
	if (name == NULL) {
		json_decref(body);
		http_reply_error(r, 400, PR_E_INVALID, "give the token a \"name\"");
		return;
	}
	json_t *doc = api_token_create(http_api(r), name, scope ? scope : "read", &why);
	json_decref(body);
	routes_reply_doc(r, 201, doc, &why);
}

static void
delete_token(struct http_req *r)
{
	routes_act_on_id(r, api_token_remove, "revoked");
}

const struct http_route http_routes_core[] = {
	{"GET", "/api/v1/reasons", HTTP_READ, get_reasons, "every reason code with its explanation and fix"},
	{"GET", "/api/v1/tokens", HTTP_ADMIN, get_tokens, "API tokens (never their text)"},
	{"POST", "/api/v1/tokens", HTTP_ADMIN, post_token, "make an API token; its text is in this answer only"},
	{"DELETE", "/api/v1/tokens/{id}", HTTP_ADMIN, delete_token, "revoke an API token"},
	{0},
};
