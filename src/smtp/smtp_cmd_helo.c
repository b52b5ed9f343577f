/* smtp_cmd_helo.c - HELO, EHLO (RFC 5321 4.1.1.1) and STARTTLS (RFC 3207).
 *
 * EHLO advertises what we implement and nothing else.  STARTTLS discards
 * whatever the client pipelined after it (those bytes arrived in clear
 * text and could have been injected: CVE-2011-0411) and forgets the
 * EHLO, as RFC 3207 4.2 requires.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <string.h>

#include "core/log.h"
#include "core/settings.h"
#include "smtp/smtp_parse.h"
#include "smtp/smtp_private.h"

/* A HELO argument: a domain or address literal, printable, bounded.  We
 * record it (trace header, log), we do not judge it. */
static bool
take_helo(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	size_t n = strlen(args);
	while (n > 0 && args[n - 1] == ' ')
		n--;
	bool ok = n > 0 && n <= SMTP_HELO_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = args[i] > ' ' && args[i] < 0x7f;
	if (!ok) {
		pr_why_set(&why, PR_E_SYNTAX, "HELO/EHLO needs your host name (one word, at most %d bytes)",
		           SMTP_HELO_MAX);
		smtp_error(s, &why);
		return false;
	}
	memcpy(s->helo, args, n);
	s->helo[n] = '\0';
	smtp_tx_reset(s);           /* 4.1.4: EHLO also resets the transaction */
	smtp_set_state(s, SMTP_READY);
	return true;
}

void
smtp_cmd_helo(struct smtp_session *s, const char *args)
{
	if (!take_helo(s, args))
		return;
	s->esmtp = false;
	smtp_reply(s, 250, NULL, "%s", settings_str(s->set, SET_HOSTNAME));
}

void
smtp_cmd_ehlo(struct smtp_session *s, const char *args)
{
	if (!take_helo(s, args))
		return;
	s->esmtp = true;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	evbuffer_add_printf(out, "250-%s greets %s\r\n", settings_str(s->set, SET_HOSTNAME), s->helo);
	evbuffer_add_printf(out, "250-PIPELINING\r\n250-SIZE %lld\r\n250-8BITMIME\r\n",
	                    settings_int(s->set, SET_MAX_MESSAGE_SIZE));
	if (s->srv->tls != NULL && !s->tls)
		evbuffer_add_printf(out, "250-STARTTLS\r\n");
	evbuffer_add_printf(out, "250 ENHANCEDSTATUSCODES\r\n");
	smtp_flush(s);
}

void
smtp_cmd_starttls(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	(void)args;
	if (s->srv->tls == NULL || s->tls) {
		pr_why_set(&why, PR_E_NOT_IMPLEMENTED, s->tls ? "TLS is already active" : "STARTTLS is not offered");
		smtp_error(s, &why);
		return;
	}
	SSL *ssl = SSL_new(s->srv->tls);
	if (ssl == NULL) {
		pr_why_set(&why, PR_E_TLS_FAILED, NULL);
		smtp_reply_why(s, &why);
		return;
	}
	smtp_reply(s, 220, "2.0.0", "ready to start TLS");
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t injected = evbuffer_get_length(in);
	if (injected > 0)
		log_info("smtp %llu [%s]: dropped %zu bytes sent after STARTTLS", (unsigned long long)s->id,
		         s->peer_ip, injected);
	evbuffer_drain(in, injected);
	smtp_parser_reset(s->parser);
	smtp_tx_reset(s);
	/* The 220 above is already in the plain socket's output; the filter
	 * queues its handshake behind it, so the order on the wire is right.
	 * From here libevent writes the socket (the filter's records). */
	s->direct = false;
	bufferevent_enable(s->bev, EV_WRITE);
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    s->srv->base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL)
		pr_panic("bufferevent_openssl_filter_new failed");
	smtp_session_set_bev(s, tls);
	s->tls = true;
	s->esmtp = false;
	s->helo[0] = '\0';
	smtp_set_state(s, SMTP_CONNECTED);
}
