/* cli_user.c - `postroom user add|list|remove`: the people of the
 * organisation and the addresses they send from. */
#include <stdio.h>
#include <string.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static int
call_add(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_user_add(api, o->pos[0], o->display, o->email, (size_t)o->nemail, why);
}

static int
user_add(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "email,display", argc, argv, &o, 1, 1);
	if (o.nemail == 0)
		return cli_usage(self, "a user needs at least one --email ADDR");
	return cli_do(ctx, &o, call_add, "user %s added", o.pos[0]);
}

static int
call_remove(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_user_remove(api, o->pos[0], why);
}

static int
user_remove(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_do_named(ctx, self, argc, argv, call_remove, "user %s removed");
}

static int
call_disable(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_user_set_active(api, o->pos[0], false, why);
}

static int
call_enable(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_user_set_active(api, o->pos[0], true, why);
}

/* `user disable NAME` / `user enable NAME`: the sub-command's name says which. */
static int
user_activity(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	if (strcmp(self->name, "enable") == 0)
		return cli_do_named(ctx, self, argc, argv, call_enable, "user %s enabled");
	return cli_do_named(ctx, self, argc, argv, call_disable, "user %s disabled");
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(doc, "users"), i, u) {
		printf("%-16s %-24s ", cli_str(u, "name"), cli_str(u, "display"));
		cli_print_list(json_object_get(u, "emails"));
		printf("%s\n", json_is_true(json_object_get(u, "active")) ? "" : "  (inactive)");
	}
}

static int
user_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_user_list, print_list);
}

static const struct cli_sub subs[] = {
	{"add", user_add, "user add NAME --email ADDR [--email ADDR...] [--display \"Full Name\"]",
	 "Add a user with the addresses they send from (NAME: letters, digits, '.', '_', '-')."},
	{"list", user_list, "user list [--json]", "List users and their addresses."},
	{"remove", user_remove, "user remove NAME",
	 "Remove a user (their memberships and alias entries go too; stored mail stays)."},
	{"disable", user_activity, "user disable NAME",
	 "Stop a user from sending into postroom (kept, with addresses and memberships)."},
	{"enable", user_activity, "user enable NAME", "Let a disabled user send again."},
	{NULL, NULL, NULL, NULL},
};

int
cli_user(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "user", subs, argc, argv);
}
