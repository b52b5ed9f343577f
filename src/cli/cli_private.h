/* cli_private.h - what the command files of src/cli share.
 *
 * cli.c parses the global options, builds the settings snapshot (defaults,
 * then values stored with `settings set`, then the config file) and calls
 * the command's function with the remaining arguments (argv[0] is the
 * command word).  Commands return sysexits(3) codes and print errors to
 * stderr as "postroom: <what went wrong>: <what to do>".
 */
#ifndef PR_CLI_PRIVATE_H
#define PR_CLI_PRIVATE_H

#include <stdbool.h>

struct settings;

struct cli_ctx {
	const char *config_path;     /* NULL if none */
	const char *store_uri;       /* "sqlite:./var/postroom.db" by default */
	struct settings *settings;   /* merged snapshot, owned by cli.c */
};

/* One function per top-level command; each handles its own --help. */
int cli_serve(struct cli_ctx *ctx, int argc, char **argv);     /* cli_serve.c */
/* Create the default store's directory (./var, 0700) when the default
 * store is used; 0, or an exit code after printing why. */
int cli_store_dir(const struct cli_ctx *ctx);
int cli_collect(struct cli_ctx *ctx, int argc, char **argv);   /* cli_collect.c */
int cli_check_pop(struct cli_ctx *ctx, int argc, char **argv); /* cli_collect.c */
int cli_check_smtp(struct cli_ctx *ctx, int argc, char **argv); /* cli_check_smtp.c */
int cli_check_domain(struct cli_ctx *ctx, int argc, char **argv); /* cli_check_domain.c */
int cli_why(struct cli_ctx *ctx, int argc, char **argv);       /* cli_why.c */
int cli_http(struct cli_ctx *ctx, int argc, char **argv);      /* cli_http.c */
int cli_migrate(struct cli_ctx *ctx, int argc, char **argv);   /* cli_port.c */
int cli_export(struct cli_ctx *ctx, int argc, char **argv);    /* cli_port.c */
int cli_import(struct cli_ctx *ctx, int argc, char **argv);    /* cli_port.c */

#endif
