/* cli_check_domain.c - `postroom check domain DOMAIN [--selector S]
 * [--ip IP [--sender ADDR]] [--json]`: api_check_domain's document, as
 * JSON or in plain words with the record to add for anything missing.
 * Every text in the document that came from DNS is escaped before it
 * reaches the terminal (core/text.h).
 *
 * Exit: 0 all present and sound; 1 something missing or broken;
 * EX_TEMPFAIL (75) when DNS did not answer; EX_USAGE for bad arguments.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/arena.h"
#include "core/text.h"

/* At most this many explanation lines under one check (the tree of a
 * record with 40 includes stays readable). */
#define CHECK_MAX_LINES 64

/* DNS text for a terminal: a record may hold any bytes (core/text.h). */
static const char *
shown(struct arena *a, const char *s)
{
	return text_escape(a, s, strlen(s), 0);
}

/* The SPF explanation lines: what the all term means, warnings, and the
 * lookup tree (the check's document holds each as a fact). */
static size_t
spf_lines(struct arena *a, json_t *c, const char **lines)
{
	size_t n = 0, i;
	json_t *v;
#define LINE(s) do { if (n < CHECK_MAX_LINES) lines[n++] = (s); } while (0)
	if (json_is_string(json_object_get(c, "all_meaning")))
		LINE(cli_str(c, "all_meaning"));
	if (!strcmp(cli_str(c, "unlisted_servers"), "pass"))
		LINE(arena_printf(a, "WARNING: the record lets any server send for %s", cli_str(c, "domain")));
	json_array_foreach(json_object_get(c, "warnings"), i, v)
		LINE(arena_printf(a, "WARNING: %s", json_string_value(v)));
	if (json_is_true(json_object_get(c, "depends_on_sender")))
		LINE("part of the cost depends on the sender (macros): the count is a lower bound");
	LINE("lookups in the worst case, per record (RFC 7208 allows 10):");
	json_array_foreach(json_object_get(c, "tree"), i, v) {
		long long cost = cli_int(v, "lookups");
		const char *problem = json_string_value(json_object_get(v, "problem"));
		LINE(arena_printf(a, "  %*s%s: %lld lookup%s%s%s", (int)(2 * cli_int(v, "depth")), "",
		                  cli_str(v, "via"), cost, cost == 1 ? "" : "s", problem ? " - " : "",
		                  problem ? problem : ""));
	}
#undef LINE
	return n;
}

static void
print_check(struct arena *a, const char *title, json_t *c)
{
	const char *lines[CHECK_MAX_LINES];
	size_t nlines = json_object_get(c, "tree") ? spf_lines(a, c, lines) : 0;
	printf("%s: %s\n", title, cli_str(c, "status"));
	if (json_is_string(json_object_get(c, "record")))
		printf("  record:  %s\n", shown(a, cli_str(c, "record")));
	if (json_is_string(json_object_get(c, "detail")))
		printf("  %s\n", shown(a, cli_str(c, "detail")));
	for (size_t i = 0; i < nlines; i++)
		printf("  %s\n", shown(a, lines[i]));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c, "includes"), i, v)
		printf("  includes %s\n", shown(a, json_string_value(v)));
	json_array_foreach(json_object_get(c, "redirects"), i, v)
		printf("  redirects to %s\n", shown(a, json_string_value(v)));
	if (json_is_string(json_object_get(c, "suggest")))
		printf("  add:     %s\n", shown(a, cli_str(c, "suggest")));
}

/* Our outgoing side: the records to publish for our own keys. */
static void
print_signing(const char *domain, json_t *s)
{
	if (!strcmp(cli_str(s, "status"), "broken")) {
		printf("DKIM signing: broken\n  %s\n", cli_str(s, "detail"));
		return;
	}
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(s, "keys"), i, k) {
		printf("DKIM signing key %s (%s, %lld bits, %s): %s\n", cli_str(k, "selector"),
		       cli_str(k, "algorithm"), cli_int(k, "bits"), cli_str(k, "file"), cli_str(k, "status"));
		if (!strcmp(cli_str(k, "status"), "different"))
			printf("  DNS has another key at %s: every message we sign would fail\n", cli_str(k, "name"));
		printf("  publish: %s. IN TXT %s\n", cli_str(k, "name"), cli_str(k, "zone"));
	}
	if (json_array_size(json_object_get(s, "keys")) == 0)
		printf("DKIM signing: no key for %s in dkim_keys (mail we send is not signed)\n"
		       "  make one: openssl genpkey -algorithm ed25519 -out /etc/postroom/%s-ed.pem (and/or "
		       "-algorithm rsa -pkeyopt rsa_keygen_bits:2048), chmod 600, then\n"
		       "  postroom settings set dkim_keys %s:<selector>:/etc/postroom/%s-ed.pem\n",
		       domain, domain, domain, domain);
	printf("SPF for postroom's own delivery (smtp_server = direct): the record must include %s "
	       "(or ip4:/ip6: of this server's public address)\n", cli_str(s, "spf_direct"));
}

