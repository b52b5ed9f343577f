/* transport_verdict.c - from what a session heard to a verdict per
 * recipient, and to plain words when no transaction took place.
 *
 * The class of the reply decides (RFC 5321 4.2.1): 2xx sent, 4xx try
 * again, 5xx refused for good.  A session that never reached MAIL (no
 * connection, TLS or login failure, a greeting that refused us) is
 * temporary: the administrator can fix it and nothing was refused.  The
 * connection lost after the final dot but before the answer is temporary
 * too, and the one case where a retry may deliver twice (RFC 1047); we
 * cannot know, and losing the message would be worse.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "net/net_curl.h"
#include "outbound/transport_private.h"

static enum transport_status
by_class(int code)
{
	return code / 100 == 2 ? TRANSPORT_OK : code / 100 == 5 ? TRANSPORT_PERM : TRANSPORT_TEMP;
}

static const char *
said(const struct tsess_out *o)
{
	return o->last.code ? o->last.text : "";
}

/* Connection, TLS and login failures. */
static void
explain_curl(const struct transport_config *cfg, const char *who, const char *host, int port,
             const struct tsess_out *o, struct pr_why *why)
{
	const char *eb = o->errbuf[0] ? o->errbuf : curl_easy_strerror((CURLcode)o->curl_code);
	struct net_curl_peer peer = {who, host, port, "smtp_ca_file", "use smtp_tls = starttls",
	                             o->greeting.code || cfg->tls == SMTP_TLS_IMPLICIT ? NULL
	                             : "if the port expects TLS at once (465), set smtp_tls = implicit"};
	if (net_curl_explain(o->curl_code, o->errbuf, &peer, why))
		return;
	switch ((CURLcode)o->curl_code) {
	case CURLE_USE_SSL_FAILED:
		pr_why_set(why, PR_E_TLS_FAILED, "%s %s:%d does not offer STARTTLS (for port 465 set "
		           "smtp_tls = implicit)", who, host, port);
		break;
	case CURLE_LOGIN_DENIED:
		if (o->auth.code)
			pr_why_set(why, PR_E_RELAY_AUTH, "login refused for user '%s' on %s:%d: the server "
			           "said: %s", cfg->username, host, port, o->auth.text);
		else
			pr_why_set(why, PR_E_RELAY_AUTH, "%s %s:%d offers no login mechanism postroom can use "
			           "with smtp_auth (it announced: %s)", who, host, port,
			           o->offers_auth ? "see its EHLO AUTH line" : "no AUTH");
		break;
	default:
		pr_why_set(why, PR_E_SEND_DEFERRED, "SMTP with %s %s:%d failed: %s%s%s", who, host, port,
		           eb, *said(o) ? "; the server said: " : "", said(o));
		break;
	}
}

void
transport_explain(const struct transport_config *cfg, const char *host, int port,
                  const struct tsess_out *o, struct pr_why *why)
{
	const char *who = cfg->direct ? "the mail server" : "the relay";
	if (o->greeting.code && o->greeting.code / 100 != 2)
		pr_why_set(why, PR_E_SEND_DEFERRED, "%s %s:%d refused the session: %s", who, host, port,
		           o->greeting.text);
	else if (!cfg->direct && cfg->auth != SMTP_AUTH_NONE && !o->offers_auth && !o->auth.code &&
	         (o->curl_code == CURLE_LOGIN_DENIED || o->mail.code != 0))
		pr_why_set(why, PR_E_RELAY_AUTH, "%s %s:%d does not offer AUTH%s", who, host, port,
		           o->tls ? "" : " before TLS (set smtp_tls = starttls)");
	else
		explain_curl(cfg, who, host, port, o, why);
}

/* The verdict on recipient i of a session that reached MAIL. */
static void
verdict(const struct tsess_out *o, size_t i, struct transport_rcpt *r, const char **cmd)
{
	const struct tsess_reply *rep;
	if (o->mail.code / 100 != 2)
		rep = &o->mail, *cmd = "MAIL FROM";
	else if (o->rcpt[i].code / 100 != 2)
		rep = &o->rcpt[i], *cmd = "RCPT TO";
	else if (o->eod.code)
		rep = &o->eod, *cmd = "the end of DATA";
	else
		rep = &o->data, *cmd = "DATA";
	if (rep->code == 0 || (rep == &o->data && rep->code == 354)) {
		r->status = TRANSPORT_TEMP, r->code = 0;
		snprintf(r->reply, sizeof(r->reply), "the connection was lost before the server answered "
		         "%s (%s)", *cmd, o->errbuf[0] ? o->errbuf : curl_easy_strerror((CURLcode)o->curl_code));
		return;
	}
	r->status = by_class(rep->code);
	r->code = rep->code;
	snprintf(r->reply, sizeof(r->reply), "%s", rep->text);
}

int
transport_classify(const struct transport_config *cfg, const char *host, int port,
                   const struct tsess_out *o, const size_t *idx, size_t n,
                   struct transport_result *res)
{
	snprintf(res->server, sizeof(res->server), "%s:%d", host, port);
	/* A relay that never offered AUTH took our mail unauthenticated: what
	 * it answers then (often 554 relay access denied) is about the login
	 * settings, not the recipients. */
	bool no_login = !cfg->direct && cfg->auth != SMTP_AUTH_NONE && o->auth.code == 0;
	if (o->mail.code == 0 || (no_login && o->eod.code / 100 != 2)) {
		struct pr_why why;
		transport_explain(cfg, host, port, o, &why);
		transport_set_all(res, idx, n, TRANSPORT_TEMP, o->last.code, &why);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct transport_rcpt *r = &res->rcpt[idx[i]];
		const char *cmd = "";
		verdict(o, i, r, &cmd);
		if (r->status != TRANSPORT_OK && res->why.code == PR_OK)
			pr_why_set(&res->why, r->status == TRANSPORT_PERM ? PR_E_SEND_REFUSED : PR_E_SEND_DEFERRED,
			           "%s:%d answered %s with: %s", host, port, cmd, r->reply);
	}
	return 0;
}
