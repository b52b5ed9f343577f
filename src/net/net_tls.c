/* net_tls.c - TLS server contexts (OpenSSL 3).  TLS 1.2 is the floor:
 * older versions have known weaknesses and every sender we care about
 * speaks 1.2.  Opportunistic STARTTLS means we do not ask for client
 * certificates. */
#include "net/net.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *
ssl_error_text(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

SSL_CTX *
net_tls_server_ctx(const char *cert_file, const char *key_file, struct pr_why *why)
{
	char err[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		pr_why_set(why, PR_E_CONFIG, "cannot create a TLS context: %s", ssl_error_text(err, sizeof(err)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		pr_why_set(why, PR_E_CONFIG, "tls_cert %s: %s", cert_file, ssl_error_text(err, sizeof(err)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		pr_why_set(why, PR_E_CONFIG, "tls_key %s: %s", key_file, ssl_error_text(err, sizeof(err)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		pr_why_set(why, PR_E_CONFIG, "tls_key %s does not match tls_cert %s", key_file, cert_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
