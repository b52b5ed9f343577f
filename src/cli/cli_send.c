/* cli_send.c - `postroom send`: write from a project.
 *
 * The command reads the files (body, HTML, attachments) with a bound each
 * and hands everything to api_send, which checks the rest (membership,
 * addresses, sizes) exactly as the HTTP API will.  It prints the stored
 * message's id (and with --json the whole result); a message over 10 MB is
 * sent with a warning on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/arena.h"
#include "core/limits.h"
#include "outbound/outbound.h"

static const char usage_text[] =
	"usage: postroom send --project ID --as USER --to ADDR... [--cc ADDR...] [--bcc ADDR...]\n"
	"                     --subject TEXT (--body-file FILE | --body-stdin) [--html-file FILE]\n"
	"                     [--attach FILE...] [--in-reply-to MESSAGE-ID | --reply-to-message ID] [--json]\n"
	"  Send from a project as one of its members.  The message is stored in the project's\n"
	"  thread first; recipients at our own domains get it at once (internal_delivery), the\n"
	"  rest through the outbound queue (`postroom outbox`).  Prints the stored message's id.\n"
	"  --to/--cc/--bcc/--attach repeat, or take several values before the next option.\n";

struct send_args {
	const char *to[OUTBOUND_MAX_RCPTS + 1], *cc[OUTBOUND_MAX_RCPTS + 1], *bcc[OUTBOUND_MAX_RCPTS + 1];
	size_t nto, ncc, nbcc;
	const char *attach[OUTBOUND_MAX_ATTACHMENTS + 1];
	size_t nattach;
	const char *project, *user, *subject, *body_file, *html_file, *in_reply_to, *reply_to;
	bool body_stdin, json;
};

static int
fail_usage(const char *fmt, const char *arg)
{
	fputs("postroom: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(": see `postroom send --help`\n", stderr);
	return EX_USAGE;
}

/* Append v to a list of at most max; false when full. */
static bool
push(const char **list, size_t *n, size_t max, const char *v)
{
	if (*n >= max)
		return false;
	list[(*n)++] = v;
	return true;
}

static const struct option opts[] = {
	{"help", no_argument, NULL, 'h'}, {"project", required_argument, NULL, 'p'},
	{"as", required_argument, NULL, 'u'}, {"to", required_argument, NULL, 't'},
	{"cc", required_argument, NULL, 'c'}, {"bcc", required_argument, NULL, 'b'},
	{"subject", required_argument, NULL, 's'}, {"body-file", required_argument, NULL, 'f'},
	{"body-stdin", no_argument, NULL, 'i'}, {"html-file", required_argument, NULL, 'H'},
	{"attach", required_argument, NULL, 'a'}, {"in-reply-to", required_argument, NULL, 'r'},
	{"reply-to-message", required_argument, NULL, 'R'}, {"json", no_argument, NULL, 'j'},
	{NULL, 0, NULL, 0},
};

/* A list option's value, and the words after it up to the next option
 * ("--to a@x b@y --cc ..."). */
static int
take_list(int c, const char *first, int argc, char **argv, struct send_args *s)
{
	const char **list = c == 't' ? s->to : c == 'c' ? s->cc : c == 'b' ? s->bcc : s->attach;
	size_t *n = c == 't' ? &s->nto : c == 'c' ? &s->ncc : c == 'b' ? &s->nbcc : &s->nattach;
	size_t max = c == 'a' ? OUTBOUND_MAX_ATTACHMENTS : OUTBOUND_MAX_RCPTS;
	if (!push(list, n, max, first))
		return fail_usage("too many values for %s", c == 'a' ? "--attach" : "a recipient list");
	while (optind < argc && argv[optind][0] != '-')
		if (!push(list, n, max, argv[optind++]))
			return fail_usage("too many values for %s", c == 'a' ? "--attach" : "a recipient list");
	return 0;
}

static int
parse(int argc, char **argv, struct send_args *s)
{
	memset(s, 0, sizeof(*s));
	optind = 0;
	opterr = 0;
	int c, rc;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage_text, stdout); return -1;
		case 'p': s->project = optarg; break;
		case 'u': s->user = optarg; break;
		case 's': s->subject = optarg; break;
		case 'f': s->body_file = optarg; break;
		case 'i': s->body_stdin = true; break;
		case 'H': s->html_file = optarg; break;
		case 'r': s->in_reply_to = optarg; break;
		case 'R': s->reply_to = optarg; break;
		case 'j': s->json = true; break;
		case 't': case 'c': case 'b': case 'a':
			if ((rc = take_list(c, optarg, argc, argv, s)) != 0)
				return rc;
			break;
		default: return fail_usage("option '%s' is not valid here", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail_usage("unexpected argument '%s'", argv[optind]);
	if (!s->project || !s->user || !s->subject)
		return fail_usage("%s", "--project, --as and --subject are needed");
	if ((s->body_file != NULL) == s->body_stdin)
		return fail_usage("%s", "give the body with exactly one of --body-file FILE or --body-stdin");
	return 0;
}

