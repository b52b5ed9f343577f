/* webhook_post.c - what a delivery is: the URL rules, the body, its
 * signature, the backoff.  The POSTs themselves: webhook_http.c.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
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
