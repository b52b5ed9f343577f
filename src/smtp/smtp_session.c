/* smtp_session.c - one SMTP connection: reading, the command table, replies,
 * pauses and the end of the session.
 *
 * Input is consumed line by line through smtp_parse (or byte runs through
 * the DATA machine) straight out of the bufferevent's evbuffer, so nothing
 * is copied on the way in.  Replies are appended to the output evbuffer;
 * a plain session writes them itself (smtp_flush) once process() has
 * consumed the input in hand, so pipelined replies (RFC 2920) still go in
 * one write, and libevent's write event is only on while the socket
 * cannot take everything.  A TLS session leaves writing to libevent.
 *
 * Every buffer has a ceiling: the input stops being read above
 * INPUT_HIGH (libevent's read watermark), and command processing pauses
 * while more than OUTPUT_HIGH bytes of replies wait for a client that does
 * not read them.  Errors from the peer and refusals are counted; at
 * smtp_hard_error_limit the session ends with 421 (Postfix
 * smtpd_hard_error_limit).  Admission (max_sessions and the per-address
 * limits of smtp_anvil.c) happens before a session costs anything; the
 * lifetime and DATA-rate bounds are in smtp_guard.c.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/settings.h"
#include "net/net.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parse.h"
#include "smtp/smtp_private.h"

#define INPUT_HIGH (256 * 1024)
#define OUTPUT_HIGH (64 * 1024)

enum {
	CMD_NEEDS_HELO = 1 << 0,    /* 503 before HELO/EHLO */
	CMD_NEEDS_MAIL = 1 << 1,    /* 503 outside a transaction */
	CMD_NO_ARGS = 1 << 2,       /* 501 if arguments are given */
};

static const struct smtp_cmd_def {
	const char *verb;
	smtp_cmd_fn *fn;
	unsigned flags;
} commands[] = {
	{"EHLO", smtp_cmd_ehlo, 0},
	{"HELO", smtp_cmd_helo, 0},
	{"MAIL", smtp_cmd_mail, CMD_NEEDS_HELO},
	{"RCPT", smtp_cmd_rcpt, CMD_NEEDS_HELO | CMD_NEEDS_MAIL},
	{"DATA", smtp_cmd_data, CMD_NEEDS_HELO | CMD_NEEDS_MAIL | CMD_NO_ARGS},
	{"RSET", smtp_cmd_rset, CMD_NO_ARGS},
	{"NOOP", smtp_cmd_noop, 0},
	{"QUIT", smtp_cmd_quit, CMD_NO_ARGS},
	{"HELP", smtp_cmd_help, 0},
	{"VRFY", smtp_cmd_vrfy, 0},
	{"EXPN", smtp_cmd_expn, 0},
	{"STARTTLS", smtp_cmd_starttls, CMD_NEEDS_HELO | CMD_NO_ARGS},
};

static const char *const state_names[] = {
	"connected", "ready", "mail", "rcpt", "data", "wait", "closing",
};

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void process(struct smtp_session *s);

void
smtp_set_state(struct smtp_session *s, enum smtp_state st)
{
	if (s->state != st)
		log_debug("smtp %llu: %s -> %s", (unsigned long long)s->id, state_names[s->state],
		          state_names[st]);
	s->state = st;
}

/* Reply text may carry peer bytes (an address in a refusal): never let a
 * CR or LF through, or the peer could forge a reply line. */
