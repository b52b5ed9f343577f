/* dkim_private.h - pieces of the DKIM verifier shared by dkim*.c and the
 * unit test: tag lists, canonicalisation, key records.  Not a public face:
 * everything else uses dkim.h.
 */
#ifndef PR_DKIM_PRIVATE_H
#define PR_DKIM_PRIVATE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim.h"
#include "core/buf.h"

struct arena;

/* Hard limits, each with its reason. */
/* More signatures than this on one message is abuse, not mail: each costs
 * a DNS query and a public-key operation. */
#define DKIM_MAX_SIGS 16
/* RFC 6376 defines about 15 tags; a list with more is not worth parsing. */
#define DKIM_MAX_TAGS 64
/* Header fields kept for signing: matches the MIME parser's ceiling. */
#define DKIM_MAX_HEADER_BYTES (1024 * 1024)
#define DKIM_MAX_FIELDS 2000
/* h= entries: real signers list under 40; oversigning doubles that. */
#define DKIM_MAX_H 128
/* A key record: 4096-bit RSA is ~800 base64 bytes; leave room. */
#define DKIM_MAX_KEY_RECORD 8192
/* Cached keys live at most this long whatever the TTL says. */
#define DKIM_CACHE_MAX_TTL 3600

/* --- tag lists (RFC 6376 3.2) ------------------------------------------ */
struct dkim_tag {
	char name[16];
	const char *val;          /* raw value, FWS trimmed at both ends */
	size_t len;
	size_t region_start;      /* offset just after '=' in the input */
	size_t region_end;        /* offset of the ';' ending it, or the end */
};
struct dkim_tags {
	struct dkim_tag t[DKIM_MAX_TAGS];
	size_t n;
};
/* 0 on success; -1 with *err_r set on a syntax error or duplicate tag. */
int dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out, const char **err_r);
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name);
/* RFC 6376 domain-name / selector syntax: LDH labels (underscore allowed
 * for selectors and real-world names), 1..63 octets, total <= 253. */
bool dkim_valid_domain(const char *s, size_t len);

/* --- canonicalisation (RFC 6376 3.4) ----------------------------------- */
typedef void (*dkim_sink_fn)(void *arg, const uint8_t *p, size_t n);
/* Streaming body canonicaliser.  Bytes past limit (l=) are counted in
 * unsigned_bytes and not passed to the sink. */
struct dkim_bodycanon {
	bool relaxed, cr_pending, pending_wsp, line_content, any_content;
	uint64_t pending_crlf;
	uint64_t limit, emitted, unsigned_bytes;
	dkim_sink_fn sink;
	void *arg;
	size_t outlen;
	uint8_t out[4096];
};
void dkim_bodycanon_init(struct dkim_bodycanon *c, bool relaxed, uint64_t limit,
                         dkim_sink_fn sink, void *arg);
void dkim_bodycanon_update(struct dkim_bodycanon *c, const uint8_t *p, size_t n);
void dkim_bodycanon_final(struct dkim_bodycanon *c);
/* A sink that feeds an EVP_MD_CTX (arg): the body hash. */
void dkim_sha_sink(void *arg, const uint8_t *p, size_t n);

/* Append the canonical form of one raw header field (name ":" value,
 * folded, ending in CRLF) to out. */
void dkim_canon_header(struct buf *out, const char *field, size_t len, bool relaxed);

/* Base64 with embedded FWS (b=, bh=, p=).  Returns the decoded length, or
 * -1 on invalid input or when over max. */
long dkim_base64(const char *s, size_t len, uint8_t *out, size_t max);

/* --- header fields and the signed header data (dkim_hdr.c) ------------ */
struct dkim_field {
	size_t off, len, nlen;    /* in the header bytes; nlen = name length */
};
struct dkim_hname { const char *p; size_t len; };
/* Split header bytes (no blank line) into fields, at most DKIM_MAX_FIELDS,
 * allocated in a; *truncated says fields were left over. */
