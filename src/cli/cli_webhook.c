/* cli_webhook.c - `postroom webhook add URL [--project P] [--secret S]`,
 * `webhook list`, `webhook remove ID`, `webhook deliveries [--failed]`,
 * `webhook retry DELIVERY-ID`: the URLs told of every placement. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_util.h"
#include "core/text.h"

#define SECRET_LINE 300

/* --secret - reads the secret from stdin (one line), so it stays out of
 * argv, ps and shell history.  0, or an exit code. */
static int
read_secret(const struct cli_sub *self, struct cli_opts *o, char *buf, size_t len)
{
	if (o->secret == NULL || strcmp(o->secret, "-") != 0)
		return 0;
	if (fgets(buf, (int)len, stdin) == NULL)
		return cli_usage(self, "--secret - reads the secret from stdin, which was empty");
	buf[strcspn(buf, "\r\n")] = '\0';
	o->secret = buf;
	return 0;
}

static json_t *
call_add(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_webhook_add(api, o->pos[0], o->project, o->secret, why);
}

static void
print_added(json_t *doc)
{
	const char *project = cli_str(doc, "project");
	printf("webhook %lld added: %s (%s)\n", cli_int(doc, "id"), cli_str(doc, "url"),
	       *project ? project : "every placement");
	printf("secret: %s\n", cli_str(doc, "secret"));
	printf("(shown once: keep it where the receiver checks X-Postroom-Signature)\n");
}

static int
webhook_add(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	char line[SECRET_LINE];
	CLI_PARSE(self, "project,secret,json", argc, argv, &o, 1, 1);
	int rc = read_secret(self, &o, line, sizeof(line));
	return rc != 0 ? rc : cli_show(ctx, &o, call_add, print_added);
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(doc, "webhooks"), i, w) {
		const char *project = cli_str(w, "project");
		printf("%-4lld %-10s %s  %s\n", cli_int(w, "id"), *project ? project : "(all)",
		       cli_str(w, "created_at"), cli_str(w, "url"));
	}
}

static int
webhook_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_webhook_list, print_list);
}

static int
call_remove(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_webhook_remove(api, *(const int64_t *)o->data, why);
}

static int
call_retry(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_webhook_retry(api, *(const int64_t *)o->data, why);
}

static int
webhook_change(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 1, 1);
	bool retry = !strcmp(self->name, "retry");
	int64_t id;
	int rc = cli_parse_id(retry ? "delivery" : "webhook", o.pos[0], &id,
	                      retry ? "see `postroom webhook deliveries`" : "see `postroom webhook list`");
	if (rc != 0)
		return rc;
	o.data = &id;
	return cli_do(ctx, &o, retry ? call_retry : call_remove,
	              retry ? "delivery %s queued again" : "webhook %s removed", o.pos[0]);
}

static void
print_delivery(json_t *d)
{
	printf("%-6lld %-10s %2lld  %s  message %-6lld %-8s #%-4lld %s", cli_int(d, "id"), cli_str(d, "state"),
	       cli_int(d, "attempts"), cli_str(d, "created_at"), cli_int(d, "message"),
	       *cli_str(d, "project") ? cli_str(d, "project") : "-", cli_int(d, "seq"), cli_str(d, "url"));
	if (*cli_str(d, "last_error"))
		printf("  %s", cli_str(d, "last_error"));
	else if (cli_int(d, "last_status"))
		printf("  HTTP %lld", cli_int(d, "last_status"));
	putchar('\n');
}

static void
print_deliveries(json_t *doc)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(doc, "deliveries"), i, d)
		print_delivery(d);
	cli_print_next(doc, "webhook deliveries");
}

static json_t *
get_deliveries(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	const int64_t *page = o->data;
	return api_webhook_deliveries(api, o->failed, (size_t)page[0], page[1], why);
}

static int
webhook_deliveries(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_paged(ctx, self, argc, argv, "failed,json,limit,before", 100, get_deliveries,
	                 print_deliveries);
}

static const struct cli_sub subs[] = {
	{"add", webhook_add, "webhook add URL [--project ID] [--secret S | --secret -] [--json]",
	 "POST every placement (of one project, with --project) to URL, signed with the secret "
	 "(made and shown once when not given; - reads it from stdin)."},
	{"list", webhook_list, "webhook list [--json]", "The registered webhooks (never their secrets)."},
	{"remove", webhook_change, "webhook remove ID", "Stop a webhook; its deliveries are removed too."},
	{"deliveries", webhook_deliveries, "webhook deliveries [--failed] [--json] [--limit N] [--before ID]",
	 "Deliveries newest first: state, attempts, the receiver's last answer."},
	{"retry", webhook_change, "webhook retry DELIVERY-ID",
	 "Try a failed delivery again now (with a fresh webhook_retry_for)."},
	{NULL, NULL, NULL, NULL},
};

int
cli_webhook(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "webhook", subs, argc, argv);
}