void
smtp_reply(struct smtp_session *s, int code, const char *dsn, const char *fmt, ...)
{
	char text[600], clean[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_sanitize(clean, sizeof(clean), text, strlen(text));
	struct evbuffer *out = bufferevent_get_output(s->bev);
	if (dsn && *dsn)
		evbuffer_add_printf(out, "%d %s %s\r\n", code, dsn, clean);
	else
		evbuffer_add_printf(out, "%d %s\r\n", code, clean);
	smtp_flush(s);
}

/* on_write on a later turn of the loop: it ends or resumes the session,
 * which the caller, still holding s, must not see happen. */
static void
on_write_soon(struct smtp_session *s)
{
	bufferevent_trigger(s->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Write what waits; true when the output is empty afterwards.  One
 * writev for what the turn produced, where libevent would take an
 * epoll_ctl to add the write event, a loop turn, the writev and another
 * epoll_ctl to drop it again, for every reply.  What the socket does not
 * take (a client that does not read) or a broken connection goes to
 * libevent as before: its write timeout and error report (on_event) stay
 * in charge. */
static bool
write_out(struct smtp_session *s)
{
	if (!s->direct || s->busy > 0 || s->bev == NULL)
		return false;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	if (evbuffer_get_length(out) == 0)
		return false;
	/* A socket bufferevent keeps its output's start frozen against
	 * anyone but itself draining it; thaw it for the write, as it does. */
	evbuffer_unfreeze(out, 1);
	(void)evbuffer_write(out, bufferevent_getfd(s->bev));
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) == 0)
		return true;
	bufferevent_enable(s->bev, EV_WRITE);
	return false;
}

void
smtp_flush(struct smtp_session *s)
{
	if (write_out(s) && (s->state == SMTP_CLOSING || s->paused))
		on_write_soon(s);        /* as after libevent's own writes */
}

void
smtp_reply_why(struct smtp_session *s, const struct pr_why *why)
{
	const struct pr_err_info *info = pr_err_info(why->code);
	if (info->smtp < 200)       /* a row SMTP never sees: our bug, say 451 */
		info = pr_err_info(PR_E_INTERNAL);
	smtp_reply(s, info->smtp, info->dsn, "%s", pr_why_text(why));
}

void
smtp_error(struct smtp_session *s, const struct pr_why *why)
{
	smtp_reply_why(s, why);
	smtp_count_error(s);
}

/* Refusals count as well as protocol errors (Postfix counts every 4xx/5xx
 * reply): a client that keeps sending what we refuse, MAIL after MAIL with
 * a SIZE over the limit or message after message from a refused sender,
 * costs us work each time and is ended like one that sends garbage. */
void
smtp_count_error(struct smtp_session *s)
{
	if (s->state == SMTP_CLOSING)
		return;
	if (++s->errors >= settings_int(s->set, SET_SMTP_HARD_ERROR_LIMIT)) {
		struct pr_why w;
		pr_why_set(&w, PR_E_TOO_MANY_ERRORS, NULL);
		log_info("smtp %llu [%s]: %d errors, disconnecting", (unsigned long long)s->id,
		         s->peer_ip, s->errors);
		smtp_log_refusal(s, NULL, 0, &w);
		const struct pr_err_info *i = pr_err_info(PR_E_TOO_MANY_ERRORS);
		smtp_close(s, i->smtp, i->dsn, i->summary);
	}
}

void
smtp_close(struct smtp_session *s, int code, const char *dsn, const char *text)
{
	if (s->state == SMTP_CLOSING)
		return;
	if (code)
		smtp_reply(s, code, dsn, "%s", text);
	smtp_tx_reset(s);
	smtp_set_state(s, SMTP_CLOSING);
	smtp_guard_stop(s);
	bufferevent_disable(s->bev, EV_READ);
	/* Bound the flush: a client that never reads would otherwise keep
	 * this session, and its max_sessions slot, for ever.  If the reply is
	 * still unwritten when this fires, on_event frees the session. */
	struct timeval tv = {.tv_sec = settings_int(s->set, SET_SMTP_IDLE_TIMEOUT)};
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	/* Never free here (callers still hold s): on_write frees once the
	 * last reply is out; with nothing to write, make it run soon. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		on_write_soon(s);
}

void
smtp_expect(struct smtp_session *s, bool more)
{
	if (s->expecting != more && s->srv->in != NULL)
		intake_expect(s->srv->in, more);
	s->expecting = more;
}

void
smtp_tx_reset(struct smtp_session *s)
{
	smtp_expect(s, false);
	if (s->msg != NULL) {
		struct arena *a = s->msg->arena;
		arena_free(&a);
		s->msg = NULL;
	}
	s->data = NULL;
	s->spool = NULL;
}

void
smtp_log_refusal(struct smtp_session *s, const char *rcpt, uint64_t size, const struct pr_why *why)
{
	struct intake_msg m;
	struct intake_rcpt one;
	if (s->msg != NULL) {
		m = *s->msg;
	} else {
		memset(&m, 0, sizeof(m));
		m.source = INTAKE_SMTP;
		m.received_at = time(NULL);
		m.peer_name = m.mail_from = "";
	}
	m.peer_ip = s->peer_ip;
	m.helo = s->helo;
	m.tls = s->tls;
	if (rcpt != NULL) {
		memset(&one, 0, sizeof(one));
		one.address = rcpt;
		m.rcpts = &one;
		m.nrcpts = 1;
	}
	intake_log_refusal(s->srv->in, &m, size, why);
}

static void
dispatch(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct pr_why why;
	const struct smtp_cmd_def *def = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].verb, cmd->verb) == 0)
			def = &commands[i];
	if (def == NULL) {
		pr_why_set(&why, PR_E_NOT_IMPLEMENTED, "command not recognised");
		smtp_error(s, &why);
	} else if ((def->flags & CMD_NEEDS_HELO) && s->state == SMTP_CONNECTED) {
		pr_why_set(&why, PR_E_BAD_SEQUENCE, "send HELO or EHLO first");
		smtp_error(s, &why);
	} else if ((def->flags & CMD_NEEDS_MAIL) && s->msg == NULL) {
		pr_why_set(&why, PR_E_BAD_SEQUENCE, "send MAIL FROM first");
		smtp_error(s, &why);
	} else if ((def->flags & CMD_NO_ARGS) && cmd->args_len > 0) {
		pr_why_set(&why, PR_E_SYNTAX, "%s takes no arguments", def->verb);
		smtp_error(s, &why);
	} else {
		def->fn(s, cmd->args);
	}
}

static void
parse_error(struct smtp_session *s, enum pr_err err)
{
	struct pr_why why;
	if (err == PR_E_BARE_LF)
		pr_why_set(&why, PR_E_SYNTAX, "bare CR or LF in a command: lines must end with CRLF");
	else if (err == PR_E_LINE_TOO_LONG)
		pr_why_set(&why, PR_E_LINE_TOO_LONG, "command line longer than %d bytes", PR_SMTP_MAX_CMD_LINE);
	else
		pr_why_set(&why, err, "the command was not understood");
	smtp_error(s, &why);
}

/* Consume input until it runs out, the session pauses or it ends. */
static void
process_input(struct smtp_session *s)
{
	while (s->state != SMTP_WAIT && s->state != SMTP_CLOSING) {
		if (s->expired) {             /* lifetime ended while intake worked */
			smtp_guard_expire(s);
			return;
		}
		if (s->srv->draining && s->msg == NULL && s->state < SMTP_DATA) {
			smtp_close(s, 421, "4.3.2", "the server is shutting down; try again later");
			return;
		}
		/* Fetched each time round: STARTTLS replaces s->bev. */
		struct evbuffer *in = bufferevent_get_input(s->bev);
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > OUTPUT_HIGH) {
			s->paused = true;      /* on_write resumes us */
			bufferevent_disable(s->bev, EV_READ);
			return;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			/* A turn's share of the socket read; on from what
			 * followed the final dot if the message ended. */
			if (s->state == SMTP_DATA && smtp_data_read_socket(s) && s->state != SMTP_DATA)
				continue;
			return;
		}
		if (s->state == SMTP_DATA) {
			evbuffer_drain(in, smtp_data_input(s, v.iov_base, v.iov_len));
			continue;
		}
		struct smtp_cmd cmd;
		enum pr_err err = PR_OK;
		size_t used = 0;
		int rc = smtp_parse_feed(s->parser, v.iov_base, v.iov_len, &used, &cmd, &err);
		evbuffer_drain(in, used);      /* cmd lives in the parser, not in `in` */
		if (rc == 1)
			dispatch(s, &cmd);
		else if (rc < 0)
			parse_error(s, err);
	}
}

static void on_write(struct bufferevent *bev, void *arg);

/* The replies to all the input the turn consumed go out in one write.
 * A session that said its last reply (221, 421) ends here, right after
 * the write, as it did in libevent's write callback: a deferred end
 * would let the client, which has its 221, connect again while its old
 * session still counts against max_sessions and the per-address limit.
 * Every caller (on_read, the intake and RCPT completions, on_write)
 * touches s no more once this returns. */
static void
process(struct smtp_session *s)
{
	s->busy++;
	process_input(s);
	s->busy--;
	if (!write_out(s))
		return;
	if (s->state == SMTP_CLOSING)
		on_write(s->bev, s);
	else if (s->paused)
		on_write_soon(s);
}

void
smtp_session_resume(struct smtp_session *s)
{
	if (s->state == SMTP_CLOSING || s->state == SMTP_WAIT) {
		smtp_flush(s);           /* a completion's held reply */
		return;
	}
	s->paused = false;
	bufferevent_enable(s->bev, EV_READ);
	process(s);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

static void
on_underlying_done(struct bufferevent *bev, void *arg)
{
	(void)bev;
	smtp_session_free(arg);
}

static void
on_underlying_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	smtp_session_free(arg);
}

/* With TLS, "our output is empty" only means the records are in the
 * socket bufferevent below; freeing now would drop the last reply (221).
 * The TLS layer has nothing more to say, so take over the lower
 * bufferevent's callbacks and free once it has written everything. */
static bool
tls_still_flushing(struct smtp_session *s)
{
	struct bufferevent *u = bufferevent_get_underlying(s->bev);
	if (u == NULL || evbuffer_get_length(bufferevent_get_output(u)) == 0)
		return false;
	bufferevent_setcb(u, NULL, on_underlying_done, on_underlying_event, s);
	struct timeval tv = {.tv_sec = settings_int(s->set, SET_SMTP_IDLE_TIMEOUT)};
	bufferevent_set_timeouts(u, NULL, &tv);
	return true;
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	if (s->direct && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);       /* libevent wrote the rest */
	if (s->state == SMTP_CLOSING) {
		if (!tls_still_flushing(s))
			smtp_session_free(s);
	} else if (s->paused) {
		smtp_session_resume(s);
	}
}

void
smtp_cut(struct smtp_session *s, const struct pr_why *why)
{
	if (s->msg != NULL)
		smtp_log_refusal(s, NULL, s->data ? smtp_data_size(s->data) : 0, why);
	log_info("smtp %llu [%s]: %s: %s", (unsigned long long)s->id, s->peer_ip, pr_err_name(why->code),
	         pr_why_text(why));
	const struct pr_err_info *i = pr_err_info(why->code);
	smtp_close(s, i->smtp, i->dsn, pr_why_text(why));     /* arms the write timeout */
}

/* No input for smtp_idle_timeout seconds: say 421 and close. */
static void
idle_timeout(struct smtp_session *s)
{
	struct pr_why why;
	pr_why_set(&why, PR_E_TIMEOUT, "no input for %lld seconds",
	           settings_int(s->set, SET_SMTP_IDLE_TIMEOUT));
	smtp_cut(s, &why);
}

/* A reply could not be written: for smtp_idle_timeout seconds (a client
 * that pipelines and never reads) or at all (the connection broke).  No
 * reply can reach the peer any more, not even a 421, and libevent has
 * stopped writing, so keeping the session would only hold a max_sessions
 * slot for ever.  Free it now; while intake holds s (SMTP_WAIT),
 * smtp_session_free leaves the last free to the intake completion. */
static void
write_failed(struct smtp_session *s, short what)
{
	if (what & BEV_EVENT_TIMEOUT) {
		struct pr_why why;
		pr_why_set(&why, PR_E_TIMEOUT, "replies unread for %lld seconds",
		           settings_int(s->set, SET_SMTP_IDLE_TIMEOUT));
		if (s->msg != NULL)
			smtp_log_refusal(s, NULL, 0, &why);
		log_info("smtp %llu [%s]: write timeout: the client does not read its replies",
		         (unsigned long long)s->id, s->peer_ip);
	} else {
		log_debug("smtp %llu [%s]: write error", (unsigned long long)s->id, s->peer_ip);
	}
	smtp_session_free(s);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;                      /* TLS handshake done */
	if (what & BEV_EVENT_WRITING) {
		write_failed(s, what);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && s->state != SMTP_CLOSING) {
		idle_timeout(s);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("smtp %llu [%s]: connection error", (unsigned long long)s->id, s->peer_ip);
	smtp_session_free(s);
}

void
smtp_session_free(struct smtp_session *s)
{
	smtp_guard_stop(s);
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->state == SMTP_WAIT) {
		s->gone = true;      /* intake still holds s; its completion frees it */
		return;
	}
	smtp_tx_reset(s);
	struct smtp_server *srv = s->srv;
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	metrics_gauge_add(METRICS_SMTP_SESSIONS_OPEN, -1);
	smtp_anvil_disconnect(srv->anvil, s->peer_ip);
	log_debug("smtp %llu [%s]: closed", (unsigned long long)s->id, s->peer_ip);
	settings_unref(&s->set);
	struct arena *a = s->arena;     /* s lives in it: free through a copy */
	arena_free(&a);
	if (srv->draining && srv->nsessions == 0 && srv->on_empty)
		srv->on_empty(srv->on_empty_arg);
}

void
smtp_session_set_bev(struct smtp_session *s, struct bufferevent *bev)
{
	s->bev = bev;
	bufferevent_setcb(bev, on_read, on_write, on_event, s);
	bufferevent_setwatermark(bev, EV_READ, 0, INPUT_HIGH);
	struct timeval tv = {.tv_sec = settings_int(s->set, SET_SMTP_IDLE_TIMEOUT)};
	bufferevent_set_timeouts(bev, &tv, &tv);
	/* A TLS filter writes through the socket's bufferevent below it. */
	s->direct = bufferevent_get_underlying(bev) == NULL;
	bufferevent_enable(bev, s->direct ? EV_READ : EV_READ | EV_WRITE);
	if (s->direct)
		bufferevent_disable(bev, EV_WRITE);   /* on from birth */
}

/* A refused connection: one best-effort line, then close (no session
 * cost).  Under a flood, one log line a second says how many. */
static void
refuse_connection(struct smtp_server *srv, int fd, const struct pr_why *why)
{
	char line[600], clean[512];
	const char *text = pr_why_text(why);
	log_sanitize(clean, sizeof(clean), text, strlen(text));
	const struct pr_err_info *i = pr_err_info(why->code);
	int n = snprintf(line, sizeof(line), "%d %s %s\r\n", i->smtp, i->dsn, clean);
	if (n > 0 && (size_t)n < sizeof(line)) {
		ssize_t w = send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)w;
	}
	close(fd);
	time_t now = time(NULL);
	srv->refused++;
	if (now != srv->refused_logged_at) {
		log_warn("smtp: refused %u connection(s) in the last second; last: %s", srv->refused, clean);
		srv->refused_logged_at = now;
		srv->refused = 0;
	}
}

