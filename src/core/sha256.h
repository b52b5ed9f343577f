/* sha256.h - SHA-256 through OpenSSL, looked up once.
 *
 * Why: EVP_sha256() and the one-shot SHA256() make OpenSSL 3 look the
 * algorithm up in its provider tables (a lock and a hash) on every digest
 * init, and several paths digest something for every message: the spool's
 * hash of the bytes, each MIME part's, the DKIM body and header hashes,
 * the Message-ID key.  The fetched EVP_MD is made once and lives as long
 * as the process.
 */
#ifndef PR_SHA256_H
#define PR_SHA256_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

const EVP_MD *sha256_md(void);
/* The digest of the n bytes at p into out. */
void sha256_digest(const void *p, size_t n, uint8_t out[32]);

#endif
