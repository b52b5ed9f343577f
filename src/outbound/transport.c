/* transport.c - settings to a transport config, the relay path, and the
 * rules that turn a session's replies into verdicts.  See transport.h.
 *
 * Port 25 towards a relay is refused before any connection: relays take
 * submitted mail on 587 (STARTTLS) or 465 (implicit TLS); 25 is for one
 * MX talking to another, providers block it, and a relay there usually
 * refuses to relay (RFC 6409 3.1).
 *
 * The relay's name is resolved by postroom's own resolver (dns_server),
 * as every other name is, and handed to libcurl with CURLOPT_RESOLVE: the
 * certificate is still checked against the name.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/dns.h"
#include "core/arena.h"
#include "core/settings.h"
#include "outbound/transport_private.h"

int
transport_config_from_settings(const struct settings *set, struct transport_config *cfg,
                               struct pr_why *why)
{
	memset(cfg, 0, sizeof(*cfg));
	const char *server = settings_str(set, SET_SMTP_SERVER);
	cfg->tls = settings_enum(set, SET_SMTP_TLS);
	cfg->auth = settings_enum(set, SET_SMTP_AUTH);
	cfg->username = settings_str(set, SET_SMTP_USERNAME);
	cfg->password = settings_str(set, SET_SMTP_PASSWORD);
	cfg->ca_file = settings_str(set, SET_SMTP_CA_FILE);
	cfg->dns_server = settings_str(set, SET_DNS_SERVER);
	cfg->dns_timeout_ms = (int)settings_int(set, SET_DNS_TIMEOUT_MS);
	snprintf(cfg->helo, sizeof(cfg->helo), "%s", settings_str(set, SET_HOSTNAME));
	if (*server == '\0') {
		pr_why_set(why, PR_E_CONFIG, "smtp_server is not set: set it to the relay (host:587) or to direct");
		return -1;
	}
	if (!strcmp(server, "direct")) {
		cfg->direct = true;
		cfg->port = (int)settings_int(set, SET_SMTP_DIRECT_PORT);
		return 0;
	}
	if (settings_split_hostport(server, cfg->host, sizeof(cfg->host), &cfg->port) < 0) {
		pr_why_set(why, PR_E_CONFIG, "smtp_server '%s' is not host or host:port", server);
		return -1;
	}
	if (cfg->port == 0)
		cfg->port = cfg->tls == SMTP_TLS_IMPLICIT ? 465 : 587;
	if (cfg->port == 25) {
		pr_why_set(why, PR_E_RELAY_PORT25, "smtp_server %s: %s", server,
		           pr_err_info(PR_E_RELAY_PORT25)->summary);
		return -1;
	}
	if (cfg->auth != SMTP_AUTH_NONE && *cfg->username == '\0') {
		pr_why_set(why, PR_E_CONFIG, "smtp_auth is %s but smtp_username is not set",
		           settings_str(set, SET_SMTP_AUTH));
		return -1;
	}
	return 0;
}

void
transport_set_all(struct transport_result *res, const size_t *idx, size_t n,
                  enum transport_status st, int code, const struct pr_why *why)
{
	for (size_t i = 0; i < n; i++) {
		struct transport_rcpt *r = &res->rcpt[idx[i]];
		r->status = st;
		r->code = code;
		snprintf(r->reply, sizeof(r->reply), "%s", pr_why_text(why));
	}
	if (st != TRANSPORT_OK && res->why.code == PR_OK)
		res->why = *why;
}

int
transport_relay_in(const struct transport_config *cfg, struct tsess_in *in, struct pr_why *why)
{
	char addr[1][64];
	if (dns_host_addresses(cfg->dns_server, cfg->dns_timeout_ms, cfg->host, addr, 1, why) == 0)
		return -1;
	bool v6 = strchr(cfg->host, ':') != NULL;
	snprintf(in->url, sizeof(in->url), "%s://%s%s%s:%d/%s",
	         cfg->tls == SMTP_TLS_IMPLICIT ? "smtps" : "smtp", v6 ? "[" : "", cfg->host,
	         v6 ? "]" : "", cfg->port, cfg->helo);
	if (!dns_is_ip_literal(cfg->host))
		snprintf(in->connect_to, sizeof(in->connect_to), "%s:%d:%s%s%s", cfg->host, cfg->port,
		         strchr(addr[0], ':') ? "[" : "", addr[0], strchr(addr[0], ':') ? "]" : "");
	in->use_ssl = cfg->tls == SMTP_TLS_STARTTLS ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE;
	in->verify = cfg->tls != SMTP_TLS_NONE;
	in->login = cfg->auth != SMTP_AUTH_NONE;
	return 0;
}

/* The relay: one session, certificate verified unless smtp_tls = none. */
static void
send_relay(const struct transport_config *cfg, const char *mail_from, const char *const *rcpts,
           const size_t *idx, size_t n, const struct transport_msg *msg,
           struct transport_result *res)
{
	struct pr_why why;
	struct tsess_in in = {.mail_from = mail_from, .rcpts = rcpts, .n = n, .msg = msg};
	snprintf(res->server, sizeof(res->server), "%s:%d", cfg->host, cfg->port);
	if (transport_relay_in(cfg, &in, &why) < 0) {
		transport_set_all(res, idx, n, TRANSPORT_TEMP, 0, &why);
		return;
	}
	struct tsess_out out = {.rcpt = xcalloc(n, sizeof(struct tsess_reply))};
	tsess_run(cfg, &in, &out);
	transport_classify(cfg, cfg->host, cfg->port, &out, idx, n, res);
	free(out.rcpt);
}

