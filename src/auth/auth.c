/* auth.c - SPF, DKIM and DMARC for one message, and the policy decision.
 *
 * auth_check runs the three evaluators (spf.c, dkim.c, dmarc.c: ours, see
 * their headers for why) over this thread's DNS channel and never fails
 * as a whole: DNS trouble becomes temperror results.  auth_decide turns
 * the verdict into PR_OK, a 5xx reason or a 4xx one under the settings
 * require_spf / require_dkim (DKIM counts only when it passes AND is
 * aligned with the From domain AND signs the whole body) or auth_policy =
 * dmarc.  A temporary DNS
 * failure is 451 4.4.3, never an accept-as-pass and never a 550.
 * Rendering (Authentication-Results, JSON) is in auth_header.c; trusting
 * another host's results for collected mail in auth_trust.c.
 */
#include "auth/auth_private.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/dkim.h"
#include "auth/dns.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "core/arena.h"
#include "core/settings.h"

struct auth {
	struct dns *dns;
};

const char *
auth_result_name(enum auth_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "softfail", "neutral",
	                                    "temperror", "permerror", "policy"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "none";
}

struct dns *
auth_dns(struct auth *au)
{
	return au->dns;
}

struct auth *
auth_new_dns(struct dns *dns)
{
	struct auth *au = xcalloc(1, sizeof(*au));
	au->dns = dns;
	return au;
}

struct auth *
auth_new(const struct settings *set, struct pr_why *why)
{
	struct dns *d = dns_new_cares(settings_str(set, SET_DNS_SERVER),
	                              (int)settings_int(set, SET_DNS_TIMEOUT_MS), why);
	dns_cache_limit((size_t)settings_int(set, SET_DNS_CACHE_SIZE));
	return d ? auth_new_dns(d) : NULL;
}

void
auth_free(struct auth **ap)
{
	if (*ap == NULL)
		return;
	dns_free(&(*ap)->dns);
	free(*ap);
	*ap = NULL;
}

static const char *
authserv_id(struct arena *a, const struct settings *set)
{
	const char *id = set ? settings_str(set, SET_AUTHSERV_ID) : NULL;
	if (id && *id)
		return id;
	id = set ? settings_str(set, SET_HOSTNAME) : NULL;
	if (id && *id)
		return id;
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		return "localhost";
	return arena_strdup(a, host);
}

static const struct {
	enum auth_result r;
	enum pr_err why;
	const char *says;
} spf_map[] = {
	[SPF_NONE] = {AUTH_NONE, PR_E_SPF_NONE, "it publishes no SPF record"},
	[SPF_NEUTRAL] = {AUTH_NEUTRAL, PR_E_SPF_NEUTRAL, "its SPF record makes no statement about %s"},
	[SPF_PASS] = {AUTH_PASS, PR_OK, "%s is allowed to send for it"},
	[SPF_FAIL] = {AUTH_FAIL, PR_E_SPF_FAIL, "%s is not allowed to send for it"},
	[SPF_SOFTFAIL] = {AUTH_SOFTFAIL, PR_E_SPF_SOFTFAIL, "%s is probably not allowed to send for it"},
	[SPF_TEMPERROR] = {AUTH_TEMPERROR, PR_E_SPF_TEMPERROR, "the DNS lookups did not finish"},
	[SPF_PERMERROR] = {AUTH_PERMERROR, PR_E_SPF_PERMERROR, "its SPF record is broken"},
};

static void
check_spf(struct auth *au, struct arena *a, const struct auth_input *in, const char *id,
          struct auth_verdict *v)
{
	const char *mf = in->mail_from ? in->mail_from : "";
	const char *at = strrchr(mf, '@');
	v->spf_helo = *mf == '\0';
	v->spf_domain = v->spf_helo ? (in->helo ? in->helo : "") : at ? at + 1 : mf;
	struct spf_request rq = {.ip = in->client_ip, .domain = v->spf_domain, .sender = mf,
	                         .helo = in->helo, .receiver = id};
	struct spf_outcome o = {0};
	enum spf_result r = (in->client_ip && *in->client_ip) ? spf_check_host(au->dns, a, &rq, &o)
	                                                     : SPF_NONE;
	if (!(in->client_ip && *in->client_ip))
		o.detail = "the client address is unknown";
	v->spf = spf_map[r].r;
	v->spf_reason = spf_map[r].why;
	const char *says = arena_printf(a, spf_map[r].says, in->client_ip ? in->client_ip : "");
	v->spf_detail = arena_printf(a, "SPF %s for %s: %s%s%s", spf_result_name(r), v->spf_domain, says,
	                             o.detail && r != SPF_PASS ? " - " : "",
	                             o.detail && r != SPF_PASS ? o.detail : "");
}

