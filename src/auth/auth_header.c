/* auth_header.c - the verdict as an RFC 8601 Authentication-Results
 * header and as JSON (stored with the message, `messages show --json`).
 *
 * Everything in the header came from the peer or from DNS, so it is made
 * safe first: property values are reduced to token characters, comments
 * lose parentheses, quotes and line breaks, and each resinfo goes on its
 * own folded line so no line nears the 998-octet limit of RFC 5322.
 */
#include "auth/auth_private.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"

#define AUTH_CLEAN_MAX 200

const char *
auth_clean(struct arena *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > AUTH_CLEAN_MAX)
		n = AUTH_CLEAN_MAX;
	char *o = arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		o[i] = (ch < 0x20 || ch > 0x7e || strchr("();\\\"", ch)) ? ' ' : (char)ch;
	}
	return o;
}

/* A property value as an RFC 2045 token: domain names and addresses pass
 * through, anything else becomes '_'. */
static const char *
auth_token(struct arena *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > AUTH_CLEAN_MAX)
		n = AUTH_CLEAN_MAX;
	char *o = arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		o[i] = isalnum(ch) || strchr(".-_+@", ch) ? (char)ch : '_';
	}
	return o;
}

static void
render_dkim(struct arena *a, struct buf *b, const struct auth_verdict *v)
{
	if (v->ndkim == 0) {
		buf_addstr(b, ";\r\n\tdkim=none (no signature)");
		return;
	}
	for (size_t i = 0; i < v->ndkim; i++) {
		const struct auth_dkim_sig *s = &v->dkim[i];
		buf_printf(b, ";\r\n\tdkim=%s", auth_result_name(s->result));
		if (s->result != AUTH_PASS && s->detail)
			buf_printf(b, " (%s)", auth_clean(a, s->detail));
		if (s->domain && *s->domain)
			buf_printf(b, " header.d=%s", auth_token(a, s->domain));
		if (s->selector && *s->selector)
			buf_printf(b, " header.s=%s", auth_token(a, s->selector));
		if (s->algorithm && *s->algorithm)
			buf_printf(b, " header.a=%s", auth_token(a, s->algorithm));
	}
}

static const char *
render_header(struct arena *a, const char *id, const struct auth_verdict *v)
{
	struct buf b;
	buf_init(&b, 16 * 1024);
	buf_printf(&b, "Authentication-Results: %s", auth_token(a, id));
	if (v->adopted_from)
		buf_printf(&b, " (results adopted from %s)", auth_clean(a, v->adopted_from));
	buf_printf(&b, ";\r\n\tspf=%s", auth_result_name(v->spf));
	if (v->spf != AUTH_PASS && v->spf_detail)
		buf_printf(&b, " (%s)", auth_clean(a, v->spf_detail));
	if (v->spf_domain && *v->spf_domain)
		buf_printf(&b, " smtp.%s=%s", v->spf_helo ? "helo" : "mailfrom", auth_token(a, v->spf_domain));
	render_dkim(a, &b, v);
	buf_printf(&b, ";\r\n\tdmarc=%s", auth_result_name(v->dmarc));
	if (v->dmarc_policy)
		buf_printf(&b, " (p=%s)", auth_token(a, v->dmarc_policy));
	if (v->dmarc_domain && *v->dmarc_domain)
		buf_printf(&b, " header.from=%s", auth_token(a, v->dmarc_domain));
	buf_addstr(&b, "\r\n");
	const char *r = arena_strndup(a, buf_cstr(&b), b.len);
	buf_free(&b);
	return r;
}

static json_t *
jstr(const char *s)
{
	if (s == NULL)
		return json_null();
	json_t *j = json_string(s);     /* NULL when s is not UTF-8 (DNS text) */
	return j ? j : json_string("(not UTF-8)");
}

static const char *
reason_name(enum pr_err e)
{
	return e == PR_OK ? NULL : pr_err_name(e);
}

static const char *
render_json(struct arena *a, const struct auth_verdict *v)
{
	json_t *dk = json_array();
	for (size_t i = 0; i < v->ndkim; i++) {
		const struct auth_dkim_sig *s = &v->dkim[i];
		json_array_append_new(dk, json_pack("{s:o, s:o, s:o, s:s, s:o, s:o, s:b}",
		    "domain", jstr(s->domain), "selector", jstr(s->selector), "algorithm",
		    jstr(s->algorithm), "result", auth_result_name(s->result), "reason",
		    jstr(reason_name(s->reason)), "detail", jstr(s->detail), "aligned", s->aligned));
	}
	json_t *o = json_pack("{s:{s:s, s:o, s:s, s:o, s:o}, s:o, s:{s:s, s:o, s:o, s:o}, s:o}",
	    "spf", "result", auth_result_name(v->spf), "domain", jstr(v->spf_domain),
	    "identity", v->spf_helo ? "helo" : "mailfrom", "reason", jstr(reason_name(v->spf_reason)),
	    "detail", jstr(v->spf_detail),
	    "dkim", dk,
	    "dmarc", "result", auth_result_name(v->dmarc), "policy", jstr(v->dmarc_policy),
	    "domain", jstr(v->dmarc_domain), "detail", jstr(v->dmarc_detail),
	    "adopted_from", jstr(v->adopted_from));
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	const char *r = arena_strdup(a, txt ? txt : "{}");
	free(txt);
	json_decref(o);
	return r;
}

void
auth_render(struct arena *a, const char *authserv_id, struct auth_verdict *v)
{
	v->header = render_header(a, authserv_id, v);
	v->json = render_json(a, v);
}
