/* routes_settings.c - the settings over HTTP.
 *
 * GET answers the `settings show --json` document (secrets as ********,
 * never their value).  PATCH takes {"name": "value", ...}: every value is
 * validated, then the cross-field checks on the whole, then all are stored
 * in one transaction, or none (api_settings_set_many); a secret sent back
 * as "********" keeps its value, so a form can send what it showed.  The
 * answer names the keys a running serve applies now, to new connections,
 * or only after a restart; serve's settings watch picks the change up
 * within a second, as it does for `settings set`.
 *
 * Settings hold the organisation's configuration (servers, user names):
 * a member signed in without admin rights may not read them.
 */
#include "api/postroom.h"
#include "core/arena.h"
#include "http/http_route.h"
#include "http/routes_util.h"

static void
get_settings(struct http_req *r)
{
	if (http_who(r)->scope == HTTP_SCOPE_MEMBER) {
		http_reply_error(r, 403, PR_E_FORBIDDEN, "the settings are for administrators");
		return;
	}
	http_reply_json(r, 200, api_settings_json(api_settings(http_api(r))));
}

static void
patch_settings(struct http_req *r)
{
	struct pr_why why;
	struct arena *a = arena_new();
	struct api_setting *kv = NULL;
	size_t n = 0;
	json_t *doc = NULL, *body = http_body_json(r, &why);
	if (body != NULL && api_settings_from_json(body, a, &kv, &n, &why) == 0)
		doc = api_settings_set_many(http_api(r), kv, n, &why);
	routes_reply_doc(r, 200, doc, &why);
	json_decref(body);
	arena_free(&a);
}

const struct http_route http_routes_settings[] = {
	{"GET", "/api/v1/settings", HTTP_READ, get_settings,
	 "every setting with its value, source and when a change applies (secrets hidden)"},
	{"PATCH", "/api/v1/settings", HTTP_ADMIN, patch_settings,
	 "change settings {name: value, ...}: validated together, stored all or nothing"},
	{0},
};
