/* api_session.c - console sign-in: passwords checked, sessions made,
 * found and ended, failed sign-ins rate-limited.  See postroom.h.
 *
 * A session id is 32 random bytes in base64url, sent as the cookie; the
 * store keeps only its SHA-256 (like API tokens: 256 random bits need no
 * slow hash), so every node sharing the store knows every session and a
 * copy of the store opens none.  Beside it a CSRF token, returned to the
 * console in the sign-in answer (and by GET /api/v1/session), which it
 * sends back in X-CSRF-Token: a page on another site can make the browser
 * send the cookie, but cannot read the token.
 *
 * A wrong user name and a wrong password get the same answer after the
 * same work: one Argon2id verify (against a dummy hash when the user does
 * not exist or has no password), the same store reads and writes.  A user
 * who is disabled is told so only after giving the right password.
 *
 * Rate limit: LOGIN_MAX_FAILURES failures in LOGIN_WINDOW seconds from one
 * client address, or for one user name, and sign-in is refused
 * (rate_limited, with the seconds until the oldest of them ages out)
 * without looking at the password.  The failures are rows in the store,
 * so every node counts the same ones.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/sha256.h"
#include "store/store.h"

#define LOGIN_MAX_FAILURES 5
#define LOGIN_WINDOW (15 * 60)
/* A session's last_seen is written at most this often (a write per
 * request would be an fsync per request); idle expiry is in minutes, so
 * a minute's slack is nothing. */
#define SESSION_TOUCH_EVERY 60

static char dummy_hash[API_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* A hash of a random password nobody knows, verified in place of a user's
 * when there is none, so that case costs the same Argon2id work. */
static void
dummy_make(void)
{
	char pw[API_RANDOM_TEXT_LEN + 1];
	struct pr_why why;
	if (api_random_text(pw, sizeof(pw), &why) < 0 ||
	    api_password_hash(pw, dummy_hash, sizeof(dummy_hash), &why) < 0)
		log_error("sign-in: making the dummy password hash failed: %s", pr_why_text(&why));
}

static void
session_hash(const char *cookie, unsigned char out[STORE_SESSION_HASH_LEN])
{
	sha256_digest(cookie, strlen(cookie), out);
}

/* The cookie's shape: exactly what api_random_text makes (43 base64url). */
static bool
cookie_ok(const char *c)
{
	size_t n = strlen(c);
	if (n != API_SESSION_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= 'a' && c[i] <= 'z') ||
		      (c[i] >= '0' && c[i] <= '9') || c[i] == '-' || c[i] == '_'))
			return false;
	return true;
}

/* Is sign-in refused for kind/key?  0 no; 1 yes with *retry_r seconds;
 * -1 with why. */
static int
limited(struct pr_api *api, const char *kind, const char *key, time_t now, int *retry_r,
        struct pr_why *why)
{
	time_t at;
	int rc = store_login_nth(api->store, kind, key, now - LOGIN_WINDOW, LOGIN_MAX_FAILURES, &at, why);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	int retry = (int)(at + LOGIN_WINDOW - now);
	*retry_r = retry > *retry_r ? retry : *retry_r;
	return 1;
}

static int
check_limits(struct pr_api *api, const char *peer, const char *user, time_t now, int *retry_r,
             struct pr_why *why)
{
	*retry_r = 0;
	int a = limited(api, "addr", peer, now, retry_r, why);
	int u = a < 0 ? -1 : limited(api, "user", user, now, retry_r, why);
	if (a < 0 || u < 0)
		return -1;
	if (a == 0 && u == 0)
		return 0;
	*retry_r = *retry_r < 1 ? 1 : *retry_r;
	pr_why_set(why, PR_E_RATE_LIMITED, "too many failed sign-ins %s: try again in %d seconds",
	           a ? "from this address" : "for this user", *retry_r);
	return 1;
}

/* Check the password against the user's hash, or the dummy's: the same
 * work either way.  1 matches, 0 not (*what says why, for the log). */
static int
password_matches(const struct store_login *l, bool found, const char *password, const char **what)
{
	pthread_once(&dummy_once, dummy_make);
	bool real = found && l->hash != NULL;
	int ok = api_password_verify(real ? l->hash : dummy_hash, password);
	*what = !found ? "no such user" : !real ? "no password set" : "wrong password";
	return real && ok;
}

/* A failed sign-in: counted, logged (never the password), answered. */
static void
sign_in_failed(struct pr_api *api, const char *peer, const char *user, time_t now, const char *what,
               struct pr_why *why)
{
	char safe[API_NAME_TYPED_MAX * 4 + 1];
	struct pr_why w;
	if (store_login_failed(api->store, peer, user, now, now - LOGIN_WINDOW, &w) < 0)
		log_warn("sign-in: could not count a failed sign-in: %s", pr_why_text(&w));
	log_warn("sign-in failed for user '%s' from %s: %s", log_sanitize(safe, sizeof(safe), user,
	         strlen(user)), peer, what);
	pr_why_set(why, PR_E_UNAUTHORIZED, "the user name or password is wrong");
}

