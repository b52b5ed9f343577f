/* dkim_signkey.c - load the DKIM private keys named by dkim_keys and
 * describe them (the DNS record to publish).  See dkim_sign.h.
 *
 * A private key file is opened without following a symlink and checked on
 * the open descriptor (no race between the check and the read): a regular
 * file, owned by the user we run as, no group or other permission bits.
 * Anyone who can read the key can sign mail as the domain, so a key left
 * readable is refused with the chmod/chown to run, never used.
 */
#include "auth/dkim_sign_private.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/keyspec.h"

int
dkim_keys_validate(const char *spec, struct pr_why *why)
{
	struct keyspec_list l;
	return keyspec_parse(spec, &l, why);
}

/* Open path and check it is ours alone; the FILE on success. */
static FILE *
open_private(const char *path, struct pr_why *why)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0) {
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s cannot be opened: %s (a symlink is refused too)",
		           path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s is not a regular file", path);
	else if (st.st_uid != geteuid())
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s belongs to uid %u, not to the user postroom runs "
		           "as (uid %u): chown it to that user", path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if ((st.st_mode & 077) != 0)
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s is readable by others (mode %04o): chmod 600 %s",
		           path, (unsigned)(st.st_mode & 07777), path);
	else {
		FILE *f = fdopen(fd, "r");
		if (f != NULL)
			return f;
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s: %s", path, strerror(errno));
	}
	close(fd);
	return NULL;
}

static int
load_one(struct dkim_signer *s, const struct keyspec *ks, struct pr_why *why)
{
	struct dkim_signkey *e = &s->k[s->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->domain, ks->domain, sizeof(e->domain));
	memcpy(e->selector, ks->selector, sizeof(e->selector));
	memcpy(e->path, ks->path, sizeof(e->path));
	FILE *f = open_private(e->path, why);
	if (f == NULL)
		return -1;
	e->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (e->pkey == NULL) {
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s is not a PEM private key (unencrypted)", e->path);
		return -1;
	}
	int id = EVP_PKEY_get_id(e->pkey);
	e->ed25519 = id == EVP_PKEY_ED25519;
	e->bits = EVP_PKEY_get_bits(e->pkey);
	if (!e->ed25519 && id != EVP_PKEY_RSA)
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s is neither RSA nor Ed25519", e->path);
	else if (!e->ed25519 && e->bits < 1024)
		pr_why_set(why, PR_E_CONFIG, "DKIM key %s has %d bits; verifiers refuse RSA keys under 1024 "
		           "(use 2048)", e->path, e->bits);
	else {
		s->n++;
		return 0;
	}
	EVP_PKEY_free(e->pkey);
	return -1;
}

struct dkim_signer *
dkim_signer_load(const char *spec, struct pr_why *why)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	struct keyspec_list l;
	if (keyspec_parse(spec, &l, why) < 0) {
		dkim_signer_free(&s);
		return NULL;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (load_one(s, &l.k[i], why) < 0) {
			dkim_signer_free(&s);
			return NULL;
		}
	}
	return s;
}

void
dkim_signer_free(struct dkim_signer **sp)
{
	struct dkim_signer *s = *sp;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		EVP_PKEY_free(s->k[i].pkey);
	free(s);
	*sp = NULL;
}

size_t
dkim_signer_count(const struct dkim_signer *s)
{
	return s ? s->n : 0;
}

void
dkim_signer_info(const struct dkim_signer *s, size_t i, struct dkim_signkey_info *out)
{
	const struct dkim_signkey *k = &s->k[i];
	out->domain = k->domain;
	out->selector = k->selector;
	out->path = k->path;
	out->algorithm = k->ed25519 ? "ed25519-sha256" : "rsa-sha256";
	out->bits = k->bits;
}

/* RFC 6376 3.6.1: p= is the base64 of the DER SubjectPublicKeyInfo for
 * RSA; RFC 8463 3: for Ed25519 the raw 32-byte public key. */
void
dkim_signer_record(const struct dkim_signer *s, size_t i, struct buf *out)
{
	const struct dkim_signkey *k = &s->k[i];
	uint8_t raw[4096];
	size_t n = sizeof(raw);
	if (k->ed25519) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1)
			pr_panic("cannot read an Ed25519 public key");
	} else {
		uint8_t *der = NULL;
		int dl = i2d_PUBKEY(k->pkey, &der);
		if (dl <= 0 || (size_t)dl > sizeof(raw))
			pr_panic("cannot encode an RSA public key");
		memcpy(raw, der, (size_t)dl);
		n = (size_t)dl;
		OPENSSL_free(der);
	}
	char b64[((4096 + 2) / 3) * 4 + 1];
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
	buf_printf(out, "v=DKIM1; k=%s; p=%s", k->ed25519 ? "ed25519" : "rsa", b64);
}
