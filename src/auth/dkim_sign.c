/* dkim_sign.c - make the DKIM-Signature fields of an outgoing message.
 * See dkim_sign.h.
 *
 * The body is hashed through the verifier's streaming canonicaliser and
 * the header data is built by the verifier's own selection code
 * (dkim_header_data), so a signature we make is, by construction, one our
 * verifier accepts; dkimpy checks the same in the tests.
 *
 * Which fields are signed: those a reader sees or that change how the
 * message is shown (RFC 6376 5.4.1), each as often as it occurs, and From
 * once more than it occurs (oversigning): a From added on the way -- the
 * display forgery DMARC exists to stop -- then breaks the signature.
 * Received, Return-Path and the like are left out: relays add them.
 */
#include "auth/dkim_sign_private.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/sha256.h"

static const char *const signed_names[] = {
	"from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", "content-disposition", "auto-submitted", "list-unsubscribe",
};
#define NSIGNED (sizeof(signed_names) / sizeof(signed_names[0]))

/* The message split at its blank line. */
struct parts {
	const char *head;
	size_t headlen;
	const uint8_t *body;
	size_t bodylen;
};

static void
split_message(const uint8_t *msg, size_t len, struct parts *p)
{
	const uint8_t *blank = NULL;
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		blank = msg;           /* no header at all */
	else
		blank = memmem(msg, len, "\r\n\r\n", 4);
	p->head = (const char *)msg;
	if (blank == NULL) {
		p->headlen = len;
		p->body = msg + len;
		p->bodylen = 0;
		return;
	}
	p->headlen = blank == msg ? 0 : (size_t)(blank - msg) + 2;
	p->body = blank + (blank == msg ? 2 : 4);
	p->bodylen = len - (size_t)(p->body - msg);
}

static void
body_hash(const struct parts *p, char *b64)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct dkim_bodycanon c;
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dl = 0;
	if (md == NULL || EVP_DigestInit_ex(md, sha256_md(), NULL) != 1)
		pr_panic("cannot initialise SHA-256");
	dkim_bodycanon_init(&c, true, UINT64_MAX, dkim_sha_sink, md);
	dkim_bodycanon_update(&c, p->body, p->bodylen);
	dkim_bodycanon_final(&c);
	if (EVP_DigestFinal_ex(md, d, &dl) != 1)
		pr_panic("SHA-256 final failed");
	EVP_MD_CTX_free(md);
	EVP_EncodeBlock((unsigned char *)b64, d, (int)dl);
}

/* h=: every signed name as often as it occurs, From once more.  Names are
 * written into field (folded every few names) and listed in h. */
static size_t
choose_headers(const struct parts *p, const struct dkim_field *f, size_t nf,
               struct dkim_hname *h, struct buf *field)
{
	size_t nh = 0;
	buf_addstr(field, "h=");
	for (size_t k = 0; k < NSIGNED; k++) {
		size_t len = strlen(signed_names[k]), n = k == 0;
		for (size_t i = 0; i < nf; i++)
			n += dkim_field_is(p->head, &f[i], signed_names[k], len);
		for (; n > 0 && nh < DKIM_MAX_H; n--) {
			if (nh > 0)
				buf_addstr(field, nh % 6 == 0 ? "\r\n\t:" : ":");
			buf_addstr(field, signed_names[k]);
			h[nh++] = (struct dkim_hname){signed_names[k], len};
		}
	}
	buf_addstr(field, ";\r\n\t");
	return nh;
}

/* rsa-sha256: PKCS#1 v1.5 over SHA-256 of the data; ed25519-sha256
 * (RFC 8463 3): Ed25519 over the SHA-256 digest of the data. */
