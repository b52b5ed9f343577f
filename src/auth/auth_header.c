/* auth_header.c - the verdict as an RFC 8601 Authentication-Results
 * header and as JSON (stored with the message, `messages show --json`).
 *
 * Everything in the header came from the peer or from DNS, so it is made
 * safe first: property values are reduced to token characters, comments
 * lose parentheses, quotes and line breaks, and each resinfo goes on its
 * own folded line so no line nears the 998-octet limit of RFC 5322.
 */
#include "auth/auth_private.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jsonw.h"

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
		bool special = ch == '(' || ch == ')' || ch == ';' || ch == '\\' || ch == '"';
		o[i] = (ch < 0x20 || ch > 0x7e || special) ? ' ' : (char)ch;
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
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		          ch == '.' || ch == '-' || ch == '_' || ch == '+' || ch == '@';
		o[i] = ok ? (char)ch : '_';
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

static const char *
reason_name(enum pr_err e)
{
	return e == PR_OK ? NULL : pr_err_name(e);
}

/* The same facts as JSON (`messages show --json`), written with jsonw.h:
 * jansson's tree was three quarters of the cost of rendering a verdict. */
static const char *
render_json(struct arena *a, const struct auth_verdict *v)
{
	struct buf b;
	buf_init(&b, 1024 * 1024);     /* a ceiling, not an allocation */
	struct jsonw w;
	jsonw_init(&w, &b);
	jsonw_open(&w, NULL, '{');
	jsonw_open(&w, "spf", '{');
	jsonw_str(&w, "result", auth_result_name(v->spf));
	jsonw_str(&w, "domain", v->spf_domain);
	jsonw_str(&w, "identity", v->spf_helo ? "helo" : "mailfrom");
	jsonw_str(&w, "reason", reason_name(v->spf_reason));
	jsonw_str(&w, "detail", v->spf_detail);
	jsonw_close(&w);
	jsonw_open(&w, "dkim", '[');
	for (size_t i = 0; i < v->ndkim; i++) {
		const struct auth_dkim_sig *s = &v->dkim[i];
		jsonw_open(&w, NULL, '{');
		jsonw_str(&w, "domain", s->domain);
		jsonw_str(&w, "selector", s->selector);
		jsonw_str(&w, "algorithm", s->algorithm);
		jsonw_str(&w, "result", auth_result_name(s->result));
		jsonw_str(&w, "reason", reason_name(s->reason));
		jsonw_str(&w, "detail", s->detail);
		jsonw_bool(&w, "aligned", s->aligned);
		jsonw_close(&w);
	}
	jsonw_close(&w);
	jsonw_open(&w, "dmarc", '{');
	jsonw_str(&w, "result", auth_result_name(v->dmarc));
	jsonw_str(&w, "policy", v->dmarc_policy);
	jsonw_str(&w, "domain", v->dmarc_domain);
	jsonw_str(&w, "detail", v->dmarc_detail);
	jsonw_close(&w);
	jsonw_str(&w, "adopted_from", v->adopted_from);
	jsonw_close(&w);
	/* At most 16 signatures of bounded fields: the ceiling is never met. */
	const char *r = b.err == PR_OK ? arena_strndup(a, buf_cstr(&b), b.len) : "{}";
	buf_free(&b);
	return r;
}

void
auth_render(struct arena *a, const char *authserv_id, struct auth_verdict *v)
{
	v->header = render_header(a, authserv_id, v);
	v->json = render_json(a, v);
}
