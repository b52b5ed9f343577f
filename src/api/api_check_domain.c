/* api_check_domain.c - `check domain`: our version of "test your domain's
 * settings", as a document the CLI prints and the HTTP API returns.
 *
 * Looks up the domain's SPF record and walks every include and redirect
 * (auth/spf_audit.h: the DNS lookups a server the record does not list
 * costs, against the RFC's 10, the path of the one past the limit, void
 * lookups, and what the record's all term says about unlisted servers),
 * its DMARC record (or the organisational domain's), and with a selector
 * the DKIM key at S._domainkey.DOMAIN (with an ip: the SPF result a given
 * server gets), says what each means and the record to add when one is
 * missing; then our own signing keys for the domain (api_check_signing.c).
 * Uses the same evaluators and DNS settings (dns_server, dns_timeout_ms)
 * as intake, so what it says is what intake will decide.  Every text that
 * came from DNS is made valid UTF-8 (text_clean) before it enters the
 * document; printing it for a terminal is the client's job (text_escape).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "auth/dkim_private.h"
#include "auth/dmarc.h"
#include "auth/dns.h"
#include "auth/spf.h"
#include "auth/spf_audit.h"
#include "core/arena.h"
#include "core/settings.h"
#include "core/text.h"
#include "route/address.h"

enum check_status { CK_OK, CK_MISSING, CK_BROKEN, CK_DNS, CK_SKIPPED };
static const char *const ck_names[] = {"ok", "missing", "broken", "dns_error", "skipped"};

struct check {
	enum check_status status;
	const char *record, *detail, *suggest;
	json_t *extra;               /* check-specific JSON fields */
};

static json_t *
spf_terms(struct arena *a, const char *record, const char *prefix)
{
	json_t *arr = json_array();
	char *copy = arena_strdup(a, record), *save = NULL;
	size_t pl = strlen(prefix);
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (strchr("+-~?", *t) && t[1])
			t++;
		if (strncasecmp(t, prefix, pl) == 0)
			json_array_append_new(arr, json_string(text_clean(a, t + pl)));
	}
	return arr;
}

/* The lookup tree, one entry per record reached: what each include or
 * redirect costs in the worst case. */
static json_t *
spf_tree(struct arena *a, const struct spf_audit *au)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < au->nnodes; i++) {
		const struct spf_audit_node *n = &au->nodes[i];
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:i, s:s?}", "via", text_clean(a, n->via),
		                                     "depth", (int)n->depth, "lookups", (int)n->cost,
		                                     "own_lookups", (int)n->own, "problem",
		                                     text_clean(a, n->problem)));
	}
	return arr;
}

static void
spf_missing(const struct spf_audit *au, struct check *c)
{
	c->status = au->status == SPF_AUDIT_DNS ? CK_DNS
	          : au->status == SPF_AUDIT_NONE ? CK_MISSING : CK_BROKEN;
	c->detail = au->status == SPF_AUDIT_DNS ? "the DNS lookup of the SPF record failed or timed out"
	          : au->status == SPF_AUDIT_NONE ? "no SPF record: receivers cannot tell which servers may "
	                                           "send for it"
	          : "more than one SPF record: receivers treat that as an error (permerror)";
}

/* Static: every include and redirect walked (auth/spf_audit.h), so the
 * count is what a server the record does not list costs, and what such a
 * server gets is read from the record's all term, not from a probe. */
