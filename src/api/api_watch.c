/* api_watch.c - following the stored settings from a running serve.
 *
 * `settings set` (and later the HTTP API, on any node) bumps a version
 * number in the store in the same transaction as the value.  serve polls
 * that number once a second -- one indexed read -- and only when it moved
 * merges the settings again (store + config file) into a new snapshot.
 * A version row rather than inotify or a signal, because the process that
 * changed the setting may run on another machine that shares the store.
 *
 * The version is read before the values: a change that lands in between
 * is merged now and seen again at the next poll, never missed.
 */
#include <stdlib.h>

#include "api/postroom.h"
#include "core/arena.h"
#include "core/settings.h"
#include "store/store.h"

struct api_settings_watch {
	struct store *st;
	char *config_path;
	int64_t version;             /* last seen; read when the watch starts */
};

struct api_settings_watch *
api_settings_watch_new(const char *store_uri, const char *config_path, struct pr_why *why)
{
	struct api_settings_watch *w = xcalloc(1, sizeof(*w));
	w->st = store_open(store_uri, why);
	if (w->st == NULL || store_settings_version(w->st, &w->version, why) < 0) {
		store_close(&w->st);
		free(w);
		return NULL;
	}
	w->config_path = config_path ? xstrdup(config_path) : NULL;
	return w;
}

void
api_settings_watch_free(struct api_settings_watch **wp)
{
	struct api_settings_watch *w = *wp;
	*wp = NULL;
	if (w == NULL)
		return;
	store_close(&w->st);
	free(w->config_path);
	free(w);
}

int
api_settings_watch_poll(struct api_settings_watch *w, bool force, struct settings **out,
                        struct pr_why *why)
{
	int64_t v;
	*out = NULL;
	if (store_settings_version(w->st, &v, why) < 0)
		return -1;
	if (!force && v == w->version)
		return 0;
	if (api_settings_merge(w->st, w->config_path, out, why) < 0) {
		/* A bad config file is reported once per change, not every
		 * second; a busy store is tried again at the next poll. */
		if (why->code == PR_E_CONFIG)
			w->version = v;
		return -1;
	}
	w->version = v;
	return 1;
}
