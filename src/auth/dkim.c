/* dkim.c - verify every DKIM-Signature of a message; see dkim.h.
 *
 * One pass over the message: header bytes are kept (at most
 * DKIM_MAX_HEADER_BYTES), split into fields at the blank line, and the
 * signatures parsed; every body byte then goes through one streaming
 * canonicaliser + SHA-256 per distinct (canonicalisation, l=) -- two
 * signatures with the same c= share one body hash.  At the end each
 * signature gets its key (cache or DNS), the key's restrictions, the body
 * hash comparison and the header signature check, in that order.
 *
 * Header fields are chosen bottom-up for each h= name (RFC 6376 5.4.2); a
 * name listed more often than it occurs contributes nothing (which is how
 * oversigning works).  The signature's own field is never selected.
 * l=: only the first l canonical body bytes are hashed, the rest is
 * counted in dkim_sig.unsigned_bytes so the caller can report (or refuse)
 * content nobody signed.
 *
 * Decisions where the peers disagree (shared/testdata/dkim/README.md):
 *  1. key h= without sha256 under an sha256 signature: fail (PR_E_DKIM_FAIL),
 *     as RFC 6376 6.1.2 says (dkimpy passes, mailauth says neutral).
 *  2. key t=s and i= a subdomain of d=: fail (RFC 6376 3.6.1; both peers
 *     pass, i.e. ignore the flag).
 *  3. an unsigned From field in addition to the signed one(s) (the message
 *     has more From fields than h= lists): fail with "an unsigned From
 *     header was added", like dkimpy.  Plain RFC 6376 would pass, but
 *     the From a reader sees would then be unsigned while DKIM/DMARC say
 *     pass for the signed one -- exactly the forgery a gateway exists to
 *     stop.  Extra unsigned Subject/Date/To fields still pass (RFC).
 *  4. d= (or s=) that is not a domain name: permerror, never looked up.
 *  5. result words: a signature refused before it was verified (no key
 *     record, revoked/short key, key h=/s=/t=s/k= against it, expired,
 *     rsa-sha1) is permerror, as RFC 8601 2.7.1 defines it; the peers
 *     say fail.  "fail" means verified and mismatched (set/mismatch).
 * Also: signatures with t= in the future are accepted (clock skew is
 * common; the vectors expect it); x= is compared with the caller's now.
 */
#include "auth/dkim_private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/sha256.h"
#include "core/spool.h"

struct hasher {
	bool relaxed;
	uint64_t limit;
	EVP_MD_CTX *md;
	struct dkim_bodycanon canon;
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
};

struct dkim_stream {
	struct arena *a;
	bool in_body;
	size_t line_start;
	struct buf head;
	struct dkim_field *f;
	size_t nf;
	/* Sized to the message (arena_alloc zeroes what it gives: fixed
	 * DKIM_MAX_* arrays cost ~170 KiB of memset per message). */
	struct dkim_sigstate *sig;
	struct dkim_sig *out;
	size_t nsig, ignored;
	struct hasher *h;
	size_t nh;
	unsigned from_count;
	bool too_many_fields;     /* header cut at DKIM_MAX_FIELDS */
};

static void
stream_cleanup(void *arg)
{
	struct dkim_stream *st = arg;
	for (size_t i = 0; i < st->nh; i++)
		EVP_MD_CTX_free(st->h[i].md);
	buf_free(&st->head);
}

struct dkim_stream *
dkim_stream_new(struct arena *a)
{
	struct dkim_stream *st = arena_alloc(a, sizeof(*st));
	st->a = a;
	buf_init(&st->head, DKIM_MAX_HEADER_BYTES);
	arena_on_free(a, stream_cleanup, st);
	return st;
}

static bool
name_is(const struct dkim_stream *st, const struct dkim_field *f, const char *n, size_t nl)
{
	return dkim_field_is((const char *)st->head.data, f, n, nl);
}

static int
hasher_for(struct dkim_stream *st, bool relaxed, uint64_t limit)
{
	for (size_t i = 0; i < st->nh; i++)
		if (st->h[i].relaxed == relaxed && st->h[i].limit == limit)
			return (int)i;
	struct hasher *h = &st->h[st->nh];
	h->relaxed = relaxed;
	h->limit = limit;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL || EVP_DigestInit_ex(h->md, sha256_md(), NULL) != 1)
		pr_panic("cannot initialise SHA-256");
	dkim_bodycanon_init(&h->canon, relaxed, limit, dkim_sha_sink, h->md);
	return (int)st->nh++;
}

