/* net_addr.c - listen and peer addresses.  Literals only: resolving a
 * listen name at start-up would make the daemon depend on DNS. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static int
parse_port(const char *p, in_port_t *port_r)
{
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (*p == '\0' || *end != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	*port_r = htons((in_port_t)v);
	return 0;
}

static int
parse_v6(const char *s, struct net_addr *out, struct pr_why *why)
{
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	size_t n = close ? (size_t)(close - s - 1) : 0;
	if (close == NULL || close[1] != ':' || n == 0 || n >= sizeof(host)) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not [IPv6]:PORT", s);
		return -1;
	}
	memcpy(host, s + 1, n);
	host[n] = '\0';
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 || parse_port(close + 2, &sin6->sin6_port) < 0) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not [IPv6]:PORT", s);
		return -1;
	}
	out->len = sizeof(*sin6);
	return 0;
}

static int
parse_v4(const char *s, struct net_addr *out, struct pr_why *why)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	size_t n = colon ? (size_t)(colon - s) : 0;
	if (colon == NULL || n == 0 || n >= sizeof(host)) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not ADDR:PORT (like 127.0.0.1:2525 or [::1]:2525)", s);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	sin->sin_family = AF_INET;
	if (strcmp(host, "*") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		pr_why_set(why, PR_E_CONFIG, "'%s': '%s' is not an IPv4 address (names are not resolved)", s, host);
		return -1;
	}
	if (parse_port(colon + 1, &sin->sin_port) < 0) {
		pr_why_set(why, PR_E_CONFIG, "'%s': the port must be 1..65535", s);
		return -1;
	}
	out->len = sizeof(*sin);
	return 0;
}

int
net_parse_addr(const char *s, struct net_addr *out, struct pr_why *why)
{
	memset(out, 0, sizeof(*out));
	int rc = s[0] == '[' ? parse_v6(s, out, why) : parse_v4(s, out, why);
	if (rc == 0 && strlen(s) < sizeof(out->text))
		memcpy(out->text, s, strlen(s) + 1);
	return rc;
}

void
net_peer_ip(int fd, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	out[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)outsz);
	} else if (ss.ss_family == AF_INET6) {
		struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)outsz);
		else
			inet_ntop(AF_INET6, a6, out, (socklen_t)outsz);
	}
}
