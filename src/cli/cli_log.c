/* cli_log.c - `postroom log`: every intake attempt, newest first, with
 * its verdict and the reason in plain words. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "store/store.h"

struct log_args {
	struct cli_opts o;
	time_t since;
};

static json_t *
get_log(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	const struct log_args *la = (const struct log_args *)o;
	struct store_log_filter f = {.since = la->since, .verdict = o->verdict, .sender = o->sender,
	                             .project = o->project, .limit = 1000};
	return api_log_list(api, &f, why);
}

static void
print_log(json_t *doc)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "log"), i, e) {
		const char *from = json_string_value(json_object_get(e, "mail_from"));
		printf("%s #%lld %-8s %-18s <%s> -> ", json_string_value(json_object_get(e, "at")),
		       (long long)json_integer_value(json_object_get(e, "id")),
		       json_string_value(json_object_get(e, "verdict")),
		       json_string_value(json_object_get(e, "reason")), from ? from : "");
		cli_print_list(json_object_get(e, "rcpts"));
		printf(": %s\n", json_string_value(json_object_get(e, "detail")));
	}
}

static const struct cli_sub log_cmd = {
	"log", NULL, "log [--json] [--since TIME] [--verdict accepted|rejected|deferred] [--sender ADDR] [--project ID]",
	"Intake attempts, newest first (up to 1000).  TIME: 2024-05-01, 2024-05-01T10:00:00Z, or an age like 2h, 7d."};

int
cli_log(struct cli_ctx *ctx, int argc, char **argv)
{
	struct log_args la;
	CLI_PARSE(&log_cmd, "json,since,verdict,sender,project", argc, argv, &la.o, 0, 0);
	la.since = 0;
	struct pr_why why;
	if (la.o.since != NULL && api_parse_time(la.o.since, time(NULL), &la.since, &why) < 0)
		return cli_fail(&why, NULL);
	if (la.o.verdict != NULL && strcmp(la.o.verdict, "accepted") && strcmp(la.o.verdict, "rejected") &&
	    strcmp(la.o.verdict, "deferred")) {
		pr_why_set(&why, PR_E_INVALID, "verdict '%s' is not accepted, rejected or deferred", la.o.verdict);
		return cli_fail(&why, NULL);
	}
	return cli_show(ctx, &la.o, get_log, print_log);
}