static void
setup_signatures(struct dkim_stream *st)
{
	st->nf = dkim_fields_split(st->a, (const char *)st->head.data, st->head.len, &st->f,
	                           &st->too_many_fields);
	size_t cap = 0;
	for (size_t i = 0; i < st->nf && cap < DKIM_MAX_SIGS; i++)
		cap += name_is(st, &st->f[i], "dkim-signature", 14);
	if (cap > 0) {
		st->sig = arena_alloc(st->a, cap * sizeof(*st->sig));
		st->out = arena_alloc(st->a, cap * sizeof(*st->out));
		st->h = arena_alloc(st->a, cap * sizeof(*st->h));
	}
	for (size_t i = 0; i < st->nf; i++) {
		struct dkim_field *f = &st->f[i];
		if (name_is(st, f, "from", 4))
			st->from_count++;
		if (!name_is(st, f, "dkim-signature", 14))
			continue;
		if (st->nsig == DKIM_MAX_SIGS) {
			st->ignored++;
			continue;
		}
		struct dkim_sigstate *s = &st->sig[st->nsig];
		s->out = &st->out[st->nsig++];
		s->field = i;
		dkim_sig_parse(st->a, (const char *)st->head.data + f->off, f->len, s);
		if (s->early == PR_OK)
			s->hasher = hasher_for(st, s->brelaxed, s->l);
	}
}

static void
body_feed(struct dkim_stream *st, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < st->nh; i++)
		dkim_bodycanon_update(&st->h[i].canon, p, n);
}

/* Header bytes go into head line by line until the empty line. */
void
dkim_stream_feed(struct dkim_stream *st, const void *pv, size_t n)
{
	const uint8_t *p = pv;
	while (!st->in_body && n > 0 && st->head.err == PR_OK) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;
		buf_add(&st->head, p, k);
		p += k;
		n -= k;
		if (!nl)
			break;
		if (st->head.len - st->line_start == 2 && st->head.data[st->line_start] == '\r') {
			st->head.len = st->line_start;     /* the blank line ends the header */
			st->in_body = true;
			setup_signatures(st);
		}
		st->line_start = st->head.len;
	}
	if (st->in_body && n > 0)
		body_feed(st, p, n);
}

static void
header_data(struct dkim_stream *st, const struct dkim_sigstate *s, struct buf *out)
{
	const struct dkim_field *f = &st->f[s->field];
	struct dkim_hdrsel sel = {
		.head = (const char *)st->head.data, .f = st->f, .nf = st->nf, .self = s->field,
		.h = s->h, .nh = s->nh, .relaxed = s->hrelaxed,
		.sig = (const char *)st->head.data + f->off, .siglen = f->len,
		.b_start = s->b_start, .b_end = s->b_end,
	};
	dkim_header_data(st->a, &sel, out);
}

bool
dkim_stream_wants_more(const struct dkim_stream *st)
{
	return st->head.err == PR_OK && (!st->in_body || st->nh > 0);
}

/* RFC 8601 2.7.1: "fail" only for a signature that was verified and did
 * not match (body hash, header signature, or our unsigned-From rule);
 * one refused before that -- no key, a key that forbids it, expired --
 * is a permerror, DNS trouble a temperror. */
static enum pr_err
set(struct dkim_sigstate *s, enum pr_err e, const char *detail)
{
	s->out->reason = e;
	s->out->result = e == PR_OK ? AUTH_PASS : e == PR_E_DKIM_TEMPERROR ? AUTH_TEMPERROR
	               : AUTH_PERMERROR;
	s->out->detail = detail;
	return e;
}

static void
mismatch(struct dkim_sigstate *s, enum pr_err e, const char *detail)
{
	set(s, e, detail);
	s->out->result = AUTH_FAIL;
}

/* What the key record allows (RFC 6376 3.6.1, 6.1.2). */
static enum pr_err
key_allows(struct dkim_sigstate *s, const struct dkim_key *k)
{
	bool ed = s->alg == DKIM_A_ED25519_SHA256;
	if (ed != (k->type == DKIM_K_ED25519))
		return set(s, PR_E_DKIM_FAIL, ed ? "a=ed25519-sha256 but the key is k=rsa"
		                                 : "a=rsa-sha256 but the key is k=ed25519");
	if (!k->sha256_ok)
		return set(s, PR_E_DKIM_FAIL, "the key's h= does not allow sha256");
	if (!k->email_ok)
		return set(s, PR_E_DKIM_FAIL, "the key's s= does not allow email");
	if (k->strict && strcasecmp(s->auid_domain, s->out->domain) != 0)
		return set(s, PR_E_DKIM_FAIL, "the key is t=s (strict) but i= is a subdomain of d=");
	return PR_OK;
}

