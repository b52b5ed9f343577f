/* net_curl.c - connection-level libcurl failures in plain words.  See
 * net_curl.h.  "wrong version number" is OpenSSL's word for a handshake
 * answered in plain text: the port does not speak TLS from the first byte. */
#include "net/net_curl.h"

#include <curl/curl.h>
#include <string.h>

bool
net_curl_explain(int code, const char *errbuf, const struct net_curl_peer *p, struct pr_why *why)
{
	const char *eb = errbuf && *errbuf ? errbuf : curl_easy_strerror((CURLcode)code);
	switch ((CURLcode)code) {
	case CURLE_COULDNT_RESOLVE_HOST:
		pr_why_set(why, PR_E_NOT_FOUND, "the name of %s '%s' was not found in DNS", p->who, p->host);
		return true;
	case CURLE_COULDNT_CONNECT:
		pr_why_set(why, PR_E_UNREACHABLE, "connection to %s %s port %d refused: no server listens "
		           "there (%s)", p->who, p->host, p->port, eb);
		return true;
	case CURLE_OPERATION_TIMEDOUT:
		pr_why_set(why, PR_E_UNREACHABLE, "%s %s:%d did not answer in time (%s)%s%s", p->who, p->host,
		           p->port, eb, p->no_greeting_hint ? "; it sent no greeting: " : "",
		           p->no_greeting_hint ? p->no_greeting_hint : "");
		return true;
	case CURLE_PEER_FAILED_VERIFICATION:
		pr_why_set(why, PR_E_TLS_CERT, "TLS certificate problem with %s %s:%d: %s (set %s to the CA "
		           "that signed it)", p->who, p->host, p->port, eb, p->ca_setting);
		return true;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		pr_why_set(why, PR_E_TLS_FAILED, "TLS handshake with %s %s:%d failed: %s%s%s%s", p->who,
		           p->host, p->port, eb, strstr(eb, "wrong version number") ? " (the port does not "
		           "speak TLS at once: " : "", strstr(eb, "wrong version number") ? p->plain_port_hint : "",
		           strstr(eb, "wrong version number") ? ")" : "");
		return true;
	default:
		return false;
	}
}
