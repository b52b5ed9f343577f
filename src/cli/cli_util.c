/* cli_util.c - see cli_util.h.  Option parsing is getopt_long (GNU
 * permutation, so options may follow positional arguments); every
 * sub-command names the options it accepts, so a misspelt or misplaced
 * option is refused rather than silently ignored. */
#include "cli/cli_util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"

int
cli_exit_code(enum pr_err e)
{
	switch (e) {
	case PR_OK: return EX_OK;
	case PR_E_INVALID: case PR_E_EXISTS: case PR_E_BAD_ADDRESS: case PR_E_TOO_LONG:
		return EX_DATAERR;
	case PR_E_NOT_FOUND: case PR_E_NO_PROJECT: return EX_NOINPUT;
	case PR_E_NOT_A_MEMBER: case PR_E_USER_INACTIVE: return EX_NOPERM;
	case PR_E_TOO_BIG: return EX_DATAERR;
	case PR_E_STORE_BUSY: return EX_TEMPFAIL;
	case PR_E_CONFIG: return EX_CONFIG;
	case PR_E_STORE_FAILED: case PR_E_IO: return EX_IOERR;
	default: return EX_SOFTWARE;
	}
}

int
cli_fail(const struct pr_why *why, const char *fix)
{
	const struct pr_err_info *info = pr_err_info(why->code);
	if (fix == NULL) {
		switch (why->code) {
		case PR_E_STORE_BUSY: fix = "the store is locked by another process; try again in a moment"; break;
		case PR_E_INVALID: fix = "correct the value and try again"; break;
		case PR_E_CONFIG: fix = "correct the configuration (see `postroom settings show`)"; break;
		default: fix = info->fix;
		}
	}
	fprintf(stderr, "postroom: %s: %s\n", pr_why_text(why), fix);
	return cli_exit_code(why->code);
}

int
cli_usage(const struct cli_sub *sub, const char *fmt, ...)
{
	va_list ap;
	fputs("postroom: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": usage: postroom %s (see --help)\n", sub->usage);
	return EX_USAGE;
}

static void
sub_help(const char *noun, const struct cli_sub *subs, FILE *f)
{
	fprintf(f, "usage: postroom [--config FILE] [--store URI] %s COMMAND ...\n\ncommands:\n", noun);
	for (const struct cli_sub *s = subs; s->name; s++)
		fprintf(f, "  postroom %s\n      %s\n", s->usage, s->help);
	fprintf(f, "\nRun `postroom %s COMMAND --help` for one command.\n", noun);
}

int
cli_dispatch(struct cli_ctx *ctx, const char *noun, const struct cli_sub *subs,
             int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "postroom: %s needs a command\n", noun);
		sub_help(noun, subs, stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		sub_help(noun, subs, stdout);
		return EX_OK;
	}
	for (const struct cli_sub *s = subs; s->name; s++)
		if (!strcmp(s->name, argv[1]))
			return s->fn(ctx, s, argc - 1, argv + 1);
	fprintf(stderr, "postroom: unknown command '%s %s': run `postroom %s --help`\n", noun, argv[1], noun);
	return EX_USAGE;
}

/* Options every noun may use; cli_parse refuses those not in `allowed`. */
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"email", required_argument, NULL, 'e'},
	{"display", required_argument, NULL, 'd'},
	{"name", required_argument, NULL, 'n'},
	{"project", required_argument, NULL, 'p'},
	{"user", required_argument, NULL, 'u'},
	{"since", required_argument, NULL, 's'},
	{"verdict", required_argument, NULL, 'v'},
	{"sender", required_argument, NULL, 'S'},
	{"stakeholder", required_argument, NULL, 'K'},
	{"search", required_argument, NULL, 'Q'},
	{"json", no_argument, NULL, 'j'},
	{"raw", no_argument, NULL, 'r'},
	{"unassigned", no_argument, NULL, 'U'},
	{"fallback", no_argument, NULL, 'F'},
	{"output", required_argument, NULL, 'o'},
	{"from-file", required_argument, NULL, 'f'},
	{"limit", required_argument, NULL, 'L'},
	{"before", required_argument, NULL, 'B'},
	{"failed", no_argument, NULL, 'X'},
	{"scope", required_argument, NULL, 'c'},
	{"secret", required_argument, NULL, 'W'},
	{"password-stdin", no_argument, NULL, 'P'},
	{NULL, 0, NULL, 0},
};

static bool
allowed_opt(const char *allowed, int c)
{
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == c) {
			const char *p = strstr(allowed, o->name);
			size_t n = strlen(o->name);
			return p && (p == allowed || p[-1] == ',') && (p[n] == ',' || p[n] == '\0');
		}
	return false;
}

