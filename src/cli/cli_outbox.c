/* cli_outbox.c - `postroom outbox [--failed] [--json]`, `outbox show ID`,
 * `outbox retry ID`, `outbox cancel ID`: the outbound queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/text.h"

static int
parse_id(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v <= 0) {
		struct pr_why why;
		pr_why_set(&why, PR_E_INVALID, "outbound id '%s' is not a positive number", s);
		return cli_fail(&why, "see `postroom outbox` for ids");
	}
	*out = v;
	return 0;
}

static void
print_row(json_t *o)
{
	const char *subject = cli_str(o, "subject");
	printf("%-6lld %-9s %2lld  %s  %-30s %-36.*s", cli_int(o, "id"), cli_str(o, "state"),
	       cli_int(o, "attempts"), cli_str(o, "created_at"), cli_str(o, "sender"),
	       (int)text_fit(subject, 36), subject);
	if (*cli_str(o, "last_reply"))
		printf("  %s", cli_str(o, "last_reply"));
	putchar('\n');
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "outbox"), i, o)
		print_row(o);
	cli_print_next(doc, "outbox");
}

static json_t *
get_list(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	const int64_t *page = o->data;
	return api_outbox_list(api, o->failed, (size_t)page[0], page[1], NULL, why);
}

static int
outbox_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_paged(ctx, self, argc, argv, "failed,json,limit,before", 100, get_list, print_list);
}

static void
print_one(json_t *o)
{
	printf("Outbound %lld: message %lld, %s after %lld attempt(s)\n", cli_int(o, "id"),
	       cli_int(o, "message"), cli_str(o, "state"), cli_int(o, "attempts"));
	printf("Message-ID: <%s>\nSender: %s\nProject: %s (sent by %s)\nSubject: %s\n", cli_str(o, "message_id"),
	       cli_str(o, "sender"), cli_str(o, "project"), cli_str(o, "sent_by"), cli_str(o, "subject"));
	printf("Created: %s, expires: %s\n", cli_str(o, "created_at"), cli_str(o, "expires_at"));
	if (*cli_str(o, "next_attempt_at"))
		printf("Next attempt: %s\n", cli_str(o, "next_attempt_at"));
	if (*cli_str(o, "last_reply"))
		printf("Last answer: %s\n", cli_str(o, "last_reply"));
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(o, "recipients"), i, r)
		printf("  %-4s %-40s %-9s %s\n", cli_str(r, "kind"), cli_str(r, "address"), cli_str(r, "state"),
		       cli_str(r, "reply"));
}

static json_t *
get_one(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_outbox_get(api, *(const int64_t *)o->data, why);
}

static int
outbox_show(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "json", argc, argv, &o, 1, 1);
	int64_t id;
	int rc = parse_id(o.pos[0], &id);
	if (rc != 0)
		return rc;
	o.data = &id;
	return cli_show(ctx, &o, get_one, print_one);
}

static int
call_retry(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_outbox_retry(api, *(const int64_t *)o->data, why);
}

static int
call_cancel(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_outbox_cancel(api, *(const int64_t *)o->data, why);
}

static int
outbox_change(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 1, 1);
	int64_t id;
	int rc = parse_id(o.pos[0], &id);
	if (rc != 0)
		return rc;
	o.data = &id;
	bool retry = !strcmp(self->name, "retry");
	return cli_do(ctx, &o, retry ? call_retry : call_cancel, retry ? "outbound %s queued again"
	              : "outbound %s cancelled", o.pos[0]);
}

static const struct cli_sub subs[] = {
	{"list", outbox_list, "outbox [list] [--failed] [--json] [--limit N] [--before ID]",
	 "Mail we send, newest first: state, attempts, the server's last answer."},
	{"show", outbox_show, "outbox show ID [--json]", "One outbound message with each recipient's state."},
	{"retry", outbox_change, "outbox retry ID",
	 "Try a failed, cancelled or waiting message again now (with a fresh smtp_retry_for)."},
	{"cancel", outbox_change, "outbox cancel ID", "Stop trying to deliver a queued message."},
	{NULL, NULL, NULL, NULL},
};

int
cli_outbox(struct cli_ctx *ctx, int argc, char **argv)
{
	/* `outbox` and `outbox --failed` list; anything else names a command. */
	if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")))
		return outbox_list(ctx, &subs[0], argc, argv);
	return cli_dispatch(ctx, "outbox", subs, argc, argv);
}
