/* api_settings.c - changing settings: `settings set` (one key), the HTTP
 * API's PATCH (several keys at once) and the checks that test settings
 * before they are saved.  See postroom.h.
 *
 * Several keys are judged together: each value against its row of the
 * table, then the cross-field checks (settings_check) on the snapshot with
 * every new value in it, and only then stored, in one store transaction
 * with one bump of the settings version.  So a serve polling the version
 * sees all of a change or none of it, and a change that is valid only as a
 * whole (catchall mailbox + its header) is not refused for the order its
 * keys came in.
 *
 * Judged against what is stored at that moment, not this handle's
 * snapshot (which a serve refreshes only every few seconds): the values
 * are read with the settings version, and stored only if the version is
 * still that one (store_settings_put's expect_version).  Otherwise
 * another change came between (another request, `settings set`, another
 * node) and the change is judged again against the values it left, so two
 * changes each valid alone never together store a combination the checks
 * refuse.
 *
 * A secret sent back as "********" (what api_settings_json shows for it)
 * means "keep the stored value": a form that shows the settings and saves
 * them all never overwrites a password with its mask.  Only the calls that
 * take a form (set_many, trial) read it so; `settings set KEY '********'`
 * stores what it is given.
 */
#include "api/postroom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "core/arena.h"
#include "core/settings.h"
#include "store/store.h"

#define SECRET_MASK "********"
/* How often a change is judged again because another came between. */
#define SETTINGS_RACE_ROUNDS 8

/* Is kv a secret given back as its mask (keep the stored value)? */
static bool
masked(const struct api_setting *kv)
{
	int k = settings_key(kv->key);
	return k >= 0 && settings_def((enum setting_key)k)->secret && strcmp(kv->value, SECRET_MASK) == 0;
}

/* base with the n values set, each validated, then the cross-field checks:
 * a new snapshot the caller owns, or NULL with why (PR_E_INVALID naming
 * the key; an unknown key is unknown_code). */
static struct settings *
trial_of(const struct settings *base, const struct api_setting *kv, size_t n, bool form,
         enum pr_err unknown_code, struct pr_why *why)
{
	struct settings *trial = settings_clone(base);
	struct pr_why w;
	pr_why_clear(&w);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!(form && masked(&kv[i])))
			rc = settings_set_named(trial, kv[i].key, kv[i].value, SRC_STORE, &w);
	if (rc == 0)
		rc = settings_check(trial, &w);
	if (rc < 0) {
		pr_why_set(why, w.code == PR_E_NOT_FOUND ? unknown_code : PR_E_INVALID, "%s", w.detail);
		settings_unref(&trial);
	}
	return trial;
}

/* The snapshot this node uses after kv was stored: a key the config file
 * sets keeps the file's value here (the file wins on this node). */
static void
adopt(struct pr_api *api, const struct api_setting *kv, size_t n, bool form)
{
	struct settings *now = settings_clone(api->settings);
	for (size_t i = 0; i < n; i++) {
		int k = settings_key(kv[i].key);
		struct pr_why w;
		if ((form && masked(&kv[i])) || settings_source(api->settings, (enum setting_key)k) == SRC_FILE)
			continue;
		if (settings_set(now, (enum setting_key)k, kv[i].value, SRC_STORE, &w) < 0)
			pr_panic("setting %s validated and then refused: %s", kv[i].key, w.detail);
	}
	settings_unref(&api->settings);
	api->settings = now;
}

/* Judge kv against the stored values of this moment (merged with the
 * config file, as every node reads them) and store it if they are still
 * the stored ones: 0 stored (api->settings is then those values with kv),
 * 1 another change came between (nothing stored), -1 with why. */
static int
try_set(struct pr_api *api, const struct api_setting *kv, size_t n, const struct store_setting *put, size_t m,
        bool form, enum pr_err unknown_code, struct pr_why *why)
{
	int64_t version;
	struct settings *now;
	if (store_settings_version(api->store, &version, why) < 0 ||
	    api_settings_merge(api->store, api->config_path, &now, why) < 0)
		return -1;
	struct settings *trial = trial_of(now, kv, n, form, unknown_code, why);
	int rc = trial == NULL ? -1 : m == 0 ? 0 : store_settings_put(api->store, put, m, version, why);
	settings_unref(&trial);
	if (rc == 0)
		api_settings_replace(api, now);
	else
		settings_unref(&now);
	return rc;
}

/* Validate as a whole, store as a whole (masked secrets left out). */
static int
set_all(struct pr_api *api, const struct api_setting *kv, size_t n, bool form,
        enum pr_err unknown_code, struct pr_why *why)
{
	struct store_setting *put = xcalloc(n ? n : 1, sizeof(*put));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (!(form && masked(&kv[i])))
			put[m].key = kv[i].key, put[m++].value = kv[i].value;
	int rc = 1;
	for (int round = 0; rc == 1 && round < SETTINGS_RACE_ROUNDS; round++)
		rc = try_set(api, kv, n, put, m, form, unknown_code, why);
	free(put);
	if (rc == 1)
		pr_why_set(why, PR_E_STORE_BUSY, "the settings kept changing while this change was checked "
		           "(%d times): try again", SETTINGS_RACE_ROUNDS);
	if (rc == 0)
		adopt(api, kv, n, form);
	return rc;
}

