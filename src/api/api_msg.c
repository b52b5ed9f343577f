/* api_msg.c - reading messages and the intake log as JSON, refiling,
 * attachments, and the time formats `log --since` accepts.
 *
 * Times in JSON are ISO 8601 UTC strings ("2024-05-01T10:00:00Z"):
 * readable in a terminal and sortable as text.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/settings.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "store/store.h"
#include "webhook/webhook.h"

const char *
api_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

static int
parse_age(const char *s, time_t now, time_t *out)
{
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (end == s || errno || n < 0 || n > 100000 || end[0] == '\0' || end[1] != '\0')
		return -1;
	static const struct { char unit; long long secs; } units[] = {
		{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit) {
			*out = now - (time_t)(n * units[i].secs);
			return 0;
		}
	return -1;
}

int
api_parse_time(const char *s, time_t now, time_t *out, struct pr_why *why)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && (*end == '\0' || (end[0] == 'Z' && end[1] == '\0'))) {
		*out = timegm(&tm);
		return 0;
	}
	char *e;
	errno = 0;
	long long epoch = strtoll(s, &e, 10);
	if (e != s && *e == '\0' && errno == 0 && epoch >= 0) {
		*out = (time_t)epoch;
		return 0;
	}
	if (parse_age(s, now, out) == 0)
		return 0;
	pr_why_set(why, PR_E_INVALID, "'%s' is not a time: use 2024-05-01, 2024-05-01T10:00:00Z, "
	           "a Unix time, or an age like 30m, 2h, 7d", s);
	return -1;
}

/* "project:1234,user:alice" -> ["project:1234","user:alice"] */
static json_t *
split_commas(const char *s)
{
	json_t *arr = json_array();
	while (s && *s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		json_array_append_new(arr, api_textn(s, n));
		s += n + (c ? 1 : 0);
	}
	return arr;
}

/* row: a struct store_message_summary (an api_row_fn). */
static json_t *
summary_json(const void *row)
{
	const struct store_message_summary *m = row;
	char t[32];
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:I, s:o, s:b}", "id", (json_int_t)m->id,
	                 "received_at", api_format_time(m->received_at, t, sizeof(t)),
	                 "from", api_text(m->from_addr), "subject", api_text(m->subject),
	                 "message_id", api_text(m->message_id), "size", (json_int_t)m->size,
	                 "placements", split_commas(m->placements), "unreadable", m->unreadable);
}

json_t *
api_message_list(struct pr_api *api, const struct store_message_filter *f, struct pr_why *why)
{
	struct store_message_filter ff;
	memset(&ff, 0, sizeof(ff));
	if (f != NULL)
		ff = *f;
	if (api_page_ask(ff.limit, 100, &ff.limit, why) < 0 ||
	    (ff.search != NULL && api_search_check(ff.search, why) < 0))
		return NULL;
	struct arena *a = arena_new();
	struct store_message_summary *m;
	size_t n;
	json_t *doc = NULL;
	if (store_message_list(api->store, a, &ff, &m, &n, why) == 0) {
		size_t shown = api_page_shown(n, ff.limit);
		doc = api_rows("messages", m, shown, sizeof(*m), summary_json);
		api_page_set_next(doc, shown < n ? m[shown - 1].id : 0);
	}
	arena_free(&a);
	return doc;
}

/* The store answers 1 for "no such message"; API callers get -1 and a
 * reason that says where the valid ids are. */
static int
message_found(int rc, int64_t id, struct pr_why *why)
{
	if (rc == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no message %lld (see `postroom messages list`)", (long long)id);
	return rc == 0 ? 0 : -1;
}

int
api_message_read(struct pr_api *api, struct arena *a, int64_t id, struct store_message *m,
                 struct pr_why *why)
{
	return message_found(store_message_get(api->store, a, id, m, why), id, why);
}

json_t *
api_message_summary(struct pr_api *api, int64_t id, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	json_t *doc = NULL;
	if (message_found(store_message_meta(api->store, a, id, &m, why), id, why) == 0)
		doc = summary_json(&m.s);
	arena_free(&a);
	return doc;
}

/* Embedded JSON produced by mime/ or auth/; null if absent or broken. */
static json_t *
embedded(const char *text)
{
	json_t *j = text ? json_loads(text, JSON_ALLOW_NUL, NULL) : NULL;
	return j ? j : json_null();
}

json_t *
api_message_get(struct pr_api *api, int64_t id, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	json_t *doc = NULL;
	if (message_found(store_message_get(api->store, a, id, &m, why), id, why) == 0) {
		doc = summary_json(&m.s);
		/* Bodies are not stored twice: they are read again from the
		 * stored bytes, so show always agrees with --raw. */
		struct mime_info mi;
		struct pr_why perr;
		struct spool *sp = spool_from_bytes(a, NULL, m.raw, m.raw_len);
		if (!m.s.unreadable && mime_parse(sp, a, &mi, &perr) == 0)
			m.parsed_json = mime_show_json(a, &mi);
		json_object_update_new(doc, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:I, s:o, s:o}",
			"source", m.source, "peer_ip", api_text(m.peer_ip), "helo", api_text(m.helo),
			"mail_from", api_text(m.mail_from), "rcpts", split_commas(m.rcpts),
			"in_reply_to", api_text(m.in_reply_to), "date", api_text(m.date),
			"sha256", m.sha256, "thread_id", (json_int_t)m.thread_id,
			"parsed", embedded(m.parsed_json), "auth", embedded(m.auth_json)));
		/* mail we sent: its delivery state (queued, sent, failed and why) */
		if (!strcmp(m.source, "outbound"))
			json_object_set_new(doc, "outbound", api_outbound_of_message(api, id));
	}
	arena_free(&a);
	return doc;
}

