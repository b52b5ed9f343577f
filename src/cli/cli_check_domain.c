/* cli_check_domain.c - `postroom check domain DOMAIN [--selector S] [--json]`
 *
 * Our version of "test your domain's settings": looks up the domain's SPF
 * record and walks every include and redirect (auth/spf_audit.h: the DNS
 * lookups a server the record does not list costs, against the RFC's 10,
 * the path of the one past the limit, void lookups, and what the record's
 * all term says about unlisted servers), its DMARC record (or the organisational domain's), and with
 * --selector the DKIM key at S._domainkey.DOMAIN (--ip: the SPF result a
 * given server gets), explains each in plain
 * words and prints the record to add when one is missing.  Uses the same
 * evaluators and DNS settings (dns_server, dns_timeout_ms) as intake, so
 * what it says is what intake will decide.
 *
 * Exit: 0 all present and sound; 1 something missing or broken;
 * EX_TEMPFAIL (75) when DNS did not answer; EX_USAGE for bad arguments.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "auth/dkim_private.h"
#include "auth/dmarc.h"
#include "auth/dns.h"
#include "auth/spf.h"
#include "auth/spf_audit.h"
#include "cli/cli_check.h"
#include "cli/cli_private.h"
#include "core/arena.h"
#include "core/settings.h"
#include "core/text.h"

enum check_status { CK_OK, CK_MISSING, CK_BROKEN, CK_DNS, CK_SKIPPED };
static const char *const ck_names[] = {"ok", "missing", "broken", "dns_error", "skipped"};

#define CHECK_MAX_LINES 64

struct check {
	enum check_status status;
	const char *record, *detail, *suggest;
	const char *lines[CHECK_MAX_LINES];   /* further lines of text output */
	size_t nlines;
	json_t *extra;               /* check-specific JSON fields */
};

static void
add_line(struct arena *a, struct check *c, const char *line)
{
	if (line != NULL && c->nlines < CHECK_MAX_LINES)
		c->lines[c->nlines++] = text_clean(a, line);
}

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
			json_array_append_new(arr, json_string(t + pl));
	}
	return arr;
}

/* The lookup tree, one line per record reached: what each include or
 * redirect costs in the worst case (text lines and JSON). */
