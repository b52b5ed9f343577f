/* api_why.c - "why didn't my email come through?" as data.
 *
 * A query is an address (matched as sender or recipient), a Message-ID
 * (<...>, or bare when no address matches) or an intake log id.  Each
 * matching attempt, newest first, is the log entry plus what a person needs
 * to act: the SMTP reply the sender's server got, and where an accepted
 * message was filed.  The words come from the reason table (core/err.c),
 * so the reply, the log and this explanation never disagree.  An address
 * may match many attempts: they come in pages (api_page.c).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/settings.h"
#include "store/store.h"

static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Header recipients the message names that are not addresses (kept by
 * mime/ with "invalid": true): nobody gets mail by them, and the person
 * asking why should see that rather than a recipient that vanished. */
static json_t *
invalid_recipients(const char *parsed_json)
{
	json_t *arr = json_array();
	json_t *p = parsed_json ? json_loads(parsed_json, 0, NULL) : NULL;
	static const char *const fields[] = {"to", "cc"};
	for (size_t f = 0; p != NULL && f < 2; f++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(p, fields[f]), i, v)
			if (json_is_true(json_object_get(v, "invalid")))
				json_array_append(arr, json_object_get(v, "address"));
	}
	json_decref(p);
	return arr;
}

static json_t *
attempt(struct pr_api *api, struct arena *a, const struct store_log_entry *e)
{
	const struct pr_err_info *info = pr_err_info(e->reason);
	json_t *j = api_log_entry_json(e);
	json_object_set_new(j, "smtp", json_integer(info->smtp));
	json_object_set_new(j, "dsn", json_string(info->dsn));
	struct store_message m;
	struct pr_why why;
	if (e->message_id > 0 && store_message_meta(api->store, a, e->message_id, &m, &why) == 0 &&
	    m.s.placements != NULL) {
		json_object_set_new(j, "filed_in", api_text(m.s.placements));
		json_object_set_new(j, "invalid_recipients", invalid_recipients(m.parsed_json));
	} else {
		json_object_set_new(j, "filed_in", json_null());
		json_object_set_new(j, "invalid_recipients", json_array());
	}
	return j;
}

static int
lookup(struct pr_api *api, struct arena *a, struct store_log_filter *f,
       struct store_log_entry **e, size_t *n, struct pr_why *why)
{
	return store_log_list(api->store, a, f, e, n, why);
}

json_t *
api_why(struct pr_api *api, const char *query, size_t limit, int64_t before, const char *member,
        struct pr_why *why)
{
	struct store_log_filter f;
	memset(&f, 0, sizeof(f));
	if (api_page_ask(limit, 20, &f.limit, why) < 0)
		return NULL;
	f.before = before;
	f.member = member;
	f.member_prefix = settings_str(api->settings, SET_PROJECT_PREFIX);
	struct arena *a = arena_new();
	if (all_digits(query))
		f.id = strtoll(query, NULL, 10);
	else if (query[0] == '<')
		f.message_id_hdr = arena_strndup(a, query + 1, strcspn(query + 1, ">"));
	else
		f.address = query;
	struct store_log_entry *e = NULL;
	size_t n = 0;
	int rc = lookup(api, a, &f, &e, &n, why);
	if (rc == 0 && n == 0 && f.address != NULL && strchr(query, '@') != NULL) {
		/* A Message-ID written without its angle brackets. */
		f.address = NULL;
		f.message_id_hdr = query;
		rc = lookup(api, a, &f, &e, &n, why);
	}
	json_t *doc = NULL;
	if (rc == 0) {
		size_t shown = api_page_shown(n, f.limit);
		json_t *arr = json_array();
		for (size_t i = 0; i < shown; i++)
			json_array_append_new(arr, attempt(api, a, &e[i]));
		doc = json_pack("{s:o, s:o}", "query", api_text(query), "attempts", arr);
		api_page_set_next(doc, shown < n ? e[shown - 1].id : 0);
	}
	arena_free(&a);
	return doc;
}

json_t *
api_reasons(void)
{
	json_t *arr = json_array();
	for (int i = 0; i < PR_E_MAX; i++) {
		const struct pr_err_info *e = pr_err_info((enum pr_err)i);
		json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:s, s:s}", "code", e->name,
		    "smtp", e->smtp, "dsn", e->dsn, "summary", e->summary, "fix", e->fix));
	}
	return json_pack("{s:o}", "reasons", arr);
}
