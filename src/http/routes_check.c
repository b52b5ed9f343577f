/* routes_check.c - the three checks over HTTP: POP3 mailbox, SMTP relay,
 * a domain's SPF/DKIM/DMARC records.
 *
 * Each runs the api/ call its CLI command runs, so both say the same
 * things.  A check that ran answers 200 whatever it found: {"ok": true,
 * ...details} or {"ok": false, "error": {"code", "message", "fix"}, ...}
 * (the server could not be reached, the login was refused: that is the
 * check's answer, not a fault of the request).  400 is for bad input only.
 *
 * The body may carry {"settings": {...}}: values laid over the stored
 * settings for this check only, validated as PATCH validates them (a
 * secret as "********" keeps the stored one), so the console tests a form
 * before saving it.  A check waits on the network (bounded by the
 * settings' own timeouts) on its HTTP worker thread, never on SMTP intake.
 */
#include "api/postroom.h"
#include "core/arena.h"
#include "core/settings.h"
#include "http/http_route.h"
#include "http/routes_util.h"

/* The request's body (none: {}) and the settings the check runs with:
 * the stored ones, or a trial with body.settings over them.  NULL after
 * replying 400. */
static struct settings *
check_settings(struct http_req *r, json_t **body_r)
{
	struct pr_why why;
	size_t len = 0;
	http_body(r, &len);
	*body_r = len ? http_body_json(r, &why) : json_object();
	if (*body_r == NULL) {
		http_reply_why(r, &why);
		return NULL;
	}
	struct arena *a = arena_new();
	struct api_setting *kv;
	size_t n;
	struct settings *set = NULL;
	if (api_settings_from_json(json_object_get(*body_r, "settings"), a, &kv, &n, &why) == 0)
		set = api_settings_trial(http_api(r), kv, n, &why);
	arena_free(&a);
	if (set == NULL) {
		http_reply_why(r, &why);
		json_decref(*body_r);
		*body_r = NULL;
	}
	return set;
}

/* {"ok": false, "error": {...}} with the fields the check names (server,
 * user) beside it. */
static json_t *
failed(const struct pr_why *why, json_t *beside)
{
	json_t *doc = json_pack("{s:b, s:{s:s, s:s, s:s}}", "ok", 0, "error", "code",
	                        pr_err_name(why->code), "message", pr_why_text(why), "fix",
	                        pr_err_info(why->code)->fix);
	json_object_update(doc, beside);
	json_decref(beside);
	return doc;
}

/* One check: what it found, or NULL with why only for bad input. */
typedef json_t *check_fn(const struct settings *set, json_t *body, struct pr_why *why);

static void
run_check(struct http_req *r, check_fn *fn)
{
	json_t *body;
	struct settings *set = check_settings(r, &body);
	if (set == NULL)
		return;
	struct pr_why why;
	routes_reply_doc(r, 200, fn(set, body, &why), &why);
	settings_unref(&set);
	json_decref(body);
}

static json_t *
check_pop(const struct settings *set, json_t *body, struct pr_why *why)
{
	json_t *doc = api_check_pop(set, why);
	return doc ? doc : failed(why, json_pack("{s:s, s:s}", "server", settings_str(set, SET_POP_SERVER),
	                                         "user", settings_str(set, SET_POP_USERNAME)));
}

static json_t *
check_smtp(const struct settings *set, json_t *body, struct pr_why *why)
{
	json_t *doc = api_check_smtp(set, why);
	return doc ? doc : failed(why, json_pack("{s:s}", "server", settings_str(set, SET_SMTP_SERVER)));
}

/* {"domain", "selector"?, "ip"?, "sender"?}: as `check domain`'s options. */
static json_t *
check_domain(const struct settings *set, json_t *body, struct pr_why *why)
{
	struct api_domain_check q = {0};
	if (routes_str(body, "domain", true, &q.domain, why) < 0 ||
	    routes_str(body, "selector", false, &q.selector, why) < 0 ||
	    routes_str(body, "ip", false, &q.ip, why) < 0 ||
	    routes_str(body, "sender", false, &q.sender, why) < 0)
		return NULL;
	json_t *doc = api_check_domain(set, &q, why);
	return doc || why->code == PR_E_INVALID ? doc : failed(why, json_pack("{s:s}", "domain", q.domain));
}

static void post_check_pop(struct http_req *r) { run_check(r, check_pop); }
static void post_check_smtp(struct http_req *r) { run_check(r, check_smtp); }
static void post_check_domain(struct http_req *r) { run_check(r, check_domain); }

const struct http_route http_routes_check[] = {
	{"POST", "/api/v1/check/pop", HTTP_ADMIN, post_check_pop,
	 "log in to pop_server and count the mailbox {settings?}"},
	{"POST", "/api/v1/check/smtp", HTTP_ADMIN, post_check_smtp,
	 "connect to smtp_server: TLS, login, size limit {settings?}"},
	{"POST", "/api/v1/check/domain", HTTP_ADMIN, post_check_domain,
	 "a domain's SPF, DMARC and DKIM records explained {domain, selector?, ip?, sender?, settings?}"},
	{0},
};
