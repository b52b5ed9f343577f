/* dkim.h - verify every DKIM-Signature of a message (RFC 6376, RFC 8463).
 *
 * Our own verifier over OpenSSL 3 (EVP_DigestVerify for rsa-sha256 and
 * ed25519-sha256) and the DNS port (dns.h).  Why not libopendkim: it passes
 * 63/64 of the shared vectors but verifies ~5,700 msgs/s per core; the
 * target is 20,000.  The speed comes from hashing the body in one streaming
 * pass per distinct (canonicalisation, hash, l=) and from a cache of parsed
 * public keys (no base64/DER decoding per message).
 *
 * Usage (intake): dkim_verify(dkim_keycache_process(), dns, arena, spool,
 * time(NULL), &res).  The message is read from the spool in 64 KiB pieces:
 * headers are kept (bounded by DKIM_MAX_HEADER_BYTES), the body never is.
 * The streaming form (dkim_stream_*) lets a caller hash while bytes arrive.
 *
 * Each signature gets an RFC 8601 result and one pr_err reason.  "fail"
 * is only for a signature that was verified and did not match; one refused
 * before that is a permerror (RFC 8601 2.7.1):
 *   PR_OK                  pass
 *   PR_E_DKIM_BODY_CHANGED fail: body hash mismatch
 *   PR_E_DKIM_FAIL         fail: header signature mismatch, an unsigned
 *                          extra From;  permerror: key/signature algorithm
 *                          mismatch, key h=/s=/t=s refuse it, rsa-sha1
 *                          (RFC 8301)
 *   PR_E_DKIM_KEY_MISSING  permerror: no key record (NXDOMAIN/NODATA/no DKIM TXT)
 *   PR_E_DKIM_KEY_SHORT    permerror: RSA key under 1024 bits (RFC 8301)
 *   PR_E_DKIM_KEY_REVOKED  permerror: key record with empty p=
 *   PR_E_DKIM_EXPIRED      permerror: x= is in the past of the caller's "now"
 *   PR_E_DKIM_PERMERROR    permerror: malformed signature or key record
 *   PR_E_DKIM_TEMPERROR    temperror: DNS trouble fetching the key
 * A signature with l= shorter than the body still passes here (it did
 * verify); unsigned_bytes says how much nobody signed, and auth.c reports
 * it as dkim=policy so it counts for nothing.
 * See dkim.c's header for the four decisions where peers disagree.
 */
#ifndef PR_DKIM_H
#define PR_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth/auth.h"
#include "core/err.h"

struct arena;
struct dns;
struct spool;

struct dkim_sig {
	const char *domain;       /* d= as written ("" when missing) */
	const char *selector;     /* s= ("" when missing) */
	const char *algorithm;    /* a= ("" when missing) */
	const char *identity;     /* i= (AUID) decoded from dkim-quoted-printable;
	                             "@" d= when absent */
	enum auth_result result;  /* AUTH_PASS, AUTH_FAIL, AUTH_PERMERROR,
	                             AUTH_TEMPERROR */
	enum pr_err reason;       /* PR_OK on pass; see the table above */
	const char *detail;       /* plain words, never NULL */
	bool testing;             /* key t=y: the domain is testing DKIM */
	bool body_limited;        /* l= was present */
	uint64_t unsigned_bytes;  /* canonical body bytes past l= (unsigned) */
};

struct dkim_result {
	struct dkim_sig *sig;     /* one per DKIM-Signature, top to bottom */
	size_t n;
	size_t ignored;           /* signatures past DKIM_MAX_SIGS, not checked */
	unsigned from_count;      /* From header fields in the message */
};

/* A cache of parsed public keys, keyed by "selector._domainkey.domain",
 * honouring the record's TTL (capped at one hour).  Thread-safe.
 * dkim_keycache_process() is the one per process (created on first use);
 * tests make their own, or pass NULL for no caching. */
struct dkim_keycache;
struct dkim_keycache *dkim_keycache_process(void);
struct dkim_keycache *dkim_keycache_new(size_t max_entries);
void dkim_keycache_free(struct dkim_keycache **kc);

/* Verify every signature of the finished spool msg.  now is the time x= is
 * compared with.  Results are allocated in a.  Returns PR_OK, or PR_E_IO /
 * PR_E_TOO_LONG when the message could not be read (then out->n is 0). */
enum pr_err dkim_verify(struct dkim_keycache *kc, struct dns *dns, struct arena *a,
                        struct spool *msg, time_t now, struct dkim_result *out);

/* Streaming form: feed the message (CRLF line ends) in any pieces, then
 * finish.  dkim_verify is this over spool_read_at. */
struct dkim_stream;
struct dkim_stream *dkim_stream_new(struct arena *a);
void dkim_stream_feed(struct dkim_stream *st, const void *p, size_t n);
/* False once nothing more will be read from what is fed: the header is
 * complete (or refused) and no signature hashes the body.  A caller
 * reading a large message from disk stops there. */
bool dkim_stream_wants_more(const struct dkim_stream *st);
enum pr_err dkim_stream_finish(struct dkim_stream *st, struct dkim_keycache *kc,
                               struct dns *dns, time_t now, struct dkim_result *out);

#endif