int
api_settings_set(struct pr_api *api, const char *key, const char *value, struct pr_why *why)
{
	struct api_setting kv = {key, value};
	pr_why_clear(why);
	return set_all(api, &kv, 1, false, PR_E_NOT_FOUND, why);
}

/* {"changed": [...], "applies": {"now": [...], "connection": [...],
 * "restart": [...]}, "file_wins": [...]} for the keys of kv. */
static json_t *
change_doc(const struct pr_api *api, const struct api_setting *kv, size_t n)
{
	json_t *changed = json_array(), *file = json_array();
	json_t *applies = json_pack("{s:[], s:[], s:[]}", "now", "connection", "restart");
	for (size_t i = 0; i < n; i++) {
		enum setting_key k = (enum setting_key)settings_key(kv[i].key);
		const struct setting_def *d = settings_def(k);
		if (masked(&kv[i]))
			continue;
		json_array_append_new(changed, json_string(d->name));
		json_array_append_new(json_object_get(applies, settings_applies_name(d->applies)),
		                      json_string(d->name));
		if (settings_source(api->settings, k) == SRC_FILE)
			json_array_append_new(file, json_string(d->name));
	}
	return json_pack("{s:o, s:o, s:o}", "changed", changed, "applies", applies, "file_wins", file);
}

json_t *
api_settings_set_many(struct pr_api *api, const struct api_setting *kv, size_t n, struct pr_why *why)
{
	pr_why_clear(why);
	if (n == 0) {
		pr_why_set(why, PR_E_INVALID, "no setting given: send {\"name\": \"value\", ...}");
		return NULL;
	}
	if (set_all(api, kv, n, true, PR_E_INVALID, why) < 0)
		return NULL;
	return change_doc(api, kv, n);
}

struct settings *
api_settings_trial(struct pr_api *api, const struct api_setting *kv, size_t n, struct pr_why *why)
{
	pr_why_clear(why);
	return trial_of(api->settings, kv, n, true, PR_E_INVALID, why);
}

/* One JSON value as setting text: a string as it is (one line: no control
 * characters, no NUL), a whole number in decimal, true/false. */
static const char *
value_text(struct arena *a, const char *key, json_t *v, struct pr_why *why)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 32 || s[i] == 127) {
				pr_why_set(why, PR_E_INVALID, "%s: the value holds a control character or a line "
				           "break: a setting is one line of text", key);
				return NULL;
			}
		return s;
	}
	if (json_is_integer(v))
		return arena_printf(a, "%lld", (long long)json_integer_value(v));
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	pr_why_set(why, PR_E_INVALID, "%s: give the value as a string, a whole number, true or false", key);
	return NULL;
}

int
api_settings_from_json(json_t *obj, struct arena *a, struct api_setting **out, size_t *n,
                       struct pr_why *why)
{
	*out = NULL;
	*n = 0;
	if (obj != NULL && !json_is_object(obj)) {
		pr_why_set(why, PR_E_INVALID, "settings must be an object {\"name\": \"value\", ...}");
		return -1;
	}
	size_t size = json_object_size(obj);
	if (size > SET__COUNT) {
		pr_why_set(why, PR_E_INVALID, "%zu settings given: there are only %d", size, SET__COUNT);
		return -1;
	}
	struct api_setting *kv = arena_alloc(a, (size ? size : 1) * sizeof(*kv));
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (settings_key(key) < 0) {
			pr_why_set(why, PR_E_INVALID, "unknown setting '%s' (see GET /api/v1/settings)", key);
			return -1;
		}
		kv[*n].key = key;
		if ((kv[*n].value = value_text(a, key, v, why)) == NULL)
			return -1;
		(*n)++;
	}
	*out = kv;
	return 0;
}

static const char *
source_name(enum setting_source s)
{
	return s == SRC_FILE ? "file" : s == SRC_STORE ? "store" : "default";
}

json_t *
api_settings_json(const struct settings *s)
{
	json_t *arr = json_array();
	for (int k = 0; k < SET__COUNT; k++) {
		const struct setting_def *d = settings_def((enum setting_key)k);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "name", d->name,
		                                     "value", settings_display(s, (enum setting_key)k),
		                                     "source", source_name(settings_source(s, (enum setting_key)k)),
		                                     "applies", settings_applies_name(d->applies),
		                                     "secret", d->secret, "help", d->help ? d->help : ""));
	}
	return json_pack("{s:o}", "settings", arr);
}
