/* pop3_oauth.c - an OAuth 2.0 access token for SASL XOAUTH2.
 *
 * Microsoft 365 and Gmail no longer take plain passwords over POP3.  The
 * administrator stores a refresh token (pop_oauth_refresh_token) and the
 * provider's token endpoint; before a round we trade the refresh token for
 * an access token (RFC 6749 6: grant_type=refresh_token, HTTP POST with
 * libcurl, the JSON answer read with jansson) and hand it to libcurl as
 * CURLOPT_XOAUTH2_BEARER.
 *
 * The token is cached until 60 s before expires_in runs out, in the one
 * piece of process state this module keeps (behind a mutex): the serve
 * thread and `collect --once` ask once per round, not once per message.
 * Tokens and secrets never reach a log line or an error message.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/settings.h"
#include "pop3/pop3_private.h"

#define OAUTH_MAX_ANSWER (64 * 1024)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cache_token, *cache_key;
static time_t cache_until;

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

/* "k=v&" with v escaped. */
static void
form_add(CURL *h, struct buf *b, const char *k, const char *v)
{
	if (*v == '\0')
		return;
	char *e = curl_easy_escape(h, v, 0);
	buf_printf(b, "%s%s=%s", b->len ? "&" : "", k, e ? e : "");
	curl_free(e);
}

static int
post_refresh(const struct settings *set, struct buf *answer, long *status, struct pr_why *why)
{
	CURL *h = curl_easy_init();
	if (h == NULL) {
		pr_why_set(why, PR_E_INTERNAL, "curl_easy_init failed");
		return -1;
	}
	struct buf form;
	buf_init(&form, 4 * 3 * PR_SETTING_MAX + 128);   /* escaping triples a byte */
	form_add(h, &form, "grant_type", "refresh_token");
	form_add(h, &form, "refresh_token", settings_str(set, SET_POP_OAUTH_REFRESH_TOKEN));
	form_add(h, &form, "client_id", settings_str(set, SET_POP_OAUTH_CLIENT_ID));
	form_add(h, &form, "client_secret", settings_str(set, SET_POP_OAUTH_CLIENT_SECRET));
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, settings_str(set, SET_POP_OAUTH_TOKEN_URL));
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_cstr(&form));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	buf_free(&form);
	if (rc != CURLE_OK) {
		pr_why_set(why, PR_E_IO, "the OAuth token endpoint could not be reached: %s",
		           *errbuf ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* Parse {"access_token": "...", "expires_in": 3599}; 0 or -1 with why. */
static int
parse_answer(const struct buf *answer, long status, char **token, long *ttl, struct pr_why *why)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)answer->data, answer->len, 0, &jerr);
	const char *tok = j ? json_string_value(json_object_get(j, "access_token")) : NULL;
	if (status != 200 || tok == NULL || *tok == '\0') {
		const char *err = j ? json_string_value(json_object_get(j, "error")) : NULL;
		char safe[128] = "";
		for (size_t i = 0; err && err[i] && i + 1 < sizeof(safe); i++)
			safe[i] = (err[i] > 32 && err[i] < 127) ? err[i] : '?';
		pr_why_set(why, PR_E_CONFIG, "the OAuth token endpoint refused the refresh token "
		           "(HTTP %ld%s%s): get a new refresh token", status, *safe ? ", " : "", safe);
		json_decref(j);
		return -1;
	}
	json_t *e = json_object_get(j, "expires_in");
	*ttl = json_is_integer(e) ? (long)json_integer_value(e) : 300;
	*token = xstrdup(tok);
	json_decref(j);
	return 0;
}

/* The refresh token travels in the request: https only, except to this
 * machine (tests, or a local token helper). */
static bool
url_ok(const char *url)
{
	static const char *const local[] = {"http://127.0.0.1:", "http://127.0.0.1/",
	                                    "http://localhost:", "http://localhost/", "http://[::1]"};
	if (!strncasecmp(url, "https://", 8))
		return true;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (!strncasecmp(url, local[i], strlen(local[i])))
			return true;
	return false;
}

const char *
pop3_oauth_token(struct arena *a, const struct settings *set, struct pr_why *why)
{
	const char *url = settings_str(set, SET_POP_OAUTH_TOKEN_URL);
	if (*url == '\0') {
		pr_why_set(why, PR_E_CONFIG, "pop_oauth_refresh_token is set but pop_oauth_token_url is not");
		return NULL;
	}
	if (!url_ok(url)) {
		pr_why_set(why, PR_E_CONFIG, "pop_oauth_token_url must be an https:// URL");
		return NULL;
	}
	/* The cache is valid for one refresh token at one endpoint. */
	char *key = arena_printf(a, "%s\n%s", settings_str(set, SET_POP_OAUTH_TOKEN_URL),
	                         settings_str(set, SET_POP_OAUTH_REFRESH_TOKEN));
	const char *out = NULL;
	pthread_mutex_lock(&cache_lock);
	if (cache_token && cache_key && !strcmp(cache_key, key) && time(NULL) < cache_until) {
		out = arena_strdup(a, cache_token);
		goto done;
	}
	struct buf answer;
	buf_init(&answer, OAUTH_MAX_ANSWER);
	long status = 0, ttl = 0;
	char *tok = NULL;
	if (post_refresh(set, &answer, &status, why) == 0 &&
	    parse_answer(&answer, status, &tok, &ttl, why) == 0) {
		free(cache_token);
		free(cache_key);
		cache_token = tok;
		cache_key = xstrdup(key);
		cache_until = time(NULL) + (ttl > 120 ? ttl - 60 : ttl / 2);
		out = arena_strdup(a, tok);
	}
	buf_free(&answer);
done:
	pthread_mutex_unlock(&cache_lock);
	return out;
}
