/* api_check_signing.c - the outgoing half of `check domain`: for each DKIM
 * key in dkim_keys that signs for the domain, the TXT record to publish and
 * whether DNS already has it; and the SPF terms that let postroom's own
 * delivery (smtp_server = direct) pass.
 *
 * A record is "published" only when the p= in DNS is our public key: a
 * different key at the selector (an old one, a typo) makes every signature
 * we send fail, which is worse than none.  "zone" is the record split into
 * quoted strings of at most 255 bytes, as a zone file needs it.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dkim_private.h"
#include "auth/dkim_sign.h"
#include "auth/dns.h"
#include "api/api_private.h"
#include "core/arena.h"
#include "core/settings.h"
#include "core/text.h"

/* p= of a key record, FWS removed, into out ("" when absent). */
static void
key_of(const char *rec, size_t len, struct buf *out)
{
	struct dkim_tags *t = xcalloc(1, sizeof(*t));
	const char *err;
	if (dkim_tags_parse(rec, len, t, &err) == 0) {
		const struct dkim_tag *p = dkim_tags_get(t, "p");
		for (size_t i = 0; p && i < p->len; i++)
			if (!strchr(" \t\r\n", p->val[i]))
				buf_addch(out, p->val[i]);
	}
	buf_addch(out, '\0');
	free(t);
}

/* "published", "missing", "different" or "dns_error" for one key. */
static const char *
dns_state(struct dns *d, struct arena *a, const char *name, const char *ours)
{
	struct dns_answer ans;
	enum dns_status st = dns_lookup(d, a, name, DNS_T_TXT, &ans);
	if (st == DNS_TEMPFAIL)
		return "dns_error";
	if (st != DNS_OK || ans.n == 0)
		return "missing";
	struct buf want, got;
	buf_init(&want, 8192);
	buf_init(&got, 8192);
	key_of(ours, strlen(ours), &want);
	key_of(ans.rr[0].text, ans.rr[0].len, &got);
	bool same = strcmp((const char *)want.data, (const char *)got.data) == 0;
	buf_free(&want);
	buf_free(&got);
	return same ? "published" : "different";
}

/* The record as zone-file strings of at most 255 bytes (RFC 1035 3.3.14). */
static const char *
zone_strings(struct arena *a, const char *rec)
{
	struct buf b;
	buf_init(&b, 16384);
	for (size_t i = 0, n = strlen(rec); i < n; i += 255)
		buf_printf(&b, "%s\"%.*s\"", i ? " " : "", (int)(n - i < 255 ? n - i : 255), rec + i);
	buf_addch(&b, '\0');
	const char *s = arena_strdup(a, (const char *)b.data);
	buf_free(&b);
	return s;
}

static json_t *
one_key(struct dns *d, struct arena *a, const struct dkim_signer *s, size_t i, int *bad)
{
	struct dkim_signkey_info in;
	struct buf rec;
	dkim_signer_info(s, i, &in);
	buf_init(&rec, 8192);
	dkim_signer_record(s, i, &rec);
	buf_addch(&rec, '\0');
	const char *name = arena_printf(a, "%s._domainkey.%s", in.selector, in.domain);
	const char *state = dns_state(d, a, name, (const char *)rec.data);
	const char *zone = zone_strings(a, (const char *)rec.data);
	*bad |= strcmp(state, "published") != 0;
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "selector", in.selector,
	                      "algorithm", in.algorithm, "bits", in.bits, "file", in.path, "name", name,
	                      "record", (const char *)rec.data, "status", state, "zone", zone);
	buf_free(&rec);
	return o;
}

json_t *
api_check_signing(const struct settings *set, struct dns *d, struct arena *a, const char *domain,
                  int *bad)
{
	struct pr_why why;
	json_t *keys = json_array();
	struct dkim_signer *s = dkim_signer_load(settings_str(set, SET_DKIM_KEYS), &why);
	if (s == NULL) {
		*bad = 1;
		return json_pack("{s:s, s:s, s:o}", "status", "broken", "detail", pr_why_text(&why), "keys", keys);
	}
	size_t n = 0;
	for (size_t i = 0; i < dkim_signer_count(s); i++) {
		struct dkim_signkey_info in;
		dkim_signer_info(s, i, &in);
		if (strcasecmp(in.domain, domain) != 0)
			continue;
		json_array_append_new(keys, one_key(d, a, s, i, bad));
		n++;
	}
	dkim_signer_free(&s);
	const char *host = settings_str(set, SET_HOSTNAME);
	return json_pack("{s:s, s:o, s:s}", "status", n ? "configured" : "none", "keys", keys,
	                 "spf_direct", arena_printf(a, "a:%s", host));
}