static void
check_spf(struct dns *d, struct arena *a, const char *domain, struct check *c)
{
	struct spf_audit au;
	spf_audit_domain(d, a, domain, &au);
	c->record = au.record;
	if (au.record == NULL) {
		c->suggest = arena_printf(a, "%s TXT \"v=spf1 mx -all\"  (add include:<your provider's "
		                          "SPF domain> for each service that sends as %s)", domain, domain);
		spf_missing(&au, c);
		return;
	}
	c->status = au.status == SPF_AUDIT_OK ? CK_OK : au.status == SPF_AUDIT_DNS ? CK_DNS : CK_BROKEN;
	c->detail = au.problem ? au.problem
	          : arena_printf(a, "valid; %s (a server the record does not list)",
	                         spf_audit_cost_line(a, &au));
	json_t *notes = json_array();
	for (size_t i = 0; i < au.nnotes; i++)
		json_array_append_new(notes, json_string(text_clean(a, au.notes[i])));
	c->extra = json_pack("{s:i, s:b, s:s?, s:i, s:s?, s:s?, s:s, s:s?, s:b, s:o, s:o, s:o, s:o}",
	                     "dns_lookups", (int)au.lookups, "dns_lookups_at_least", au.lookups_capped,
	                     "over_limit_path", text_clean(a, au.over_path), "void_lookups",
	                     (int)au.voids, "void_limit_path", text_clean(a, au.void_path), "all",
	                     text_clean(a, au.all_term), "unlisted_servers", spf_result_name(au.unlisted),
	                     "all_meaning", text_clean(a, au.all_sentence), "depends_on_sender",
	                     au.dynamic, "warnings", notes, "tree", spf_tree(a, &au), "includes",
	                     spf_terms(a, au.record, "include:"), "redirects",
	                     spf_terms(a, au.record, "redirect="));
}

static void
check_dmarc(struct dns *d, struct arena *a, const char *domain, struct check *c)
{
	struct dmarc_result r;
	dmarc_eval(d, a, domain, NULL, 0, NULL, &r);
	c->suggest = arena_printf(a, "_dmarc.%s TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\"  "
	                          "(then p=quarantine or p=reject once reports look clean)", domain, domain);
	c->detail = r.detail;
	if (r.result == AUTH_TEMPERROR) {
		c->status = CK_DNS;
	} else if (r.policy_domain == NULL) {
		c->status = r.result == AUTH_PERMERROR ? CK_BROKEN : CK_MISSING;
	} else {
		c->status = CK_OK;
		c->suggest = NULL;
		c->extra = json_pack("{s:s, s:s?, s:i}", "policy_domain", text_clean(a, r.policy_domain),
		                     "policy", dmarc_policy_name(r.policy), "pct", r.record.pct);
		c->detail = arena_printf(a, "published at _dmarc.%s: policy %s for mail failing DMARC",
		                         r.policy_domain, dmarc_policy_name(r.policy) ? dmarc_policy_name(r.policy) : "none");
	}
}

static void
check_dkim(struct dns *d, struct arena *a, const char *domain, const char *selector, struct check *c)
{
	if (selector == NULL) {
		c->status = CK_SKIPPED;
		c->detail = "no selector given: pass --selector S (the s= tag of a DKIM-Signature your "
		            "mail carries)";
		return;
	}
	const char *name = arena_printf(a, "%s._domainkey.%s", selector, domain);
	c->suggest = arena_printf(a, "%s TXT \"v=DKIM1; k=rsa; p=<public key>\"  (make one: openssl genrsa "
	                          "-out dkim.key 2048; openssl rsa -in dkim.key -pubout -outform der | base64 -w0)",
	                          name);
	struct dns_answer ans;
	enum dns_status st = dns_lookup(d, a, name, DNS_T_TXT, &ans);
	if (st == DNS_TEMPFAIL) {
		c->status = CK_DNS;
		c->detail = arena_printf(a, "the DNS lookup of %s failed or timed out", name);
		return;
	}
	if (st != DNS_OK) {
		c->status = CK_MISSING;
		c->detail = arena_printf(a, "no DKIM key at %s", name);
		return;
	}
	c->record = ans.rr[0].text;
	struct dkim_key k = {0};
	const char *why = NULL;
	enum pr_err e = dkim_key_parse(ans.rr[0].text, ans.rr[0].len, &k, &why);
	c->status = e == PR_OK ? CK_OK : CK_BROKEN;
	if (e == PR_OK) {
		c->suggest = NULL;
		c->detail = arena_printf(a, "%s key, %d bits%s", k.type == DKIM_K_ED25519 ? "ed25519" : "RSA",
		                         k.bits, k.testing ? " (t=y: the domain says it is testing DKIM)" : "");
	} else {
		c->detail = arena_printf(a, "%s%s%s", pr_err_info(e)->summary, why ? ": " : "", why ? why : "");
	}
	dkim_key_clear(&k);
}

