/* smtp_private.h - shared by the files of src/smtp only: the session, the
 * command table contract and the reply helpers. */
#ifndef PR_SMTP_PRIVATE_H
#define PR_SMTP_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "intake/intake.h"
#include "smtp/smtp.h"

struct bufferevent;
struct event;
struct settings;
struct smtp_anvil;
struct evconnlistener;
struct net_wake;
struct smtp_data;
struct smtp_parser;
struct spool;
typedef struct ssl_ctx_st SSL_CTX;

/* The RFC 5321 limit on a domain; longer HELO arguments are refused. */
#define SMTP_HELO_MAX 255

enum smtp_state {
	SMTP_CONNECTED,     /* greeting sent, no HELO/EHLO yet */
	SMTP_READY,         /* after HELO/EHLO: MAIL may start a transaction */
	SMTP_MAIL,          /* MAIL accepted, no recipient yet */
	SMTP_RCPT,          /* at least one recipient accepted */
	SMTP_DATA,          /* reading the message */
	SMTP_WAIT,          /* RCPT or message handed to intake, input paused */
	SMTP_CLOSING,       /* last reply queued; freed when it is flushed */
};

struct smtp_listener {
	struct smtp_listener *next;
	struct evconnlistener *lev;
};

struct smtp_server {
	struct event_base *base;
	struct intake *in;
	char *spool_dir;
	SSL_CTX *tls;
	struct smtp_listener *listeners;
	struct smtp_session *sessions;       /* doubly linked */
	struct smtp_anvil *anvil;            /* per-client-IP counters */
	size_t nsessions;
	uint64_t next_id;
	unsigned refused;                    /* connections refused since ... */
	time_t refused_logged_at;            /* ... the last log line about them */
	struct net_wake *wake;
	uint8_t *data_buf;                   /* SMTP_DATA_READ bytes: smtp_data_read_socket */
	bool draining;
	void (*on_empty)(void *arg);
	void *on_empty_arg;
};

struct smtp_session {
	struct smtp_server *srv;
	struct smtp_session *prev, *next;
	uint64_t id;
	struct bufferevent *bev;
	struct arena *arena;                 /* lives as long as the session */
	struct settings *set;                /* snapshot taken at connect */
	struct smtp_parser *parser;
	enum smtp_state state;
	char peer_ip[64];
	char helo[SMTP_HELO_MAX + 1];
	bool esmtp, tls, paused;
	/* Plain sessions write their replies themselves (smtp_flush), in one
	 * write when the loop is done with the session's input; libevent's
	 * write event is on only while a reply is left over (socket full). */
	bool direct;
	int busy;            /* process() or a completion holds replies: flush after */
	int errors;
	/* smtp_guard.c: lifetime and DATA rate (monotonic milliseconds) */
	struct event *guard;
	int64_t started_ms, window_start_ms;
	uint64_t window_bytes;               /* DATA bytes in the current window */
	bool expired;                        /* lifetime over while intake worked */
	/* The transaction: msg->arena owns the envelope, the spool and the
	 * DATA machine; NULL outside MAIL..final dot. */
	struct intake_msg *msg;
	size_t max_rcpts;
	struct smtp_data *data;
	struct spool *spool;
	uint64_t data_end_us;                /* end of DATA (metrics: time to 250) */
	/* Filled by the intake thread, read on the loop after the hop. */
	struct intake_result res;
	int rcpt_rc;                         /* the RCPT lookup's answer */
	struct pr_why rcpt_why;
	bool gone;                           /* peer left while intake worked */
	bool expecting;                      /* told intake a message is coming (intake_expect) */
};

