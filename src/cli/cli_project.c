/* cli_project.c - `postroom project add|list|grant|revoke|stakeholder`. */
#include <stdio.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static int
call_add(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_project_add(api, o->pos[0], o->name, why);
}

static int
project_add(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "name", argc, argv, &o, 1, 1);
	if (o.name == NULL)
		return cli_usage(self, "a project needs --name \"...\"");
	return cli_do(ctx, &o, call_add, "project %s added", o.pos[0]);
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "projects"), i, p) {
		printf("%-10s %s\n    members: ", cli_str(p, "id"), cli_str(p, "name"));
		cli_print_list(json_object_get(p, "members"));
		printf("\n    stakeholders: ");
		cli_print_list(json_object_get(p, "stakeholders"));
		printf("\n");
	}
}

static int
project_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_project_list, print_list);
}

static int
call_grant(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_project_grant(api, o->pos[0], o->pos[1], why);
}

static int
call_revoke(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_project_revoke(api, o->pos[0], o->pos[1], why);
}

static int
call_stakeholder(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_project_stakeholder(api, o->pos[0], o->pos[1], why);
}

/* grant / revoke / stakeholder: ID and a name; fmt takes the name first. */
static int
project_pair(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv,
             cli_call_fn call, const char *fmt)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 2, 2);
	return cli_do(ctx, &o, call, fmt, o.pos[1], o.pos[0]);
}

static int
project_grant(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return project_pair(ctx, self, argc, argv, call_grant, "%s is now a member of project %s");
}

static int
project_revoke(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return project_pair(ctx, self, argc, argv, call_revoke, "%s is no longer a member of project %s");
}

static int
project_stakeholder(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return project_pair(ctx, self, argc, argv, call_stakeholder, "%s is now a stakeholder of project %s");
}

static const struct cli_sub subs[] = {
	{"add", project_add, "project add ID --name \"...\"",
	 "Add a project; mail to <project_prefix>ID@<domain> (a1234@firm.example) lands in it."},
	{"list", project_list, "project list [--json]", "List projects with members and stakeholders."},
	{"grant", project_grant, "project grant ID USER", "Let USER send into project ID."},
	{"revoke", project_revoke, "project revoke ID USER", "Stop USER sending into project ID."},
	{"stakeholder", project_stakeholder, "project stakeholder ID NAME",
	 "Attach stakeholder NAME (see `stakeholder add`) to project ID."},
	{NULL, NULL, NULL, NULL},
};

int
cli_project(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "project", subs, argc, argv);
}
