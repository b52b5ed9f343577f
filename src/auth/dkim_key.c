/* dkim_key.c - DKIM key records (RFC 6376 3.6.1, RFC 8463) and their cache.
 *
 * A record parses into an EVP_PKEY plus the flags that restrict it.  p= is
 * SubjectPublicKeyInfo for RSA as the RFC says, but PKCS#1 RSAPublicKey is
 * also accepted because real publishers use it (Stalwart vector 002);
 * ed25519 keys are the raw 32 bytes (RFC 8463 4.2).  RSA keys under 1024
 * bits are refused (RFC 8301 3.2).  v=, when present, must be first and
 * exactly DKIM1; unknown k= is a permerror; unknown tags are ignored.
 *
 * The cache maps "selector._domainkey.domain" to a parsed key for the
 * record's TTL (at most DKIM_CACHE_MAX_TTL), so a busy sender costs one
 * DER decode per hour, not per message.  Keys are shared by reference
 * count (EVP_PKEY_up_ref), so a caller may use one after it is evicted.
 * One mutex guards the table: the critical sections are a lookup or an
 * insert, far shorter than the RSA verify that follows.
 */
#include "auth/dkim_private.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/dns.h"
#include "core/arena.h"

static bool
list_has(const struct dkim_tag *t, const char *word)
{
	size_t wl = strlen(word), i = 0;
	while (i < t->len) {
		size_t j = i;
		while (j < t->len && t->val[j] != ':')
			j++;
		size_t s = i, e = j;
		while (s < e && (t->val[s] == ' ' || t->val[s] == '\t' || t->val[s] == '\r' || t->val[s] == '\n'))
			s++;
		while (e > s && (t->val[e - 1] == ' ' || t->val[e - 1] == '\t' || t->val[e - 1] == '\r' || t->val[e - 1] == '\n'))
			e--;
		if (e - s == wl && strncasecmp(t->val + s, word, wl) == 0)
			return true;
		i = j + 1;
	}
	return false;
}

static EVP_PKEY *
rsa_from_der(const uint8_t *der, long n)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, n);
	if (k == NULL) {
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, n);
	}
	if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

static enum pr_err
key_material(const struct dkim_tag *p, struct dkim_key *k, const char **why_r)
{
	uint8_t der[DKIM_MAX_KEY_RECORD];
	long n = dkim_base64(p->val, p->len, der, sizeof(der));
	if (n < 0)
		return *why_r = "key p= is not valid base64", PR_E_DKIM_PERMERROR;
	if (k->type == DKIM_K_ED25519) {
		if (n != 32)
			return *why_r = "ed25519 key p= is not 32 bytes", PR_E_DKIM_PERMERROR;
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, 32);
		k->bits = 256;
	} else {
		k->pkey = rsa_from_der(der, n);
		k->bits = k->pkey ? EVP_PKEY_get_bits(k->pkey) : 0;
	}
	if (k->pkey == NULL)
		return *why_r = "key p= is not a valid public key", PR_E_DKIM_PERMERROR;
	if (k->type == DKIM_K_RSA && k->bits < 1024)
		return *why_r = "RSA key shorter than 1024 bits", PR_E_DKIM_KEY_SHORT;
	return PR_OK;
}

enum pr_err
dkim_key_parse(const char *txt, size_t len, struct dkim_key *k, const char **why_r)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	memset(k, 0, sizeof(*k));
	k->sha256_ok = k->email_ok = true;
	if (dkim_tags_parse(txt, len, &tags, why_r) < 0)
		return PR_E_DKIM_PERMERROR;
	if ((t = dkim_tags_get(&tags, "v")) != NULL
	    && (t != &tags.t[0] || t->len != 5 || memcmp(t->val, "DKIM1", 5) != 0))
		return *why_r = "key record v= is not DKIM1 as first tag", PR_E_DKIM_PERMERROR;
	if ((t = dkim_tags_get(&tags, "k")) != NULL) {
		if (t->len == 7 && strncasecmp(t->val, "ed25519", 7) == 0)
			k->type = DKIM_K_ED25519;
		else if (!(t->len == 3 && strncasecmp(t->val, "rsa", 3) == 0))
			return *why_r = "key record k= names an unknown key type", PR_E_DKIM_PERMERROR;
	}
	if ((t = dkim_tags_get(&tags, "h")) != NULL)
		k->sha256_ok = list_has(t, "sha256");
	if ((t = dkim_tags_get(&tags, "s")) != NULL)
		k->email_ok = list_has(t, "email") || list_has(t, "*");
	if ((t = dkim_tags_get(&tags, "t")) != NULL) {
		k->testing = list_has(t, "y");
		k->strict = list_has(t, "s");
	}
	if ((t = dkim_tags_get(&tags, "p")) == NULL)
		return *why_r = "key record has no p=", PR_E_DKIM_PERMERROR;
	if (t->len == 0) {
		k->revoked = true;
		return *why_r = "key revoked (empty p=)", PR_E_DKIM_KEY_REVOKED;
	}
	return key_material(t, k, why_r);
}