/* Command handlers: args is the text after the verb (NUL-terminated). */
typedef void smtp_cmd_fn(struct smtp_session *s, const char *args);
smtp_cmd_fn smtp_cmd_helo, smtp_cmd_ehlo, smtp_cmd_starttls;       /* smtp_cmd_helo.c */
smtp_cmd_fn smtp_cmd_mail, smtp_cmd_rcpt;                          /* smtp_cmd_mail.c */
smtp_cmd_fn smtp_cmd_data;                                         /* smtp_cmd_data.c */
smtp_cmd_fn smtp_cmd_rset, smtp_cmd_noop, smtp_cmd_quit, smtp_cmd_help,
            smtp_cmd_vrfy, smtp_cmd_expn;                          /* smtp_cmd_misc.c */

/* smtp_session.c */
void smtp_session_accept(struct smtp_server *srv, int fd);
/* Use bev for the session from now on (accept, STARTTLS). */
void smtp_session_set_bev(struct smtp_session *s, struct bufferevent *bev);
/* Write the replies waiting in the output now (plain sessions), unless
 * the session is inside process(), which flushes once at its end. */
void smtp_flush(struct smtp_session *s);
void smtp_reply(struct smtp_session *s, int code, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reply with why's code/dsn from the pr_err table and pr_why_text(). */
void smtp_reply_why(struct smtp_session *s, const struct pr_why *why);
/* A peer error: reply, count it, disconnect at the hard limit. */
void smtp_error(struct smtp_session *s, const struct pr_why *why);
void smtp_set_state(struct smtp_session *s, enum smtp_state st);
/* Queue the final reply and close once it is written. */
void smtp_close(struct smtp_session *s, int code, const char *dsn, const char *text);
/* Tell intake whether this session has a message on its way (its first
 * recipient accepted; no longer once submitted or reset). */
void smtp_expect(struct smtp_session *s, bool more);
/* Drop the current transaction (RSET, EHLO, end of DATA). */
void smtp_tx_reset(struct smtp_session *s);
/* Log an attempt that never reached intake (the envelope so far, plus
 * rcpt if the refusal was about one recipient). */
void smtp_log_refusal(struct smtp_session *s, const char *rcpt, uint64_t size,
                      const struct pr_why *why);
/* Resume reading after a pause (intake done, output drained). */
void smtp_session_resume(struct smtp_session *s);
void smtp_session_free(struct smtp_session *s);

/* Cut the session with why's 421: log the open transaction, say why, close. */
void smtp_cut(struct smtp_session *s, const struct pr_why *why);
/* Count an error or refusal; at smtp_hard_error_limit, close with 421. */
void smtp_count_error(struct smtp_session *s);

/* smtp_guard.c: the session's lifetime and minimum DATA rate. */
void smtp_guard_start(struct smtp_session *s);
/* The state changed into or out of DATA: new window, new deadline. */
void smtp_guard_restart(struct smtp_session *s);
/* The lifetime is over: 421 now. */
void smtp_guard_expire(struct smtp_session *s);
void smtp_guard_stop(struct smtp_session *s);

/* smtp_anvil.c: per-client-IP limits (smtp_client_session_limit,
 * smtp_client_connection_rate).  connect: 0 and the session counted, or
 * -1 with why (PR_E_CLIENT_LIMIT); every counted session is disconnected
 * exactly once. */
struct smtp_anvil *smtp_anvil_new(void);
int smtp_anvil_connect(struct smtp_anvil *a, const char *ip, const struct settings *set, time_t now,
                       struct pr_why *why);
void smtp_anvil_disconnect(struct smtp_anvil *a, const char *ip);
void smtp_anvil_free(struct smtp_anvil **a);

/* smtp_cmd_data.c: bytes while in SMTP_DATA; returns bytes consumed. */
size_t smtp_data_input(struct smtp_session *s, const uint8_t *p, size_t n);
/* In DATA with the input evbuffer empty: read the socket directly (plain
 * TCP only), feeding the DATA machine.  true if anything was fed. */
#define SMTP_DATA_READ (64 * 1024)
bool smtp_data_read_socket(struct smtp_session *s);

#endif
