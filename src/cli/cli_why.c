/* cli_why.c - `postroom why ADDRESS | MESSAGE-ID | LOG-ID`: "why didn't my
 * email come through?"  The data comes from api_why(); this file only
 * prints it for a person: what arrived, where it was filed or the rule
 * that stopped it, and what the sender or their IT must do.
 * `why --reasons` lists every reason code with its explanation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static void
usage(FILE *f)
{
	fputs("usage: postroom why ADDRESS | MESSAGE-ID | LOG-ID [--json] [--limit N] [--before ID]\n"
	      "       postroom why --reasons [--json]\n"
	      "Explains the intake attempts matching an address (as sender or recipient),\n"
	      "a Message-ID (<...>) or an intake log id, newest first, 20 a page (--limit);\n"
	      "--before the \"next\" id of a page gives the following one.\n", f);
}

static const char *
str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

static long long
num(json_t *j, const char *key)
{
	return (long long)json_integer_value(json_object_get(j, key));
}

static void
print_rcpts(json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
	putchar('\n');
}

static void
print_attempt(json_t *j)
{
	bool accepted = strcmp(str(j, "verdict"), "accepted") == 0;
	printf("Attempt #%lld at %s, by %s from %s (HELO %s)\n", num(j, "id"), str(j, "at"),
	       str(j, "source"), str(j, "peer_ip"), str(j, "helo"));
	printf("  sender:     <%s>\n  recipients: ", str(j, "mail_from"));
	print_rcpts(json_object_get(j, "rcpts"));
	printf("  size:       %lld bytes\n", num(j, "size"));
	if (accepted) {
		const char *in = str(j, "filed_in");
		printf("  result:     ACCEPTED as message %lld%s%s\n", num(j, "message_id"),
		       *in ? ", filed in " : "", in);
		if (strcmp(str(j, "reason"), "accepted") != 0)
			printf("  note:       %s [%s]\n", str(j, "detail"), str(j, "reason"));
		json_t *bad = json_object_get(j, "invalid_recipients");
		if (json_array_size(bad) > 0) {
			printf("  not addresses (in To/Cc, kept with the message, nobody receives by them): ");
			print_rcpts(bad);
		}
		return;
	}
	printf("  result:     %s with %lld %s [%s]\n",
	       strcmp(str(j, "verdict"), "deferred") == 0 ?
	       "DEFERRED (temporary; the sending server retries)" : "REFUSED",
	       num(j, "smtp"), str(j, "dsn"), str(j, "reason"));
	printf("  why:        %s\n  what to do: %s\n", str(j, "detail"), str(j, "fix"));
}

static int
print_reasons(bool json)
{
	json_t *doc = api_reasons();
	if (json)
		return cli_print_json(doc);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "reasons"), i, r)
		printf("%-20s %3lld %-7s %s\n%29sfix: %s\n", str(r, "code"), num(r, "smtp"), str(r, "dsn"),
		       str(r, "summary"), "", str(r, "fix"));
	json_decref(doc);
	return EX_OK;
}

static int
explain(struct cli_ctx *ctx, const char *query, bool json, size_t limit, int64_t before)
{
	int rc;
	struct pr_api *api = cli_api(ctx, &rc);
	if (api == NULL)
		return rc;
	struct pr_why why;
	json_t *doc = api_why(api, query, limit, before, NULL, &why);
	api_close(&api);
	if (doc == NULL)
		return cli_fail(&why, NULL);
	json_t *arr = json_object_get(doc, "attempts");
	size_t n = json_array_size(arr);
	if (json) {
		cli_print_json(doc);
		return n ? EX_OK : EX_NOINPUT;
	}
	cli_escape_doc(doc);
	if (n == 0)
		printf("No intake attempt matches %s.\nIf the sender's server reported success, the message "
		       "went elsewhere: check the address and the domain's MX record.\n", str(doc, "query"));
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar('\n');
		print_attempt(json_array_get(arr, i));
	}
	cli_print_next(doc, "why");
	json_decref(doc);
	return n ? EX_OK : EX_NOINPUT;
}

int
cli_why(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false, reasons = false;
	const char *query = NULL;
	long limit = 20;
	long long before = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--reasons")) {
			reasons = true;
		} else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
			char *end;
			limit = strtol(argv[++i], &end, 10);
			if (*end || limit < 1 || limit > 10000) {
				fputs("postroom: --limit takes a number from 1 to 10000\n", stderr);
				return EX_USAGE;
			}
		} else if (!strcmp(argv[i], "--before") && i + 1 < argc) {
			char *end;
			before = strtoll(argv[++i], &end, 10);
			if (*end || before < 1) {
				fputs("postroom: --before takes an id (the \"next\" of the previous page)\n", stderr);
				return EX_USAGE;
			}
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
		return print_reasons(json);
	if (query == NULL) {
		usage(stderr);
		return EX_USAGE;
	}
	return explain(ctx, query, json, (size_t)limit, before);
}
