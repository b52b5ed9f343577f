/* cli_token.c - `postroom token create --name N --scope admin|read`,
 * `token list`, `token revoke ID`: API tokens for the HTTP API.  The
 * token's text is printed by create only; the store keeps its hash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static json_t *
get_create(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_token_create(api, o->name, o->scope ? o->scope : "read", why);
}

static void
print_created(json_t *doc)
{
	printf("%s\n", cli_str(doc, "token"));
	fprintf(stderr, "token %s (%s) created: it is shown only now; keep it where the application "
	        "reads its secrets and send it as \"Authorization: Bearer TOKEN\"\n",
	        cli_str(doc, "name"), cli_str(doc, "scope"));
}

static int
token_create(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "name,scope,json", argc, argv, &o, 0, 0);
	if (o.name == NULL)
		return cli_usage(self, "token create needs --name");
	return cli_show(ctx, &o, get_create, print_created);
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(doc, "tokens"), i, t)
		printf("%-6lld %-24s %-6s %s\n", cli_int(t, "id"), cli_str(t, "name"), cli_str(t, "scope"),
		       cli_str(t, "created_at"));
}

static int
token_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_token_list, print_list);
}

static int
call_revoke(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_token_remove(api, *(const int64_t *)o->data, why);
}

static int
token_revoke(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 1, 1);
	char *end;
	errno = 0;
	long long id = strtoll(o.pos[0], &end, 10);
	if (end == o.pos[0] || *end || errno || id <= 0)
		return cli_usage(self, "token id '%s' is not a positive number", o.pos[0]);
	int64_t v = id;
	o.data = &v;
	return cli_do(ctx, &o, call_revoke, "token %lld revoked", id);
}

static const struct cli_sub subs[] = {
	{"create", token_create, "token create --name NAME [--scope admin|read] [--json]",
	 "Make an API token (read by default) and print it once."},
	{"list", token_list, "token list [--json]", "List API tokens (never their text)."},
	{"revoke", token_revoke, "token revoke ID", "Revoke a token at once."},
	{NULL, NULL, NULL, NULL},
};

int
cli_token(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "token", subs, argc, argv);
}
