/* cli_collect.c - `postroom collect --once` and `postroom check pop`.
 *
 * collect --once runs one POP3 round (pop3/) through a private intake
 * pipeline and reports what it did; `serve` runs the same round on its
 * interval.  check pop connects, logs in and counts, or says exactly what
 * failed (name, refused, TLS, login, IMAP port) and exits non-zero.
 * Neither prints the password or any token: output names the server and
 * the user only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "core/err.h"
#include "core/settings.h"
#include "intake/intake.h"
#include "pop3/pop3.h"

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

static int
fail_exit(const struct pr_why *why)
{
	return why->code == PR_E_CONFIG ? EX_CONFIG : why->code == PR_E_NOT_FOUND ? EX_NOHOST
	       : EX_UNAVAILABLE;
}

/* Parse "[--once] [--json]"; -1 on an unknown word. */
static int
flags(int argc, char **argv, bool *once, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once"))
			*once = true;
		else if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (strcmp(argv[i], "pop") != 0)
			return -1;
	}
	return 0;
}

static void
report_round(const struct pop3_round *r, bool json)
{
	if (json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "ok", r->why.code == PR_OK,
		    "listed", (json_int_t)r->listed, "collected", (json_int_t)r->collected,
		    "refused", (json_int_t)r->refused, "already_stored", (json_int_t)r->skipped_known,
		    "left", (json_int_t)r->failed, "deleted", (json_int_t)r->deleted);
		if (r->why.code != PR_OK) {
			json_object_set_new(j, "code", json_string(pr_err_name(r->why.code)));
			json_object_set_new(j, "error", json_string(pr_why_text(&r->why)));
		}
		print_json(j);
		return;
	}
	printf("collected %zu message%s: %zu listed, %zu refused (logged), %zu already stored, "
	       "%zu left in the mailbox, %zu deleted\n", r->collected, r->collected == 1 ? "" : "s",
	       r->listed, r->refused, r->skipped_known, r->failed, r->deleted);
}

int
cli_collect(struct cli_ctx *ctx, int argc, char **argv)
{
	bool once = false, json = false;
	if (flags(argc, argv, &once, &json) < 0 || !once) {
		fputs("usage: postroom collect --once [--json]\n"
		      "Collects every message from the system mailbox (pop_server) once:\n"
		      "stores each durably, then deletes it from the mailbox.\n", stderr);
		return EX_USAGE;
	}
	if (*settings_str(ctx->settings, SET_POP_SERVER) == '\0') {
		fputs("postroom: pop_server is not set: set it to ssl://host:995 or tcp://host:110\n", stderr);
		return EX_CONFIG;
	}
	pop3_global_init();
	/* The pipeline reads settings_current(): make it this snapshot. */
	settings_publish(settings_clone(ctx->settings));
	struct pr_why why;
	struct intake_options opt = {.store_uri = ctx->store_uri};
	struct intake *in = intake_new(&opt, &why);
	if (in == NULL) {
		fprintf(stderr, "postroom: cannot start the intake pipeline: %s: %s\n", pr_why_text(&why),
		        pr_err_info(why.code)->fix);
		return EX_TEMPFAIL;
	}
	struct pop3_round r;
	int rc = pop3_collect_once(in, ctx->store_uri, ctx->settings, &r);
	intake_free(&in);
	report_round(&r, json);
	if (rc < 0) {
		fprintf(stderr, "postroom: collection stopped: %s\n", pr_why_text(&r.why));
		return fail_exit(&r.why) == EX_UNAVAILABLE ? EX_TEMPFAIL : fail_exit(&r.why);
	}
	return EX_OK;
}

int
cli_check_pop(struct cli_ctx *ctx, int argc, char **argv)
{
	bool once = false, json = false;
	if (flags(argc, argv, &once, &json) < 0 || once) {
		fputs("usage: postroom check pop [--json]\n"
		      "Connects to pop_server, logs in and reports the number of messages.\n", stderr);
		return EX_USAGE;
	}
	const char *server = settings_str(ctx->settings, SET_POP_SERVER);
	const char *user = settings_str(ctx->settings, SET_POP_USERNAME);
	struct pr_why why;
	json_t *doc = api_check_pop(ctx->settings, &why);
	int rc = doc ? 0 : -1;
	if (json) {
		if (doc == NULL)
			doc = json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 0, "server", server, "user", user,
			                "code", pr_err_name(why.code), "error", pr_why_text(&why));
		print_json(json_incref(doc));
	} else if (doc) {
		long long n = json_integer_value(json_object_get(doc, "messages"));
		printf("pop: %s as %s: ok, %lld message%s in the mailbox\n", server, user, n,
		       n == 1 ? "" : "s");
	}
	json_decref(doc);
	if (rc < 0) {
		fprintf(stderr, "postroom: check pop: %s\n", pr_why_text(&why));
		return fail_exit(&why);
	}
	return EX_OK;
}
