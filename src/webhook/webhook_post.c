/* webhook_post.c - one delivery attempt: the body, its signature, and the
 * POST with libcurl.
 *
 * The receiver is someone else's server: its answer is read only as far
 * as WEBHOOK_ANSWER_MAX (then the transfer is cut), only its status and
 * first WEBHOOK_ANSWER_KEEP bytes are kept, sanitised, and nothing in it
 * is acted on beyond "2xx or not".  Redirects are not followed (a 3xx is
 * a failure: the URL is wrong), and only http and https are spoken, so a
 * URL can never make postroom open a file or another protocol.
 *
 * The receiver's name is resolved by postroom's own resolver (dns_server,
 * as every other name is) and handed to libcurl (CURLOPT_RESOLVE), which
 * still checks an https receiver's certificate against the name.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dns.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/sha256.h"
#include "core/text.h"
#include "store/store.h"
#include "webhook/webhook.h"

time_t
webhook_backoff(int attempts)
{
	time_t t = 1;
	for (int i = 1; i < attempts && t < 600; i++)
		t *= 2;
	return t < 600 ? t : 600;
}

int
webhook_check_url(const char *url, struct pr_why *why)
{
	size_t len = url ? strlen(url) : 0;
	const char *host = NULL;
	if (len > 0 && !strncmp(url, "https://", 8))
		host = url + 8;
	else if (len > 0 && !strncmp(url, "http://", 7))
		host = url + 7;
	if (host == NULL) {
		pr_why_set(why, PR_E_INVALID, "a webhook URL must start with http:// or https://");
		return -1;
	}
	if (len > WEBHOOK_URL_MAX) {
		pr_why_set(why, PR_E_INVALID, "the webhook URL is longer than %d bytes", WEBHOOK_URL_MAX);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p == 0x7f) {
			pr_why_set(why, PR_E_INVALID, "the webhook URL holds a blank or control character");
			return -1;
		}
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
		pr_why_set(why, PR_E_INVALID, "the webhook URL names no host");
		return -1;
	}
	return 0;
}

void
webhook_sign(const char *secret, const char *timestamp, const char *body, size_t len, char hex[65])
{
	size_t tl = strlen(timestamp);
	unsigned char *msg = xmalloc(tl + 1 + len + 1), mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	memcpy(msg, timestamp, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, len);
	if (HMAC(sha256_md(), secret, (int)strlen(secret), msg, tl + 1 + len, mac, &maclen) == NULL ||
	    maclen != 32)
		pr_panic("HMAC-SHA256 failed");
	free(msg);
	text_hex(mac, 32, hex);
}

char *
webhook_body(const struct store_webhook_delivery *d)
{
	json_t *ev = json_loads(d->event, 0, NULL);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return NULL;
	}
	/* delivery_id second, as documented; the rest in the stored order */
	json_t *doc = json_object();
	json_object_set(doc, "event", json_object_get(ev, "event"));
	json_object_set_new(doc, "delivery_id", json_integer(d->id));
	const char *key;
	json_t *v;
	json_object_foreach(ev, key, v)
		if (strcmp(key, "event") != 0 && strcmp(key, "delivery_id") != 0)
			json_object_set(doc, key, v);
	char *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	json_decref(ev);
	return body;
}

struct answer_buf {
	char keep[WEBHOOK_ANSWER_KEEP + 1];
	size_t kept, total;
};

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct answer_buf *b = arg;
	size_t len = size * n;
	if (b->kept < WEBHOOK_ANSWER_KEEP) {
		size_t take = len < WEBHOOK_ANSWER_KEEP - b->kept ? len : WEBHOOK_ANSWER_KEEP - b->kept;
		memcpy(b->keep + b->kept, p, take);
		b->kept += take;
	}
	b->total += len;
	return b->total > WEBHOOK_ANSWER_MAX ? 0 : len;     /* 0: cut the transfer */
}