static int
store_opt(struct cli_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'e': if (o->nemail == CLI_MAX_ARGS) return -1; o->email[o->nemail++] = arg; break;
	case 'd': o->display = arg; break;
	case 'n': o->name = arg; break;
	case 'p': o->project = arg; break;
	case 'u': o->user = arg; break;
	case 's': o->since = arg; break;
	case 'v': o->verdict = arg; break;
	case 'S': o->sender = arg; break;
	case 'K': o->stakeholder = arg; break;
	case 'Q': o->search = arg; break;
	case 'o': o->output = arg; break;
	case 'f': o->from_file = arg; break;
	case 'L': o->limit = arg; break;
	case 'B': o->before = arg; break;
	case 'j': o->json = true; break;
	case 'r': o->raw = true; break;
	case 'U': o->unassigned = true; break;
	case 'F': o->fallback = true; break;
	case 'X': o->failed = true; break;
	case 'c': o->scope = arg; break;
	case 'W': o->secret = arg; break;
	case 'P': o->password_stdin = true; break;
	default: return -1;
	}
	return 0;
}

int
cli_parse(const struct cli_sub *sub, const char *allowed, int argc, char **argv,
          struct cli_opts *o, int min_pos, int max_pos)
{
	memset(o, 0, sizeof(*o));
	optind = 0;          /* GNU: full re-initialisation for each parse */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+ho:", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) {                       /* a positional argument */
			if (o->npos == CLI_MAX_ARGS)
				return cli_usage(sub, "too many arguments");
			o->pos[o->npos++] = argv[optind++];
			continue;
		}
		if (c == 'h') {
			printf("usage: postroom %s\n\n%s\n", sub->usage, sub->help);
			return -1;
		}
		if (c == '?' || c == ':' || !allowed_opt(allowed, c) || store_opt(o, c, optarg) < 0)
			return cli_usage(sub, "option '%s' is not valid here", argv[optind - 1]);
	}
	if (o->npos < min_pos)
		return cli_usage(sub, "missing arguments");
	if (max_pos >= 0 && o->npos > max_pos)
		return cli_usage(sub, "unexpected argument '%s'", o->pos[max_pos]);
	return 0;
}

struct pr_api *
cli_api(struct cli_ctx *ctx, int *rc_r)
{
	struct pr_why why;
	pr_why_clear(&why);
	struct pr_api *api = api_open(ctx->store_uri, ctx->config_path, &why);
	if (api == NULL)
		*rc_r = cli_fail(&why, NULL);
	return api;
}

int
cli_print_json(json_t *doc)
{
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? EX_OK : EX_IOERR;
	fputc('\n', stdout);
	json_decref(doc);
	return rc;
}

void
cli_print_list(json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		printf("%s%s", i ? ", " : "", json_string_value(v));
}

const char *
cli_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

long long
cli_int(json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

int
cli_run(struct cli_ctx *ctx, const struct cli_opts *o, cli_call_fn call)
{
	int rc;
	struct pr_why why;
	pr_why_clear(&why);
	struct pr_api *api = cli_api(ctx, &rc);
	if (api == NULL)
		return rc;
	rc = call(api, o, &why) < 0 ? cli_fail(&why, NULL) : EX_OK;
	api_close(&api);
	return rc;
}

int
cli_do(struct cli_ctx *ctx, const struct cli_opts *o, cli_call_fn call, const char *done_fmt, ...)
{
	int rc = cli_run(ctx, o, call);
	if (rc == EX_OK) {
		va_list ap;
		va_start(ap, done_fmt);
		vprintf(done_fmt, ap);
		va_end(ap);
		putchar('\n');
	}
	return rc;
}

int
cli_do_named(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv,
             cli_call_fn call, const char *done_fmt)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 1, 1);
	return cli_do(ctx, &o, call, done_fmt, o.pos[0]);
}

int
cli_show(struct cli_ctx *ctx, const struct cli_opts *o, cli_get_fn get, void (*print)(json_t *doc))
{
	int rc;
	struct pr_why why;
	pr_why_clear(&why);
	struct pr_api *api = cli_api(ctx, &rc);
	if (api == NULL)
		return rc;
	json_t *doc = get(api, o, &why);
	if (doc == NULL) {
		rc = cli_fail(&why, NULL);
	} else if (o->json) {
		rc = cli_print_json(doc);
	} else {
		cli_escape_doc(doc);
		print(doc);
		json_decref(doc);
		rc = EX_OK;
	}
	api_close(&api);
	return rc;
}

/* cli_list's list() travels to get_listed in o->data; wrapped in a struct
 * because C has no portable cast between function and data pointers. */
struct list_call {
	cli_list_fn list;
};

static json_t *
get_listed(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	const struct list_call *c = o->data;
	return c->list(api, why);
}

int
cli_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv, cli_list_fn list,
         void (*print)(json_t *doc))
{
	struct cli_opts o;
	CLI_PARSE(self, "json", argc, argv, &o, 0, 0);
	struct list_call c = {list};
	o.data = &c;
	return cli_show(ctx, &o, get_listed, print);
}
