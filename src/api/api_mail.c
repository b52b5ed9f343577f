/* api_mail.c - what reading mail in a browser needs beyond the CLI's
 * calls: the search text checked, an attachment with the type and name
 * to serve it as, a message's HTML made safe, and a project's threads.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/spool.h"
#include "core/text.h"
#include "mime/mime.h"
#include "store/store.h"

int
api_search_check(const char *text, struct pr_why *why)
{
	size_t n = strlen(text);
	if (n > API_SEARCH_MAX) {
		pr_why_set(why, PR_E_INVALID, "the search text is %zu bytes, over %d: search for fewer words",
		           n, API_SEARCH_MAX);
		return -1;
	}
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = text_utf8_next((const uint8_t *)text + i, n - i, &cp);
		if (cp == TEXT_INVALID || (text_is_control(cp) && cp != '\t')) {
			pr_why_set(why, PR_E_INVALID, cp == TEXT_INVALID
			           ? "the search text is not UTF-8 (byte %zu): send it UTF-8 encoded"
			           : "the search text holds a control character (byte %zu): search for words", i);
			return -1;
		}
		i += l;
	}
	return 0;
}

/* "type/subtype" of RFC 2045 tokens, or NULL: anything else could split
 * a header or smuggle parameters. */
static bool
is_mime_type(const char *t)
{
	static const char tok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                          "!#$&^_.+-";
	size_t a = strspn(t, tok);
	return a > 0 && t[a] == '/' && t[a + 1 + strspn(t + a + 1, tok)] == '\0' && t[a + 1] != '\0';
}

static int
parse_stored(struct pr_api *api, struct arena *a, int64_t id, struct store_message *m,
             struct mime_info *mi, struct pr_why *why)
{
	if (api_message_read(api, a, id, m, why) < 0)
		return -1;
	struct spool *sp = spool_from_bytes(a, NULL, m->raw, m->raw_len);
	if (m->s.unreadable || mime_parse(sp, a, mi, why) < 0) {
		pr_why_set(why, PR_E_NOT_FOUND, "message %lld could not be read as MIME: only its stored "
		           "bytes can be shown (raw)", (long long)id);
		return -1;
	}
	return 0;
}

int
api_message_attachment_info(struct pr_api *api, int64_t id, int n, FILE *out,
                            struct api_attachment *info, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	struct mime_info mi;
	int rc = parse_stored(api, a, id, &m, &mi, why);
	if (rc == 0 && (n < 1 || (size_t)n > mi.nparts)) {
		pr_why_set(why, PR_E_NOT_FOUND, "message %lld has %zu attachment(s), not a number %d",
		           (long long)id, mi.nparts, n);
		rc = -1;
	}
	if (rc == 0) {
		const struct mime_part *p = &mi.parts[n - 1];
		const char *ct = p->content_type && is_mime_type(p->content_type) ? p->content_type
		                                                                   : "application/octet-stream";
		snprintf(info->content_type, sizeof(info->content_type), "%s",
		         strlen(ct) < sizeof(info->content_type) ? ct : "application/octet-stream");
		snprintf(info->filename, sizeof(info->filename), "%s", p->filename ? p->filename : "");
		info->filename[text_fit(info->filename, sizeof(info->filename) - 1)] = '\0';
		rc = mime_write_attachment(m.raw, m.raw_len, n, out, why);
	}
	arena_free(&a);
	return rc == 0 ? 0 : -1;
}

int
api_message_html(struct pr_api *api, int64_t id, bool remote_images, const char *cid_base,
                 char **out, size_t *len, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_message m;
	struct mime_info mi;
	const char *safe = NULL;
	int rc = parse_stored(api, a, id, &m, &mi, why);
	if (rc == 0 && mi.html_body == NULL) {
		pr_why_set(why, PR_E_NOT_FOUND, "message %lld has no HTML part: it is plain text (see its "
		           "text_body)", (long long)id);
		rc = -1;
	}
	struct mime_html_opts o = {remote_images, cid_base, mi.parts, mi.nparts};
	if (rc == 0 && (rc = mime_html_safe(a, mi.html_body, &o, &safe, why)) == 0) {
		*len = strlen(safe);
		*out = strdup(safe);
		if (*out == NULL)
			pr_panic("out of memory");
	}
	arena_free(&a);
	return rc;
}

static json_t *
thread_json(const void *row)
{
	const struct store_thread_summary *t = row;
	char at[32];
	json_t *people = json_array();
	for (size_t i = 0; i < t->nparticipants; i++)
		json_array_append_new(people, api_text(t->participants[i]));
	return json_pack("{s:I, s:o, s:I, s:I, s:s, s:o}", "id", (json_int_t)t->thread_id,
	                 "subject", api_text(t->subject), "messages", (json_int_t)t->messages,
	                 "last_message", (json_int_t)t->last_id,
	                 "last_at", api_format_time(t->last_at, at, sizeof(at)), "participants", people);
}

json_t *
api_project_threads(struct pr_api *api, const char *project, size_t limit, int64_t before,
                    struct pr_why *why)
{
	size_t ask;
	if (api_page_ask(limit, 50, &ask, why) < 0)
		return NULL;
	struct arena *a = arena_new();
	struct store_project p;
	struct store_thread_summary *t;
	size_t n;
	json_t *doc = NULL;
	int rc = store_project_threads(api->store, a, project, ask, before, &t, &n, why);
	/* No thread at all: is there such a project? (Read only then: the
	 * project's record comes with its members and stakeholders.) */
	if (rc == 0 && n == 0 && before == 0 && (rc = store_project_get(api->store, a, project, &p, why)) == 1)
		pr_why_set(why, PR_E_NOT_FOUND, "no project '%s' (see `postroom project list`)", project);
	if (rc == 0) {
		size_t shown = api_page_shown(n, ask);
		doc = api_rows("threads", t, shown, sizeof(*t), thread_json);
		api_page_set_next(doc, shown < n ? t[shown - 1].last_id : 0);
	}
	arena_free(&a);
	return doc;
}
