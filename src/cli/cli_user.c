/* cli_user.c - `postroom user add|list|remove|disable|enable|passwd|admin`:
 * the people of the organisation, the addresses they send from, and how
 * they sign in to the web console. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

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
		printf("%s%s%s\n", json_is_true(json_object_get(u, "active")) ? "" : "  (inactive)",
		       json_is_true(json_object_get(u, "admin")) ? "  (admin)" : "",
		       json_is_true(json_object_get(u, "password_set")) ? "  (console password set)" : "");
	}
}

static int
call_passwd(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_user_set_password(api, o->pos[0], o->data, why);
}

/* The new password: one line of stdin with --password-stdin, else typed
 * twice at a terminal without echo.  0, or an exit code after the error. */
static int
read_password(const struct cli_sub *self, const struct cli_opts *o, char *pw, size_t size)
{
	static char again[API_PASSWORD_MAX + 2];
	const char *err = NULL;
	if (!o->password_stdin && !isatty(STDIN_FILENO))
		return cli_usage(self, "stdin is not a terminal: give --password-stdin to read the "
		                 "password from it (one line)");
	if (o->password_stdin) {
		if (cli_read_line(stdin, pw, size, &err) == 0)
			return 0;
	} else if (cli_read_secret("New password", pw, size, &err) == 0 &&
	           cli_read_secret("Again", again, sizeof(again), &err) == 0) {
		int same = strcmp(pw, again) == 0;
		explicit_bzero(again, sizeof(again));
		if (same)
			return 0;
		err = "the two passwords differ";
	}
	fprintf(stderr, "postroom: cannot read the new password: %s; nothing was changed\n", err);
	return EX_DATAERR;
}

static int
user_passwd(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	static char pw[API_PASSWORD_MAX + 2];
	CLI_PARSE(self, "password-stdin", argc, argv, &o, 1, 1);
	int rc = read_password(self, &o, pw, sizeof(pw));
	if (rc == 0) {
		o.data = pw;
		rc = cli_do(ctx, &o, call_passwd, "password of %s set; their console sessions were ended",
		            o.pos[0]);
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

static int
call_admin(struct pr_api *api, const struct cli_opts *o, struct pr_why *why)
{
	return api_user_set_admin(api, o->pos[0], strcmp(o->pos[1], "on") == 0, why);
}

static int
user_admin(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv)
{
	struct cli_opts o;
	CLI_PARSE(self, "", argc, argv, &o, 2, 2);
	if (strcmp(o.pos[1], "on") != 0 && strcmp(o.pos[1], "off") != 0)
		return cli_usage(self, "say on or off, not '%s'", o.pos[1]);
	return cli_do(ctx, &o, call_admin, "%s is %s an administrator", o.pos[0],
	              strcmp(o.pos[1], "on") == 0 ? "now" : "no longer");
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
	 "Stop a user from sending into postroom or signing in to the console (kept, with addresses and memberships; their console sessions end)."},
	{"enable", user_activity, "user enable NAME", "Let a disabled user send (and sign in) again."},
	{"passwd", user_passwd, "user passwd NAME [--password-stdin]",
	 "Set the password NAME signs in to the web console with (at least 10 characters; typed twice "
	 "without echo, or one line of stdin with --password-stdin); ends their console sessions."},
	{"admin", user_admin, "user admin NAME on|off",
	 "Make NAME an administrator of the web console (on), or an ordinary member (off)."},
	{NULL, NULL, NULL, NULL},
};

int
cli_user(struct cli_ctx *ctx, int argc, char **argv)
{
	return cli_dispatch(ctx, "user", subs, argc, argv);
}
