/* cli_settings.c - `postroom settings show|set`.
 *
 * show prints every setting with its value and where it came from
 * (default, store, file); secrets print as ******** and never in clear,
 * in text or JSON.  set validates with the same table the daemon loads
 * (type, range, cross-field checks) and refuses a bad value with the
 * reason; a value the config file also sets is stored but the file still
 * wins on this node, which set says. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/settings.h"

static json_t *
get_settings(struct pr_api *api, struct pr_why *why)
{
	return api_settings_json(api_settings(api));
}

static void
print_settings(json_t *doc)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "settings"), i, s)
		printf("%-26s = %-30s (%s)\n", cli_str(s, "name"), cli_str(s, "value"), cli_str(s, "source"));
}

static int
settings_show(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, get_settings, print_settings);
}

static int
call_set(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	if (api_settings_set(api, o->pos[0], o->pos[1], why) < 0)
		return -1;
	enum setting_key k = (enum setting_key)settings_key(o->pos[0]);
	if (settings_source(api_settings(api), k) == SRC_FILE)
		fprintf(stderr, "postroom: note: the config file also sets %s; its value (%s) wins on this node\n",
		        o->pos[0], settings_display(api_settings(api), k));
	return 0;
}

static int
settings_set_cmd(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 2, 2);
	int k = settings_key(o.pos[0]);
	if (k < 0)
		return cli_usage(self, "unknown setting '%s' (see `postroom settings show`)", o.pos[0]);
	const struct setting_def *d = settings_def((enum setting_key)k);
	int rc = cli_do(ctx, &o, call_set, "%s set to %s", o.pos[0], d->secret ? "********" : o.pos[1]);
	if (rc == EX_OK && strcmp(o.pos[0], "smtp_listen") == 0)
		printf("restart `postroom serve` for a new listen address to take effect\n");
	return rc;
}

static const struct cli_sub subs[] = {
	{"show", settings_show, "settings show [--json]",
	 "Every setting with its value and source (default < store < config file); secrets hidden."},
	{"set", settings_set_cmd, "settings set KEY VALUE",
	 "Validate and store a setting; `serve` picks it up on SIGHUP."},
	{NULL, NULL, NULL, NULL},
};

int
cli_settings(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "settings", subs, argc, argv);
}
