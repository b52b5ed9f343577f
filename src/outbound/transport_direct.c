/* transport_direct.c - smtp_server = direct: deliver to the recipient
 * domain's own MX hosts (RFC 5321 5.1).
 *
 * MX records in preference order (equal preferences keep DNS order); no
 * MX record: the domain's own A/AAAA (the implicit MX); a single MX "."
 * says the domain takes no mail (null MX, RFC 7505): refused for good, as
 * is a domain that does not exist.  Each host's addresses are tried until
 * one holds a transaction; a host that cannot be reached or refuses the
 * session passes to the next.  STARTTLS is used when offered, without
 * verifying the certificate (opportunistic TLS, RFC 7435: MX names come
 * from unsigned DNS, so a name check proves nothing without DANE or
 * MTA-STS, and refusing would push the mail to plaintext elsewhere).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dns.h"
#include "core/arena.h"
#include "outbound/transport_private.h"

struct mx {
	char host[PR_MAX_DOMAIN + 1];
	int pref;
};

static int
by_pref(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;
	return x->pref < y->pref ? -1 : x->pref > y->pref;   /* qsort is not stable: see below */
}

/* The domain's MX hosts (at most TRANSPORT_MAX_MX).  Returns how many;
 * 0 with why and *perm telling whether that is final. */
static size_t
mx_hosts(const struct transport_config *cfg, const char *domain, struct mx *out, bool *perm,
         struct pr_why *why)
{
	*perm = false;
	struct dns *d = dns_new_cares(cfg->dns_server, cfg->dns_timeout_ms, why);
	if (d == NULL)
		return 0;
	struct arena *a = arena_new();
	struct dns_answer ans;
	size_t n = 0;
	switch (dns_lookup(d, a, domain, DNS_T_MX, &ans)) {
	case DNS_OK:
		for (size_t i = 0; i < ans.n && n < TRANSPORT_MAX_MX; i++) {
			if (ans.rr[i].type != DNS_T_MX)
				continue;
			snprintf(out[n].host, sizeof(out[n].host), "%s", ans.rr[i].text);
			/* pref * 64 + position keeps DNS order among equals */
			out[n].pref = ans.rr[i].preference * 64 + (int)n;
			n++;
		}
		if (n == 1 && (out[0].host[0] == '\0' || !strcmp(out[0].host, "."))) {
			*perm = true, n = 0;
			pr_why_set(why, PR_E_SEND_REFUSED, "556 5.1.10 the domain %s accepts no mail "
			           "(null MX, RFC 7505)", domain);
		}
		qsort(out, n, sizeof(*out), by_pref);
		break;
	case DNS_NODATA:    /* implicit MX: the domain itself */
		snprintf(out[0].host, sizeof(out[0].host), "%s", domain);
		n = 1;
		break;
	case DNS_NXDOMAIN:
	case DNS_BADNAME:
		*perm = true;
		pr_why_set(why, PR_E_SEND_REFUSED, "550 5.1.2 the recipient domain %s does not exist", domain);
		break;
	default:
		pr_why_set(why, PR_E_DNS_TEMP, "the MX lookup of %s failed or timed out", domain);
		break;
	}
	arena_free(&a);
	dns_free(&d);
	return n;
}

/* Try each address of one MX host; 1 if none held a transaction. */
static int
try_host(const struct transport_config *cfg, const char *host, const char *mail_from,
         const char *const *rcpts, const size_t *idx, size_t n, const struct transport_msg *msg,
         struct transport_result *res)
{
	char addrs[TRANSPORT_MAX_ADDRS][64];
	struct pr_why why;
	size_t na = dns_host_addresses(cfg->dns_server, cfg->dns_timeout_ms, host, addrs,
	                               TRANSPORT_MAX_ADDRS, &why);
	if (na == 0) {
		transport_set_all(res, idx, n, TRANSPORT_TEMP, 0, &why);
		return 1;
	}
	struct tsess_out out = {.rcpt = xcalloc(n, sizeof(struct tsess_reply))};
	int again = 1;
	for (size_t i = 0; i < na && again; i++) {
		struct tsess_in in = {.mail_from = mail_from, .rcpts = rcpts, .n = n, .msg = msg,
		                      .use_ssl = (long)CURLUSESSL_TRY, .verify = false};
		bool v6 = strchr(addrs[i], ':') != NULL;
		snprintf(in.url, sizeof(in.url), "smtp://%s%s%s:%d/%s", v6 ? "[" : "", addrs[i],
		         v6 ? "]" : "", cfg->port, cfg->helo);
		tsess_run(cfg, &in, &out);
		again = transport_classify(cfg, host, cfg->port, &out, idx, n, res);
	}
	free(out.rcpt);
	return again;
}

void
transport_direct_domain(const struct transport_config *cfg, const char *domain,
                        const char *mail_from, const char *const *rcpts, const size_t *idx,
                        size_t n, const struct transport_msg *msg, struct transport_result *res)
{
	struct mx mx[TRANSPORT_MAX_MX];
	struct pr_why why;
	bool perm;
	if (*domain == '\0' || *domain == '[') {
		pr_why_set(&why, PR_E_SEND_REFUSED, "501 5.1.3 postroom delivers only to domain names, "
		           "not to '%s'", domain);
		transport_set_all(res, idx, n, TRANSPORT_PERM, 501, &why);
		return;
	}
	size_t nmx = mx_hosts(cfg, domain, mx, &perm, &why);
	if (nmx == 0) {
		transport_set_all(res, idx, n, perm ? TRANSPORT_PERM : TRANSPORT_TEMP, perm ? 550 : 0, &why);
		return;
	}
	/* A failure at one host is not the domain's last word: the next
	 * host's verdict replaces it (res->why keeps other domains' first). */
	struct pr_why before = res->why;
	for (size_t i = 0; i < nmx; i++) {
		if (i > 0)
			res->why = before;
		if (!try_host(cfg, mx[i].host, mail_from, rcpts, idx, n, msg, res))
			return;
	}
}