static json_t *
session_start(struct pr_api *api, const struct store_login *l, time_t now,
              char cookie[API_SESSION_ID_LEN + 1], struct pr_why *why)
{
	const struct settings *set = api->settings;
	time_t idle = (time_t)settings_int(set, SET_HTTP_SESSION_IDLE_MINUTES) * 60;
	time_t life = (time_t)settings_int(set, SET_HTTP_SESSION_HOURS) * 3600;
	char csrf[API_SESSION_ID_LEN + 1];
	unsigned char hash[STORE_SESSION_HASH_LEN];
	struct pr_why w;
	if (store_login_clear(api->store, l->name, &w) < 0 ||
	    store_session_prune(api->store, now, now - idle, &w) < 0)
		log_warn("sign-in: store housekeeping failed: %s", pr_why_text(&w));
	_Static_assert(API_SESSION_ID_LEN == API_RANDOM_TEXT_LEN, "a session id is one random text");
	if (api_random_text(cookie, API_SESSION_ID_LEN + 1, why) < 0 ||
	    api_random_text(csrf, sizeof(csrf), why) < 0)
		return NULL;
	session_hash(cookie, hash);
	if (store_session_add(api->store, hash, l->user_id, csrf, now, now + life, why) < 0)
		return NULL;
	return json_pack("{s:s, s:b, s:s}", "user", l->name, "admin", l->admin, "csrf", csrf);
}

/* user's password checked as sign-in checks it: the rate limits first,
 * then the same work for a wrong name or password, and a failure counted.
 * 1 it matches (*l is the user, in a); 0 refused, or -1 (why either way). */
static int
check_password(struct pr_api *api, struct arena *a, const char *user, const char *password,
               const char *peer, time_t now, struct store_login *l, int *retry_after_r, struct pr_why *why)
{
	char key[API_NAME_TYPED_MAX + 1];
	pr_why_clear(why);
	*retry_after_r = 0;
	if (strlen(password) > API_PASSWORD_MAX) {
		pr_why_set(why, PR_E_INVALID, "the password is longer than %d bytes", API_PASSWORD_MAX);
		return 0;
	}
	/* The name as typed, bounded: the rate limit's key. */
	snprintf(key, sizeof(key), "%s", user);
	int rc = check_limits(api, peer, key, now, retry_after_r, why);
	if (rc != 0) {
		if (why->code == PR_E_RATE_LIMITED)
			log_warn("sign-in refused from %s: %s", peer, why->detail);
		return rc < 0 ? -1 : 0;
	}
	const char *what;
	int found = api_check_name("user name", user, why) == 0 ? store_user_login(api->store, a, user, l, why) : 1;
	if (found < 0)
		return -1;
	if (password_matches(l, found == 0, password, &what))
		return 1;
	sign_in_failed(api, peer, key, now, what, why);
	return 0;
}

int
api_password_confirm(struct pr_api *api, const char *user, const char *password, const char *peer,
                     int *retry_after_r, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_login l;
	int rc = check_password(api, a, user, password, peer, time(NULL), &l, retry_after_r, why);
	arena_free(&a);
	/* Forbidden, not unauthorized: the caller is signed in (a 401 would
	 * tell the console the session ended). */
	if (rc == 0 && why->code == PR_E_UNAUTHORIZED)
		pr_why_set(why, PR_E_FORBIDDEN, "the current password is wrong");
	return rc == 1 ? 0 : -1;
}

json_t *
api_session_create(struct pr_api *api, const char *user, const char *password, const char *peer,
                   char cookie[API_SESSION_ID_LEN + 1], int *retry_after_r, struct pr_why *why)
{
	time_t now = time(NULL);
	struct arena *a = arena_new();
	struct store_login l;
	json_t *doc = NULL;
	/* Refused or failed: why says which. */
	bool right = check_password(api, a, user, password, peer, now, &l, retry_after_r, why) == 1;
	if (right && !l.active) {
		log_warn("sign-in refused for user '%s' from %s: the account is disabled", l.name, peer);
		pr_why_set(why, PR_E_FORBIDDEN, "the account %s is disabled: ask an administrator to "
		           "enable it", l.name);
	} else if (right && (doc = session_start(api, &l, now, cookie, why)) != NULL) {
		log_info("%s signed in to the console from %s", l.name, peer);
	}
	arena_free(&a);
	return doc;
}

int
api_session_find(struct pr_api *api, const char *cookie, struct api_session *out, struct pr_why *why)
{
	if (!cookie_ok(cookie))
		return 1;
	time_t now = time(NULL);
	time_t idle = (time_t)settings_int(api->settings, SET_HTTP_SESSION_IDLE_MINUTES) * 60;
	unsigned char hash[STORE_SESSION_HASH_LEN];
	struct store_session s;
	struct arena *a = arena_new();
	session_hash(cookie, hash);
	int rc = store_session_get(api->store, a, hash, now, now - idle, &s, why);
	if (rc == 0) {
		snprintf(out->user, sizeof(out->user), "%s", s.user);
		snprintf(out->csrf, sizeof(out->csrf), "%s", s.csrf);
		out->admin = s.admin;
		struct pr_why w;
		/* A busy store must not refuse the request: the touch waits. */
		if (now - s.last_seen >= SESSION_TOUCH_EVERY && store_session_touch(api->store, hash, now, &w) < 0)
			log_debug("session: last_seen not refreshed: %s", pr_why_text(&w));
	}
	arena_free(&a);
	return rc;
}

int
api_session_end(struct pr_api *api, const char *cookie, struct pr_why *why)
{
	unsigned char hash[STORE_SESSION_HASH_LEN];
	if (!cookie_ok(cookie))
		return 0;
	session_hash(cookie, hash);
	return store_session_remove(api->store, hash, why);
}

int
api_user_in_project(struct pr_api *api, const char *project, const char *user, struct pr_why *why)
{
	return store_project_is_member(api->store, project, user, why);
}
