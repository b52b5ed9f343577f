/* settings.h - the one table of settings, shared by the config file loader,
 * `settings set` and every module that reads a setting (Postfix main.cf).
 *
 * A struct settings is a snapshot: built, validated, then published with
 * settings_publish() and never changed again.  Readers take a reference
 * with settings_current() and drop it with settings_unref(), so SIGHUP can
 * swap in a new snapshot while sessions keep the one they started with.
 *
 * Precedence: built-in default < value stored with `settings set` < value
 * in the config file (node-local override).  settings_source() tells which.
 */
#ifndef PR_SETTINGS_H
#define PR_SETTINGS_H

#include <stdbool.h>

#include "core/err.h"

enum setting_type { SET_INT, SET_SIZE, SET_BOOL, SET_STRING, SET_ENUM };
enum setting_source { SRC_DEFAULT, SRC_STORE, SRC_FILE };

struct setting_def {
	const char *name;
	enum setting_type type;
	const char *def;
	long long min, max;          /* SET_INT / SET_SIZE */
	const char *choices;         /* SET_ENUM: "a|b|c" */
	bool secret;                 /* never printed, logged or sent as JSON */
	/* Extra check beyond type/range; 0 ok, -1 with why set. */
	int (*validate)(const char *value, struct pr_why *why);
	const char *help;
};

struct settings;

/* The table, NULL-terminated by name. */
const struct setting_def *settings_table(void);
const struct setting_def *settings_def(const char *name);

struct settings *settings_new(void);                 /* all defaults */
struct settings *settings_clone(const struct settings *s);
void settings_unref(struct settings **s);

/* Validate and set.  0 ok; -1 with why (PR_E_CONFIG/PR_E_NOT_FOUND). */
int settings_set(struct settings *s, const char *name, const char *value,
                 enum setting_source src, struct pr_why *why);
/* Cross-field checks (fallback address vs catch-all domain, ...). */
int settings_check(const struct settings *s, struct pr_why *why);
/* Read "key = value" lines; '#' starts a comment only at line start. */
int settings_load_file(struct settings *s, const char *path, struct pr_why *why);

const char *settings_get(const struct settings *s, const char *name);
long long settings_int(const struct settings *s, const char *name);
bool settings_bool(const struct settings *s, const char *name);
enum setting_source settings_source(const struct settings *s, const char *name);
/* "value", or "********" for a set secret, "" for an unset one. */
const char *settings_display(const struct settings *s, const char *name);

/* Process-wide current snapshot (the only global mutable state). */
void settings_publish(struct settings *s);           /* takes ownership */
struct settings *settings_current(void);             /* new reference */

/* Parse "20M", "512k", "1048576" into bytes; -1 on error. */
long long settings_parse_size(const char *v);

#endif
