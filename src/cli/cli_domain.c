/* cli_domain.c - `postroom domain add|list|remove`: the domains we accept
 * mail for.  Mail for any other domain is refused (never an open relay). */
#include <stdio.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static int
call_add(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_domain_add(api, o->pos[0], why);
}

static int
call_remove(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_domain_remove(api, o->pos[0], why);
}

static int
domain_add(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_do_named(ctx, self, argc, argv, call_add, "domain %s added: mail for it is accepted");
}

static int
domain_remove(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_do_named(ctx, self, argc, argv, call_remove, "domain %s removed: mail for it is refused");
}

static void
print_list(json_t *doc)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(doc, "domains"), i, d)
		printf("%s\n", json_string_value(d));
}

static int
domain_list(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, api_domain_list, print_list);
}

static const struct cli_sub subs[] = {
	{"add", domain_add, "domain add DOMAIN", "Accept mail for DOMAIN."},
	{"list", domain_list, "domain list [--json]", "List the domains we accept mail for."},
	{"remove", domain_remove, "domain remove DOMAIN", "Stop accepting mail for DOMAIN."},
	{NULL, NULL, NULL, NULL},
};

int
cli_domain(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "domain", subs, argc, argv);
}
