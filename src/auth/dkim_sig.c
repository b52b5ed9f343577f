/* dkim_sig.c - parse and vet one DKIM-Signature field (RFC 6376 3.5, 6.1.1).
 *
 * Everything that can be decided from the signature alone is decided here,
 * before any DNS query: missing required tags, v= other than 1, unknown
 * a=/c=/q=, h= without From, i= outside d=, x= before t=, and above all a
 * d= or s= that is not a domain name -- "legitimate.com(.attacker.com" must
 * never reach the resolver (a peer looks it up and passes).  rsa-sha1 is
 * refused (RFC 8301 3.1: verifiers MUST NOT consider rsa-sha1 signatures
 * valid).  Every refusal here is a permerror (RFC 8601 2.7.1): the
 * signature was never verified, so it cannot have "failed".
 */
#include "auth/dkim_private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/text.h"

static void
refuse(struct dkim_sigstate *s, enum pr_err e, const char *detail)
{
	if (s->early != PR_OK)
		return;
	s->early = e;
	s->out->reason = e;
	s->out->result = AUTH_PERMERROR;
	s->out->detail = detail;
}

static bool
tag_is(const struct dkim_tag *t, const char *word)
{
	size_t n = strlen(word);
	return t->len == n && strncasecmp(t->val, word, n) == 0;
}

/* Decimal, at most 76 digits (RFC); saturates instead of overflowing. */
static bool
parse_num(const struct dkim_tag *t, uint64_t *v)
{
	if (t->len == 0 || t->len > 76)
		return false;
	*v = 0;
	for (size_t i = 0; i < t->len; i++) {
		if (!isdigit((unsigned char)t->val[i]))
			return false;
		unsigned d = (unsigned)(t->val[i] - '0');
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	return true;
}

static void
parse_alg(struct dkim_sigstate *s, const struct dkim_tag *a)
{
	if (tag_is(a, "rsa-sha256"))
		s->alg = DKIM_A_RSA_SHA256;
	else if (tag_is(a, "ed25519-sha256"))
		s->alg = DKIM_A_ED25519_SHA256;
	else if (tag_is(a, "rsa-sha1")) {
		s->alg = DKIM_A_RSA_SHA1;
		refuse(s, PR_E_DKIM_PERMERROR, "rsa-sha1 signatures are no longer valid (RFC 8301)");
	} else
		refuse(s, PR_E_DKIM_PERMERROR, "unknown signature algorithm a=");
}

static bool
canon_word(const char *p, size_t n, bool *relaxed)
{
	if (n == 6 && strncasecmp(p, "simple", 6) == 0)
		*relaxed = false;
	else if (n == 7 && strncasecmp(p, "relaxed", 7) == 0)
		*relaxed = true;
	else
		return false;
	return true;
}

static void
parse_canon(struct dkim_sigstate *s, const struct dkim_tag *c)
{
	s->hrelaxed = s->brelaxed = false;
	if (c == NULL)
		return;
	const char *slash = memchr(c->val, '/', c->len);
	size_t hl = slash ? (size_t)(slash - c->val) : c->len;
	bool ok = canon_word(c->val, hl, &s->hrelaxed);
	if (ok && slash)
		ok = canon_word(slash + 1, c->len - hl - 1, &s->brelaxed);
	if (!ok)
		refuse(s, PR_E_DKIM_PERMERROR, "unknown canonicalization c=");
}

static bool
fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next item of a colon-separated tag value (h=, q=), FWS trimmed:
 * [*a, *b) in t->val.  false when the list is done. */
static bool
next_item(const struct dkim_tag *t, size_t *i, size_t *a, size_t *b)
{
	if (*i > t->len)
		return false;
	size_t j = *i;
	while (j < t->len && t->val[j] != ':')
		j++;
	*a = *i;
	*b = j;
	while (*a < *b && fws(t->val[*a]))
		(*a)++;
	while (*b > *a && fws(t->val[*b - 1]))
		(*b)--;
	*i = j + 1;
	return true;
}

static void
parse_h(struct dkim_sigstate *s, const struct dkim_tag *h)
{
	size_t i = 0, a, b;
	s->nh = s->nfrom = 0;
	while (next_item(h, &i, &a, &b)) {
		if (b > a) {
			if (s->nh >= DKIM_MAX_H)
				return refuse(s, PR_E_DKIM_PERMERROR, "too many header names in h=");
			s->h[s->nh++] = (struct dkim_hname){h->val + a, b - a};
			if (b - a == 4 && strncasecmp(h->val + a, "from", 4) == 0)
				s->nfrom++;
		}
	}
	if (s->nfrom == 0)
		refuse(s, PR_E_DKIM_PERMERROR, "h= does not include From (RFC 6376 6.1.1)");
}

/* dkim-quoted-printable (RFC 6376 2.11): FWS is dropped, "=XX" is one
 * octet.  The result is at most as long as the input.  NULL on a broken
 * escape, or an octet that has no place in an address (controls, space,
 * DEL): the identity is shown to people and compared with d=. */
static char *
qp_decode(struct arena *a, const char *v, size_t len)
{
	char *o = arena_alloc(a, len + 1);
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (fws((char)c))
			continue;
		if (c == '=') {
			if (i + 2 >= len || text_hex_digit(v[i + 1]) < 0 || text_hex_digit(v[i + 2]) < 0)
				return NULL;
			c = (unsigned char)(text_hex_digit(v[i + 1]) * 16 + text_hex_digit(v[i + 2]));
			i += 2;
		}
		if (c <= 0x20 || c == 0x7f)
			return NULL;
		o[k++] = (char)c;
	}
	o[k] = '\0';
	return o;
}

