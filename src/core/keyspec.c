/* keyspec.c - parse dkim_keys; see keyspec.h. */
#include "core/keyspec.h"

#include <stdbool.h>
#include <string.h>

/* Dot-separated labels of letters, digits, '-' (and '_' when under is
 * set), 1..63 octets each, not starting or ending with '-' or '.'. */
static bool
valid_name(const char *s, size_t n, bool under, size_t max)
{
	size_t label = 0;
	if (n == 0 || n >= max || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		          || c == '-' || (under && c == '_');
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (!ok || ++label > 63 || (label == 1 && c == '-')) {
			return false;
		}
	}
	return s[n - 1] != '-';
}

static int
bad(struct pr_why *why, const char *what, const char *p, size_t n)
{
	pr_why_set(why, PR_E_CONFIG, "dkim_keys: \"%.*s\" %s", (int)(n > 200 ? 200 : n), p, what);
	return -1;
}

static int
parse_entry(const char *p, size_t n, struct keyspec *e, struct pr_why *why)
{
	const char *c1 = memchr(p, ':', n);
	const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - p)) : NULL;
	if (c2 == NULL)
		return bad(why, "is not domain:selector:/path/key.pem", p, n);
	size_t dl = (size_t)(c1 - p), sl = (size_t)(c2 - c1 - 1), pl = n - (size_t)(c2 + 1 - p);
	if (!valid_name(p, dl, false, sizeof(e->domain)))
		return bad(why, "is not a domain name", p, dl);
	if (!valid_name(c1 + 1, sl, true, sizeof(e->selector)))
		return bad(why, "is not a selector (letters, digits, '-', '_', '.')", c1 + 1, sl);
	if (pl == 0 || pl >= sizeof(e->path) || c2[1] != '/')
		return bad(why, "needs an absolute key file path", p, n);
	memcpy(e->domain, p, dl);
	memcpy(e->selector, c1 + 1, sl);
	memcpy(e->path, c2 + 1, pl);
	return 0;
}

int
keyspec_parse(const char *text, struct keyspec_list *out, struct pr_why *why)
{
	memset(out, 0, sizeof(*out));
	for (const char *p = text; *p != '\0';) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (out->n == KEYSPEC_MAX) {
			pr_why_set(why, PR_E_CONFIG, "dkim_keys: more than %d keys", KEYSPEC_MAX);
			return -1;
		}
		if (parse_entry(p, n, &out->k[out->n], why) < 0)
			return -1;
		out->n++;
		p += n;
	}
	return 0;
}
