/* cli.c - `postroom [--config FILE] [--store URI] COMMAND ...`.
 *
 * Parses the global options, builds the merged settings snapshot
 * (defaults < `settings set` values in the store < config file) into
 * struct cli_ctx, and dispatches through one command table.  Every
 * command handles its own --help; `--help` never needs a store, so it
 * works on a machine with nothing set up.
 *
 * Exit codes are sysexits(3): EX_USAGE bad usage, EX_DATAERR a refused
 * value, EX_NOINPUT not found, EX_TEMPFAIL store busy, EX_CONFIG bad
 * configuration, EX_IOERR store or disk failure.  Errors go to stderr as
 * "postroom: <what went wrong>: <what to do>".
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/private.h"
#include "core/settings.h"
#include "net/net.h"

#define CLI_DEFAULT_DIR "./var"
#define CLI_DEFAULT_STORE "sqlite:./var/postroom.db"

static int cli_check(struct cli_ctx *ctx, int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
	const char *help;
} commands[] = {
	{"serve", cli_serve, "run the daemon: SMTP intake (foreground; SIGHUP reloads, SIGTERM drains)"},
	{"collect", cli_collect, "collect mail from the POP3 system mailbox"},
	{"check", cli_check, "check pop | check smtp | check domain DOMAIN: test the mailbox, the relay or a sender domain's DNS"},
	{"why", cli_why, "why ADDRESS | MESSAGE-ID | LOG-ID: explain what happened to a message"},
	{"user", cli_user, "users and their addresses (add, list, remove)"},
	{"project", cli_project, "projects (add, list, grant, revoke, stakeholder)"},
	{"stakeholder", cli_stakeholder, "outside people (add, list)"},
	{"alias", cli_alias, "aliases that fan out to users (add, list, remove)"},
	{"domain", cli_domain, "domains we accept mail for (add, list, remove)"},
	{"settings", cli_settings, "settings (show, set)"},
	{"messages", cli_messages, "stored messages (list, show, move, attachment)"},
	{"log", cli_log, "the intake log: every attempt with its reason"},
	{"send", cli_send, "send from a project as a member (stored in its thread, then delivered)"},
	{"token", cli_token, "API tokens for the HTTP API (create, list, revoke)"},
	{"outbox", cli_outbox, "mail we send: queued, sent, failed (list, show, retry, cancel)"},
	{"webhook", cli_webhook, "URLs told of every placement (add, list, remove, deliveries, retry)"},
	{"migrate", cli_migrate, "migrate [--status]: bring the store's schema up to date, or report it"},
	{"export", cli_export, "export FILE: every row and message of the store into FILE (JSON lines)"},
	{"import", cli_import, "import FILE: load an export into a new, empty store (any backend)"},
	{"http", cli_http, "http routes: the HTTP API's routes as this binary serves them"},
	{NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: postroom [--config FILE] [--store sqlite:PATH | postgres://...] COMMAND ...\n\n"
	           "  --config FILE   settings file (key = value lines); wins over `settings set`\n"
	           "  --store URI     where state lives (default %s)\n\ncommands:\n", CLI_DEFAULT_STORE);
	for (const struct command *c = commands; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->help);
	fprintf(f, "\nRun `postroom COMMAND --help` for a command's options.\n");
}

static int
cli_check(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "pop"))
		return cli_check_pop(ctx, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "domain"))
		return cli_check_domain(ctx, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "smtp"))
		return cli_check_smtp(ctx, argc - 1, argv + 1);
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	fprintf(help ? stdout : stderr, "usage: postroom check pop\n"
	        "       postroom check smtp [--json]\n"
	        "       postroom check domain DOMAIN\n"
	        "  pop     log in to the POP3 system mailbox and report what would be collected\n"
	        "  smtp    connect to the relay (smtp_server), TLS, log in, report its size limit\n"
	        "  domain  check a sender domain's SPF, DKIM and DMARC records\n");
	return help ? EX_OK : EX_USAGE;
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]; NULL if it is not --opt. */
static const char *
global_value(int argc, char **argv, int *i, const char *opt, int *err)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "postroom: %s needs a value: see `postroom --help`\n", opt);
		*err = EX_USAGE;
		return NULL;
	}
	return argv[++*i];
}

/* Consume the global options; returns the index of the command word, or
 * -1 with *rc_r set (help printed, or a usage error). */
