/* mime_json.c - struct mime_info as one JSON object (jansson), for
 * `messages show --json`.  Keys mirror the struct fields; absent strings are
 * null; sizes are exact 64-bit integers.
 *
 * Two shapes: the whole object for showing (mime_show_json), and the one
 * stored with the message (mime_info.json): its structure only -- people,
 * attachments, flags -- without the text of the message itself (bodies,
 * reply text, Received fields) or the fields the store keeps as columns
 * (Message-ID, In-Reply-To, References, Subject, Date).  `messages show`
 * parses the stored bytes again for the whole object; keeping the text
 * beside the bytes stored a short message twice (issue 12).  Strings are UTF-8 already
 * (mime_headers.c and mime_to_utf8 guarantee it), so we skip jansson's
 * second UTF-8 check, which was a third of the parse time on text-heavy mail.
 */
#include "mime/mime_private.h"

#include <jansson.h>

#include "core/arena.h"

static json_t *
str_or_null(const char *s)
{
	/* Already valid UTF-8 (mime_headers.c): skip jansson's second check. */
	json_t *j = s ? json_string_nocheck(s) : NULL;
	return j ? j : json_null();
}

static json_t *
addresses(const struct mime_address *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_pack("{s:o, s:o}", "name", str_or_null(v[i].name),
		                      "address", str_or_null(v[i].address));
		if (v[i].invalid)      /* only when true: the usual case stays as it was */
			json_object_set_new(a, "invalid", json_true());
		json_array_append_new(arr, a);
	}
	return arr;
}

static json_t *
strings(const char *const *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, str_or_null(v[i]));
	return arr;
}

static json_t *
parts(const struct mime_part *v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:i, s:o, s:o, s:o, s:o, s:I, s:s}",
		    "index", v[i].index, "path", str_or_null(v[i].path),
		    "content_type", str_or_null(v[i].content_type), "filename", str_or_null(v[i].filename),
		    "disposition", str_or_null(v[i].disposition), "size", (json_int_t)v[i].size,
		    "sha256", v[i].sha256));
	return arr;
}

const char *
mime_json(struct arena *a, const struct mime_info *m, bool full)
{
	json_t *o = json_object();
	if (full) {      /* stored as columns of the message (store.h) too */
		json_object_set_new(o, "message_id", str_or_null(m->message_id));
		json_object_set_new(o, "in_reply_to", str_or_null(m->in_reply_to));
		json_object_set_new(o, "references", strings(m->references, m->nreferences));
		json_object_set_new(o, "subject", str_or_null(m->subject));
		json_object_set_new(o, "date", str_or_null(m->date));
	}
	json_object_set_new(o, "duplicates", strings(m->duplicates, m->nduplicates));
	json_object_set_new(o, "from", addresses(m->from, m->nfrom));
	json_object_set_new(o, "to", addresses(m->to, m->nto));
	json_object_set_new(o, "cc", addresses(m->cc, m->ncc));
	json_object_set_new(o, "reply_to", addresses(m->reply_to, m->nreply_to));
	if (full)
		json_object_set_new(o, "received", strings(m->received, m->nreceived));
	json_object_set_new(o, "auto_submitted", json_boolean(m->auto_submitted));
	json_object_set_new(o, "is_bounce", json_boolean(m->is_bounce));
	if (full) {
		json_object_set_new(o, "text_body", str_or_null(m->text_body));
		json_object_set_new(o, "body_truncated", json_boolean(m->body_truncated));
		json_object_set_new(o, "html_body", str_or_null(m->html_body));
		json_object_set_new(o, "reply_text", str_or_null(m->reply_text));
	}
	json_object_set_new(o, "parts", parts(m->parts, m->nparts));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	const char *r = arena_strdup(a, s ? s : "{}");
	free(s);
	return r;
}

const char *
mime_show_json(struct arena *a, const struct mime_info *m)
{
	return mime_json(a, m, true);
}
