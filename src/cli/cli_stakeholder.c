/* cli_stakeholder.c - `postroom stakeholder add|list`: people outside the
 * organisation whose replies are accepted into a project's threads. */
#include <stdio.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static int
call_add(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_stakeholder_add(api, o->pos[0], o->email, (size_t)o->nemail, why);
}

static int
stakeholder_add(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "email", argc, argv, &o, 1, 1);
	if (o.nemail == 0)
		return cli_usage(self, "a stakeholder needs at least one --email ADDR");
	return cli_do(ctx, &o, call_add, "stakeholder %s added", o.pos[0]);
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(doc, "stakeholders"), i, k) {
		printf("%-24s ", cli_str(k, "name"));
		cli_print_list(json_object_get(k, "emails"));
		printf("\n");
	}
}

static int
stakeholder_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_stakeholder_list, print_list);
}

static const struct cli_sub subs[] = {
	{"add", stakeholder_add, "stakeholder add NAME --email ADDR [--email ADDR...]",
	 "Add an outside person (client, consultant) with their addresses."},
	{"list", stakeholder_list, "stakeholder list [--json]", "List stakeholders."},
	{NULL, NULL, NULL, NULL},
};

int
cli_stakeholder(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "stakeholder", subs, argc, argv);
}