/* The verdict for --ip, one line (to stderr in JSON mode). */
static void
print_evaluation(struct arena *a, json_t *ev, FILE *out)
{
	fprintf(out, "SPF for a server at %s: %s", cli_str(ev, "ip"), cli_str(ev, "result"));
	if (json_is_string(json_object_get(ev, "mechanism")))
		fprintf(out, " (matched %s)", shown(a, cli_str(ev, "mechanism")));
	if (json_is_string(json_object_get(ev, "detail")))
		fprintf(out, " - %s", shown(a, cli_str(ev, "detail")));
	fputc('\n', out);
}

static void
print_text(struct arena *a, json_t *doc, const char *selector, int rc)
{
	const char *domain = cli_str(doc, "domain");
	printf("Domain %s\n", domain);
	json_object_set_new(json_object_get(doc, "spf"), "domain", json_string(domain));
	print_check(a, "SPF", json_object_get(doc, "spf"));
	print_check(a, "DMARC", json_object_get(doc, "dmarc"));
	print_check(a, selector ? arena_printf(a, "DKIM (selector %s)", selector) : "DKIM",
	            json_object_get(doc, "dkim"));
	print_signing(domain, json_object_get(doc, "signing"));
	puts(rc == EX_OK ? "Result: all present and sound."
	     : rc == EX_TEMPFAIL ? "Result: DNS did not answer; try again."
	                         : "Result: something is missing or broken (see above).");
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

static int
parse_args(int argc, char **argv, struct api_domain_check *q, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (!strcmp(argv[i], "--ip") && i + 1 < argc)
			q->ip = argv[++i];
		else if (!strcmp(argv[i], "--sender") && i + 1 < argc)
			q->sender = argv[++i];
		else if (!strcmp(argv[i], "--selector") && i + 1 < argc)
			q->selector = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		else if (argv[i][0] != '-' && q->domain == NULL)
			q->domain = argv[i];
		else
			return -1;
	}
	return q->domain ? 0 : -1;
}

/* 75 when DNS did not answer, 1 when something is missing or broken. */
static int
exit_code(json_t *doc)
{
	static const char *const checks[] = {"spf", "dmarc", "dkim"};
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(cli_str(json_object_get(doc, checks[i]), "status"), "dns_error"))
			return EX_TEMPFAIL;
	return json_is_true(json_object_get(doc, "ok")) ? EX_OK : 1;
}

int
cli_check_domain(struct cli_ctx *ctx, int argc, char **argv)
{
	struct api_domain_check q = {0};
	bool json = false;
	int pa = parse_args(argc, argv, &q, &json);
	if (pa != 0) {
		usage(pa > 0 ? stdout : stderr);
		return pa > 0 ? EX_OK : EX_USAGE;
	}
	struct pr_why why;
	json_t *doc = api_check_domain(ctx->settings, &q, &why);
	if (doc == NULL && why.code == PR_E_INVALID) {
		fprintf(stderr, "postroom: %s\n", pr_why_text(&why));
		usage(stderr);
		return EX_USAGE;
	}
	if (doc == NULL) {
		fprintf(stderr, "postroom: %s: check the dns_server setting\n", pr_why_text(&why));
		return EX_CONFIG;
	}
	int rc = exit_code(doc);
	struct arena *a = arena_new();
	json_t *ev = json_object_get(doc, "evaluation");
	if (json_is_object(ev))      /* JSON mode: the text line goes to stderr */
		print_evaluation(a, ev, json ? stderr : stdout);
	if (json)
		cli_print_json(doc);
	else
		print_text(a, doc, q.selector, rc), json_decref(doc);
	arena_free(&a);
	return rc;
}
