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
#include "core/text.h"
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

/* The callbacks' message id: pos[0], already checked by parse_id. */
static int64_t
msg_id(const struct cli_opts *o)
{
	return strtoll(o->pos[0], NULL, 10);
}

/* o->data: the filter's paging (limit, before), already checked. */
static json_t *
get_list(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	struct store_message_filter f = *(const struct store_message_filter *)o->data;
	f.project = o->project;
	f.user = o->user;
	f.unassigned = o->unassigned;
	f.fallback = o->fallback;
	f.stakeholder = o->stakeholder;
	f.search = o->search;
	return api_message_list(api, &f, why);
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		const char *subject = cli_str(m, "subject");
		printf("%-6lld %s  %-28s %-40.*s  [", cli_int(m, "id"), cli_str(m, "received_at"),
		       cli_str(m, "from"), (int)text_fit(subject, 40), subject);
		cli_print_list(json_object_get(m, "placements"));
		printf("]%s\n", json_is_true(json_object_get(m, "unreadable")) ? " (unreadable)" : "");
	}
	cli_print_next(doc, "messages list");
}

static int
messages_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "project,user,unassigned,fallback,stakeholder,search,json,limit,before", argc, argv, &o, 0, 0);
	if ((o.project != NULL) + (o.user != NULL) + o.unassigned + o.fallback > 1)
		return cli_usage(self, "use only one of --project, --user, --unassigned, --fallback");
	struct store_message_filter page = {0};
	int rc = cli_page(self, &o, 100, &page.limit, &page.before);
	if (rc != 0)
		return rc;
	o.data = &page;
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
		printf("  %lld. %s  %s  %lld bytes\n", cli_int(p, "index"),
		       json_is_string(json_object_get(p, "filename")) ? cli_str(p, "filename") : "(no name)",
		       cli_str(p, "content_type"), cli_int(p, "size"));
}

static void
print_message(json_t *m)
{
	printf("Message %lld (thread %lld)\n", cli_int(m, "id"), cli_int(m, "thread_id"));
	json_t *out = json_object_get(m, "outbound");
	if (json_is_object(out))
		printf("Sent: %s from project %s by %s\n", cli_str(m, "received_at"), cli_str(out, "project"),
		       cli_str(out, "sent_by"));
	else
		printf("Received: %s by %s from %s (HELO %s)\n", cli_str(m, "received_at"), cli_str(m, "source"),
		       cli_str(m, "peer_ip"), cli_str(m, "helo"));
	printf("Envelope: %s -> ", cli_str(m, "mail_from"));
	cli_print_list(json_object_get(m, "rcpts"));
	printf("\nFrom: %s\nSubject: %s\nDate: %s\nMessage-ID: %s\nPlaced in: ", cli_str(m, "from"),
	       cli_str(m, "subject"), cli_str(m, "date"), cli_str(m, "message_id"));
	cli_print_list(json_object_get(m, "placements"));
	printf("\nSize: %lld bytes%s\n", cli_int(m, "size"),
	       json_is_true(json_object_get(m, "unreadable")) ? " (unreadable: see --raw)" : "");
	if (json_is_object(out))
		printf("Sent by us: %s (outbound %lld, %lld attempt(s))%s%s\n", cli_str(out, "state"),
		       cli_int(out, "id"), cli_int(out, "attempts"), *cli_str(out, "last_reply") ? ": " : "",
		       cli_str(out, "last_reply"));
	json_t *parsed = json_object_get(m, "parsed");
	print_parts(parsed);
	const char *text = cli_str(parsed, "text_body");
	printf("\n%s%s", text, *text && text[strlen(text) - 1] != '\n' ? "\n" : "");
}

static json_t *
get_message(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_message_get(api, msg_id(o), why);
}

static int
call_write_raw(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_message_write_raw(api, msg_id(o), stdout, why);
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
	if (!o.raw)
		return cli_show(ctx, &o, get_message, print_message);
	rc = cli_run(ctx, &o, call_write_raw);
	/* The bytes are the whole answer: a short write must not exit 0. */
	return rc == EX_OK && fflush(stdout) != 0 ? EX_IOERR : rc;
}

static int
call_move(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_message_move(api, msg_id(o), o->project, why);
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
	return cli_do(ctx, &o, call_move, "message %lld moved to project %s", id, o.project);
}

/* o->data: the FILE the attachment goes to; pos[1]: its checked number. */
static int
call_attachment(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_message_attachment(api, msg_id(o), (int)strtoll(o->pos[1], NULL, 10), o->data, why);
}

static int
write_attachment(struct cli_ctx *ctx, struct cli_opts *o)
{
	FILE *f = fopen(o->output, "wb");
	if (f == NULL) {
		fprintf(stderr, "postroom: cannot create %s: %s: choose another -o FILE\n", o->output,
		        strerror(errno));
		return EX_CANTCREAT;
	}
	o->data = f;
	int rc = cli_run(ctx, o, call_attachment);
	if (fclose(f) != 0 && rc == EX_OK)
		rc = EX_IOERR;
	if (rc != EX_OK)
		remove(o->output);
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
	return rc != 0 ? rc : write_attachment(ctx, &o);
}

static const struct cli_sub subs[] = {
	{"list", messages_list, "messages list [--project ID | --user NAME | --unassigned | --fallback] [--stakeholder NAME]"
	 " [--search TEXT] [--json] [--limit N] [--before ID]",
	 "Messages, newest first, 100 a page (--limit; --before the \"next\" id of a page gives the following one), "
	 "optionally of one project, user mailbox, Unassigned or Fallback; --search: only those whose subject, "
	 "From/To/Cc addresses or text hold every word (word* for a prefix)."},
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