static json_t *
spf_tree(struct arena *a, const struct spf_audit *au, struct check *c)
{
	json_t *arr = json_array();
	add_line(a, c, "lookups in the worst case, per record (RFC 7208 allows 10):");
	for (size_t i = 0; i < au->nnodes; i++) {
		const struct spf_audit_node *n = &au->nodes[i];
		const char *via = text_clean(a, n->via), *problem = text_clean(a, n->problem);
		add_line(a, c, arena_printf(a, "  %*s%s: %u lookup%s%s%s", (int)(2 * n->depth), "", via,
		                            n->cost, n->cost == 1 ? "" : "s", problem ? " - " : "",
		                            problem ? problem : ""));
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:i, s:s?}", "via", via, "depth",
		                                     (int)n->depth, "lookups", (int)n->cost, "own_lookups",
		                                     (int)n->own, "problem", problem));
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
	add_line(a, c, au.all_sentence);
	if (au.unlisted == SPF_PASS)
		add_line(a, c, arena_printf(a, "WARNING: the record lets any server send for %s", domain));
	json_t *notes = json_array();
	for (size_t i = 0; i < au.nnotes; i++) {
		add_line(a, c, arena_printf(a, "WARNING: %s", au.notes[i]));
		json_array_append_new(notes, json_string(text_clean(a, au.notes[i])));
	}
	if (au.dynamic)
		add_line(a, c, "part of the cost depends on the sender (macros): the count is a lower bound");
	json_t *tree = spf_tree(a, &au, c);
	c->extra = json_pack("{s:i, s:b, s:s?, s:i, s:s?, s:s?, s:s, s:s?, s:b, s:o, s:o, s:o, s:o}",
	                     "dns_lookups", (int)au.lookups, "dns_lookups_at_least", au.lookups_capped,
	                     "over_limit_path", text_clean(a, au.over_path), "void_lookups",
	                     (int)au.voids, "void_limit_path", text_clean(a, au.void_path), "all",
	                     au.all_term, "unlisted_servers", spf_result_name(au.unlisted),
	                     "all_meaning", au.all_sentence, "depends_on_sender", au.dynamic,
	                     "warnings", notes, "tree", tree, "includes",
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
		c->extra = json_pack("{s:s, s:s?, s:i}", "policy_domain", r.policy_domain, "policy",
		                     dmarc_policy_name(r.policy), "pct", r.record.pct);
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

/* DNS text for a terminal: a record may hold any bytes (core/text.h). */
static const char *
shown(struct arena *a, const char *s)
{
	return text_escape(a, s, strlen(s), 0);
}

/* --ip: the verdict a server at ip would receive (the same call intake makes). */
static json_t *
evaluate_ip(struct dns *d, struct arena *a, const char *domain, const char *ip, const char *sender,
            FILE *out)
{
	struct spf_request rq = {.ip = ip, .domain = domain, .helo = domain,
	                         .sender = sender ? sender : ""};
	struct spf_outcome o;
	spf_check_host(d, a, &rq, &o);
	/* Text from DNS records: valid UTF-8 for JSON, escaped for a terminal. */
	o.mechanism = text_clean(a, o.mechanism);
	o.explanation = text_clean(a, o.explanation);
	o.detail = text_clean(a, o.detail);
	fprintf(out, "SPF for a server at %s: %s", ip, spf_result_name(o.result));
	if (o.mechanism)
		fprintf(out, " (matched %s)", shown(a, o.mechanism));
	if (o.detail)
		fprintf(out, " - %s", shown(a, o.detail));
	fputc('\n', out);
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:i}", "ip", ip, "result",
	                 spf_result_name(o.result), "mechanism", o.mechanism, "explanation",
	                 o.explanation, "detail", o.detail, "dns_lookups", (int)o.lookups);
}

static void
print_check(struct arena *a, const char *title, const struct check *c)
{
	printf("%s: %s\n", title, ck_names[c->status]);
	if (c->record)
		printf("  record:  %s\n", shown(a, c->record));
	if (c->detail)
		printf("  %s\n", shown(a, c->detail));
	for (size_t i = 0; i < c->nlines; i++)
		printf("  %s\n", shown(a, c->lines[i]));
	json_t *v;
	if (c->extra) {
		json_t *inc = json_object_get(c->extra, "includes");
		size_t i;
		json_array_foreach(inc, i, v)
			printf("  includes %s\n", shown(a, json_string_value(v)));
		inc = json_object_get(c->extra, "redirects");
		json_array_foreach(inc, i, v)
			printf("  redirects to %s\n", shown(a, json_string_value(v)));
	}
	if (c->suggest)
		printf("  add:     %s\n", shown(a, c->suggest));
}

static json_t *
check_json(const struct check *c)
{
	json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?}", "status", ck_names[c->status], "record",
	                      c->record, "detail", c->detail, "suggest", c->suggest);
	if (o && c->extra)
		json_object_update(o, c->extra);
	return o ? o : json_object();
}

static void
usage(FILE *f)
{
	fputs("usage: postroom check domain DOMAIN [--selector S] [--ip IP [--sender ADDR]] [--json]\n"
	      "Looks up and explains DOMAIN's SPF record, DMARC record and (with\n"
	      "--selector) the DKIM key at S._domainkey.DOMAIN, using dns_server.\n"
	      "Prints the record to add for anything missing.  --ip: the SPF result a\n"
	      "server at IP would receive (as intake computes it).  Exit 0: all sound;\n"
	      "1: something missing or broken; 75: DNS did not answer.\n", f);
}