/* With an ip: the verdict a server there would receive (the call intake makes). */
static json_t *
evaluate_ip(struct dns *d, struct arena *a, const struct api_domain_check *q)
{
	struct spf_request rq = {.ip = q->ip, .domain = q->domain, .helo = q->domain,
	                         .sender = q->sender ? q->sender : ""};
	struct spf_outcome o;
	spf_check_host(d, a, &rq, &o);
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i}", "ip", q->ip, "result",
	                 spf_result_name(o.result), "mechanism", text_clean(a, o.mechanism),
	                 "explanation", text_clean(a, o.explanation), "detail", text_clean(a, o.detail),
	                 "dns_lookups", (int)o.lookups);
}

static json_t *
check_json(struct arena *a, const struct check *c)
{
	json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?}", "status", ck_names[c->status], "record",
	                      text_clean(a, c->record), "detail", text_clean(a, c->detail), "suggest",
	                      c->suggest);
	if (o && c->extra)
		json_object_update(o, c->extra);
	json_decref(c->extra);
	return o ? o : json_object();
}

/* The question, checked: a domain name, a DNS selector, an IP address and
 * a sender address, each only as long as DNS allows. */
static int
check_query(const struct api_domain_check *q, struct pr_why *why)
{
	if (q->domain == NULL || api_check_domain_name(q->domain, why) < 0)
		return q->domain ? -1 : (pr_why_set(why, PR_E_INVALID, "give the domain to check"), -1);
	size_t sl = q->selector ? strlen(q->selector) : 1;
	bool ok = sl > 0 && sl <= 63;
	for (const char *p = q->selector; ok && p && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     *p == '-' || *p == '_' || *p == '.';
	if (!ok)
		return pr_why_set(why, PR_E_INVALID, "the selector must be 1-63 letters, digits, '-', '_' or '.'"), -1;
	unsigned char buf[16];
	if (q->ip && inet_pton(AF_INET, q->ip, buf) != 1 && inet_pton(AF_INET6, q->ip, buf) != 1)
		return pr_why_set(why, PR_E_INVALID, "'%s' is not an IPv4 or IPv6 address", q->ip), -1;
	struct arena *a = arena_new();
	struct address ad;
	int rc = q->sender && address_parse(a, q->sender, &ad, why) < 0 ? -1 : 0;
	arena_free(&a);
	return rc;
}

/* Everything sound: no check missing, broken or unanswered, and our keys
 * published. */
static bool
all_ok(const struct check *c, size_t n, int signing_bad)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].status == CK_DNS || c[i].status == CK_MISSING || c[i].status == CK_BROKEN)
			return false;
	return !signing_bad;
}

json_t *
api_check_domain(const struct settings *set, const struct api_domain_check *q, struct pr_why *why)
{
	pr_why_clear(why);
	if (check_query(q, why) < 0)
		return NULL;
	struct dns *d = dns_new_cares(settings_str(set, SET_DNS_SERVER),
	                              (int)settings_int(set, SET_DNS_TIMEOUT_MS), why);
	if (d == NULL)
		return NULL;
	struct arena *a = arena_new();
	struct check c[3];
	memset(c, 0, sizeof(c));
	check_spf(d, a, q->domain, &c[0]);
	check_dmarc(d, a, q->domain, &c[1]);
	check_dkim(d, a, q->domain, q->selector, &c[2]);
	json_t *eval = q->ip ? evaluate_ip(d, a, q) : NULL;
	int signing_bad = 0;
	json_t *signing = api_check_signing(set, d, a, q->domain, &signing_bad);
	json_t *doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o?}", "domain", q->domain, "spf",
	                        check_json(a, &c[0]), "dmarc", check_json(a, &c[1]), "dkim",
	                        check_json(a, &c[2]), "signing", signing, "ok", all_ok(c, 3, signing_bad),
	                        "evaluation", eval);
	arena_free(&a);
	dns_free(&d);
	return doc;
}
