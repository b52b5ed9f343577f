/* test-api-settings.c - changing settings below HTTP (api_settings.c)
 * against a real store (SQLite, or PostgreSQL with POSTROOM_TEST_PG):
 * a change is judged against the values stored at that moment, not the
 * handle's snapshot, so two changes each valid alone -- made through two
 * handles that both read the settings before either changed them, as two
 * HTTP requests or two nodes do -- never store together a combination the
 * cross-field checks refuse. */
#include <stdlib.h>
#include <string.h>

#include "api/postroom.h"
#include "core/settings.h"
#include "store/store.h"
#include "test.h"
#include "test-pg.h"

static char dir[256], uri[600];

TEST(stale_snapshot_judged_again)
{
	test_store_uri(uri, sizeof(uri), dir, "s1");
	struct pr_why why;
	struct pr_api *a = api_open(uri, NULL, &why), *b = api_open(uri, NULL, &why);
	CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		return;
	/* Each valid alone: a fallback address, and a catch-all mailbox on
	 * the same domain.  Together the fallback would be collected again. */
	const struct api_setting fallback[] = {{"fallback_address", "lost@firm.example"}};
	const struct api_setting catchall[] = {{"mailbox_type", "catchall"},
	                                       {"system_address", "system@firm.example"}};
	json_t *doc = api_settings_set_many(a, fallback, 1, &why);
	CHECK(doc != NULL);
	json_decref(doc);
	/* b still holds the settings from before a's change. */
	CHECK_STR(settings_str(api_settings(b), SET_FALLBACK_ADDRESS), "");
	doc = api_settings_set_many(b, catchall, 2, &why);
	CHECK(doc == NULL);
	json_decref(doc);
	CHECK_INT(why.code, PR_E_INVALID);
	CHECK(strstr(why.detail, "collected again") != NULL);
	/* Nothing of b's change was stored; a fresh read says so. */
	struct settings *now = NULL;
	CHECK_INT(api_settings_load(uri, NULL, &now, &why), 0);
	CHECK_STR(settings_str(now, SET_FALLBACK_ADDRESS), "lost@firm.example");
	CHECK_STR(settings_str(now, SET_SYSTEM_ADDRESS), "");
	settings_unref(&now);
	/* b now judges against what is stored: a valid change goes in, and b's
	 * snapshot has a's value as well as its own. */
	const struct api_setting elsewhere[] = {{"mailbox_type", "catchall"},
	                                        {"system_address", "system@mailhost.example"}};
	doc = api_settings_set_many(b, elsewhere, 2, &why);
	CHECK(doc != NULL);
	json_decref(doc);
	CHECK_STR(settings_str(api_settings(b), SET_FALLBACK_ADDRESS), "lost@firm.example");
	CHECK_STR(settings_str(api_settings(b), SET_SYSTEM_ADDRESS), "system@mailhost.example");
	/* One key through the CLI's path, from the other stale handle. */
	CHECK_INT(api_settings_set(a, "fallback_address", "lost@mailhost.example", &why), -1);
	CHECK(strstr(why.detail, "collected again") != NULL);
	api_close(&a);
	api_close(&b);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-api-settings-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(stale_snapshot_judged_again);
	test_rmtree(dir);
	test_pg_drop_all();
	return test_summary("api-settings");
}
