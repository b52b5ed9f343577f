/* api_send_doc.c - a send request as a JSON document (the HTTP API's
 * `POST /api/v1/send`), checked field by field and turned into the same
 * outbound_send_req `postroom send` builds from its options:
 *
 *   {"project", "user", "to": ["a@x", ...] | "a@x", "cc", "bcc", "subject",
 *    "text", "html"?, "in_reply_to"? (a Message-ID), "reply_to_message"?
 *    (a stored message's id), "attachments"?: [{"filename", "content_type"?,
 *    "data": base64}]}
 *
 * The document is untrusted: every field must have its type, unknown
 * fields are refused (a misspelt "attachements" must not send a message
 * without its files), lists are bounded as the CLI bounds them, and the
 * decoded content (text + html + attachments) must fit in max_message_size
 * before anything is decoded, so a request cannot make us hold more than
 * the largest message we would accept by SMTP.
 */
#include <openssl/evp.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/settings.h"
#include "outbound/outbound.h"

static const char *const known[] = {"project", "user", "to", "cc", "bcc", "subject", "text", "html",
                                    "in_reply_to", "reply_to_message", "attachments", NULL};

static int
bad(struct pr_why *why, const char *field, const char *what)
{
	pr_why_set(why, PR_E_INVALID, "\"%s\" %s", field, what);
	return -1;
}

static int
unknown_fields(json_t *doc, struct pr_why *why)
{
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], key))
			i++;
		if (known[i] == NULL)
			return bad(why, key, "is not a field of a send request (see docs/openapi.json)");
	}
	return 0;
}

/* A string field: NULL when absent (or null) and not required. */
static int
string_field(json_t *doc, const char *key, bool required, const char **out, struct pr_why *why)
{
	json_t *v = json_object_get(doc, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? bad(why, key, "is required") : 0;
	if (!json_is_string(v) || memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
		return bad(why, key, "must be a string (without NUL)");
	*out = json_string_value(v);
	return 0;
}

/* "to", "cc", "bcc": a string or an array of strings, at most
 * OUTBOUND_MAX_RCPTS (outbound_send checks each address and the total). */
static int
address_list(struct arena *a, json_t *doc, const char *key, const char *const **out, size_t *n,
             struct pr_why *why)
{
	json_t *v = json_object_get(doc, key);
	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v))
		v = json_pack("[O]", v);
	else if (json_is_array(v) && json_array_size(v) <= OUTBOUND_MAX_RCPTS)
		json_incref(v);
	else
		return bad(why, key, "must be an address or a list of at most 100 addresses");
	const char **list = arena_alloc(a, (json_array_size(v) + 1) * sizeof(*list));
	size_t i;
	json_t *s;
	int rc = 0;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
			rc = bad(why, key, "must hold addresses as strings");
			break;
		}
		list[i] = json_string_value(s);   /* kept alive by doc */
	}
	*out = list;
	*n = rc == 0 ? json_array_size(v) : 0;
	json_decref(v);
	return rc;
}

/* OpenSSL's decoder: no parser of our own for a solved format. */
uint8_t *
api_base64_decode(struct arena *a, const char *in, size_t n, size_t *len)
{
	uint8_t *out = arena_alloc(a, n / 4 * 3 + 3);
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int got = 0, fin = 0, ok = ctx != NULL;
	if (ok) {
		EVP_DecodeInit(ctx);
		ok = EVP_DecodeUpdate(ctx, out, &got, (const unsigned char *)in, (int)n) >= 0 &&
		     EVP_DecodeFinal(ctx, out + got, &fin) == 1;
	}
	EVP_ENCODE_CTX_free(ctx);
	*len = ok ? (size_t)got + (size_t)fin : 0;
	return ok ? out : NULL;
}

