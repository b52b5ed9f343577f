/* cli_port.c - `postroom migrate [--status] [--json]`, `postroom export
 * FILE`, `postroom import FILE`: the schema, and moving an installation
 * between backends (api_export.c, api_import.c). */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"

static const struct cli_sub migrate_sub = {
	"migrate", NULL, "migrate [--status] [--json]",
	"bring the store's schema up to date (--status: only report it)"};
static const struct cli_sub export_sub = {
	"export", NULL, "export FILE [--json]", "write every row and message of the store into a new FILE"};
static const struct cli_sub import_sub = {
	"import", NULL, "import FILE [--json]", "load an export FILE into a new, empty store"};

static void
print_schema(json_t *doc, bool status)
{
	long long before = cli_int(doc, "before"), v = cli_int(doc, "version"), known = cli_int(doc, "known");
	if (!status && before < v)
		printf("applied schema migrations %lld to %lld\n", before + 1, v);
	printf("store %s at schema version %lld (this postroom knows %lld)\n", cli_str(doc, "backend"), v, known);
	if (v < known)
		printf("%lld migration(s) pending: `postroom migrate` applies them\n", known - v);
	else if (v > known)
		printf("the store is newer than this postroom: run the postroom that wrote it\n");
}

int
cli_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
	bool status = false, json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--status"))
			status = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: postroom %s\n  %s\n", migrate_sub.usage, migrate_sub.help);
			return EX_OK;
		} else
			return cli_usage(&migrate_sub, "unknown argument '%s'", argv[i]);
	}
	int rc = cli_store_dir(ctx);
	if (rc != EX_OK)
		return rc;
	struct pr_why why;
	pr_why_clear(&why);
	json_t *doc = api_schema(ctx->store_uri, !status, &why);
	if (doc == NULL)
		return cli_fail(&why, NULL);
	rc = cli_int(doc, "version") > cli_int(doc, "known") ? EX_CONFIG : EX_OK;
	if (json)
		cli_print_json(doc);
	else {
		print_schema(doc, status);
		json_decref(doc);
	}
	return rc;
}

static json_t *
get_export(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_export(api, o->pos[0], why);
}

static json_t *
get_import(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_import(api, o->pos[0], why);
}

static void
print_moved(json_t *doc)
{
	printf("%lld rows and %lld messages (from a %s store at schema version %lld)\n",
	       cli_int(doc, "rows"), cli_int(doc, "messages"), cli_str(doc, "backend"), cli_int(doc, "schema"));
}

int
cli_export(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(&export_sub, "json", argc, argv, &o, 1, 1);
	return cli_show(ctx, &o, get_export, print_moved);
}

int
cli_import(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(&import_sub, "json", argc, argv, &o, 1, 1);
	return cli_show(ctx, &o, get_import, print_moved);
}
