/* cli_check_smtp.c - `postroom check smtp [--json]`: the relay as the
 * sender will meet it (api_check_smtp): TLS, login and the size limit it
 * announces, or exactly what failed, with an exit code per kind of
 * failure.  The password is never printed; the server's words are
 * escaped before they reach the terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/settings.h"
#include "core/text.h"

static int
exit_code(enum pr_err e)
{
	switch (e) {
	case PR_E_CONFIG: case PR_E_RELAY_PORT25: return EX_CONFIG;
	case PR_E_NOT_FOUND: return EX_NOHOST;
	case PR_E_RELAY_AUTH: return EX_NOPERM;
	case PR_E_TLS_FAILED: case PR_E_TLS_CERT: return EX_PROTOCOL;
	case PR_E_DNS_TEMP: return EX_TEMPFAIL;
	default: return EX_UNAVAILABLE;
	}
}

static void
print_text(json_t *doc)
{
	cli_escape_doc(doc);
	json_t *size = json_object_get(doc, "size");
	char limit[64];
	if (json_is_integer(size) && json_integer_value(size) > 0)
		snprintf(limit, sizeof(limit), "messages up to %lld bytes",
		         (long long)json_integer_value(size));
	else
		snprintf(limit, sizeof(limit), "%s", json_is_integer(size) ? "no size limit announced (SIZE 0)"
		                                                           : "no SIZE announced");
	printf("smtp: %s: ok, %s, %s, %s\n", cli_str(doc, "server"),
	       json_is_true(json_object_get(doc, "tls")) ? "TLS" : "no TLS (smtp_tls = none)",
	       json_is_true(json_object_get(doc, "authenticated")) ? "logged in" : "no login",
	       limit);
	printf("greeting: %s\n", cli_str(doc, "greeting"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "ehlo"), i, v)
		printf("ehlo: %s\n", json_string_value(v));
	json_decref(doc);
}

static void
print_sent(json_t *doc)
{
	cli_escape_doc(doc);
	printf("smtp: %s: %s\n", cli_str(doc, "server"), cli_str(doc, "status"));
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "recipients"), i, r)
		printf("  %s: %s: %s\n", cli_str(r, "address"), cli_str(r, "status"), cli_str(r, "reply"));
	json_decref(doc);
}

/* An address from the command line: printable ASCII with an @, no blanks
 * or brackets (it goes into MAIL FROM / RCPT TO as it is). */
static bool
plain_address(const char *a)
{
	size_t len = strlen(a);
	if (len < 3 || len > PR_MAX_PATH || strchr(a, '@') == NULL)
		return false;
	for (const char *p = a; *p; p++)
		if (*p <= ' ' || *p >= 127 || strchr("<>()[]\\,;:\"", *p))
			return false;
	return true;
}

struct args {
	bool json;
	const char *from, *file;
	const char *to[PR_MAX_RECIPIENTS];
	size_t n;
};

static int
parse(int argc, char **argv, struct args *a)
{
	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;
		if (!strcmp(argv[i], "--json"))
			a->json = true;
		else if (!strcmp(argv[i], "--to") && more && a->n < PR_MAX_RECIPIENTS)
			a->to[a->n++] = argv[++i];
		else if (!strcmp(argv[i], "--from") && more)
			a->from = argv[++i];
		else if (!strcmp(argv[i], "--message") && more)
			a->file = argv[++i];
		else
			return -1;
	}
	if ((a->from || a->file) && a->n == 0)
		return -1;
	for (size_t i = 0; i < a->n; i++)
		if (!plain_address(a->to[i]))
			return -1;
	return a->from && !plain_address(a->from) ? -1 : 0;
}

static int
usage(int argc, char **argv)
{
	bool help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	fprintf(help ? stdout : stderr,
	        "usage: postroom check smtp [--json] [--to ADDR... [--from ADDR] [--message FILE]]\n"
	        "Connects to smtp_server, negotiates TLS (smtp_tls), logs in (smtp_auth) and\n"
	        "reports the size limit the relay announces.  No mail is sent unless --to is\n"
	        "given: then a test message (or FILE, sent byte for byte) goes to each ADDR\n"
	        "now, outside the queue, by relay or direct, and each answer is printed.\n");
	return help ? EX_OK : EX_USAGE;
}

static int
fail(const struct pr_why *why, bool json, const char *server)
{
	if (json)
		cli_print_json(json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "server", server, "code",
		                         pr_err_name(why->code), "error", pr_why_text(why)));
	struct arena *a = arena_new();
	const char *text = pr_why_text(why);
	fprintf(stderr, "postroom: check smtp: %s: %s\n", text_escape(a, text, strlen(text), 0),
	        pr_err_info(why->code)->fix);
	arena_free(&a);
	return exit_code(why->code);
}

static int
send_test(struct cli_ctx *ctx, const struct args *a)
{
	int fd = -1;
	if (a->file && (fd = open(a->file, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "postroom: check smtp: cannot open %s: %s\n", a->file, strerror(errno));
		return EX_NOINPUT;
	}
	char from[PR_MAX_PATH + 1];
	snprintf(from, sizeof(from), "%s", a->from ? a->from : "");
	if (!a->from)
		snprintf(from, sizeof(from), "postmaster@%s", settings_str(ctx->settings, SET_HOSTNAME));
	struct pr_why why;
	pr_why_clear(&why);
	json_t *doc = api_send_test(ctx->settings, from, a->to, a->n, fd, &why);
	if (fd >= 0)
		close(fd);
	if (doc == NULL)
		return fail(&why, a->json, settings_str(ctx->settings, SET_SMTP_SERVER));
	const char *st = cli_str(doc, "status");
	int rc = !strcmp(st, "sent") ? EX_OK : !strcmp(st, "deferred") ? EX_TEMPFAIL : EX_UNAVAILABLE;
	if (a->json)
		cli_print_json(doc);
	else
		print_sent(doc);
	return rc;
}

int
cli_check_smtp(struct cli_ctx *ctx, int argc, char **argv)
{
	struct args a = {0};
	if (parse(argc, argv, &a) < 0)
		return usage(argc, argv);
	if (a.n > 0)
		return send_test(ctx, &a);
	struct pr_why why;
	pr_why_clear(&why);
	json_t *doc = api_check_smtp(ctx->settings, &why);
	if (doc)
		return a.json ? cli_print_json(doc) : (print_text(doc), EX_OK);
	return fail(&why, a.json, settings_str(ctx->settings, SET_SMTP_SERVER));
}
