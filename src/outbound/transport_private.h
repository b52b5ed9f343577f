/* transport_private.h - shared between the transport files only.
 *
 * transport_session.c  one SMTP session over one libcurl easy handle, with
 *                      every server reply captured in order
 * transport.c          settings -> config, the relay path, the verdicts
 * transport_direct.c   smtp_server = direct: MX lookup, hosts in order
 * transport_check.c    `check smtp`
 */
#ifndef PR_TRANSPORT_PRIVATE_H
#define PR_TRANSPORT_PRIVATE_H

#include "outbound/transport.h"

/* Addresses tried per host name (A and AAAA), and MX hosts per domain:
 * bounds the time one message can spend on a domain whose servers are
 * all down (Postfix: smtp_mx_address_limit 5, smtp_mx_session_limit 2). */
#define TRANSPORT_MAX_ADDRS 4
#define TRANSPORT_MAX_MX 5

struct tsess_in {
	char url[PR_MAX_DOMAIN * 2 + 32];  /* smtp[s]://host:port/helo */
	char connect_to[PR_MAX_DOMAIN + 80];  /* CURLOPT_RESOLVE "host:port:addr", or "" */
	long use_ssl;                      /* CURLUSESSL_* (smtp://) */
	bool verify;                       /* verify the certificate and its name */
	bool login;                        /* authenticate with cfg's credentials */
	const char *mail_from;             /* NULL: no mail, just NOOP (`check smtp`) */
	const char *const *rcpts;
	size_t n;
	const struct transport_msg *msg;
};

struct tsess_reply {
	int code;                          /* 0: none came */
	char text[TRANSPORT_REPLY_MAX];    /* the final line, sanitised */
};

struct tsess_out {
	int curl_code;                     /* CURLcode of the whole session */
	char errbuf[256];
	struct tsess_reply greeting, auth, mail, data, eod, last;
	struct tsess_reply *rcpt;          /* n entries, given by the caller */
	char ehlo[1024];                   /* keywords of the last EHLO, one per line */
	bool offers_auth;                  /* the last EHLO listed AUTH */
	bool tls;                          /* the session was encrypted */
	long long size;                    /* EHLO SIZE: -1 absent, 0 no limit */
};

/* Run one session: connect, EHLO, TLS, AUTH, then the transaction (or
 * NOOP).  Fills out; never fails otherwise. */
void tsess_run(const struct transport_config *cfg, const struct tsess_in *in, struct tsess_out *out);

/* The session towards the relay: its address through dns_host_addresses,
 * URL, TLS and login from cfg.  -1 with why if the name did not resolve. */
int transport_relay_in(const struct transport_config *cfg, struct tsess_in *in, struct pr_why *why);

/* Why a session that delivered nothing failed, in plain words (code from
 * err.h); what == "relay" or "mail server". */
void transport_explain(const struct transport_config *cfg, const char *host, int port,
                       const struct tsess_out *o, struct pr_why *why);

/* Verdicts of one session into res->rcpt[idx[i]]; 1 if the session never
 * reached a transaction (another address may be tried), else 0. */
int transport_classify(const struct transport_config *cfg, const char *host, int port,
                       const struct tsess_out *o, const size_t *idx, size_t n,
                       struct transport_result *res);
/* Set every recipient in idx to status with reply (a failure before any
 * session, like a domain that takes no mail). */
void transport_set_all(struct transport_result *res, const size_t *idx, size_t n,
                       enum transport_status st, int code, const struct pr_why *why);

/* smtp_server = direct: deliver the recipients of one domain. */
void transport_direct_domain(const struct transport_config *cfg, const char *domain,
                             const char *mail_from, const char *const *rcpts, const size_t *idx,
                             size_t n, const struct transport_msg *msg,
                             struct transport_result *res);

#endif