/* May fd's peer have a session?  0, or -1 with why (server full, this
 * address over its limits, shutting down). */
static int
admit(struct smtp_server *srv, const struct settings *set, const char *ip, struct pr_why *why)
{
	if (srv->draining) {
		pr_why_set(why, PR_E_SHUTDOWN, "the server is shutting down; try again later");
		return -1;
	}
	if (srv->nsessions >= (size_t)settings_int(set, SET_MAX_SESSIONS)) {
		pr_why_set(why, PR_E_SHUTDOWN, "too many connections (%zu, max_sessions); try again later",
		           srv->nsessions);
		return -1;
	}
	return smtp_anvil_connect(srv->anvil, ip, set, time(NULL), why);
}

void
smtp_session_accept(struct smtp_server *srv, int fd)
{
	struct settings *set = settings_current();
	char ip[64];
	struct pr_why why;
	net_peer_ip(fd, ip, sizeof(ip));
	if (admit(srv, set, ip, &why) < 0) {
		settings_unref(&set);
		refuse_connection(srv, fd, &why);
		return;
	}
	struct arena *a = arena_new();
	struct smtp_session *s = arena_alloc(a, sizeof(*s));
	s->arena = a;
	s->srv = srv;
	s->set = set;
	s->id = ++srv->next_id;
	s->parser = smtp_parser_new(a, NULL);
	memcpy(s->peer_ip, ip, sizeof(s->peer_ip));
	struct bufferevent *bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		pr_panic("bufferevent_socket_new failed");
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	metrics_inc(METRICS_SMTP_SESSIONS, 1);
	metrics_gauge_add(METRICS_SMTP_SESSIONS_OPEN, 1);
	smtp_session_set_bev(s, bev);
	smtp_guard_start(s);
	log_debug("smtp %llu [%s]: connected", (unsigned long long)s->id, s->peer_ip);
	smtp_reply(s, 220, NULL, "%s ESMTP postroom", settings_str(set, SET_HOSTNAME));
}