void
dkim_key_clear(struct dkim_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* --- cache ---------------------------------------------------------- */
#define CACHE_BUCKETS 1024

struct centry {
	struct centry *next;
	char *name;
	struct dkim_key key;
	time_t expires;           /* CLOCK_MONOTONIC seconds */
};

struct dkim_keycache {
	pthread_mutex_t mu;
	struct centry *b[CACHE_BUCKETS];
	size_t n, max;
};

static time_t
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static unsigned
hash_name(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
	}
	return h % CACHE_BUCKETS;
}

struct dkim_keycache *
dkim_keycache_new(size_t max_entries)
{
	struct dkim_keycache *kc = xcalloc(1, sizeof(*kc));
	pthread_mutex_init(&kc->mu, NULL);
	kc->max = max_entries ? max_entries : 10000;
	return kc;
}

static void
centry_free(struct centry *e)
{
	dkim_key_clear(&e->key);
	free(e->name);
	free(e);
}

void
dkim_keycache_free(struct dkim_keycache **kcp)
{
	struct dkim_keycache *kc = *kcp;
	if (kc == NULL)
		return;
	for (size_t i = 0; i < CACHE_BUCKETS; i++)
		while (kc->b[i]) {
			struct centry *e = kc->b[i];
			kc->b[i] = e->next;
			centry_free(e);
		}
	pthread_mutex_destroy(&kc->mu);
	free(kc);
	*kcp = NULL;
}

static pthread_once_t process_once = PTHREAD_ONCE_INIT;
static struct dkim_keycache *process_cache;

static void
process_init(void)
{
	process_cache = dkim_keycache_new(0);
}

struct dkim_keycache *
dkim_keycache_process(void)
{
	pthread_once(&process_once, process_init);
	return process_cache;
}

/* Under the lock: find a live entry, dropping expired ones on the way. */
static struct centry *
cache_find(struct dkim_keycache *kc, const char *name, time_t now)
{
	struct centry **pp = &kc->b[hash_name(name)];
	while (*pp) {
		struct centry *e = *pp;
		if (e->expires <= now) {
			*pp = e->next;
			centry_free(e);
			kc->n--;
			continue;
		}
		if (strcasecmp(e->name, name) == 0)
			return e;
		pp = &e->next;
	}
	return NULL;
}

static bool
cache_get(struct dkim_keycache *kc, const char *name, struct dkim_key *k)
{
	bool hit = false;
	pthread_mutex_lock(&kc->mu);
	struct centry *e = cache_find(kc, name, mono_now());
	if (e != NULL) {
		*k = e->key;
		EVP_PKEY_up_ref(k->pkey);
		hit = true;
	}
	pthread_mutex_unlock(&kc->mu);
	return hit;
}

static void
cache_put(struct dkim_keycache *kc, const char *name, const struct dkim_key *k, uint32_t ttl)
{
	if (ttl == 0)
		return;
	if (ttl > DKIM_CACHE_MAX_TTL)
		ttl = DKIM_CACHE_MAX_TTL;
	time_t now = mono_now();
	pthread_mutex_lock(&kc->mu);
	if (cache_find(kc, name, now) == NULL && kc->n < kc->max) {
		struct centry *e = xcalloc(1, sizeof(*e));
		unsigned h = hash_name(name);
		e->name = xstrdup(name);
		e->key = *k;
		EVP_PKEY_up_ref(e->key.pkey);
		e->expires = now + (time_t)ttl;
		e->next = kc->b[h];
		kc->b[h] = e;
		kc->n++;
	}
	pthread_mutex_unlock(&kc->mu);
}

/* The first TXT that parses as a key wins; a revoked or short key is a
 * verdict, not a parse failure, and also ends the search. */
static enum pr_err
key_from_answer(const struct dns_answer *ans, struct dkim_key *k, const char **why_r)
{
	enum pr_err e = PR_E_DKIM_KEY_MISSING;
	*why_r = "no DKIM key record at the selector";
	for (size_t i = 0; i < ans->n; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (rr->type != DNS_T_TXT || rr->len > DKIM_MAX_KEY_RECORD
		    || memchr(rr->text, '\0', rr->len) != NULL)
			continue;
		e = dkim_key_parse(rr->text, rr->len, k, why_r);
		if (e != PR_E_DKIM_PERMERROR)
			return e;
		dkim_key_clear(k);
	}
	return e;
}

enum pr_err
dkim_key_fetch(struct dkim_keycache *kc, struct dns *dns, struct arena *a,
               const char *name, struct dkim_key *k, const char **why_r)
{
	if (kc != NULL && cache_get(kc, name, k))
		return PR_OK;
	struct dns_answer ans;
	switch (dns_lookup(dns, a, name, DNS_T_TXT, &ans)) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		return *why_r = "DNS lookup of the key timed out or failed", PR_E_DKIM_TEMPERROR;
	default:
		return *why_r = "no DKIM key record at the selector", PR_E_DKIM_KEY_MISSING;
	}
	enum pr_err e = key_from_answer(&ans, k, why_r);
	if (e != PR_OK) {
		dkim_key_clear(k);
		return e;
	}
	if (kc != NULL)
		cache_put(kc, name, k, ans.rr[0].ttl);
	return PR_OK;
}
