/* cli_settings.c - `postroom settings show|set`.
 *
 * show prints every setting with its value, where it came from (default,
 * store, file) and when a running serve applies a change; secrets print as ******** and never in clear,
 * in text or JSON.  set validates with the same table the daemon loads
 * (type, range, cross-field checks) and refuses a bad value with the
 * reason; a value the config file also sets is stored but the file still
 * wins on this node, which set says, as it says when a running serve will
 * apply the value (now, new connections, or after a restart). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_util.h"
#include "core/limits.h"
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
	json_array_foreach(json_object_get(doc, "settings"), i, s) {
		const char *when = cli_str(s, "applies");
		when = !strcmp(when, "restart") ? "after restart" : !strcmp(when, "connection") ? "new connections" : "now";
		printf("%-26s = %-30s (%s; applies %s)\n", cli_str(s, "name"), cli_str(s, "value"),
		       cli_str(s, "source"), when);
	}
}

static int
settings_show(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	return cli_list(ctx, self, argc, argv, get_settings, print_settings);
}

static int
call_set(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	const char *value = o->data;
	if (api_settings_set(api, o->pos[0], value, why) < 0)
		return -1;
	enum setting_key k = (enum setting_key)settings_key(o->pos[0]);
	if (settings_source(api_settings(api), k) == SRC_FILE)
		fprintf(stderr, "postroom: note: the config file also sets %s; its value (%s) wins on this node\n",
		        o->pos[0], settings_display(api_settings(api), k));
	return 0;
}

/* When the value of d reaches a running serve. */
static void
print_applies(const struct setting_def *d)
{
	if (d->applies == APPLIES_RESTART)
		printf("%s applies after a restart of `postroom serve`; a running serve keeps the old value\n",
		       d->name);
	else
		printf("a running `postroom serve` applies it within a second%s\n",
		       d->applies == APPLIES_CONNECTION ? ", to new connections" : "");
}

static int
settings_set_cmd(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "from-file", argc, argv, &o, 1, 2);
	int k = settings_key(o.pos[0]);
	if (k < 0)
		return cli_usage(self, "unknown setting '%s' (see `postroom settings show`)", o.pos[0]);
	if ((o.npos == 2) == (o.from_file != NULL))
		return cli_usage(self, "give the value, '-' to read it from stdin, or --from-file FILE");
	const struct setting_def *d = settings_def((enum setting_key)k);
	static char buf[PR_SETTING_MAX + 2];
	const char *err = NULL, *src = o.from_file ? o.from_file : "stdin";
	int rc = 0;
	o.data = (void *)o.pos[1];
	if (o.from_file) {
		FILE *f = fopen(o.from_file, "r");
		rc = f ? cli_read_line(f, buf, sizeof(buf), &err) : -1;
		if (f == NULL)
			err = strerror(errno);
		else
			fclose(f);
		o.data = buf;
	} else if (strcmp(o.pos[1], "-") == 0) {
		rc = cli_read_secret(d->name, buf, sizeof(buf), &err);
		o.data = buf;
	}
	if (rc < 0) {
		fprintf(stderr, "postroom: cannot read the value of %s from %s: %s\n", d->name, src, err);
		return EX_DATAERR;
	}
	rc = cli_do(ctx, &o, call_set, "%s set to %s", d->name, d->secret ? "********" : (const char *)o.data);
	explicit_bzero(buf, sizeof(buf));
	if (rc == EX_OK)
		print_applies(d);
	return rc;
}

static const struct cli_sub subs[] = {
	{"show", settings_show, "settings show [--json]",
	 "Every setting with its value and source (default < store < config file); secrets hidden."},
	{"set", settings_set_cmd, "settings set KEY (VALUE | - | --from-file FILE)",
	 "Validate and store a setting; a running `serve` applies it within a second (restart-only "
	 "keys say so).  '-' reads the value from stdin (one line; typed without echo on a "
	 "terminal), --from-file from a file: secrets stay out of argv and shell history."},
	{NULL, NULL, NULL, NULL},
};

int
cli_settings(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "settings", subs, argc, argv);
}
