/* cli_http.c - `postroom http routes [--json]`: the route table the binary
 * serves (method, path, who may call it, summary), read from the tables
 * `serve` dispatches with (src/http/http_routes.c), so it cannot differ
 * from what runs.  scripts/openapi and the OpenAPI test compare the
 * document in docs/ against it.  Needs no store.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "http/http.h"

static const char usage_text[] =
	"usage: postroom http routes [--json]\n"
	"  The HTTP API's routes as this binary serves them: method, path, access\n"
	"  (public, read, write, admin) and summary.  docs/openapi.json describes each.\n";

static const char *
str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

static int
print_routes(bool json)
{
	json_t *doc = http_routes_json();
	if (json)
		return cli_print_json(doc);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(doc, "routes"), i, r)
		printf("%-7s %-44s %-7s %s\n", str(r, "method"), str(r, "path"), str(r, "access"), str(r, "summary"));
	json_decref(doc);
	return EX_OK;
}

int
cli_http(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	bool json = false, routes = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "help")) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "routes") && !routes)
			routes = true;
		else {
			fprintf(stderr, "postroom: unexpected argument '%s': see `postroom http --help`\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (!routes) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	return print_routes(json);
}