/* i= must be d= or a subdomain of it (6.1.1), compared after decoding:
 * "i=user=40mail.example.com" is user@mail.example.com. */
static void
parse_auid(struct arena *a, struct dkim_sigstate *s, const struct dkim_tag *i)
{
	const char *d = s->out->domain;
	if (i == NULL) {
		s->out->identity = arena_printf(a, "@%s", d);
		s->auid_domain = d;
		return;
	}
	char *id = qp_decode(a, i->val, i->len);
	if (id == NULL) {
		s->out->identity = "";
		s->auid_domain = "";
		return refuse(s, PR_E_DKIM_PERMERROR, "i= is not valid dkim-quoted-printable");
	}
	s->out->identity = id;
	const char *at = strrchr(id, '@');
	s->auid_domain = at ? at + 1 : "";
	size_t il = strlen(s->auid_domain), dl = strlen(d);
	bool ok = il == dl ? strcasecmp(s->auid_domain, d) == 0
	        : il > dl && s->auid_domain[il - dl - 1] == '.'
	          && strcasecmp(s->auid_domain + il - dl, d) == 0;
	if (at == NULL || !ok)
		refuse(s, PR_E_DKIM_PERMERROR, "i= is not in the d= domain");
}

/* q= is a colon-separated list of methods (RFC 6376 3.5), each
 * type["/"options]; unknown ones are skipped, and one of them must be
 * dns/txt, the only method there is. */
static bool
q_offers_dns_txt(const struct dkim_tag *q)
{
	size_t i = 0, a, b;
	while (next_item(q, &i, &a, &b))
		if (b - a == 7 && strncasecmp(q->val + a, "dns/txt", 7) == 0)
			return true;
	return false;
}

