/* test-password.c - console passwords and sessions below HTTP: Argon2id
 * hashes (api_password.c), the password rules, and sign-in over a real
 * SQLite store (api_session.c): same answer for a wrong user and a wrong
 * password, the current password confirmed (and counted), the rate limit,
 * sessions ended by a password change, by
 * disabling the user and by sign-out.  Prints the time one hash takes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "store/store.h"
#include "test.h"

static double
now_s(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(hash_verify)
{
	char h1[API_PASSWORD_HASH_MAX], h2[API_PASSWORD_HASH_MAX];
	struct pr_why why;
	CHECK_INT(api_password_hash("correct horse battery", h1, sizeof(h1), &why), 0);
	/* The second hash, once the 64 MiB have been mapped once: what a
	 * running serve pays.  CPU time too: the wall time depends on the load. */
	double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	CHECK_INT(api_password_hash("correct horse battery", h2, sizeof(h2), &why), 0);
	printf("argon2id t=3 m=64MiB p=1: %.0f ms per hash (%.0f ms CPU)\n",
	       (now_s(CLOCK_MONOTONIC) - w0) * 1000, (now_s(CLOCK_THREAD_CPUTIME_ID) - c0) * 1000);
	CHECK(strncmp(h1, "$argon2id$v=19$m=65536,t=3,p=1$", 31) == 0);
	CHECK(strcmp(h1, h2) != 0);     /* salted */
	CHECK_INT(api_password_verify(h1, "correct horse battery"), 1);
	CHECK_INT(api_password_verify(h2, "correct horse battery"), 1);
	CHECK_INT(api_password_verify(h1, "correct horse batterY"), 0);
	CHECK_INT(api_password_verify(h1, ""), 0);
	/* Only Argon2id is accepted: not another variant, not a plain text. */
	char other[API_PASSWORD_HASH_MAX];
	snprintf(other, sizeof(other), "$argon2i$%s", h1 + 10);
	CHECK_INT(api_password_verify(other, "correct horse battery"), 0);
	CHECK_INT(api_password_verify("correct horse battery", "correct horse battery"), 0);
}

TEST(rules)
{
	struct pr_why why;
	char big[API_PASSWORD_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(api_password_rules("", &why), -1);
	CHECK(strstr(why.detail, "empty") != NULL);
	CHECK_INT(api_password_rules("123456789", &why), -1);
	CHECK(strstr(why.detail, "at least 10") != NULL);
	CHECK_INT(api_password_rules("1234567890", &why), 0);
	/* Characters, not bytes: nine two-byte characters are too short. */
	CHECK_INT(api_password_rules("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	                             &why), -1);
	CHECK_INT(api_password_rules(big, &why), -1);
	big[API_PASSWORD_MAX] = '\0';
	CHECK_INT(api_password_rules(big, &why), 0);
}

static struct pr_api *
open_api(char *dir)
{
	char uri[256];
	struct pr_why why;
	if (mkdtemp(dir) == NULL)
		return NULL;
	snprintf(uri, sizeof(uri), "sqlite:%s/db", dir);
	struct pr_api *api = api_open(uri, NULL, &why);
	const char *em[] = {"alice@firm.example"}, *eb[] = {"bob@firm.example"};
	if (api == NULL || api_user_add(api, "alice", NULL, em, 1, &why) < 0 ||
	    api_user_add(api, "bob", NULL, eb, 1, &why) < 0 ||
	    api_user_set_password(api, "alice", "alice's long password", &why) < 0)
		return NULL;
	return api;
}

TEST(sign_in)
{
	char dir[] = "/tmp/password-test-XXXXXX";
	struct pr_api *api = open_api(dir);
	CHECK(api != NULL);
	if (api == NULL)
		return;
	struct pr_why why, why2;
	char cookie[API_SESSION_ID_LEN + 1];
	int retry;
	struct api_session s;
	json_t *doc = api_session_create(api, "alice", "alice's long password", "192.0.2.1", cookie, &retry, &why);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "user")), "alice");
	CHECK_INT(strlen(json_string_value(json_object_get(doc, "csrf"))), API_SESSION_ID_LEN);
	CHECK_INT(strlen(cookie), API_SESSION_ID_LEN);
	CHECK_INT(api_session_find(api, cookie, &s, &why), 0);
	CHECK_STR(s.user, "alice");
	CHECK_STR(s.csrf, json_string_value(json_object_get(doc, "csrf")));
	CHECK(!s.admin);
	json_decref(doc);
	/* Wrong password and unknown user: the same answer. */
	CHECK(api_session_create(api, "alice", "not her password", "192.0.2.1", cookie, &retry, &why) == NULL);
	CHECK(api_session_create(api, "mallory", "not her password", "192.0.2.1", cookie, &retry, &why2) == NULL);
	CHECK_INT(why.code, PR_E_UNAUTHORIZED);
	CHECK_INT(why2.code, PR_E_UNAUTHORIZED);
	CHECK_STR(why.detail, why2.detail);
	/* A user without a password cannot sign in with an empty one. */
	CHECK(api_session_create(api, "bob", "", "192.0.2.1", cookie, &retry, &why) == NULL);
	CHECK_INT(why.code, PR_E_UNAUTHORIZED);
	/* One's current password (to change it), checked as a sign-in; wrong
	 * is forbidden, not unauthorized: the caller is signed in. */
	CHECK_INT(api_password_confirm(api, "alice", "alice's long password", "192.0.2.1", &retry, &why), 0);
	CHECK_INT(api_password_confirm(api, "alice", "not her password", "192.0.2.1", &retry, &why), -1);
	CHECK_INT(why.code, PR_E_FORBIDDEN);
	CHECK_STR(why.detail, "the current password is wrong");
	CHECK_INT(api_session_find(api, "not-a-cookie", &s, &why), 1);
	api_close(&api);
	test_rmtree(dir);
}