static size_t
sign_data(const struct dkim_signkey *k, const struct buf *data, uint8_t *sig, size_t max)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sl = max;
	bool ok;
	if (ctx == NULL)
		pr_panic("out of memory");
	if (k->ed25519) {
		uint8_t d[32];
		unsigned dl = 0;
		ok = EVP_Digest(data->data, data->len, d, &dl, sha256_md(), NULL) == 1
		     && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1
		     && EVP_DigestSign(ctx, sig, &sl, d, dl) == 1;
	} else {
		ok = EVP_DigestSignInit(ctx, NULL, sha256_md(), NULL, k->pkey) == 1
		     && EVP_DigestSign(ctx, sig, &sl, data->data, data->len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	if (!ok)
		pr_panic("DKIM signing with %s failed", k->path);
	return sl;
}

/* Append b64 to field, folded at 72 columns (FWS inside b= is ignored by
 * every verifier, RFC 6376 3.5). */
static void
add_folded(struct buf *field, const char *b64)
{
	size_t n = strlen(b64);
	for (size_t i = 0; i < n; i += 72) {
		if (i > 0)
			buf_addstr(field, "\r\n\t ");
		buf_add(field, b64 + i, n - i < 72 ? n - i : 72);
	}
}

static void
sign_one(struct arena *a, const struct dkim_signkey *k, const struct parts *p,
         const struct dkim_field *f, size_t nf, const char *bh, time_t now, struct buf *out)
{
	struct dkim_hname h[DKIM_MAX_H];
	struct buf field, data;
	buf_init(&field, 64 * 1024);
	buf_init(&data, 2 * DKIM_MAX_HEADER_BYTES);
	buf_printf(&field, "DKIM-Signature: v=1; a=%s; c=relaxed/relaxed; d=%s; s=%s;\r\n\tt=%lld; ",
	           k->ed25519 ? "ed25519-sha256" : "rsa-sha256", k->domain, k->selector, (long long)now);
	size_t nh = choose_headers(p, f, nf, h, &field);
	buf_printf(&field, "bh=%s;\r\n\tb=", bh);
	size_t b_at = field.len;
	buf_addstr(&field, "\r\n");
	struct dkim_hdrsel sel = {
		.head = p->head, .f = f, .nf = nf, .self = nf, .h = h, .nh = nh, .relaxed = true,
		.sig = (const char *)field.data, .siglen = field.len, .b_start = b_at, .b_end = b_at,
	};
	dkim_header_data(a, &sel, &data);
	uint8_t sig[1024];
	char b64[((sizeof(sig) + 2) / 3) * 4 + 1];
	size_t sl = sign_data(k, &data, sig, sizeof(sig));
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)sl);
	field.len = b_at;
	add_folded(&field, b64);
	buf_addstr(&field, "\r\n");
	buf_add(out, field.data, field.len);
	buf_free(&field);
	buf_free(&data);
}

/* The keys of domain, or of its closest parent that has any. */
static const char *
signing_domain(const struct dkim_signer *s, const char *domain)
{
	for (const char *d = domain; d != NULL && *d != '\0';) {
		for (size_t i = 0; i < s->n; i++)
			if (strcasecmp(s->k[i].domain, d) == 0)
				return s->k[i].domain;
		d = strchr(d, '.');
		d = d ? d + 1 : NULL;
	}
	return NULL;
}

int
dkim_sign(const struct dkim_signer *s, const char *from_domain, const uint8_t *msg,
          size_t len, time_t now, struct buf *out)
{
	const char *d = s && from_domain ? signing_domain(s, from_domain) : NULL;
	if (d == NULL)
		return 0;
	struct arena *a = arena_new();
	struct parts p;
	struct dkim_field *f;
	bool truncated;
	char bh[64];
	int made = 0;
	split_message(msg, len, &p);
	size_t nf = dkim_fields_split(a, p.head, p.headlen, &f, &truncated);
	body_hash(&p, bh);
	for (size_t i = 0; i < s->n; i++) {
		if (strcasecmp(s->k[i].domain, d) != 0)
			continue;
		sign_one(a, &s->k[i], &p, f, nf, bh, now, out);
		made++;
	}
	arena_free(&a);
	return made;
}
