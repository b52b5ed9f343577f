/* net_curl.h - the failures every libcurl client meets before its protocol
 * starts (name, connection, TLS), in the same plain words for the POP3
 * collector and the SMTP transport.
 */
#ifndef PR_NET_CURL_H
#define PR_NET_CURL_H

#include <stdbool.h>

#include "core/err.h"

struct net_curl_peer {
	const char *who;               /* "the POP3 server", "the relay" */
	const char *host;
	int port;
	const char *ca_setting;        /* the setting naming a CA bundle: "pop_ca_file" */
	const char *plain_port_hint;   /* TLS spoken to a plain port: what to set instead */
	const char *no_greeting_hint;  /* a timeout before any greeting: what to try, or NULL */
};

/* code is a CURLcode, errbuf libcurl's error buffer ("" or NULL: the
 * code's own text).  true with why set for a name not found (PR_E_NOT_FOUND),
 * a refused connection or no answer (PR_E_UNREACHABLE), a certificate that
 * does not verify (PR_E_TLS_CERT), a failed handshake (PR_E_TLS_FAILED);
 * false for any other code: the protocol explains it. */
bool net_curl_explain(int code, const char *errbuf, const struct net_curl_peer *p,
                      struct pr_why *why);

#endif