TEST(sessions_end)
{
	char dir[] = "/tmp/password-test-XXXXXX";
	struct pr_api *api = open_api(dir);
	CHECK(api != NULL);
	if (api == NULL)
		return;
	struct pr_why why;
	char c1[API_SESSION_ID_LEN + 1], c2[API_SESSION_ID_LEN + 1];
	int retry;
	struct api_session s;
	json_decref(api_session_create(api, "alice", "alice's long password", "192.0.2.1", c1, &retry, &why));
	json_decref(api_session_create(api, "alice", "alice's long password", "192.0.2.1", c2, &retry, &why));
	CHECK_INT(api_session_end(api, c1, &why), 0);
	CHECK_INT(api_session_find(api, c1, &s, &why), 1);
	CHECK_INT(api_session_find(api, c2, &s, &why), 0);
	CHECK_INT(api_user_set_password(api, "alice", "another long password", &why), 0);
	CHECK_INT(api_session_find(api, c2, &s, &why), 1);
	json_decref(api_session_create(api, "alice", "another long password", "192.0.2.1", c1, &retry, &why));
	CHECK_INT(api_session_find(api, c1, &s, &why), 0);
	CHECK_INT(api_user_set_active(api, "alice", false, &why), 0);
	CHECK_INT(api_session_find(api, c1, &s, &why), 1);
	CHECK(api_session_create(api, "alice", "another long password", "192.0.2.1", c1, &retry, &why) == NULL);
	CHECK_INT(why.code, PR_E_FORBIDDEN);
	CHECK_INT(api_user_set_active(api, "alice", true, &why), 0);
	CHECK_INT(api_user_set_admin(api, "alice", true, &why), 0);
	json_decref(api_session_create(api, "alice", "another long password", "192.0.2.1", c1, &retry, &why));
	CHECK_INT(api_session_find(api, c1, &s, &why), 0);
	CHECK(s.admin);
	CHECK_INT(api_user_remove(api, "alice", &why), 0);
	CHECK_INT(api_session_find(api, c1, &s, &why), 1);
	api_close(&api);
	test_rmtree(dir);
}

TEST(rate_limit)
{
	char dir[] = "/tmp/password-test-XXXXXX";
	struct pr_api *api = open_api(dir);
	CHECK(api != NULL);
	if (api == NULL)
		return;
	struct pr_why why;
	char cookie[API_SESSION_ID_LEN + 1];
	int retry = -1;
	for (int i = 0; i < 4; i++) {
		CHECK(api_session_create(api, "alice", "wrong guess!", "192.0.2.7", cookie, &retry, &why) == NULL);
		CHECK_INT(why.code, PR_E_UNAUTHORIZED);
	}
	/* A wrong current password counts as the fifth failure. */
	CHECK_INT(api_password_confirm(api, "alice", "wrong guess!", "192.0.2.7", &retry, &why), -1);
	CHECK_INT(why.code, PR_E_FORBIDDEN);
	/* The sixth: refused before the password is looked at, even the right one. */
	CHECK(api_session_create(api, "alice", "alice's long password", "192.0.2.8", cookie, &retry, &why) == NULL);
	CHECK_INT(why.code, PR_E_RATE_LIMITED);
	CHECK(retry > 800 && retry <= 900);
	CHECK_INT(api_password_confirm(api, "alice", "alice's long password", "192.0.2.8", &retry, &why), -1);
	CHECK_INT(why.code, PR_E_RATE_LIMITED);
	CHECK(api_session_create(api, "bob", "wrong guess!", "192.0.2.7", cookie, &retry, &why) == NULL);
	CHECK_INT(why.code, PR_E_RATE_LIMITED);
	/* Another address, another user: not limited. */
	CHECK(api_session_create(api, "bob", "wrong guess!", "192.0.2.9", cookie, &retry, &why) == NULL);
	CHECK_INT(why.code, PR_E_UNAUTHORIZED);
	api_close(&api);
	test_rmtree(dir);
}

int
main(void)
{
	RUN(hash_verify);
	RUN(rules);
	RUN(sign_in);
	RUN(sessions_end);
	RUN(rate_limit);
	return test_summary("password");
}