static void
parse_times(struct dkim_sigstate *s, const struct dkim_tags *tags)
{
	const struct dkim_tag *t = dkim_tags_get(tags, "t"), *x = dkim_tags_get(tags, "x");
	const struct dkim_tag *l = dkim_tags_get(tags, "l"), *q = dkim_tags_get(tags, "q");
	s->l = UINT64_MAX;
	if (l != NULL && !parse_num(l, &s->l))
		refuse(s, PR_E_DKIM_PERMERROR, "l= is not a number");
	s->out->body_limited = l != NULL;
	if (t != NULL && !parse_num(t, &s->t))
		refuse(s, PR_E_DKIM_PERMERROR, "t= is not a number");
	s->has_x = x != NULL;
	if (x != NULL && !parse_num(x, &s->x))
		refuse(s, PR_E_DKIM_PERMERROR, "x= is not a number");
	if (t != NULL && x != NULL && s->x < s->t)
		refuse(s, PR_E_DKIM_PERMERROR, "x= is before t=");
	if (q != NULL && !q_offers_dns_txt(q))
		refuse(s, PR_E_DKIM_PERMERROR, "q= does not offer dns/txt");
}

static void
parse_hashes(struct dkim_sigstate *s, const struct dkim_tag *bh, const struct dkim_tag *b)
{
	long n = dkim_base64(bh->val, bh->len, s->bh, sizeof(s->bh));
	long m = dkim_base64(b->val, b->len, s->b, sizeof(s->b));
	if (n <= 0 || m <= 0)
		return refuse(s, PR_E_DKIM_PERMERROR, "b= or bh= is not valid base64");
	s->bhlen = (size_t)n;
	s->blen = (size_t)m;
	s->b_start = s->voff + b->region_start;
	s->b_end = s->voff + b->region_end;
}

static const char *
dup_tag(struct arena *a, const struct dkim_tags *tags, const char *name)
{
	const struct dkim_tag *t = dkim_tags_get(tags, name);
	return t ? arena_strndup(a, t->val, t->len) : "";
}

void
dkim_sig_parse(struct arena *a, const char *field, size_t len, struct dkim_sigstate *s)
{
	struct dkim_tags *tags = arena_alloc(a, sizeof(*tags));
	const char *err = NULL, *colon = memchr(field, ':', len);
	s->voff = colon ? (size_t)(colon - field) + 1 : len;
	s->out->detail = "signature verified";
	if (dkim_tags_parse(field + s->voff, len - s->voff, tags, &err) < 0)
		tags->n = 0;
	s->out->domain = dup_tag(a, tags, "d");
	s->out->selector = dup_tag(a, tags, "s");
	s->out->algorithm = dup_tag(a, tags, "a");
	s->out->identity = "";
	if (err != NULL)
		return refuse(s, PR_E_DKIM_PERMERROR, arena_printf(a, "signature tag list: %s", err));
	const struct dkim_tag *v = dkim_tags_get(tags, "v");
	if (v == NULL || !tag_is(v, "1"))
		return refuse(s, PR_E_DKIM_PERMERROR, v ? "v= is not 1" : "signature lacks v= tag");
	static const char *const req[] = {"a", "b", "bh", "d", "h", "s"};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (dkim_tags_get(tags, req[i]) == NULL)
			return refuse(s, PR_E_DKIM_PERMERROR,
			              arena_printf(a, "signature lacks the %s= tag", req[i]));
	if (!dkim_valid_domain(s->out->domain, strlen(s->out->domain)))
		return refuse(s, PR_E_DKIM_PERMERROR, "d= is not a valid domain name (not looked up)");
	if (!dkim_valid_domain(s->out->selector, strlen(s->out->selector)))
		return refuse(s, PR_E_DKIM_PERMERROR, "s= is not a valid selector (not looked up)");
	parse_canon(s, dkim_tags_get(tags, "c"));
	parse_h(s, dkim_tags_get(tags, "h"));
	parse_auid(a, s, dkim_tags_get(tags, "i"));
	parse_times(s, tags);
	parse_hashes(s, dkim_tags_get(tags, "bh"), dkim_tags_get(tags, "b"));
	parse_alg(s, dkim_tags_get(tags, "a"));
}