/* One attachment; *budget: decoded bytes still allowed. */
static int
attachment(struct arena *a, json_t *j, size_t i, struct outbound_attachment *at, size_t *budget,
           struct pr_why *why)
{
	const char *data;
	if (!json_is_object(j) || string_field(j, "filename", true, &at->filename, why) < 0 ||
	    string_field(j, "content_type", false, &at->content_type, why) < 0 ||
	    string_field(j, "data", true, &data, why) < 0)
		return json_is_object(j) ? -1 : bad(why, "attachments", "must hold objects");
	size_t n = strlen(data);
	if (n > INT32_MAX || n / 4 * 3 > *budget + 2) {
		pr_why_set(why, PR_E_TOO_BIG, "attachment %zu (%s) does not fit in max_message_size (%lld bytes "
		           "for the whole message)", i + 1, at->filename, (long long)*budget);
		return -1;
	}
	if ((at->data = api_base64_decode(a, data, n, &at->len)) == NULL) {
		pr_why_set(why, PR_E_INVALID, "attachment %zu (%s): \"data\" is not base64", i + 1, at->filename);
		return -1;
	}
	if (at->len > *budget) {
		pr_why_set(why, PR_E_TOO_BIG, "attachment %zu (%s) does not fit in max_message_size", i + 1,
		           at->filename);
		return -1;
	}
	*budget -= at->len;
	return 0;
}

static int
attachments(struct arena *a, json_t *doc, struct outbound_send_req *req, size_t *budget,
            struct pr_why *why)
{
	json_t *v = json_object_get(doc, "attachments");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > OUTBOUND_MAX_ATTACHMENTS)
		return bad(why, "attachments", "must be a list of at most 64 attachments");
	struct outbound_attachment *at = arena_alloc(a, (json_array_size(v) + 1) * sizeof(*at));
	size_t i;
	json_t *j;
	json_array_foreach(v, i, j)
		if (attachment(a, j, i, &at[i], budget, why) < 0)
			return -1;
	req->attach = at;
	req->nattach = json_array_size(v);
	return 0;
}

/* Text, HTML and the reply reference; the bodies count against budget. */
static int
texts(json_t *doc, struct outbound_send_req *req, size_t *budget, struct pr_why *why)
{
	const char *f[5];
	static const char *const names[] = {"project", "user", "subject", "text", "html"};
	for (int i = 0; i < 5; i++)
		if (string_field(doc, names[i], i < 4, &f[i], why) < 0)
			return -1;
	size_t body = strlen(f[3]) + (f[4] ? strlen(f[4]) : 0);
	if (body > *budget) {
		pr_why_set(why, PR_E_TOO_BIG, "the text and HTML are %zu bytes, over max_message_size (%zu)", body,
		           *budget);
		return -1;
	}
	*budget -= body;
	/* The strings stay the document's: it outlives the send. */
	req->project = f[0], req->user = f[1], req->subject = f[2], req->text = f[3], req->html = f[4];
	json_t *r = json_object_get(doc, "reply_to_message");
	if (r != NULL && !json_is_null(r) && (!json_is_integer(r) || json_integer_value(r) <= 0))
		return bad(why, "reply_to_message", "must be a stored message's id (a positive integer)");
	req->reply_to_message = r && json_is_integer(r) ? json_integer_value(r) : 0;
	return string_field(doc, "in_reply_to", false, &req->in_reply_to, why);
}

json_t *
api_send_doc(struct pr_api *api, json_t *doc, struct pr_why *why)
{
	if (!json_is_object(doc)) {
		pr_why_set(why, PR_E_INVALID, "a send request is a JSON object");
		return NULL;
	}
	struct arena *a = arena_new();
	struct outbound_send_req req;
	memset(&req, 0, sizeof(req));
	size_t budget = (size_t)settings_int(api->settings, SET_MAX_MESSAGE_SIZE);
	json_t *res = NULL;
	if (unknown_fields(doc, why) == 0 && texts(doc, &req, &budget, why) == 0 &&
	    address_list(a, doc, "to", &req.to, &req.nto, why) == 0 &&
	    address_list(a, doc, "cc", &req.cc, &req.ncc, why) == 0 &&
	    address_list(a, doc, "bcc", &req.bcc, &req.nbcc, why) == 0 &&
	    attachments(a, doc, &req, &budget, why) == 0)
		res = api_send(api, &req, why);
	arena_free(&a);
	return res;
}