size_t dkim_fields_split(struct arena *a, const char *h, size_t len, struct dkim_field **out,
                         bool *truncated);
bool dkim_field_is(const char *h, const struct dkim_field *f, const char *name, size_t nl);
/* What one signature's header hash covers. */
struct dkim_hdrsel {
	const char *head;                 /* the header bytes f indexes */
	const struct dkim_field *f;
	size_t nf;
	size_t self;                      /* index of the signature's own field, or >= nf */
	const struct dkim_hname *h;       /* h= names, in order */
	size_t nh;
	bool relaxed;
	const char *sig;                  /* the DKIM-Signature field, name to CRLF */
	size_t siglen, b_start, b_end;    /* b= value region in sig (emptied) */
};
/* Append the data the header signature covers (RFC 6376 3.7) to out: the
 * h= fields chosen bottom-up, then sig with b= emptied, no final CRLF. */
void dkim_header_data(struct arena *a, const struct dkim_hdrsel *sel, struct buf *out);

/* --- key records (RFC 6376 3.6.1, RFC 8463) ------------------------------ */
enum dkim_keytype { DKIM_K_RSA, DKIM_K_ED25519 };
struct dkim_key {
	enum dkim_keytype type;
	EVP_PKEY *pkey;           /* NULL when revoked */
	bool revoked, testing, strict, sha256_ok, email_ok;
	int bits;
};
/* Parse one TXT value into k.  Returns PR_OK, PR_E_DKIM_KEY_REVOKED (empty
 * p=), PR_E_DKIM_KEY_SHORT, or PR_E_DKIM_PERMERROR (with *why_r). */
enum pr_err dkim_key_parse(const char *txt, size_t len, struct dkim_key *k, const char **why_r);
void dkim_key_clear(struct dkim_key *k);

/* Look up selector._domainkey.domain via the cache or DNS.  On PR_OK *k
 * holds a reference the caller releases with dkim_key_clear. */
enum pr_err dkim_key_fetch(struct dkim_keycache *kc, struct dns *dns, struct arena *a,
                           const char *name, struct dkim_key *k, const char **why_r);

/* --- one DKIM-Signature, parsed (dkim_sig.c) ------------------------------ */
enum dkim_alg { DKIM_A_RSA_SHA256, DKIM_A_ED25519_SHA256, DKIM_A_RSA_SHA1 };
struct dkim_sigstate {
	struct dkim_sig *out;      /* the caller-visible result */
	size_t field;              /* index of the header field */
	size_t voff;               /* offset of the value (after ':') in the field */
	enum pr_err early;         /* set when decided before the body */
	enum dkim_alg alg;
	bool hrelaxed, brelaxed, has_x;
	uint64_t l, x, t;          /* l = UINT64_MAX when absent */
	struct dkim_hname h[DKIM_MAX_H];
	size_t nh, nfrom;          /* nfrom: how often h= names From */
	uint8_t bh[64], b[1024];
	size_t bhlen, blen;
	size_t b_start, b_end;     /* b= value region, offsets in the field */
	const char *auid_domain;   /* i= domain part */
	int hasher;                /* index of the body hasher */
};
/* Parse the field (name ":" value CRLF) into s; sets s->early and
 * s->out->{result,reason,detail} when the signature is refused outright.
 * Allocates the out strings in a. */
void dkim_sig_parse(struct arena *a, const char *field, size_t len, struct dkim_sigstate *s);

/* --- the signature check (dkim_verify_sig.c) ------------------------------ */
/* Whether sig (siglen bytes) signs data under pkey: rsa-sha256, PKCS#1
 * v1.5 over SHA-256 of the data; ed25519-sha256 (RFC 8463 3), Ed25519
 * over the SHA-256 digest of the data. */
bool dkim_signature_ok(enum dkim_alg alg, EVP_PKEY *pkey, const uint8_t *sig, size_t siglen,
                       const struct buf *data);

#endif