static struct curl_slist *
headers_for(const struct store_webhook_delivery *d, const char *body, time_t now)
{
	char ts[32], hex[65], line[160];
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	webhook_sign(d->secret ? d->secret : "", ts, body, strlen(body), hex);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");           /* no 100-continue round trip */
	h = curl_slist_append(h, "X-Postroom-Event: message.placed");
	snprintf(line, sizeof(line), "X-Postroom-Delivery: %lld", (long long)d->id);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Postroom-Timestamp: %s", ts);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "X-Postroom-Signature: sha256=%s", hex);
	return curl_slist_append(h, line);
}

/* The answer's words for the deliveries log: status and first bytes. */
static void
describe(struct webhook_answer *ans, CURLcode rc, const char *errbuf, struct answer_buf *b)
{
	char first[WEBHOOK_ANSWER_KEEP * 4 + 1];
	b->keep[b->kept] = '\0';
	log_sanitize(first, sizeof(first), b->keep, b->kept);
	if (ans->status != 0 && rc == CURLE_OK)
		snprintf(ans->error, sizeof(ans->error), "HTTP %d%s%.*s", ans->status, b->kept ? ": " : "",
		         WEBHOOK_ANSWER_KEEP, first);
	else if (rc == CURLE_WRITE_ERROR)
		snprintf(ans->error, sizeof(ans->error), "HTTP %d: the answer was longer than %d bytes "
		         "and was cut off", ans->status, WEBHOOK_ANSWER_MAX);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(ans->error, sizeof(ans->error), "timeout: no complete answer within %d s (%s)",
		         WEBHOOK_TIMEOUT_S, *errbuf ? errbuf : curl_easy_strerror(rc));
	else
		snprintf(ans->error, sizeof(ans->error), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
}

/* Addresses of one receiver handed to libcurl: enough to try another when
 * one does not answer. */
#define WEBHOOK_MAX_ADDRS 4

/* "host:port:addr[,addr...]" for CURLOPT_RESOLVE, into out; false with
 * ans->error when the name does not resolve.  Nothing (out "") for an IP
 * address, or a URL libcurl will refuse with its own words. */
static bool
receiver_addresses(const char *url, char *out, size_t cap, struct webhook_answer *ans)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	bool ok = true;
	out[0] = '\0';
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && host[0] != '[' &&
	    !dns_is_ip_literal(host)) {
		struct settings *set = settings_current();
		char addrs[WEBHOOK_MAX_ADDRS][64];
		struct pr_why why;
		size_t n = dns_host_addresses(settings_str(set, SET_DNS_SERVER), (int)settings_int(set, SET_DNS_TIMEOUT_MS),
		                              host, addrs, WEBHOOK_MAX_ADDRS, &why);
		settings_unref(&set);
		ok = n > 0;
		if (!ok)
			snprintf(ans->error, sizeof(ans->error), "%s", pr_why_text(&why));
		size_t len = (size_t)snprintf(out, cap, "%s:%s:", host, port);
		for (size_t i = 0; i < n && len < cap; i++) {
			bool v6 = strchr(addrs[i], ':') != NULL;
			len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s", i ? "," : "", v6 ? "[" : "", addrs[i],
			                        v6 ? "]" : "");
		}
		if (len >= cap)
			out[0] = '\0';          /* cannot happen with these bounds; curl then resolves */
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

void
webhook_post(const struct store_webhook_delivery *d, const char *body, time_t now,
             struct webhook_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	char resolve_entry[WEBHOOK_URL_MAX + WEBHOOK_MAX_ADDRS * 66 + 16];
	if (!receiver_addresses(d->url, resolve_entry, sizeof(resolve_entry), ans))
		return;
	CURL *h = curl_easy_init();
	if (h == NULL) {
		snprintf(ans->error, sizeof(ans->error), "libcurl could not start a transfer");
		return;
	}
	struct curl_slist *resolve = resolve_entry[0] ? curl_slist_append(NULL, resolve_entry) : NULL;
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct answer_buf b = {.kept = 0};
	struct curl_slist *hdrs = headers_for(d, body, now);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, d->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)WEBHOOK_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "postroom-webhook/1");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	ans->status = status > 0 && status < 1000 ? (int)status : 0;
	ans->ok = rc == CURLE_OK && ans->status >= 200 && ans->status < 300;
	if (!ans->ok)
		describe(ans, rc, errbuf, &b);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	curl_slist_free_all(resolve);
}