static void
verify_one(struct dkim_stream *st, struct dkim_sigstate *s, struct dkim_keycache *kc,
           struct dns *dns, time_t now)
{
	const char *why = NULL;
	struct dkim_key key;
	if (s->early != PR_OK)
		return;
	/* Fields we did not index could hide a second From or the signed
	 * instance of a header: refuse rather than guess. */
	if (st->too_many_fields)
		return (void)set(s, PR_E_DKIM_PERMERROR, "too many header fields to verify");
	memset(&key, 0, sizeof(key));
	if (s->has_x && (uint64_t)now > s->x)
		return (void)set(s, PR_E_DKIM_EXPIRED, "the signature expired (x= is past)");
	char *name = arena_printf(st->a, "%s._domainkey.%s", s->out->selector, s->out->domain);
	enum pr_err e = dkim_key_fetch(kc, dns, st->a, name, &key, &why);
	if (e != PR_OK) {
		dkim_key_clear(&key);
		return (void)set(s, e, why);
	}
	s->out->testing = key.testing;
	const struct hasher *h = &st->h[s->hasher];
	s->out->unsigned_bytes = h->canon.unsigned_bytes;
	if (key_allows(s, &key) != PR_OK)
		;
	else if (s->bhlen != h->dlen || memcmp(s->bh, h->digest, h->dlen) != 0)
		mismatch(s, PR_E_DKIM_BODY_CHANGED, "body hash mismatch: the body was changed");
	else {
		struct buf data;
		buf_init(&data, 2 * DKIM_MAX_HEADER_BYTES);
		header_data(st, s, &data);
		if (!dkim_signature_ok(s->alg, key.pkey, s->b, s->blen, &data))
			mismatch(s, PR_E_DKIM_FAIL, "signature mismatch: a signed header was changed");
		else if (st->from_count > s->nfrom)
			mismatch(s, PR_E_DKIM_FAIL, "an unsigned From header was added to the message");
		else
			set(s, PR_OK, "signature verified");
		buf_free(&data);
	}
	dkim_key_clear(&key);
}

enum pr_err
dkim_stream_finish(struct dkim_stream *st, struct dkim_keycache *kc, struct dns *dns,
                   time_t now, struct dkim_result *out)
{
	memset(out, 0, sizeof(*out));
	if (st->head.err != PR_OK)
		return st->head.err;
	if (!st->in_body) {            /* no blank line: all header, empty body */
		st->in_body = true;
		setup_signatures(st);
	}
	for (size_t i = 0; i < st->nh; i++) {
		struct hasher *h = &st->h[i];
		dkim_bodycanon_final(&h->canon);
		if (EVP_DigestFinal_ex(h->md, h->digest, &h->dlen) != 1)
			pr_panic("SHA-256 final failed");
	}
	for (size_t i = 0; i < st->nsig; i++)
		verify_one(st, &st->sig[i], kc, dns, now);
	out->sig = st->out;
	out->n = st->nsig;
	out->ignored = st->ignored;
	out->from_count = st->from_count;
	return PR_OK;
}

enum pr_err
dkim_verify(struct dkim_keycache *kc, struct dns *dns, struct arena *a,
            struct spool *msg, time_t now, struct dkim_result *out)
{
	struct dkim_stream *st = dkim_stream_new(a);
	const uint8_t *mem = spool_memory(msg);
	if (mem != NULL) {
		dkim_stream_feed(st, mem, (size_t)spool_size(msg));
		return dkim_stream_finish(st, kc, dns, now, out);
	}
	uint8_t *chunk = xmalloc(64 * 1024);
	uint64_t off = 0;
	ssize_t r = 0;
	while (dkim_stream_wants_more(st) && (r = spool_read_at(msg, off, chunk, 64 * 1024)) > 0) {
		dkim_stream_feed(st, chunk, (size_t)r);
		off += (uint64_t)r;
	}
	free(chunk);
	if (r < 0) {
		memset(out, 0, sizeof(*out));
		return PR_E_IO;
	}
	return dkim_stream_finish(st, kc, dns, now, out);
}
