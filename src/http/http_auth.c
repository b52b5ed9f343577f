/* http_auth.c - who is asking, and may they.
 *
 * Two ways in: an API token (`Authorization: Bearer prt_...`, made with
 * `postroom token create`; the host application's) or a console session
 * (cookie postroom_session, made by signing in with a password; see
 * routes_session.c).  A token wins when both are present.  Public routes
 * need neither.  What each access level allows is in http_route.h.
 */
#include <string.h>
#include <strings.h>

#include "api/postroom.h"
#include "core/log.h"
#include "http/http_private.h"

#define SESSION_COOKIE "postroom_session"

/* The value of cookie name in a Cookie header, copied into out; false if
 * absent or too long. */
bool
http_cookie_value(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	for (const char *p = header; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			if (len - nlen - 1 >= cap)
				return false;
			memcpy(out, p + nlen + 1, len - nlen - 1);
			out[len - nlen - 1] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}

/* 0 the token is good (r->who set), 1 unknown, -1 store failure (why). */
static int
token_principal(struct http_req *r, const char *authz, struct pr_why *why)
{
	if (strncasecmp(authz, "Bearer ", 7) != 0)
		return 1;
	const char *text = authz + 7;
	while (*text == ' ')
		text++;
	bool admin = false;
	int rc = api_token_verify(r->w->api, text, r->who.name, sizeof(r->who.name), &admin, why);
	if (rc == 0)
		r->who.scope = admin ? HTTP_SCOPE_ADMIN : HTTP_SCOPE_READ;
	return rc;
}

static bool
deny(struct http_req *r, int status, const char *msg)
{
	if (status == 401)
		http_set_header(r, "WWW-Authenticate", "Bearer realm=\"postroom\"");
	http_reply_error(r, status, status == 401 ? PR_E_UNAUTHORIZED : PR_E_FORBIDDEN, "%s", msg);
	return false;
}

/* Does the caller's scope reach the route's need? */
static bool
allowed(const struct http_principal *p, enum http_need need)
{
	switch (need) {
	case HTTP_PUBLIC: return true;
	case HTTP_READ: return p->scope != HTTP_SCOPE_NONE;
	case HTTP_WRITE: return p->scope == HTTP_SCOPE_ADMIN || p->scope == HTTP_SCOPE_MEMBER;
	case HTTP_ADMIN: return p->scope == HTTP_SCOPE_ADMIN;
	}
	return false;
}

bool
http_authorize(struct http_req *r)
{
	struct pr_why why;
	int rc = 1;
	const char *authz = http_header(r, "Authorization");
	char cookie[128];
	if (authz) {
		rc = token_principal(r, authz, &why);
		if (rc == 1)
			return deny(r, 401, "the API token is not valid (revoked, mistyped, or not a "
			            "postroom token): make one with `postroom token create`");
	} else {
		const char *h = http_header(r, "Cookie");
		if (h && http_cookie_value(h, SESSION_COOKIE, cookie, sizeof(cookie)))
			rc = http_session_principal(r, cookie, &why);
		if (rc == 2)
			return deny(r, 403, "a change made with the session cookie must carry the header "
			            "X-CSRF-Token with the csrf value the sign-in answered (GET /api/v1/session "
			            "gives it again)");
	}
	if (rc < 0) {
		http_reply_why(r, &why);
		return false;
	}
	if (r->route->need == HTTP_PUBLIC || allowed(&r->who, r->route->need))
		return true;
	if (r->who.scope == HTTP_SCOPE_NONE)
		return deny(r, 401, "sign in, or send an API token as \"Authorization: Bearer TOKEN\"");
	if (r->who.scope == HTTP_SCOPE_READ)
		return deny(r, 403, "this API token is read-only: changes need a token made with --scope admin");
	return deny(r, 403, "only an administrator may do this");
}
