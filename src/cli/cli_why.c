/* cli_why.c - `postroom why ADDRESS | MESSAGE-ID | LOG-ID`: "why didn't my
 * email come through?"
 *
 * Finds the matching intake attempts (newest first) and explains each:
 * what arrived, where it was filed or the rule that stopped it, and what
 * the sender or their IT must do -- the fix column of the reason table in
 * core/err.c, so the CLI, the SMTP reply and the README never disagree.
 * `why --reasons` lists every reason code with its explanation.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli/cli_private.h"
#include "core/arena.h"
#include "core/err.h"
#include "store/store.h"

static void
usage(FILE *f)
{
	fputs("usage: postroom why ADDRESS | MESSAGE-ID | LOG-ID [--json] [--limit N]\n"
	      "       postroom why --reasons [--json]\n"
	      "Explains the intake attempts matching an address (sender or recipient),\n"
	      "a Message-ID (<...>) or an intake log id, newest first.\n", f);
}

static int
list_reasons(bool json)
{
	json_t *arr = json_array();
	for (int i = 0; i < PR_E_MAX; i++) {
		const struct pr_err_info *e = pr_err_info((enum pr_err)i);
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:s, s:s}", "code", e->name,
			    "smtp", e->smtp, "dsn", e->dsn, "summary", e->summary, "fix", e->fix));
		} else {
			printf("%-20s %3d %-7s %s\n%28s fix: %s\n", e->name, e->smtp, e->dsn, e->summary, "", e->fix);
		}
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));
		puts(s);
		free(s);
	}
	json_decref(arr);
	return EX_OK;
}

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static const char *
placements_of(struct store *st, struct arena *a, int64_t msg)
{
	struct store_message m;
	struct pr_why why;
	if (msg <= 0 || store_message_get(st, a, msg, &m, &why) != 0)
		return NULL;
	return m.s.placements;
}

static json_t *
attempt_json(struct store *st, struct arena *a, const struct store_log_entry *e)
{
	const struct pr_err_info *info = pr_err_info(e->reason);
	const char *places = placements_of(st, a, e->message_id);
	char when[32];
	struct tm tm;
	gmtime_r(&e->at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:i, s:s, s:s, s:s, s:s,"
	                 " s:I, s:s?, s:s?}",
	    "id", (json_int_t)e->id, "time", when, "source", e->source ? e->source : "",
	    "peer_ip", e->peer_ip ? e->peer_ip : "", "helo", e->helo ? e->helo : "",
	    "mail_from", e->mail_from ? e->mail_from : "", "rcpts", e->rcpts ? e->rcpts : "",
	    "size", (json_int_t)e->size, "verdict", e->verdict ? e->verdict : "",
	    "code", info->name, "smtp", info->smtp, "dsn", info->dsn, "summary", info->summary,
	    "detail", e->detail && *e->detail ? e->detail : info->summary, "fix", info->fix,
	    "message", (json_int_t)e->message_id, "message_id_header", e->message_id_hdr,
	    "filed_in", places);
}

static void
print_attempt(json_t *j)
{
	const char *verdict = json_string_value(json_object_get(j, "verdict"));
	const char *code = json_string_value(json_object_get(j, "code"));
	bool accepted = strcmp(verdict, "accepted") == 0;
	printf("Attempt #%lld at %s, by %s from %s (HELO %s)\n",
	       (long long)json_integer_value(json_object_get(j, "id")),
	       json_string_value(json_object_get(j, "time")), json_string_value(json_object_get(j, "source")),
	       json_string_value(json_object_get(j, "peer_ip")), json_string_value(json_object_get(j, "helo")));
	printf("  sender:     <%s>\n  recipients: %s\n  size:       %lld bytes\n",
	       json_string_value(json_object_get(j, "mail_from")), json_string_value(json_object_get(j, "rcpts")),
	       (long long)json_integer_value(json_object_get(j, "size")));
	if (accepted) {
		const char *in = json_string_value(json_object_get(j, "filed_in"));
		printf("  result:     ACCEPTED as message %lld%s%s\n",
		       (long long)json_integer_value(json_object_get(j, "message")), in ? ", filed in " : "", in ? in : "");
		if (strcmp(code, "accepted") != 0)
			printf("  note:       %s (%s)\n", json_string_value(json_object_get(j, "detail")), code);
		return;
	}
	printf("  result:     %s with %lld %s [%s]\n", strcmp(verdict, "deferred") == 0 ?
	       "DEFERRED (temporary; the sender's server retries)" : "REFUSED",
	       (long long)json_integer_value(json_object_get(j, "smtp")),
	       json_string_value(json_object_get(j, "dsn")), code);
	printf("  why:        %s\n  what to do: %s\n", json_string_value(json_object_get(j, "detail")),
	       json_string_value(json_object_get(j, "fix")));
}

static int
explain(struct cli_ctx *ctx, const char *query, bool json, size_t limit)
{
	struct pr_why why;
	struct store *st = store_open(ctx->store_uri, &why);
	if (st == NULL) {
		fprintf(stderr, "postroom: %s\n", pr_why_text(&why));
		return pr_err_is_temporary(why.code) ? EX_TEMPFAIL : EX_CONFIG;
	}
	struct arena *a = arena_new();
	struct store_log_filter f = {.limit = limit};
	if (all_digits(query))
		f.id = strtoll(query, NULL, 10);
	else if (query[0] == '<')
		f.message_id_hdr = arena_strndup(a, query + 1, strcspn(query + 1, ">"));
	else
		f.address = query;
	struct store_log_entry *e;
	size_t n = 0;
	int rc = store_log_list(st, a, &f, &e, &n, &why);
	if (rc == 0 && n == 0 && f.address && strchr(query, '@')) {
		/* A Message-ID written without its angle brackets. */
		f.address = NULL;
		f.message_id_hdr = query;
		rc = store_log_list(st, a, &f, &e, &n, &why);
	}
	int ex = EX_OK;
	if (rc < 0) {
		fprintf(stderr, "postroom: cannot read the intake log: %s\n", pr_why_text(&why));
		ex = EX_TEMPFAIL;
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, attempt_json(st, a, &e[i]));
		if (json) {
			json_t *doc = json_pack("{s:s, s:o}", "query", query, "attempts", arr);
			char *s = json_dumps(doc, JSON_INDENT(2));
			puts(s);
			free(s);
			json_decref(doc);
		} else {
			if (n == 0)
				printf("No intake attempt matches %s.\nIf the sender's server reported "
				       "success, the message went elsewhere: check the address and our MX record.\n", query);
			for (size_t i = 0; i < n; i++)
				print_attempt(json_array_get(arr, i)), i + 1 < n ? (void)putchar('\n') : (void)0;
			json_decref(arr);
		}
		if (n == 0)
			ex = EX_NOINPUT;
	}
	arena_free(&a);
	store_close(&st);
	return ex;
}

int
cli_why(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false, reasons = false;
	const char *query = NULL;
	size_t limit = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--reasons")) {
			reasons = true;
		} else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
			limit = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EX_OK;
		} else if (argv[i][0] == '-' || query) {
			usage(stderr);
			return EX_USAGE;
		} else {
			query = argv[i];
		}
	}
	if (reasons)
		return list_reasons(json);
	if (query == NULL) {
		usage(stderr);
		return EX_USAGE;
	}
	return explain(ctx, query, json, limit ? limit : 20);
}
