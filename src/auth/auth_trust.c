/* auth_trust.c - collected mail: trust what the receiving host saw.
 *
 * Mail collected from a mailbox (POP3) was received over SMTP by someone
 * else; the IP and HELO we would check SPF against are gone.  Two
 * configured trusts recover them (issue 4): the Received header stamped
 * "by" a trusted host gives the client IP and HELO, or the
 * Authentication-Results of a trusted authserv-id are adopted as they
 * stand.  Only the topmost matching field counts, and only above the
 * first Received written outside the provider (trusted_results): fields
 * further down were written by whoever sent the message, and may be
 * forged.  Between the provider's Received and that boundary the trusted
 * host must strip Authentication-Results carrying its own id that arrive
 * from outside (RFC 8601 5), as Gmail, Microsoft and Postfix milters do.
 */
#include "auth/auth_private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "auth/dmarc.h"
#include "core/spool.h"

/* Reads the header block (up to AUTH_MAX_HEADER_BYTES) into the arena. */
static const char *
read_headers(struct arena *a, struct spool *raw, size_t *len_r)
{
	char *buf = arena_alloc(a, AUTH_MAX_HEADER_BYTES + 1);
	size_t n = 0;
	while (n < AUTH_MAX_HEADER_BYTES) {
		ssize_t r = spool_read_at(raw, n, buf + n, AUTH_MAX_HEADER_BYTES - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	buf[n] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	char *end2 = strstr(buf, "\n\n");
	if (end2 && (end == NULL || end2 < end))
		end = end2;
	*len_r = end ? (size_t)(end - buf) : n;
	return buf;
}

size_t
auth_header_fields(struct arena *a, struct spool *raw, const char *const *names, size_t nnames,
                   struct auth_hfield *out, size_t max)
{
	size_t len, k = 0;
	const char *h = read_headers(a, raw, &len), *end = h + len;
	for (const char *p = h; p < end && k < max;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *fe = eol ? eol : end;
		while (fe + 1 < end && (fe[1] == ' ' || fe[1] == '\t')) {   /* folded */
			const char *next = memchr(fe + 1, '\n', (size_t)(end - fe - 1));
			fe = next ? next : end;
		}
		for (size_t w = 0; w < nnames; w++) {
			size_t nl = strlen(names[w]);
			if ((size_t)(fe - p) <= nl || strncasecmp(p, names[w], nl) != 0 || p[nl] != ':')
				continue;
			char *v = arena_strndup(a, p + nl + 1, (size_t)(fe - p - nl - 1));
			for (char *c = v; *c; c++)       /* unfold */
				if (*c == '\r' || *c == '\n' || *c == '\t')
					*c = ' ';
			out[k++] = (struct auth_hfield){(unsigned)w, v};
			break;
		}
		p = fe < end ? fe + 1 : end;
	}
	return k;
}

size_t
auth_header_values(struct arena *a, struct spool *raw, const char *name, const char **out,
                   size_t max)
{
	struct auth_hfield f[AUTH_MAX_FIELDS];
	size_t n = auth_header_fields(a, raw, &name, 1, f, max < AUTH_MAX_FIELDS ? max : AUTH_MAX_FIELDS);
	for (size_t i = 0; i < n; i++)
		out[i] = f[i].value;
	return n;
}

/* The word after `key ` in s (space-separated), copied; NULL if absent. */
static const char *
word_after(struct arena *a, const char *s, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = s; (p = strcasestr(p, key)) != NULL; p += kl) {
		bool start = p == s || isspace((unsigned char)p[-1]) || p[-1] == ';';
		if (!start || !isspace((unsigned char)p[kl]))
			continue;
		const char *w = p + kl;
		while (isspace((unsigned char)*w))
			w++;
		size_t n = strcspn(w, " \t;()");
		return n ? arena_strndup(a, w, n) : NULL;
	}
	return NULL;
}

static const char *
bracket_ip(struct arena *a, const char *s, const char *stop)
{
	const char *lb = strchr(s, '[');
	if (lb == NULL || (stop && lb > stop))
		return NULL;
	const char *rb = strchr(lb, ']');
	if (rb == NULL)
		return NULL;
	lb++;
	if (strncasecmp(lb, "IPv6:", 5) == 0)
		lb += 5;
	return arena_strndup(a, lb, (size_t)(rb - lb));
}

int
auth_received_peer(struct arena *a, struct spool *raw, const char *host, const char **ip_r,
                   const char **helo_r)
{
	const char *vals[AUTH_MAX_FIELDS];
	size_t n = auth_header_values(a, raw, "Received", vals, AUTH_MAX_FIELDS);
	for (size_t i = 0; i < n; i++) {
		const char *by = word_after(a, vals[i], "by");
		if (by == NULL || strcasecmp(by, host) != 0)
			continue;
		const char *from = strcasestr(vals[i], "from ");
		const char *byp = strcasestr(vals[i], " by ");
		const char *ip = from ? bracket_ip(a, from, byp) : NULL;
		if (ip == NULL)
			return -1;
		const char *helo = word_after(a, vals[i], "from");
		const char *exim = strcasestr(vals[i], "helo=");
		if (exim && (!byp || exim < byp))
			helo = arena_strndup(a, exim + 5, strcspn(exim + 5, " \t;)"));
		*ip_r = ip;
		*helo_r = helo ? helo : "";
		return 0;
	}
	return -1;
}

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
 * provider (trusted_received_host, else the authserv-id as a host name),
 * or, when none is, the topmost Received.  A copy further down was in
 * the message when it reached the provider -- the sender wrote it.  Above
 * the boundary: Postfix milters, Microsoft 365 and Fastmail put theirs
 * above their Received, Gmail right below it. */
/* The Received value has "by HOST" outside comments.  Comments go first,
 * and every "by" is tried, so a HELO of "by" (from by (rdns [ip]) by
 * mx...) cannot hide the real clause. */
static bool
stamped_by(struct arena *a, const char *value, const char *host)
{
	const char *s = strip_comments(a, value);
	size_t hl = strlen(host);
	for (const char *p = s; (p = strcasestr(p, "by")) != NULL; p += 2) {
		if ((p != s && !isspace((unsigned char)p[-1]) && p[-1] != ';') || !isspace((unsigned char)p[2]))
			continue;
		const char *h = p + 2;
		while (isspace((unsigned char)*h))
			h++;
		if (strncasecmp(h, host, hl) == 0 && (h[hl] == '\0' || h[hl] == ';' ||
		                                      isspace((unsigned char)h[hl])))
			return true;
	}
	return false;
}

static const char *
trusted_results(struct arena *a, const struct auth_input *in)
{
	static const char *const names[] = {"Received", "Authentication-Results"};
	struct auth_hfield f[AUTH_MAX_FIELDS];
	const char *host = in->trusted_received_host && *in->trusted_received_host
	                 ? in->trusted_received_host : in->trusted_authserv_id;
	size_t n = auth_header_fields(a, in->raw, names, 2, f, AUTH_MAX_FIELDS), top = n, edge = n;
	for (size_t i = 0; i < n && top == n; i++)
		if (f[i].name == 0 && stamped_by(a, f[i].value, host))
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