/* The whole of f, at most max bytes, NUL-terminated, in a; NULL with why. */
static uint8_t *
read_all(struct arena *a, FILE *f, const char *name, size_t max, size_t *len, struct pr_why *why)
{
	size_t cap = 64 * 1024, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (n == cap && (cap *= 2, buf = realloc(buf, cap)) == NULL)
			pr_panic("out of memory reading %s", name);
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n > max) {
			pr_why_set(why, PR_E_TOO_BIG, "%s is larger than %zu bytes", name, max);
			break;
		}
		if (r == 0)
			break;
	}
	uint8_t *out = NULL;
	if (ferror(f))
		pr_why_set(why, PR_E_IO, "cannot read %s: %s", name, strerror(errno));
	else if (n <= max && (out = arena_alloc(a, n + 1)) != NULL)
		memcpy(out, buf, n), out[n] = '\0', *len = n;
	free(buf);
	return out;
}

static uint8_t *
read_file(struct arena *a, const char *path, size_t *len, struct pr_why *why)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		pr_why_set(why, PR_E_NOT_FOUND, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	uint8_t *p = read_all(a, f, path, PR_MAX_MESSAGE_SIZE, len, why);
	fclose(f);
	return p;
}

/* Text files must not hide a NUL (the rest would silently vanish). */
static const char *
read_text(struct arena *a, const char *path, FILE *in, struct pr_why *why)
{
	size_t len = 0;
	uint8_t *p = in ? read_all(a, in, "stdin", PR_MAX_MESSAGE_SIZE, &len, why) : read_file(a, path, &len, why);
	if (p != NULL && memchr(p, '\0', len) != NULL) {
		pr_why_set(why, PR_E_INVALID, "%s holds a NUL byte: the body must be text", in ? "stdin" : path);
		return NULL;
	}
	return (const char *)p;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Everything the files hold, into req; 0 or -1 with why. */
static int
load(struct arena *a, const struct send_args *s, struct outbound_send_req *req, struct pr_why *why)
{
	req->text = read_text(a, s->body_file, s->body_stdin ? stdin : NULL, why);
	if (req->text == NULL || (s->html_file && (req->html = read_text(a, s->html_file, NULL, why)) == NULL))
		return -1;
	struct outbound_attachment *at = arena_alloc(a, (s->nattach + 1) * sizeof(*at));
	for (size_t i = 0; i < s->nattach; i++) {
		at[i].filename = base_name(s->attach[i]);
		if ((at[i].data = read_file(a, s->attach[i], &at[i].len, why)) == NULL)
			return -1;
	}
	req->attach = at;
	req->nattach = s->nattach;
	return 0;
}

static int
reply_to_id(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end || errno || v <= 0)
		return fail_usage("--reply-to-message '%s' is not a message id (see `postroom messages list`)", s);
	*out = v;
	return 0;
}

int
cli_send(struct cli_ctx *ctx, int argc, char **argv)
{
	struct send_args s;
	int rc = parse(argc, argv, &s);
	if (rc != 0)
		return rc < 0 ? EX_OK : rc;
	struct outbound_send_req req = {.project = s.project, .user = s.user, .to = s.to, .nto = s.nto,
	                                .cc = s.cc, .ncc = s.ncc, .bcc = s.bcc, .nbcc = s.nbcc,
	                                .subject = s.subject, .in_reply_to = s.in_reply_to};
	if (s.reply_to && (rc = reply_to_id(s.reply_to, &req.reply_to_message)) != 0)
		return rc;
	struct arena *a = arena_new();
	struct pr_why why;
	pr_why_clear(&why);
	struct pr_api *api = NULL;
	json_t *doc = NULL;
	if (load(a, &s, &req, &why) < 0)
		rc = cli_fail(&why, "check the file names and sizes");
	else if ((api = cli_api(ctx, &rc)) != NULL && (doc = api_send(api, &req, &why)) == NULL)
		rc = cli_fail(&why, NULL);
	if (doc != NULL) {
		if (json_is_string(json_object_get(doc, "warning")))
			fprintf(stderr, "postroom: warning: %s\n", cli_str(doc, "warning"));
		if (s.json)
			rc = cli_print_json(doc);
		else
			printf("%lld\n", cli_int(doc, "id")), json_decref(doc);
	}
	api_close(&api);
	arena_free(&a);
	return rc;
}
