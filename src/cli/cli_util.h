/* cli_util.h - helpers the noun files (cli_user.c, cli_project.c, ...)
 * share: sub-command dispatch, --help, error printing with sysexits codes,
 * opening the API, printing JSON.
 */
#ifndef PR_CLI_UTIL_H
#define PR_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct cli_ctx;
struct pr_api;

struct cli_sub {
	const char *name;
	int (*fn)(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv);
	const char *usage;      /* "user add NAME --email ADDR [...]" */
	const char *help;       /* one line */
};

/* argv[0] is the noun, argv[1] the sub-command. */
int cli_dispatch(struct cli_ctx *ctx, const char *noun, const struct cli_sub *subs,
                 int argc, char **argv);

/* Parsed options of one sub-command: positional arguments, repeatable
 * --email, and the flags/values the nouns use.  Unknown options are a
 * usage error. */
#define CLI_MAX_ARGS 64
struct cli_opts {
	const char *pos[CLI_MAX_ARGS];
	int npos;
	const char *email[CLI_MAX_ARGS];
	int nemail;
	const char *display, *name, *project, *user, *since, *verdict, *sender, *output, *stakeholder;
	const char *from_file;
	const char *scope;              /* token create --scope */
	const char *secret;             /* webhook add --secret */
	const char *search;             /* messages list --search */
	const char *limit, *before;     /* paging: checked by cli_page */
	bool json, raw, unassigned, fallback, failed;
	bool password_stdin;            /* user passwd --password-stdin */
	void *data;     /* what a command hands its callback beyond the options (NULL) */
};
/* allowed: the long option names this sub-command accepts, comma
 * separated ("email,display"); --help is always accepted.  Between min_pos
 * and max_pos (-1: any) positional arguments.  Returns 0 when parsed, -1
 * after printing --help, or a usage exit code after printing the error. */
int cli_parse(const struct cli_sub *sub, const char *allowed, int argc, char **argv,
              struct cli_opts *o, int min_pos, int max_pos);
/* Parse or return from the calling command with the right exit code. */
#define CLI_PARSE(sub, allowed, argc, argv, o, min_pos, max_pos) do { \
	int rc_ = cli_parse((sub), (allowed), (argc), (argv), (o), (min_pos), (max_pos)); \
	if (rc_ != 0) \
		return rc_ < 0 ? 0 : rc_; \
} while (0)

/* Print "postroom: <detail>: <fix>" and return the sysexits code for why. */
int cli_fail(const struct pr_why *why, const char *fix);
/* Usage error: "postroom: <msg>" plus the usage line; EX_USAGE. */
int cli_usage(const struct cli_sub *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(enum pr_err e);

/* Open the API over ctx's store and config; NULL after printing the error
 * (*rc_r holds the exit code). */
struct pr_api *cli_api(struct cli_ctx *ctx, int *rc_r);
/* Open the API, run call, close: EX_OK, or the error printed and its
 * exit code. */
typedef int (*cli_call_fn)(struct pr_api *api, const struct cli_opts *o, struct pr_why *why);
int cli_run(struct cli_ctx *ctx, const struct cli_opts *o, cli_call_fn call);
/* cli_run, and on success print done_fmt ("user %s added") and a newline. */
int cli_do(struct cli_ctx *ctx, const struct cli_opts *o, cli_call_fn call, const char *done_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A sub-command of exactly one name and no options (`domain remove D`):
 * parse, cli_do, with the name filled into done_fmt. */
int cli_do_named(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv,
                 cli_call_fn call, const char *done_fmt);
/* Open the API, fetch a document, print it as JSON or with print(). */
typedef json_t *(*cli_get_fn)(struct pr_api *api, const struct cli_opts *o, struct pr_why *why);
int cli_show(struct cli_ctx *ctx, const struct cli_opts *o, cli_get_fn get, void (*print)(json_t *doc));
/* A `NOUN list [--json]` sub-command: parse, then cli_show of list(). */
typedef json_t *(*cli_list_fn)(struct pr_api *api, struct pr_why *why);
int cli_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv, cli_list_fn list,
             void (*print)(json_t *doc));
/* --limit N (1..API_PAGE_MAX; absent: def) and --before ID of a paged
 * list: 0 with both set, or a usage exit code after printing the error. */
int cli_page(const struct cli_sub *sub, const struct cli_opts *o, size_t def, size_t *limit_r,
             int64_t *before_r);
/* A paged list sub-command (`outbox`, `webhook deliveries`): parse the
 * options in allowed (which should hold limit and before) without
 * positional arguments, check the page (def rows by default), and
 * cli_show get, whose o->data then points at {limit, before} (int64_t[2]). */
int cli_paged(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv,
              const char *allowed, size_t def, cli_get_fn get, void (*print)(json_t *doc));
/* A positive id (of a `what`, e.g. "delivery") in s: 0 with *out, or a
 * usage exit code after printing the error with fix. */
int cli_parse_id(const char *what, const char *s, int64_t *out, const char *fix);
/* After a page printed as text: how to get the next one, on stderr (so
 * stdout stays the list).  Nothing on the last page. */
void cli_print_next(json_t *doc, const char *cmd);
/* Text mode: every string in doc escaped for a terminal (core/text.h),
 * in place, so no byte from a peer, a header or a DNS record reaches the
 * terminal raw.  Bodies ("text_body", ...) keep their line breaks. */
void cli_escape_doc(json_t *doc);
/* Print a JSON document (compact keys order kept, indent 2) on stdout. */
int cli_print_json(json_t *doc);
/* A JSON array of strings as "a, b, c" (static-free: written to stdout). */
void cli_print_list(json_t *arr);
/* obj[key] as text ("" if absent or not a string) or as a number (0). */
const char *cli_str(json_t *obj, const char *key);
long long cli_int(json_t *obj, const char *key);

/* Secrets kept out of argv (cli_secret.c).  read_line: one line of f, its
 * newline stripped (NUL, CR, a second line or more than size-1 bytes
 * refused).  read_secret: from stdin; on a terminal after printing
 * "prompt: " to stderr, typed without echo.  0, or -1 with *err set. */
int cli_read_line(FILE *f, char *out, size_t size, const char **err);
int cli_read_secret(const char *prompt, char *out, size_t size, const char **err);

/* The noun commands (one file each); argv[0] is the noun. */
int cli_user(struct cli_ctx *ctx, int argc, char **argv);
int cli_project(struct cli_ctx *ctx, int argc, char **argv);
int cli_stakeholder(struct cli_ctx *ctx, int argc, char **argv);
int cli_alias(struct cli_ctx *ctx, int argc, char **argv);
int cli_domain(struct cli_ctx *ctx, int argc, char **argv);
int cli_settings(struct cli_ctx *ctx, int argc, char **argv);
int cli_messages(struct cli_ctx *ctx, int argc, char **argv);
int cli_log(struct cli_ctx *ctx, int argc, char **argv);
int cli_send(struct cli_ctx *ctx, int argc, char **argv);      /* cli_send.c */
int cli_outbox(struct cli_ctx *ctx, int argc, char **argv);    /* cli_outbox.c */
int cli_token(struct cli_ctx *ctx, int argc, char **argv);     /* cli_token.c */
int cli_webhook(struct cli_ctx *ctx, int argc, char **argv);   /* cli_webhook.c */

#endif
