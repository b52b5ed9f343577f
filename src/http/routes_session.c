/* routes_session.c - signing in to the console, and the two directory
 * changes that go with it: a user's password and their active/admin
 * flags.  The work is in api/ (api_session.c, api_password.c); here the
 * body is read, the caller's right checked, the cookie set.
 *
 * The cookie: postroom_session=<43 base64url>; Path=/; HttpOnly (no script
 * reads it); SameSite=Strict (no other site's page sends it); Secure when
 * the server speaks TLS.  No Max-Age: it ends with the browser, and the
 * server ends it sooner (http_session_hours, http_session_idle_minutes).
 */
#include <string.h>

#include "api/postroom.h"
#include "http/http_private.h"

#define COOKIE "postroom_session"

/* A JSON string member as C text, or NULL when absent, not a string, or
 * holding a NUL (which would cut a password short). */
static const char *
text_member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

static void
set_cookie(struct http_req *r, const char *value, bool clear)
{
	char c[256];
	snprintf(c, sizeof(c), COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s%s", value,
	         clear ? "; Max-Age=0" : "", http_is_tls(r) ? "; Secure" : "");
	http_set_header(r, "Set-Cookie", c);
}

/* Sign-in refusals: 401 for wrong credentials (the same for a wrong user
 * and a wrong password), 429 with Retry-After when rate-limited. */
static void
reply_refused(struct http_req *r, const struct pr_why *why, int retry_after)
{
	if (why->code == PR_E_RATE_LIMITED) {
		char secs[32];
		snprintf(secs, sizeof(secs), "%d", retry_after);
		http_set_header(r, "Retry-After", secs);
	}
	http_reply_why(r, why);
}

static void
post_session(struct http_req *r)
{
	struct pr_why why;
	const char *ctype = http_header(r, "Content-Type");
	/* A form on another site can post text/plain, never JSON without the
	 * CORS preflight we do not answer: no login CSRF. */
	if (ctype == NULL || strncmp(ctype, "application/json", 16) != 0) {
		http_reply_error(r, 415, PR_E_INVALID, "send the sign-in as Content-Type: application/json");
		return;
	}
	json_t *body = http_body_json(r, &why);
	if (body == NULL) {
		http_reply_why(r, &why);
		return;
	}
	const char *user = text_member(body, "user"), *password = text_member(body, "password");
	char cookie[API_SESSION_ID_LEN + 1];
	int retry = 0;
	json_t *doc = NULL;
	if (user == NULL || password == NULL)
		pr_why_set(&why, PR_E_INVALID, "give {\"user\": NAME, \"password\": PASSWORD} as strings");
	else
		doc = api_session_create(http_api(r), user, password, http_peer(r), cookie, &retry, &why);
	json_decref(body);
	if (doc == NULL) {
		reply_refused(r, &why, retry);
		return;
	}
	set_cookie(r, cookie, false);
	http_reply_json(r, 200, doc);
}

/* The session cookie of this request, or NULL. */
static const char *
session_cookie(struct http_req *r, char *out, size_t cap)
{
	const char *h = http_header(r, "Cookie");
	return h && http_cookie_value(h, COOKIE, out, cap) ? out : NULL;
}

static void
get_session(struct http_req *r)
{
	const struct http_principal *who = http_who(r);
	char cookie[128];
	struct api_session s;
	struct pr_why why;
	if (!who->session) {
		http_reply_json(r, 200, json_pack("{s:s, s:b, s:n, s:s}", "user", who->name, "admin",
		                                  who->scope == HTTP_SCOPE_ADMIN, "csrf", "token", who->name));
		return;
	}
	int rc = session_cookie(r, cookie, sizeof(cookie)) ? api_session_find(http_api(r), cookie, &s, &why) : 1;
	if (rc < 0)
		http_reply_why(r, &why);
	else if (rc == 1)   /* ended between the check and now */
		http_reply_error(r, 401, PR_E_UNAUTHORIZED, "the session has ended: sign in again");
	else
		http_reply_json(r, 200, json_pack("{s:s, s:b, s:s}", "user", s.user, "admin", s.admin, "csrf", s.csrf));
}

