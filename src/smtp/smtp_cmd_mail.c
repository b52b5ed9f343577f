/* smtp_cmd_mail.c - MAIL FROM (RFC 5321 4.1.1.2, RFC 1870 SIZE, RFC 6152
 * 8BITMIME) and RCPT TO (4.1.1.3).
 *
 * MAIL opens the transaction: an intake_msg whose arena owns the envelope,
 * the spool and the DATA machine, so RSET or the end of DATA releases all
 * of it at once.  A SIZE= over max_message_size is refused here with the
 * limit in the text, before a byte of the message is sent.
 *
 * RCPT asks intake_judge_rcpt_async() (routing is not our business): 250,
 * or its reason (550 5.7.1 relay denied, 550 5.1.1 unknown, 451 store
 * busy).  The lookup reads the store on an intake thread; meanwhile the
 * session waits (SMTP_WAIT, no command read) and every other session on
 * the loop goes on.
 * Past max_recipients the answer is 452 4.5.3 and the client sends the
 * rest in another transaction (RFC 5321 4.5.3.1.10); that is not counted
 * as a protocol error.
 */
#include <ctype.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/settings.h"
#include "net/net.h"
#include "route/address.h"
#include "smtp/smtp_private.h"

/* "FROM:" / "TO:" then optional spaces (many clients send "FROM: <a@b>"). */
static const char *
skip_keyword(const char *args, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(args, kw, n) != 0)
		return NULL;
	args += n;
	while (*args == ' ')
		args++;
	return args;
}

/* ESMTP parameters of MAIL: SIZE=<digits>, BODY=7BIT|8BITMIME. */
static int
mail_params(struct smtp_session *s, const char *p, unsigned long long *size_r, struct pr_why *why)
{
	*size_r = 0;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0)
			break;
		if (!s->esmtp) {
			pr_why_set(why, PR_E_SYNTAX, "parameters need EHLO, not HELO");
			return -1;
		}
		if (n > 5 && strncasecmp(p, "SIZE=", 5) == 0) {
			char *stop;
			errno = 0;
			*size_r = strtoull(p + 5, &stop, 10);
			if (stop != p + n || !isdigit((unsigned char)p[5]) || errno != 0) {
				pr_why_set(why, PR_E_INVALID, "SIZE= needs a number of bytes");
				return -1;
			}
		} else if ((n == 9 && strncasecmp(p, "BODY=7BIT", 9) == 0) ||
		           (n == 13 && strncasecmp(p, "BODY=8BITMIME", 13) == 0)) {
			/* stored byte-exact either way */
		} else {
			pr_why_set(why, PR_E_INVALID, "unsupported MAIL parameter %.*s", (int)(n > 40 ? 40 : n), p);
			return -1;
		}
		p += n;
	}
	return 0;
}

/* A sender we cannot parse is still an attempt the admin must be able to
 * find (`log`, `why`): log it with the path as written, between its angle
 * brackets (intake cleans the bytes), then drop the transaction.  Each
 * refusal counts as an error, so one session logs at most
 * PR_SMTP_HARD_ERROR_LIMIT of them. */
static void
refuse_mail(struct smtp_session *s, struct intake_msg *m, const char *path, const struct pr_why *why)
{
	if (*path == '<')
		path++;
	m->mail_from = arena_strndup(m->arena, path, strcspn(path, ">"));
	s->msg = m;
	smtp_log_refusal(s, NULL, 0, why);
	smtp_tx_reset(s);
	smtp_error(s, why);
}