static bool
same_domain(const char *a, const char *b)
{
	const char *da = strrchr(a, '@'), *db = strrchr(b, '@');
	return da && db && strcasecmp(da, db) == 0;
}

/* Direct: the recipients grouped by domain, one group at a time. */
static void
send_direct(const struct transport_config *cfg, const char *mail_from, const char *const *rcpts,
            size_t n, const struct transport_msg *msg, struct transport_result *res)
{
	bool *done = xcalloc(n, sizeof(bool));
	size_t *idx = xcalloc(n, sizeof(size_t));
	const char **group = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		size_t k = 0;
		for (size_t j = i; j < n; j++)
			if (!done[j] && same_domain(rcpts[i], rcpts[j]))
				done[j] = true, idx[k] = j, group[k++] = rcpts[j];
		const char *at = strrchr(rcpts[i], '@');
		transport_direct_domain(cfg, at ? at + 1 : "", mail_from, group, idx, k, msg, res);
	}
	free(group);
	free(idx);
	free(done);
}

int
transport_send(const struct transport_config *cfg, const char *mail_from,
               const char *const *rcpts, size_t n, const struct transport_msg *msg,
               struct transport_result *res)
{
	memset(res, 0, sizeof(*res));
	if (n == 0) {
		pr_why_set(&res->why, PR_E_INTERNAL, "transport_send without recipients");
		res->status = TRANSPORT_PERM;
		return -1;
	}
	res->n = n;
	res->rcpt = xcalloc(n, sizeof(*res->rcpt));
	if (cfg->direct) {
		send_direct(cfg, mail_from, rcpts, n, msg, res);
	} else {
		size_t *idx = xcalloc(n, sizeof(size_t));
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		send_relay(cfg, mail_from, rcpts, idx, n, msg, res);
		free(idx);
	}
	res->status = TRANSPORT_OK;
	for (size_t i = 0; i < n; i++) {
		if (res->rcpt[i].status == TRANSPORT_TEMP)
			res->status = TRANSPORT_TEMP;
		else if (res->rcpt[i].status == TRANSPORT_PERM && res->status == TRANSPORT_OK)
			res->status = TRANSPORT_PERM;
	}
	return 0;
}

void
transport_result_free(struct transport_result *res)
{
	free(res->rcpt);
	res->rcpt = NULL;
	res->n = 0;
}

const char *
transport_status_name(enum transport_status s)
{
	return s == TRANSPORT_OK ? "sent" : s == TRANSPORT_TEMP ? "deferred" : "failed";
}