static void
check_dkim(struct auth *au, struct arena *a, const struct auth_input *in, struct auth_verdict *v)
{
	struct dkim_result res = {0};
	if (in->raw == NULL ||
	    dkim_verify(dkim_keycache_process(), au->dns, a, in->raw, in->now, &res) != PR_OK)
		res.n = 0;
	v->ndkim = res.n;
	v->dkim = arena_alloc(a, (res.n ? res.n : 1) * sizeof(*v->dkim));
	const char *from = in->from_domain ? in->from_domain : "";
	for (size_t i = 0; i < res.n; i++) {
		const struct dkim_sig *s = &res.sig[i];
		struct auth_dkim_sig *o = &v->dkim[i];
		o->domain = s->domain, o->selector = s->selector, o->algorithm = s->algorithm;
		o->result = s->result, o->reason = s->reason, o->detail = s->detail;
		o->aligned = *from && *s->domain && dmarc_aligned(s->domain, from, false);
		/* l= shorter than the body: the signature verified, but anyone
		 * could have appended the rest.  Reported as dkim=policy (RFC 8601
		 * 2.7.1: signed, but not acceptable to us), so it counts neither
		 * for require_dkim, nor for DMARC, nor for From alignment. */
		if (s->result == AUTH_PASS && s->unsigned_bytes > 0) {
			o->result = AUTH_POLICY;
			o->reason = PR_E_DKIM_PARTIAL;
			o->detail = arena_printf(a, "the signature verified, but l= leaves %llu bytes of "
			                         "the body unsigned", (unsigned long long)s->unsigned_bytes);
		}
	}
}

static void
check_dmarc(struct auth *au, struct arena *a, const struct auth_input *in, struct auth_verdict *v)
{
	const char *from = in->from_domain ? in->from_domain : "";
	v->dmarc_domain = from;
	if (*from == '\0') {
		v->dmarc = AUTH_NONE;
		return;
	}
	const char **pass = arena_alloc(a, (v->ndkim ? v->ndkim : 1) * sizeof(*pass));
	size_t n = 0;
	for (size_t i = 0; i < v->ndkim; i++)
		if (v->dkim[i].result == AUTH_PASS)
			pass[n++] = v->dkim[i].domain;
	struct dmarc_result dr;
	dmarc_eval(au->dns, a, from, pass, n, v->spf == AUTH_PASS ? v->spf_domain : NULL, &dr);
	v->dmarc = dr.result;
	/* pct= sampling: rolled once here, so the verdict is what we act on;
	 * only a failing message's policy depends on it (and RAND_bytes is
	 * not free: a domain without DMARC has pct 0). */
	unsigned char roll = 0;
	if (dr.result == AUTH_FAIL && dr.record.pct < 100 && RAND_bytes(&roll, 1) != 1)
		roll = 0;
	v->dmarc_policy = dmarc_policy_name(dmarc_effective_policy(&dr, roll % 100u));
	v->dmarc_detail = dr.detail;
}

/* All of the message's DNS work shares one budget, and the lookups that
 * miss the cache are gated per sender domain (the envelope's, or the HELO
 * name for a null sender), so one slow domain cannot hold every worker. */
static void
budget_begin(struct auth *au, const struct auth_input *in, const struct settings *set)
{
	if (set == NULL)
		return;
	const char *mf = in->mail_from ? in->mail_from : "";
	const char *at = strrchr(mf, '@');
	const char *domain = *mf ? (at ? at + 1 : mf) : (in->helo ? in->helo : "");
	dns_budget_begin(au->dns, domain, (int)settings_int(set, SET_DNS_MESSAGE_BUDGET_MS),
	                 (int)settings_int(set, SET_DNS_DOMAIN_CONCURRENCY));
}

void
auth_check(struct auth *au, struct arena *a, const struct auth_input *in,
           const struct settings *set, struct auth_verdict *out)
{
	memset(out, 0, sizeof(*out));
	const char *id = authserv_id(a, set);
	out->authserv_id = id;
	struct auth_input local = *in;
	if (local.trusted_authserv_id && *local.trusted_authserv_id &&
	    auth_adopt_trusted(a, &local, out)) {
		auth_render(a, id, out);
		return;
	}
	budget_begin(au, &local, set);
	check_spf(au, a, &local, id, out);
	check_dkim(au, a, &local, out);
	check_dmarc(au, a, &local, out);
	out->dns_budget_spent = dns_budget_spent(au->dns);
	dns_budget_end(au->dns);
	auth_render(a, id, out);
}

/* ---- the policy ---- */

static enum pr_err
decide_spf(const struct auth_verdict *v, struct pr_why *why)
{
	if (v->spf == AUTH_PASS)
		return PR_OK;
	pr_why_set(why, v->spf_reason ? v->spf_reason : PR_E_SPF_NONE, "%s", v->spf_detail);
	return why->code;
}

/* The signature that explains a DKIM refusal best: an aligned one first. */
static const struct auth_dkim_sig *
worst_sig(const struct auth_verdict *v)
{
	for (size_t i = 0; i < v->ndkim; i++)
		if (v->dkim[i].aligned)
			return &v->dkim[i];
	return v->ndkim ? &v->dkim[0] : NULL;
}

