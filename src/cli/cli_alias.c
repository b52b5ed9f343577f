/* cli_alias.c - `postroom alias add|list|remove`: an address at one of our
 * domains that puts a copy into each listed user's mailbox. */
#include <stdio.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static int
call_add(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_alias_add(api, o->pos[0], o->pos + 1, (size_t)o->npos - 1, why);
}

static int
alias_add(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 2, -1);
	return cli_do(ctx, &o, call_add, "alias %s added", o.pos[0]);
}

static int
call_remove(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_alias_remove(api, o->pos[0], why);
}

static int
alias_remove(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_do_named(ctx, self, argc, argv, call_remove, "alias %s removed");
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *al;
	json_array_foreach(json_object_get(doc, "aliases"), i, al) {
		printf("%-32s -> ", cli_str(al, "address"));
		cli_print_list(json_object_get(al, "users"));
		printf("\n");
	}
}

static int
alias_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_alias_list, print_list);
}

static const struct cli_sub subs[] = {
	{"add", alias_add, "alias add ADDR USER [USER...]",
	 "Mail to ADDR (at one of our domains) goes to each USER's mailbox."},
	{"list", alias_list, "alias list [--json]", "List aliases and their users."},
	{"remove", alias_remove, "alias remove ADDR", "Remove an alias."},
	{NULL, NULL, NULL, NULL},
};

int
cli_alias(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "alias", subs, argc, argv);
}