int
api_message_write_raw(struct pr_api *api, int64_t id, FILE *out, struct pr_why *why)
{
	return message_found(store_message_write_raw(api->store, id, out, why), id, why);
}

int
api_message_move(struct pr_api *api, int64_t id, const char *project, struct pr_why *why)
{
	struct store_placement to = {ROUTE_PROJECT, project, "moved"};
	int rc = store_message_move(api->store, id, &to, why);
	if (rc == 0)
		webhook_queue_poke();          /* a move writes deliveries too */
	return rc;
}

int
api_message_attachment(struct pr_api *api, int64_t id, int n, FILE *out, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	int rc = message_found(store_message_get(api->store, a, id, &m, why), id, why);
	if (rc == 0)
		rc = mime_write_attachment(m.raw, m.raw_len, n, out, why);
	arena_free(&a);
	return rc == 0 ? 0 : -1;
}

json_t *
api_log_entry_json(const struct store_log_entry *e)
{
	char t[32];
	const struct pr_err_info *info = pr_err_info(e->reason);
	json_t *j = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:s, s:s, s:o, s:s, s:o}",
		"id", (json_int_t)e->id, "at", api_format_time(e->at, t, sizeof(t)), "source", api_text(e->source),
		"peer_ip", api_text(e->peer_ip), "helo", api_text(e->helo), "mail_from", api_text(e->mail_from),
		"rcpts", split_commas(e->rcpts), "size", (json_int_t)e->size, "verdict", api_text(e->verdict),
		"reason", info->name, "summary", info->summary,
		"detail", api_text(e->detail && *e->detail ? e->detail : info->summary), "fix", info->fix,
		"message_id_hdr", api_text(e->message_id_hdr));
	json_object_set_new(j, "message_id", e->message_id ? json_integer(e->message_id) : json_null());
	return j;
}

static json_t *
log_row(const void *row)
{
	return api_log_entry_json(row);
}

json_t *
api_log_prune(struct pr_api *api, time_t now, struct pr_why *why)
{
	long long days = settings_int(api->settings, SET_LOG_RETENTION_DAYS);
	int64_t deleted = 0;
	if (store_log_prune_days(api->store, now, days, &deleted, why) < 0)
		return NULL;
	return json_pack("{s:I, s:I}", "deleted", (json_int_t)deleted, "retention_days", (json_int_t)days);
}

json_t *
api_log_list(struct pr_api *api, const struct store_log_filter *f, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_log_filter ff;
	memset(&ff, 0, sizeof(ff));
	if (f != NULL)
		ff = *f;
	if (api_page_ask(ff.limit, 100, &ff.limit, why) < 0) {
		arena_free(&a);
		return NULL;
	}
	if (ff.project != NULL && ff.project_local == NULL)
		ff.project_local = arena_printf(a, "%s%s", settings_str(api->settings, SET_PROJECT_PREFIX), ff.project);
	if (ff.member != NULL && ff.member_prefix == NULL)
		ff.member_prefix = settings_str(api->settings, SET_PROJECT_PREFIX);
	struct store_log_entry *e;
	size_t n;
	json_t *doc = NULL;
	if (store_log_list(api->store, a, &ff, &e, &n, why) == 0) {
		size_t shown = api_page_shown(n, ff.limit);
		doc = api_rows("log", e, shown, sizeof(*e), log_row);
		api_page_set_next(doc, shown < n ? e[shown - 1].id : 0);
	}
	arena_free(&a);
	return doc;
}
