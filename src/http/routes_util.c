/* routes_util.c - see routes_util.h. */
#include "http/routes_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_route.h"

bool
routes_path_id(struct http_req *r, const char *name, int64_t max, int64_t *out)
{
	const char *v = http_param(r, name);
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || *end || errno || n <= 0 || n > max) {
		http_reply_error(r, 400, PR_E_INVALID, "%s '%s' is not a positive number", name, v);
		return false;
	}
	*out = n;
	return true;
}

/* A JSON string may hold "\u0000": C would read only the text before it,
 * so such a value is refused rather than quietly cut. */
static const char *
text_of(json_t *v)
{
	const char *s = json_string_value(v);
	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

void
routes_act_on_id(struct http_req *r, int (*act)(struct pr_api *, int64_t, struct pr_why *), const char *done)
{
	struct pr_why why;
	int64_t id;
	if (!routes_path_id(r, "id", INT64_MAX, &id))
		return;
	if (act(http_api(r), id, &why) < 0)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, done, 1));
}

void
routes_reply_doc(struct http_req *r, int status, json_t *doc, const struct pr_why *why)
{
	if (doc)
		http_reply_json(r, status, doc);
	else
		http_reply_why(r, why);
}

int
routes_str(json_t *body, const char *key, bool required, const char **out, struct pr_why *why)
{
	json_t *v = json_object_get(body, key);
	*out = text_of(v);
	if (*out != NULL || (v == NULL && !required))
		return 0;
	if (v == NULL)
		pr_why_set(why, PR_E_INVALID, "give \"%s\" in the request body", key);
	else
		pr_why_set(why, PR_E_INVALID, "\"%s\" must be a string (without NUL)", key);
	return -1;
}

int
routes_strs(json_t *body, const char *key, const char **out, size_t max, size_t *n,
            struct pr_why *why)
{
	json_t *arr = json_object_get(body, key), *v;
	size_t i;
	*n = 0;
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		pr_why_set(why, PR_E_INVALID, "\"%s\" must be a list of at most %zu strings", key, max);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		if ((out[i] = text_of(v)) == NULL) {
			pr_why_set(why, PR_E_INVALID, "\"%s\" must be a list of strings (without NUL)", key);
			return -1;
		}
	}
	*n = json_array_size(arr);
	return 0;
}
