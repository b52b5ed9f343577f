/* cli_log.c - `postroom log`: every intake attempt, newest first, with
 * its verdict and the reason in plain words. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "store/store.h"

/* What get_log hands the api: the options, parsed. */
struct log_query {
	time_t since;           /* 0: from the start */
	size_t limit;
	int64_t before;
};

/* o->data: the struct log_query. */
static json_t *
get_log(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	const struct log_query *q = o->data;
	struct store_log_filter f = {.since = q->since, .verdict = o->verdict, .sender = o->sender,
	                             .project = o->project, .limit = q->limit, .before = q->before};
	return api_log_list(api, &f, why);
}

static void
print_log(json_t *doc)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "log"), i, e) {
		printf("%s #%lld %-8s %-18s <%s> -> ", cli_str(e, "at"), cli_int(e, "id"), cli_str(e, "verdict"),
		       cli_str(e, "reason"), cli_str(e, "mail_from"));
		cli_print_list(json_object_get(e, "rcpts"));
		printf(": %s\n", cli_str(e, "detail"));
	}
	cli_print_next(doc, "log");
}

static json_t *
prune_log(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	(void)o;
	return api_log_prune(api, time(NULL), why);
}

static void
print_prune(json_t *doc)
{
	if (cli_int(doc, "retention_days") == 0)
		printf("log_retention_days is 0: every intake log row is kept\n");
	else
		printf("deleted %lld intake log rows older than %lld days\n", cli_int(doc, "deleted"),
		       cli_int(doc, "retention_days"));
}

static const struct cli_sub prune_cmd = {
	"log prune", NULL, "log prune [--json]",
	"Delete intake log rows older than log_retention_days now (serve also does it hourly)."};

static const struct cli_sub log_cmd = {
	"log", NULL, "log [--json] [--since TIME] [--verdict accepted|rejected|deferred] [--sender ADDR] [--project ID]"
	" [--limit N] [--before ID]",
	"Intake attempts, newest first, 1000 a page (--limit); --before the \"next\" id of a page gives the "
	"following one.  TIME: 2024-05-01, 2024-05-01T10:00:00Z, or an age like 2h, 7d."};

int
cli_log(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opts o;
	if (argc >= 2 && strcmp(argv[1], "prune") == 0) {
		CLI_PARSE(&prune_cmd, "json", argc - 1, argv + 1, &o, 0, 0);
		return cli_show(ctx, &o, prune_log, print_prune);
	}
	CLI_PARSE(&log_cmd, "json,since,verdict,sender,project,limit,before", argc, argv, &o, 0, 0);
	struct log_query q = {0};
	struct pr_why why;
	int rc = cli_page(&log_cmd, &o, 1000, &q.limit, &q.before);
	if (rc != 0)
		return rc;
	if (o.since != NULL && api_parse_time(o.since, time(NULL), &q.since, &why) < 0)
		return cli_fail(&why, NULL);
	if (o.verdict != NULL && strcmp(o.verdict, "accepted") && strcmp(o.verdict, "rejected") &&
	    strcmp(o.verdict, "deferred")) {
		pr_why_set(&why, PR_E_INVALID, "verdict '%s' is not accepted, rejected or deferred", o.verdict);
		return cli_fail(&why, NULL);
	}
	o.data = &q;
	return cli_show(ctx, &o, get_log, print_log);
}
