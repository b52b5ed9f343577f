/* dkim_sign_private.h - the loaded keys, shared by dkim_signkey.c (loading)
 * and dkim_sign.c (signing).  Everything else uses dkim_sign.h. */
#ifndef PR_DKIM_SIGN_PRIVATE_H
#define PR_DKIM_SIGN_PRIVATE_H

#include "auth/dkim_private.h"
#include "auth/dkim_sign.h"

struct dkim_signkey {
	char domain[254];
	char selector[64];
	char path[1024];
	EVP_PKEY *pkey;
	bool ed25519;
	int bits;
};

struct dkim_signer {
	struct dkim_signkey k[DKIM_SIGN_MAX_KEYS];
	size_t n;
};

#endif