void
smtp_cmd_mail(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	if (s->msg != NULL) {
		pr_why_set(&why, PR_E_BAD_SEQUENCE, "a transaction is already open (send RSET first)");
		smtp_error(s, &why);
		return;
	}
	const char *p = skip_keyword(args, "FROM:");
	if (p == NULL) {
		pr_why_set(&why, PR_E_SYNTAX, "use MAIL FROM:<address>");
		smtp_error(s, &why);
		return;
	}
	struct intake_msg *m = intake_msg_new(INTAKE_SMTP);
	struct address from;
	const char *rest;
	unsigned long long size;
	long long max = settings_int(s->set, SET_MAX_MESSAGE_SIZE);
	m->peer_ip = arena_strdup(m->arena, s->peer_ip);
	m->helo = arena_strdup(m->arena, s->helo);
	m->tls = s->tls;
	if (address_parse_path(m->arena, p, true, &from, &rest, &why) < 0 ||
	    mail_params(s, rest, &size, &why) < 0) {
		refuse_mail(s, m, p, &why);
		return;
	}
	m->mail_from = from.full;
	s->max_rcpts = (size_t)settings_int(s->set, SET_MAX_RECIPIENTS);
	m->rcpts = arena_alloc(m->arena, s->max_rcpts * sizeof(*m->rcpts));
	s->msg = m;
	if (size > (unsigned long long)max) {
		pr_why_set(&why, PR_E_TOO_BIG, "message size %llu bytes exceeds the limit of %lld bytes",
		           size, max);
		smtp_log_refusal(s, NULL, size, &why);
		smtp_tx_reset(s);
		smtp_error(s, &why);
		return;
	}
	smtp_set_state(s, SMTP_MAIL);
	smtp_reply(s, 250, "2.1.0", "sender ok");
}

/* On the loop thread: answer the RCPT and read the next command. */
static void
rcpt_judged_on_loop(void *arg)
{
	struct smtp_session *s = arg;
	struct intake_msg *m = s->msg;
	smtp_set_state(s, m->nrcpts > 0 ? SMTP_RCPT : SMTP_MAIL);
	if (s->gone) {                      /* the peer left meanwhile */
		smtp_session_free(s);
		return;
	}
	const struct pr_why *why = &s->rcpt_why;
	s->busy++;       /* the reply goes out with what the resume answers (DATA's 354) */
	if (s->rcpt_rc < 0) {
		smtp_log_refusal(s, m->rcpts[m->nrcpts].address, 0, why);
		if (pr_err_is_temporary(why->code))
			smtp_reply_why(s, why);
		else
			smtp_error(s, why);
	} else {
		m->nrcpts++;
		smtp_expect(s, true);
		smtp_set_state(s, SMTP_RCPT);
		smtp_reply(s, 250, "2.1.5", "recipient ok");
	}
	s->busy--;
	smtp_session_resume(s);
}

/* On a lookup thread: keep the answer, hop to the loop. */
static void
rcpt_judged(void *arg, int rc, const struct pr_why *why)
{
	struct smtp_session *s = arg;
	s->rcpt_rc = rc;
	s->rcpt_why = *why;
	net_wake_post(s->srv->wake, rcpt_judged_on_loop, s);
}

void
smtp_cmd_rcpt(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	struct intake_msg *m = s->msg;
	const char *p = skip_keyword(args, "TO:");
	struct address to;
	const char *rest;
	if (p == NULL) {
		pr_why_set(&why, PR_E_SYNTAX, "use RCPT TO:<address>");
		smtp_error(s, &why);
		return;
	}
	if (address_parse_path(m->arena, p, false, &to, &rest, &why) < 0) {
		smtp_error(s, &why);
		return;
	}
	if (*rest != '\0') {
		pr_why_set(&why, PR_E_INVALID, "RCPT parameters are not supported");
		smtp_error(s, &why);
		return;
	}
	if (m->nrcpts >= s->max_rcpts) {
		pr_why_set(&why, PR_E_TOO_MANY_RCPTS, "too many recipients (at most %zu per message); "
		           "send the rest in another message", s->max_rcpts);
		smtp_reply_why(s, &why);
		return;
	}
	/* Off the loop (a store read can wait): stop reading commands until
	 * the answer is back, so pipelined replies keep their order. */
	smtp_set_state(s, SMTP_WAIT);
	bufferevent_disable(s->bev, EV_READ);
	intake_judge_rcpt_async(s->srv->in, m->arena, to.full, &m->rcpts[m->nrcpts], rcpt_judged, s);
}