static enum pr_err
decide_dkim(const struct auth_verdict *v, struct pr_why *why)
{
	const char *passed_other = NULL;
	for (size_t i = 0; i < v->ndkim; i++) {
		if (v->dkim[i].result == AUTH_PASS && v->dkim[i].aligned)
			return PR_OK;
		if (v->dkim[i].result == AUTH_PASS && passed_other == NULL)
			passed_other = v->dkim[i].domain;
	}
	for (size_t i = 0; i < v->ndkim; i++)
		if (v->dkim[i].result == AUTH_TEMPERROR) {
			pr_why_set(why, PR_E_DKIM_TEMPERROR, "DKIM temperror for %s: %s", v->dkim[i].domain,
			           v->dkim[i].detail ? v->dkim[i].detail : "the key could not be fetched");
			return why->code;
		}
	const char *from = v->dmarc_domain && *v->dmarc_domain ? v->dmarc_domain : "the From domain";
	if (v->ndkim == 0) {
		pr_why_set(why, PR_E_DKIM_NONE, "DKIM none for %s: the message has no DKIM signature", from);
	} else if (passed_other) {
		pr_why_set(why, PR_E_DKIM_MISALIGNED, "DKIM misaligned for %s: the valid signature is by %s",
		           from, passed_other);
	} else {
		const struct auth_dkim_sig *s = worst_sig(v);
		pr_why_set(why, s->reason != PR_OK ? s->reason : PR_E_DKIM_FAIL, "DKIM %s for %s: %s",
		           auth_result_name(s->result), s->domain, s->detail ? s->detail : "");
	}
	return why->code;
}

static enum pr_err
decide_dmarc(const struct auth_verdict *v, struct pr_why *why)
{
	if (v->dmarc == AUTH_TEMPERROR) {
		pr_why_set(why, PR_E_DNS_TEMP, "DMARC temperror for %s: the DNS lookup did not finish",
		           v->dmarc_domain);
		return why->code;
	}
	if (v->dmarc != AUTH_FAIL || v->dmarc_policy == NULL || strcmp(v->dmarc_policy, "none") == 0)
		return PR_OK;
	/* A fail that a DNS failure may have caused is not final: SPF or a
	 * DKIM key that could not be fetched might have passed. */
	bool temp = v->spf == AUTH_TEMPERROR;
	for (size_t i = 0; i < v->ndkim; i++)
		temp |= v->dkim[i].result == AUTH_TEMPERROR;
	if (temp) {
		pr_why_set(why, PR_E_DNS_TEMP, "DMARC for %s could not be decided: a DNS lookup for SPF or "
		           "DKIM did not finish", v->dmarc_domain);
		return why->code;
	}
	enum pr_err e = strcmp(v->dmarc_policy, "reject") == 0       ? PR_E_DMARC_REJECT
	              : strcmp(v->dmarc_policy, "quarantine") == 0 ? PR_E_DMARC_QUARANTINE
	                                                           : PR_OK;
	if (e != PR_OK)
		pr_why_set(why, e, "DMARC fail for %s: its policy says %s, and neither SPF nor DKIM passed "
		           "aligned with it", v->dmarc_domain, v->dmarc_policy);
	return e;
}

enum pr_err
auth_decide(const struct settings *set, const struct auth_verdict *v, struct pr_why *why)
{
	pr_why_clear(why);
	enum pr_err e = PR_OK;
	if (v->dns_budget_spent) {
		pr_why_set(why, PR_E_DNS_BUDGET, "the DNS lookups for this message took longer than %lld ms "
		           "(dns_message_budget_ms), or its sender domain's DNS is timing out; try again later",
		           settings_int(set, SET_DNS_MESSAGE_BUDGET_MS));
		return why->code;
	}
	if (settings_enum(set, SET_AUTH_POLICY) == AUTH_POLICY_DMARC)
		return decide_dmarc(v, why);
	/* SPF first, then DKIM: the first check that does not pass is the
	 * reason given (its temperror is a 451, its failure a 550). */
	if (settings_bool(set, SET_REQUIRE_SPF) && (e = decide_spf(v, why)) != PR_OK)
		return e;
	if (settings_bool(set, SET_REQUIRE_DKIM) && (e = decide_dkim(v, why)) != PR_OK)
		return e;
	return PR_OK;
}

/* Unreadable mail has no From to align DKIM or DMARC with: the SPF result
 * for the envelope sender is all that can be judged.  Required whenever
 * any check is, or a message made unreadable on purpose would be how to
 * skip them. */
enum pr_err
auth_decide_envelope(const struct settings *set, const struct auth_verdict *v, struct pr_why *why)
{
	pr_why_clear(why);
	if (settings_enum(set, SET_AUTH_POLICY) != AUTH_POLICY_DMARC &&
	    !settings_bool(set, SET_REQUIRE_SPF) && !settings_bool(set, SET_REQUIRE_DKIM))
		return PR_OK;
	return decide_spf(v, why);
}
