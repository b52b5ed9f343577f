/* auth_trust.c - collected mail: adopt what the receiving host decided.
 *
 * Mail collected from a mailbox (POP3) was received over SMTP by someone
 * else; we cannot check the real SMTP session.  Two configured trusts
 * recover it (issue 4): the client IP and HELO from the Received header
 * stamped by a trusted host (auth_received.c, read by intake's envelope
 * normaliser), or, here, the Authentication-Results of a trusted
 * authserv-id adopted as they stand.  Only the topmost matching field
 * counts, and only above the first Received written outside the provider
 * (trusted_results): fields further down were written by whoever sent the
 * message, and may be forged.  Between the provider's Received and that
 * boundary the trusted host must strip Authentication-Results carrying
 * its own id that arrive from outside (RFC 8601 5), as Gmail, Microsoft
 * and Postfix milters do.
 */
#include "auth/auth_private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "auth/dmarc.h"
#include "core/spool.h"
#include "mime/mime.h"

static enum auth_result
result_word(const char *w, size_t n)
{
	static const char *const names[] = {"none", "pass", "fail", "softfail", "neutral",
	                                    "temperror", "permerror", "policy"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(w, names[i], n) == 0)
			return (enum auth_result)i;
	return AUTH_NONE;
}

/* property value "key=value" inside one resinfo; NULL if absent. */
static const char *
prop(struct arena *a, const char *ri, const char *key)
{
	const char *p = strcasestr(ri, key);
	if (p == NULL)
		return NULL;
	p += strlen(key);
	return arena_strndup(a, p, strcspn(p, " \t;()"));
}

static void
adopt_resinfo(struct arena *a, const char *ri, struct auth_verdict *v, size_t maxdkim)
{
	while (isspace((unsigned char)*ri))
		ri++;
	const char *eq = strchr(ri, '=');
	if (eq == NULL)
		return;
	size_t ml = (size_t)(eq - ri), rl = strcspn(eq + 1, " \t;(");
	enum auth_result r = result_word(eq + 1, rl);
	if (ml == 3 && strncasecmp(ri, "spf", 3) == 0) {
		v->spf = r;
		v->spf_domain = prop(a, ri, "smtp.mailfrom=");
		if (v->spf_domain && strchr(v->spf_domain, '@'))
			v->spf_domain = strchr(v->spf_domain, '@') + 1;
		v->spf_reason = r == AUTH_PASS ? PR_OK : r == AUTH_TEMPERROR ? PR_E_SPF_TEMPERROR
		              : r == AUTH_NONE ? PR_E_SPF_NONE : PR_E_SPF_FAIL;
	} else if (ml == 4 && strncasecmp(ri, "dkim", 4) == 0 && v->ndkim < maxdkim) {
		struct auth_dkim_sig *s = &v->dkim[v->ndkim++];
		s->result = r;
		s->domain = prop(a, ri, "header.d=");
		s->selector = prop(a, ri, "header.s=");
		s->algorithm = prop(a, ri, "header.a=");
		s->reason = r == AUTH_PASS ? PR_OK : r == AUTH_TEMPERROR ? PR_E_DKIM_TEMPERROR : PR_E_DKIM_FAIL;
		if (s->domain == NULL)
			s->domain = "";
	} else if (ml == 5 && strncasecmp(ri, "dmarc", 5) == 0) {
		v->dmarc = r;
	}
}

/* The value without RFC 5322 comments, so ';' inside "(...)" is text. */
static char *
strip_comments(struct arena *a, const char *s)
{
	char *o = arena_strdup(a, s), *w = o;
	int depth = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			*w++ = *p;
	}
	*w = '\0';
	return o;
}

static bool
results_by(const char *value, const char *id)
{
	char got[256];
	return auth_results_id(value, strlen(value), got, sizeof(got)) > 0 && strcasecmp(got, id) == 0;
}

/* The trusted Authentication-Results, or NULL.  It must be the topmost
 * one with the id AND lie above the first Received written outside the
 * provider: the first Received below the topmost one stamped "by" the
 * provider (trusted_received_host, else the authserv-id as a host name;
 * auth_received_names, the stamp parser's own test, so a HELO of "by"
 * cannot hide the real clause),
 * or, when none is, the topmost Received.  A copy further down was in
 * the message when it reached the provider -- the sender wrote it.  Above
 * the boundary: Postfix milters, Microsoft 365 and Fastmail put theirs
 * above their Received, Gmail right below it. */
static const char *
trusted_results(struct arena *a, const struct auth_input *in)
{
	static const char *const names[] = {"Received", "Authentication-Results"};
	struct mime_hfield f[AUTH_MAX_FIELDS];
	const char *host = in->trusted_received_host && *in->trusted_received_host
	                 ? in->trusted_received_host : in->trusted_authserv_id;
	size_t n = mime_header_fields(a, in->raw, names, 2, f, AUTH_MAX_FIELDS), top = n, edge = n;
	for (size_t i = 0; i < n && top == n; i++)
		if (f[i].name == 0 && auth_received_names(f[i].value, host))
			top = i;
	for (size_t i = top == n ? 0 : top + 1; i < n && edge == n; i++)
		if (f[i].name == 0)
			edge = i;
	for (size_t i = 0; i < edge; i++)
		if (f[i].name == 1 && results_by(f[i].value, in->trusted_authserv_id))
			return f[i].value;
	return NULL;
}

bool
auth_adopt_trusted(struct arena *a, const struct auth_input *in, struct auth_verdict *v)
{
	const char *val = in->raw ? trusted_results(a, in) : NULL;
	if (val == NULL)
		return false;
	char *s = strip_comments(a, val);
	v->adopted_from = in->trusted_authserv_id;
	v->dkim = arena_alloc(a, AUTH_MAX_FIELDS * sizeof(*v->dkim));
	char *save = NULL;
	strtok_r(s, ";", &save);                  /* authserv-id [version] */
	for (char *ri = strtok_r(NULL, ";", &save); ri; ri = strtok_r(NULL, ";", &save))
		adopt_resinfo(a, ri, v, AUTH_MAX_FIELDS);
	const char *from = in->from_domain ? in->from_domain : "";
	for (size_t k = 0; k < v->ndkim; k++) {
		struct auth_dkim_sig *sg = &v->dkim[k];
		sg->aligned = *from && *sg->domain && dmarc_aligned(sg->domain, from, false);
		sg->detail = arena_printf(a, "as reported by %s", in->trusted_authserv_id);
	}
	if (v->spf_domain == NULL)
		v->spf_domain = "";
	v->spf_detail = arena_printf(a, "SPF %s for %s, as reported by %s", auth_result_name(v->spf),
	                             v->spf_domain, in->trusted_authserv_id);
	v->dmarc_domain = from;
	return true;
}