static void
delete_session(struct http_req *r)
{
	char cookie[128];
	struct pr_why why;
	if (!http_who(r)->session) {
		http_reply_error(r, 400, PR_E_INVALID, "an API token has no session to end: revoke the token "
		                 "with DELETE /api/v1/tokens/{id}");
		return;
	}
	if (session_cookie(r, cookie, sizeof(cookie)) && api_session_end(http_api(r), cookie, &why) < 0) {
		http_reply_why(r, &why);
		return;
	}
	set_cookie(r, "", true);
	http_reply_json(r, 200, json_pack("{s:b}", "signed_out", 1));
}

/* PATCH /api/v1/users/{name} {"active": bool, "admin": bool}: both
 * checked before either is applied. */
static void
patch_user(struct http_req *r)
{
	struct pr_why why;
	const char *name = http_param(r, "name");
	json_t *body = http_body_json(r, &why);
	if (body == NULL) {
		http_reply_why(r, &why);
		return;
	}
	json_t *active = json_object_get(body, "active"), *admin = json_object_get(body, "admin");
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(body, key, v)
		if (strcmp(key, "active") != 0 && strcmp(key, "admin") != 0)
			rc = -1;
	if (rc < 0 || (!active && !admin) || (active && !json_is_boolean(active)) ||
	    (admin && !json_is_boolean(admin))) {
		json_decref(body);
		http_reply_error(r, 400, PR_E_INVALID, "give {\"active\": true|false, \"admin\": true|false}"
		                 " (either or both, nothing else)");
		return;
	}
	struct pr_api *api = http_api(r);
	if ((active && api_user_set_active(api, name, json_is_true(active), &why) < 0) ||
	    (admin && api_user_set_admin(api, name, json_is_true(admin), &why) < 0))
		rc = -1;
	json_decref(body);
	json_t *doc = rc < 0 ? NULL : api_user_get(api, name, &why);
	if (doc)
		http_reply_json(r, 200, doc);
	else
		http_reply_why(r, &why);
}

/* PUT /api/v1/users/{name}/password {"password", "current_password"}: an
 * administrator (or an admin token) for anyone, a signed-in user for
 * themself -- and then with their current password, administrators too:
 * a session left open or a stolen cookie must not be enough to take the
 * account.  Every session of the user ends, the caller's own included. */
static void
put_password(struct http_req *r)
{
	struct pr_why why;
	const char *name = http_param(r, "name");
	const struct http_principal *who = http_who(r);
	if (who->scope != HTTP_SCOPE_ADMIN && !(who->session && strcmp(who->name, name) == 0)) {
		http_reply_error(r, 403, PR_E_FORBIDDEN, "you may change only your own password; an "
		                 "administrator may change anyone's");
		return;
	}
	json_t *body = http_body_json(r, &why);
	if (body == NULL) {
		http_reply_why(r, &why);
		return;
	}
	bool own = who->session && strcmp(who->name, name) == 0;
	const char *password = text_member(body, "password"), *current = text_member(body, "current_password");
	int rc = -1, retry = 0;
	if (password == NULL)
		pr_why_set(&why, PR_E_INVALID, "give {\"password\": NEW-PASSWORD} as a string");
	else if (own && current == NULL)
		pr_why_set(&why, PR_E_INVALID, "to change your own password, give your current one too: "
		           "{\"password\": NEW, \"current_password\": CURRENT}");
	else if (!own || api_password_confirm(http_api(r), name, current, http_peer(r), &retry, &why) == 0)
		rc = api_user_set_password(http_api(r), name, password, &why);
	json_decref(body);
	if (rc < 0) {
		reply_refused(r, &why, retry);
		return;
	}
	if (own)
		set_cookie(r, "", true);
	http_reply_json(r, 200, json_pack("{s:s, s:b, s:b}", "user", name, "password_set", 1,
	                                  "sessions_ended", 1));
}

const struct http_route http_routes_session[] = {
	{"POST", "/api/v1/session", HTTP_PUBLIC, post_session,
	 "sign in with {\"user\", \"password\"}: the session cookie, and the CSRF token to send back"},
	{"GET", "/api/v1/session", HTTP_READ, get_session, "who is signed in (with the CSRF token)"},
	{"DELETE", "/api/v1/session", HTTP_READ, delete_session, "sign out: the session ends everywhere"},
	{"PATCH", "/api/v1/users/{name}", HTTP_ADMIN, patch_user,
	 "enable or disable a user, make them an administrator or not"},
	{"PUT", "/api/v1/users/{name}/password", HTTP_WRITE, put_password,
	 "set a user's console password (administrators: anyone's; users: their own); ends their sessions"},
	{0},
};
