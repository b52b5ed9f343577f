/* api.c - opening the API, the settings merge and the sample
 * organisation (changing settings: api_settings.c).  See postroom.h.
 *
 * Settings precedence (core/settings.h): built-in default < value stored
 * with `settings set` < config file.  A stored value that no longer
 * validates (the table changed since it was stored) is skipped with a
 * warning rather than stopping the daemon: the default applies.
 */
#include "api/postroom.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/settings.h"
#include "store/store.h"

int
api_settings_merge(struct store *st, const char *config_path, struct settings **out,
                   struct pr_why *why)
{
	struct arena *a = arena_new();
	struct settings *s = settings_new();
	struct store_setting *kv;
	size_t n;
	*out = NULL;
	if (store_settings_load(st, a, &kv, &n, why) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct pr_why w;
		if (settings_set_named(s, kv[i].key, kv[i].value, SRC_STORE, &w) < 0)
			log_warn("stored setting ignored: %s", w.detail);
	}
	if (config_path != NULL && settings_load_file(s, config_path, why) < 0)
		goto fail;
	if (settings_check(s, why) < 0)
		goto fail;
	arena_free(&a);
	*out = s;
	return 0;
fail:
	arena_free(&a);
	settings_unref(&s);
	return -1;
}

int
api_settings_load(const char *store_uri, const char *config_path, struct settings **out,
                  struct pr_why *why)
{
	struct pr_api *api = api_open(store_uri, config_path, why);
	*out = NULL;
	if (api == NULL)
		return -1;
	*out = api->settings;       /* the caller takes the snapshot over */
	api->settings = NULL;
	api_close(&api);
	return 0;
}

struct pr_api *
api_open(const char *store_uri, const char *config_path, struct pr_why *why)
{
	struct pr_api *api = xcalloc(1, sizeof(*api));
	api->store_uri = xstrdup(store_uri);
	api->config_path = config_path ? xstrdup(config_path) : NULL;
	api->store = store_open(store_uri, why);
	if (api->store == NULL || api_settings_merge(api->store, config_path, &api->settings, why) < 0) {
		api_close(&api);
		return NULL;
	}
	return api;
}

void
api_close(struct pr_api **apip)
{
	struct pr_api *api = *apip;
	*apip = NULL;
	if (api == NULL)
		return;
	api_health_free(&api->health);
	store_close(&api->store);
	settings_unref(&api->settings);
	free(api->store_uri);
	free(api->config_path);
	free(api);
}

struct store *api_store(struct pr_api *api) { return api->store; }

void
api_settings_replace(struct pr_api *api, struct settings *s)
{
	settings_unref(&api->settings);
	api->settings = s;
}
const struct settings *api_settings(const struct pr_api *api) { return api->settings; }

/* ---- the sample organisation ---- */

static int
seed_users(struct store *st, struct pr_why *why)
{
	static const struct { const char *name, *display, *email; } users[] = {
		{"alice", "Alice Archer", "alice@firm.example"},
		{"bob", "Bob Baker", "bob@firm.example"},
		{"carol", "Carol Cooper", "carol@firm.example"},
	};
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		const char *em[] = {users[i].email};
		if (store_user_add(st, users[i].name, users[i].display, em, 1, why) < 0)
			return -1;
	}
	return 0;
}

int
api_seed_sample(struct store *st, bool *seeded_r, struct pr_why *why)
{
	bool empty = false;
	*seeded_r = false;
	if (store_is_empty(st, &empty, why) < 0)
		return -1;
	if (!empty)
		return 0;
	static const char *team[] = {"alice", "bob"};
	if (store_domain_add(st, "firm.example", why) < 0 || seed_users(st, why) < 0 ||
	    store_project_add(st, "1234", "Harbour consultation", why) < 0 ||
	    store_project_grant(st, "1234", "alice", why) < 0 ||
	    store_alias_add(st, "team@firm.example", team, 2, why) < 0)
		return -1;
	*seeded_r = true;
	return 0;
}
