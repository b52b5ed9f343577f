/* cli_messages.c - `postroom messages list|show|move|attachment`.
 *
 * show --raw writes the stored bytes (our Received: header and the
 * message as it arrived) to stdout exactly, streamed from the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "store/store.h"

/* A message id or attachment number: a positive whole number. */
static int
parse_id(const char *what, const char *s, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (end == s || *end || errno || *out <= 0) {
		struct pr_why why;
		pr_why_set(&why, PR_E_INVALID, "%s '%s' is not a positive number", what, s);
		return cli_fail(&why, "see `postroom messages list` for message ids");
	}
	return 0;
}

static json_t *
get_list(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	struct store_message_filter f = {.project = o->project, .user = o->user,
	                                 .unassigned = o->unassigned, .fallback = o->fallback,
	                                 .stakeholder = o->stakeholder};
	return api_message_list(api, &f, why);
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		printf("%-6lld %s  %-28s %-40.40s  [", (long long)json_integer_value(json_object_get(m, "id")),
		       str(m, "received_at"), str(m, "from"), str(m, "subject"));
		cli_print_list(json_object_get(m, "placements"));
		printf("]%s\n", json_is_true(json_object_get(m, "unreadable")) ? " (unreadable)" : "");
	}
}

static int
messages_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "project,user,unassigned,fallback,stakeholder,json", argc, argv, &o, 0, 0);
	if ((o.project != NULL) + (o.user != NULL) + o.unassigned + o.fallback > 1)
		return cli_usage(self, "use only one of --project, --user, --unassigned, --fallback");
	return cli_show(ctx, &o, get_list, print_list);
}

static void
print_parts(json_t *parsed)
{
	size_t i;
	json_t *p;
	json_t *parts = json_object_get(parsed, "parts");
	if (json_array_size(parts) == 0)
		return;
	printf("Attachments:\n");
	json_array_foreach(parts, i, p)
		printf("  %lld. %s  %s  %lld bytes\n", (long long)json_integer_value(json_object_get(p, "index")),
		       json_is_string(json_object_get(p, "filename")) ? str(p, "filename") : "(no name)",
		       str(p, "content_type"), (long long)json_integer_value(json_object_get(p, "size")));
}

static void
print_message(json_t *m)
{
	printf("Message %lld (thread %lld)\n", (long long)json_integer_value(json_object_get(m, "id")),
	       (long long)json_integer_value(json_object_get(m, "thread_id")));
	printf("Received: %s by %s from %s (HELO %s)\n", str(m, "received_at"), str(m, "source"),
	       str(m, "peer_ip"), str(m, "helo"));
	printf("Envelope: %s -> ", str(m, "mail_from"));
	cli_print_list(json_object_get(m, "rcpts"));
	printf("\nFrom: %s\nSubject: %s\nDate: %s\nMessage-ID: %s\nPlaced in: ", str(m, "from"),
	       str(m, "subject"), str(m, "date"), str(m, "message_id"));
	cli_print_list(json_object_get(m, "placements"));
	printf("\nSize: %lld bytes%s\n", (long long)json_integer_value(json_object_get(m, "size")),
	       json_is_true(json_object_get(m, "unreadable")) ? " (unreadable: see --raw)" : "");
	json_t *parsed = json_object_get(m, "parsed");
	print_parts(parsed);
	const char *text = str(parsed, "text_body");
	printf("\n%s%s", text, *text && text[strlen(text) - 1] != '\n' ? "\n" : "");
}

static int
show_raw(struct cli_ctx *ctx, long long id)
{
	int rc;
	struct pr_why why;
	pr_why_clear(&why);
	struct pr_api *api = cli_api(ctx, &rc);
	if (api == NULL)
		return rc;
	rc = api_message_write_raw(api, id, stdout, &why) < 0 ? cli_fail(&why, NULL) : EX_OK;
	if (rc == EX_OK && fflush(stdout) != 0)
		rc = EX_IOERR;
	api_close(&api);
	return rc;
}

static int
show_json(struct cli_ctx *ctx, long long id, bool json)
{
	int rc;
	struct pr_why why;
	pr_why_clear(&why);
	struct pr_api *api = cli_api(ctx, &rc);
	if (api == NULL)
		return rc;
	json_t *m = api_message_get(api, id, &why);
	if (m == NULL) {
		rc = cli_fail(&why, NULL);
	} else if (json) {
		rc = cli_print_json(m);
	} else {
		print_message(m);
		json_decref(m);
		rc = EX_OK;
	}
	api_close(&api);
	return rc;
}

static int
messages_show(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	long long id;
	CLI_PARSE(self, "raw,json", argc, argv, &o, 1, 1);
	if (o.raw && o.json)
		return cli_usage(self, "use --raw or --json, not both");
	int rc = parse_id("message id", o.pos[0], &id);
	if (rc != 0)
		return rc;
	return o.raw ? show_raw(ctx, id) : show_json(ctx, id, o.json);
}

static int
call_move(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_message_move(api, strtoll(o->pos[0], NULL, 10), o->project, why);
}

static int
messages_move(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	long long id;
	CLI_PARSE(self, "project", argc, argv, &o, 1, 1);
	if (o.project == NULL)
		return cli_usage(self, "say where to: --project ID");
	int rc = parse_id("message id", o.pos[0], &id);
	if (rc != 0)
		return rc;
	char done[256];
	snprintf(done, sizeof(done), "message %lld moved to project %s", id, o.project);
	return cli_do(ctx, &o, call_move, done);
}

static int
write_attachment(struct cli_ctx *ctx, long long id, long long n, const char *path)
{
	int rc;
	struct pr_why why;
	pr_why_clear(&why);
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "postroom: cannot create %s: %s: choose another -o FILE\n", path, strerror(errno));
		return EX_CANTCREAT;
	}
	struct pr_api *api = cli_api(ctx, &rc);
	if (api != NULL) {
		rc = api_message_attachment(api, id, (int)n, f, &why) < 0 ? cli_fail(&why, NULL) : EX_OK;
		api_close(&api);
	}
	if (fclose(f) != 0 && rc == EX_OK)
		rc = EX_IOERR;
	if (rc != EX_OK)
		remove(path);
	return rc;
}

static int
messages_attachment(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	long long id, n;
	CLI_PARSE(self, "output", argc, argv, &o, 2, 2);
	if (o.output == NULL)
		return cli_usage(self, "say where to write it: -o FILE");
	int rc = parse_id("message id", o.pos[0], &id);
	if (rc == 0)
		rc = parse_id("attachment number", o.pos[1], &n);
	if (rc == 0 && n > 100000)
		return cli_usage(self, "attachment number %lld is too large", n);
	return rc != 0 ? rc : write_attachment(ctx, id, n, o.output);
}

static const struct cli_sub subs[] = {
	{"list", messages_list, "messages list [--project ID | --user NAME | --unassigned | --fallback] [--stakeholder NAME] [--json]",
	 "The newest 100 messages, optionally of one project, user mailbox, Unassigned or Fallback."},
	{"show", messages_show, "messages show ID [--raw | --json]",
	 "One message: envelope, headers, placements, attachments and text; --raw writes the stored bytes."},
	{"move", messages_move, "messages move ID --project ID", "Refile a message (from Unassigned) into a project."},
	{"attachment", messages_attachment, "messages attachment MSG N -o FILE",
	 "Write attachment N (see `messages show`) of message MSG to FILE, byte-exact."},
	{NULL, NULL, NULL, NULL},
};

int
cli_messages(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "messages", subs, argc, argv);
}
