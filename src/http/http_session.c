/* http_session.c - the console's half of http_auth.c: a request that
 * carries the session cookie (and no API token) is signed in as the
 * session's user, and a change it asks for must carry the session's CSRF
 * token in X-CSRF-Token.
 *
 * Why a header and not only SameSite=Strict: SameSite is the browser's
 * promise, and older browsers or a sibling site on the same registrable
 * domain (SameSite's "site") would still send the cookie; a page elsewhere
 * cannot read the token, so it cannot send it.  GET and HEAD change
 * nothing (the routes keep to that), so they need no token.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "api/postroom.h"
#include "core/log.h"
#include "http/http_private.h"

static bool
changes_state(struct http_req *r)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(r->ev);
	return m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD;
}

static bool
csrf_ok(struct http_req *r, const char *want)
{
	const char *got = http_header(r, "X-CSRF-Token");
	size_t n = strlen(want);
	return got != NULL && strlen(got) == n && CRYPTO_memcmp(got, want, n) == 0;
}

int
http_session_principal(struct http_req *r, const char *cookie, struct pr_why *why)
{
	struct api_session s;
	int rc = api_session_find(r->w->api, cookie, &s, why);
	if (rc != 0)
		return rc;
	if (changes_state(r) && !csrf_ok(r, s.csrf))
		/* A public route (signing in again) does not use the session:
		 * it goes on as nobody's; any other is refused. */
		return r->route->need == HTTP_PUBLIC ? 1 : 2;
	r->who.scope = s.admin ? HTTP_SCOPE_ADMIN : HTTP_SCOPE_MEMBER;
	r->who.session = true;
	snprintf(r->who.name, sizeof(r->who.name), "%s", s.user);
	return 0;
}

const char *
http_member(struct http_req *r)
{
	return r->who.scope == HTTP_SCOPE_MEMBER ? r->who.name : NULL;
}

bool
http_may_see_project(struct http_req *r, const char *project)
{
	if (r->who.scope == HTTP_SCOPE_ADMIN || r->who.scope == HTTP_SCOPE_READ)
		return true;
	if (r->who.scope != HTTP_SCOPE_MEMBER)
		return false;
	struct pr_why why;
	int rc = api_user_in_project(r->w->api, project, r->who.name, &why);
	if (rc < 0)
		log_warn("http: cannot tell whether %s belongs to project %s: %s", r->who.name, project,
		         pr_why_text(&why));
	return rc == 1;
}