struct args {
	const char *domain, *selector, *ip, *sender;
	bool json;
};

static int
parse_args(int argc, char **argv, struct args *g)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			g->json = true;
		else if (!strcmp(argv[i], "--ip") && i + 1 < argc)
			g->ip = argv[++i];
		else if (!strcmp(argv[i], "--sender") && i + 1 < argc)
			g->sender = argv[++i];
		else if (!strcmp(argv[i], "--selector") && i + 1 < argc)
			g->selector = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		else if (argv[i][0] != '-' && g->domain == NULL)
			g->domain = argv[i];
		else
			return -1;
	}
	return g->domain ? 0 : -1;
}

static int
exit_code(const struct check *c, size_t n)
{
	int rc = EX_OK;
	for (size_t i = 0; i < n; i++) {
		if (c[i].status == CK_DNS)
			return EX_TEMPFAIL;
		if (c[i].status == CK_MISSING || c[i].status == CK_BROKEN)
			rc = 1;
	}
	return rc;
}

int
cli_check_domain(struct cli_ctx *ctx, int argc, char **argv)
{
	struct args g = {0};
	int pa = parse_args(argc, argv, &g);
	const char *domain = g.domain, *selector = g.selector;
	bool json = g.json;
	if (pa != 0) {
		usage(pa > 0 ? stdout : stderr);
		return pa > 0 ? EX_OK : EX_USAGE;
	}
	struct pr_why why;
	pr_why_clear(&why);
	struct dns *d = dns_new_cares(settings_str(ctx->settings, SET_DNS_SERVER),
	                              (int)settings_int(ctx->settings, SET_DNS_TIMEOUT_MS), &why);
	if (d == NULL) {
		fprintf(stderr, "postroom: %s: check the dns_server setting\n", pr_why_text(&why));
		return EX_CONFIG;
	}
	struct arena *a = arena_new();
	struct check c[3];
	memset(c, 0, sizeof(c));
	check_spf(d, a, domain, &c[0]);
	check_dmarc(d, a, domain, &c[1]);
	check_dkim(d, a, domain, selector, &c[2]);
	for (int i = 0; i < 3; i++) {       /* DNS text: valid UTF-8 for JSON */
		c[i].record = text_clean(a, c[i].record);
		c[i].detail = text_clean(a, c[i].detail);
	}
	int rc = exit_code(c, 3);
	json_t *eval = NULL;
	if (g.ip)                    /* JSON mode: the text line goes to stderr */
		eval = evaluate_ip(d, a, domain, g.ip, g.sender, json ? stderr : stdout);
	if (!json) {
		printf("Domain %s\n", domain);
		print_check(a, "SPF", &c[0]);
		print_check(a, "DMARC", &c[1]);
		print_check(a, selector ? arena_printf(a, "DKIM (selector %s)", selector) : "DKIM", &c[2]);
	}
	/* Our outgoing side: the records to publish for our own keys. */
	int signing_bad = 0;
	json_t *signing = cli_check_signing(ctx->settings, d, a, domain, !json, &signing_bad);
	if (signing_bad && rc == EX_OK)
		rc = 1;
	if (json) {
		json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b, s:o?}", "domain", domain, "spf",
		                      check_json(&c[0]), "dmarc", check_json(&c[1]), "dkim", check_json(&c[2]),
		                      "signing", signing, "ok", rc == EX_OK, "evaluation", eval);
		char *txt = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
		puts(txt ? txt : "{}");
		free(txt);
		json_decref(o);
	} else {
		json_decref(signing);
		puts(rc == EX_OK ? "Result: all present and sound."
		     : rc == EX_TEMPFAIL ? "Result: DNS did not answer; try again."
		                         : "Result: something is missing or broken (see above).");
	}
	for (int i = 0; i < 3; i++)
		json_decref(c[i].extra);
	arena_free(&a);
	dns_free(&d);
	return rc;
}
