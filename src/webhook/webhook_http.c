/* webhook_http.c - the POSTs of one worker round, all at once (libcurl's
 * multi interface), so a receiver that hangs delays only its own
 * deliveries, not the others of the round.
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dns.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "store/store.h"
#include "webhook/webhook.h"

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
		size_t n = dns_host_addresses(settings_str(set, SET_DNS_SERVER),
		                              (int)settings_int(set, SET_DNS_TIMEOUT_MS), host, addrs,
		                              WEBHOOK_MAX_ADDRS, &why);
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
		if (ok && len >= cap) {        /* cannot happen with these bounds; never the system resolver */
			ok = false;
			snprintf(ans->error, sizeof(ans->error), "the addresses of '%s' do not fit", host);
		}
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* One POST of the round. */
struct transfer {
	const struct store_webhook_delivery *d;
	struct webhook_answer *ans;
	CURL *h;                    /* NULL: not started (ans says why) */
	char *body;
	struct curl_slist *hdrs, *resolve;
	struct answer_buf b;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc;
	bool done;                  /* finished and handed to done() */
	char resolve_entry[WEBHOOK_URL_MAX + WEBHOOK_MAX_ADDRS * 66 + 16];
};

static void
start(struct transfer *t, CURLM *m, time_t now)
{
	memset(t->ans, 0, sizeof(*t->ans));
	t->rc = CURLE_FAILED_INIT;          /* until libcurl says how it ended */
	if ((t->body = webhook_body(t->d)) == NULL) {
		snprintf(t->ans->error, sizeof(t->ans->error), "the stored event is not a JSON object");
		return;
	}
	if (!receiver_addresses(t->d->url, t->resolve_entry, sizeof(t->resolve_entry), t->ans))
		return;
	if ((t->h = curl_easy_init()) == NULL) {
		snprintf(t->ans->error, sizeof(t->ans->error), "libcurl could not start a transfer");
		return;
	}
	CURL *h = t->h;
	t->resolve = t->resolve_entry[0] ? curl_slist_append(NULL, t->resolve_entry) : NULL;
	t->hdrs = headers_for(t->d, t->body, now);
	curl_easy_setopt(h, CURLOPT_PRIVATE, t);
	curl_easy_setopt(h, CURLOPT_RESOLVE, t->resolve);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, t->d->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)WEBHOOK_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "postroom-webhook/1");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(t->body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &t->b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_multi_add_handle(m, h);
}

/* A transfer that ended (or never started): its answer, its memory. */
static void
finish(struct transfer *t, CURLM *m)
{
	if (t->h != NULL) {
		long status = 0;
		curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
		t->ans->status = status > 0 && status < 1000 ? (int)status : 0;
		t->ans->ok = t->rc == CURLE_OK && t->ans->status >= 200 && t->ans->status < 300;
		if (!t->ans->ok)
			describe(t->ans, t->rc, t->errbuf, &t->b);
		curl_multi_remove_handle(m, t->h);
		curl_easy_cleanup(t->h);
		t->h = NULL;
	}
	curl_slist_free_all(t->hdrs);
	curl_slist_free_all(t->resolve);
	free(t->body);
	t->hdrs = t->resolve = NULL;
	t->body = NULL;
	t->done = true;
}

/* Each transfer that ended, finished and handed to done. */
static void
reap(CURLM *m, webhook_done_fn *done, void *arg)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		struct transfer *t = NULL;
		if (msg->msg != CURLMSG_DONE ||
		    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t) != CURLE_OK || t == NULL)
			continue;
		t->rc = msg->data.result;
		finish(t, m);
		done(t->d, t->ans, arg);
	}
}

void
webhook_post_all(const struct store_webhook_delivery *d, size_t n, time_t now, struct webhook_answer *ans,
                 webhook_done_fn *done, void *arg)
{
	struct transfer *t = xcalloc(n ? n : 1, sizeof(*t));
	CURLM *m = curl_multi_init();
	if (m == NULL)
		pr_panic("libcurl could not make a multi handle");
	for (size_t i = 0; i < n; i++) {
		t[i].d = &d[i];
		t[i].ans = &ans[i];
		start(&t[i], m, now);
		if (t[i].h == NULL) {             /* no transfer: its answer says why */
			finish(&t[i], m);
			done(t[i].d, t[i].ans, arg);
		}
	}
	/* Until every transfer ended: each is bounded by WEBHOOK_TIMEOUT_S. */
	int running = 1;
	while (running > 0) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		reap(m, done, arg);
		if (running > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	for (size_t i = 0; i < n; i++)           /* only after a libcurl failure */
		if (!t[i].done) {
			finish(&t[i], m);
			done(t[i].d, t[i].ans, arg);
		}
	curl_multi_cleanup(m);
	free(t);
}
