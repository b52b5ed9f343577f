/* dkim_verify_sig.c - the signature check itself: does b= sign the
 * header data under the key?
 *
 * Why a module: EVP_DigestVerifyInit makes OpenSSL 3 fetch the signature
 * algorithm from its provider tables (under their locks) and build a new
 * key context on every call.  In `serve`, where several intake workers
 * verify at once, that was a third of the samples of dkim_stream_finish
 * in bench/smtp-intake's checks mode, as many as the RSA operation itself
 * (perf, one sender and key, 10 KiB messages: 57 -> 25 us a message with
 * this module).  A single thread does not see it (bench/auth's one-core
 * verifier rate is the same either way): the cost is the workers meeting
 * on those locks.
 *
 * So an RSA key's verify context (EVP_PKEY_verify_init, PKCS#1 v1.5,
 * SHA-256) is made once per thread and reused: EVP_PKEY_verify may be
 * called any number of times after one init, and a context is used by
 * one thread only.  Each thread keeps the last VERIFIERS of them, found
 * by the key's address.  That address cannot be reused by another key
 * while the context is kept: the context holds a reference to its key
 * (EVP_PKEY_CTX_new_from_pkey), so the key outlives its eviction from
 * dkim_key.c's cache until the context is replaced or the thread ends.
 * A rotated key is a new EVP_PKEY, hence a new context.
 *
 * ed25519-sha256 (RFC 8463) has no such prepared form in OpenSSL (only
 * the one-shot EVP_DigestVerify) and is rare: verified as before.
 */
#include "auth/dkim_private.h"

#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/sha256.h"

#define VERIFIERS 8

struct verifier {
	EVP_PKEY *pkey;            /* compared only; the context holds the reference */
	EVP_PKEY_CTX *ctx;
};

struct verifiers {
	struct verifier v[VERIFIERS];
	unsigned next;             /* the slot replaced next (round robin) */
};

static pthread_key_t verifiers_key;
static pthread_once_t verifiers_once = PTHREAD_ONCE_INIT;

static void
verifiers_free(void *p)
{
	struct verifiers *vs = p;
	for (int i = 0; i < VERIFIERS; i++)
		EVP_PKEY_CTX_free(vs->v[i].ctx);
	free(vs);
}

static void
verifiers_init(void)
{
	if (pthread_key_create(&verifiers_key, verifiers_free) != 0)
		pr_panic("pthread_key_create failed");
}

static EVP_PKEY_CTX *
rsa_context_new(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1
	    && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
	    && EVP_PKEY_CTX_set_signature_md(ctx, sha256_md()) == 1)
		return ctx;
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* This thread's verify context for RSA key pkey; NULL if OpenSSL cannot
 * make one (the signature then fails to verify, as it would have). */
static EVP_PKEY_CTX *
rsa_context(EVP_PKEY *pkey)
{
	pthread_once(&verifiers_once, verifiers_init);
	struct verifiers *vs = pthread_getspecific(verifiers_key);
	if (vs == NULL) {
		vs = xcalloc(1, sizeof(*vs));
		if (pthread_setspecific(verifiers_key, vs) != 0)
			pr_panic("pthread_setspecific failed");
	}
	for (int i = 0; i < VERIFIERS; i++)
		if (vs->v[i].pkey == pkey && vs->v[i].ctx != NULL)
			return vs->v[i].ctx;
	EVP_PKEY_CTX *ctx = rsa_context_new(pkey);
	if (ctx == NULL)
		return NULL;
	struct verifier *slot = &vs->v[vs->next++ % VERIFIERS];
	EVP_PKEY_CTX_free(slot->ctx);
	*slot = (struct verifier){.pkey = pkey, .ctx = ctx};
	return ctx;
}

bool
dkim_signature_ok(enum dkim_alg alg, EVP_PKEY *pkey, const uint8_t *sig, size_t siglen,
                  const struct buf *data)
{
	uint8_t d[32];
	unsigned dl = 0;
	if (EVP_Digest(data->data, data->len, d, &dl, sha256_md(), NULL) != 1 || dl != sizeof(d))
		return false;
	if (alg != DKIM_A_ED25519_SHA256) {
		EVP_PKEY_CTX *ctx = rsa_context(pkey);
		return ctx != NULL && EVP_PKEY_verify(ctx, sig, siglen, d, dl) == 1;
	}
	/* RFC 8463 3: Ed25519 over the SHA-256 digest of the data. */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		pr_panic("out of memory");
	bool ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1
	          && EVP_DigestVerify(ctx, sig, siglen, d, dl) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}