static int
parse_globals(int argc, char **argv, struct cli_ctx *ctx, int *rc_r)
{
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		int err = 0;
		const char *v;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			*rc_r = EX_OK;
			return -1;
		}
		if ((v = global_value(argc, argv, &i, "--config", &err)) != NULL)
			ctx->config_path = v;
		else if ((v = global_value(argc, argv, &i, "--store", &err)) != NULL)
			ctx->store_uri = v;
		else {
			if (!err)
				fprintf(stderr, "postroom: unknown option '%s': see `postroom --help`\n", argv[i]);
			*rc_r = EX_USAGE;
			return -1;
		}
	}
	if (i == argc) {
		fprintf(stderr, "postroom: a command is needed\n");
		usage(stderr);
		*rc_r = EX_USAGE;
		return -1;
	}
	return i;
}

static bool
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || (i == 1 && !strcmp(argv[i], "help")))
			return true;
	return argc == 1 && strcmp(argv[0], "serve") && strcmp(argv[0], "collect") && strcmp(argv[0], "log") &&
	       strcmp(argv[0], "outbox") && strcmp(argv[0], "migrate");
}

int
cli_store_dir(const struct cli_ctx *ctx)
{
	struct pr_why why;
	if (!strcmp(ctx->store_uri, CLI_DEFAULT_STORE) && private_dir(CLI_DEFAULT_DIR, &why) < 0) {
		fprintf(stderr, "postroom: %s: run postroom where it may write, or pass --store\n", pr_why_text(&why));
		return EX_CANTCREAT;
	}
	return EX_OK;
}

/* The merged settings for the command; prints the error on failure. */
static int
build_settings(struct cli_ctx *ctx)
{
	struct pr_why why;
	pr_why_clear(&why);
	int rc = cli_store_dir(ctx);
	if (rc != EX_OK)
		return rc;
	if (api_settings_load(ctx->store_uri, ctx->config_path, &ctx->settings, &why) < 0)
		return cli_fail(&why, NULL);
	return EX_OK;
}

/* Run as root with run_as_user in the config file, a command becomes that
 * user before it opens the store, so every file it creates belongs to the
 * user serve runs as (a root-owned store would lock serve out).  serve
 * itself binds its ports first (cli_serve.c).  0, or an exit code. */
static int
become_service_user(const struct cli_ctx *ctx)
{
	if (geteuid() != 0 || ctx->config_path == NULL)
		return EX_OK;
	struct settings *file = settings_new();
	struct pr_why why;
	int rc = EX_OK;
	/* A bad file is reported by build_settings with its line number. */
	if (settings_load_file(file, ctx->config_path, &why) == 0 && *settings_str(file, SET_RUN_AS_USER) &&
	    net_drop_privileges(settings_str(file, SET_RUN_AS_USER), &why) < 0)
		rc = cli_fail(&why, "fix run_as_user in the config file");
	settings_unref(&file);
	return rc;
}

int
cli_main(int argc, char **argv)
{
	struct cli_ctx ctx = {NULL, CLI_DEFAULT_STORE, NULL};
	int rc = EX_OK;
	/* The store, its WAL, the spool and attachments written with -o hold
	 * mail: nothing postroom creates is readable by other local users. */
	umask(077);
	int cmd = parse_globals(argc, argv, &ctx, &rc);
	if (cmd < 0)
		return rc;
	const struct command *c = commands;
	while (c->name && strcmp(c->name, argv[cmd]) != 0)
		c++;
	if (c->name == NULL) {
		fprintf(stderr, "postroom: unknown command '%s': see `postroom --help`\n", argv[cmd]);
		return EX_USAGE;
	}
	/* serve opens nothing before it has bound its ports and dropped root;
	 * `http routes` reads only the binary. */
	/* migrate opens the store only to migrate it (--status not at all). */
	if (wants_help(argc - cmd, argv + cmd) || !strcmp(c->name, "serve") || !strcmp(c->name, "http") ||
	    !strcmp(c->name, "migrate"))
		ctx.settings = settings_new();
	else if ((rc = become_service_user(&ctx)) != EX_OK || (rc = build_settings(&ctx)) != EX_OK)
		return rc;
	rc = c->fn(&ctx, argc - cmd, argv + cmd);
	settings_unref(&ctx.settings);
	return rc;
}
