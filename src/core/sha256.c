/* sha256.c - see sha256.h. */
#include "core/sha256.h"

#include <pthread.h>

#include "core/err.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;

static void
sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256 == NULL)
		pr_panic("OpenSSL has no SHA-256");
}

const EVP_MD *
sha256_md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256;
}

void
sha256_digest(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 0;
	if (EVP_Digest(p, n, out, &len, sha256_md(), NULL) != 1 || len != 32)
		pr_panic("SHA-256 failed");
}
