/* smtp_cmd_misc.c - RSET, NOOP, QUIT, HELP, and the refused VRFY/EXPN.
 *
 * VRFY and EXPN would let anyone enumerate users and alias members
 * (RFC 5321 7.3 allows refusing them): VRFY gets 252 ("just send it"),
 * EXPN 502.
 */
#include "smtp/smtp_private.h"

void
smtp_cmd_rset(struct smtp_session *s, const char *args)
{
	(void)args;
	smtp_tx_reset(s);
	smtp_set_state(s, s->helo[0] ? SMTP_READY : SMTP_CONNECTED);
	smtp_reply(s, 250, "2.0.0", "reset");
}

void
smtp_cmd_noop(struct smtp_session *s, const char *args)
{
	(void)args;
	smtp_reply(s, 250, "2.0.0", "ok");
}

void
smtp_cmd_quit(struct smtp_session *s, const char *args)
{
	(void)args;
	smtp_close(s, 221, "2.0.0", "bye");
}

void
smtp_cmd_help(struct smtp_session *s, const char *args)
{
	(void)args;
	smtp_reply(s, 214, "2.0.0", "commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT HELP%s",
	           s->srv->tls != NULL && !s->tls ? " STARTTLS" : "");
}

void
smtp_cmd_vrfy(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	(void)args;
	pr_why_set(&why, PR_E_VRFY_REFUSED, "address verification is not offered; send the message");
	smtp_reply_why(s, &why);
}

void
smtp_cmd_expn(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	(void)args;
	pr_why_set(&why, PR_E_NOT_IMPLEMENTED, "EXPN is not offered");
	smtp_reply_why(s, &why);
}
