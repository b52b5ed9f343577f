/* outbound.h - mail we send: `postroom send` (compose, store in the
 * project's thread, place internal recipients, queue the rest) and the
 * delivery worker that empties the queue through a transport.
 *
 *   outbound_send()  validate -> compose (GMime: encoded words, line
 *                    lengths, attachments, multipart/alternative) ->
 *                    one transaction: the message in its thread +
 *                    placements of internal recipients + the queue row
 *   worker thread    claim due rows with a lease -> transport -> record
 *                    the result (sent / retry later / failed with the
 *                    server's answer)
 *
 * The queue lives in the store (store.h, "outbound queue"), where the
 * state machine and the exactly-once reasoning are written down.
 */
#ifndef PR_OUTBOUND_H
#define PR_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "store/store.h"

struct arena;
struct settings;

/* Above this a message is sent, with a warning: the size the product we
 * follow advises (many receivers refuse more). */
#define OUTBOUND_WARN_SIZE (10u * 1024 * 1024)
/* Recipients of one message (To + Cc + Bcc). */
#define OUTBOUND_MAX_RCPTS 100
#define OUTBOUND_MAX_ATTACHMENTS 64
#define OUTBOUND_MAX_SUBJECT 998

struct outbound_attachment {
	const char *filename;        /* shown to the recipient (UTF-8) */
	const char *content_type;    /* NULL: guessed from the file name */
	const uint8_t *data;
	size_t len;
};

struct outbound_send_req {
	const char *project;         /* sent from this project (its thread, its address) */
	const char *user;            /* as this member (From shows their display name) */
	const char *const *to, *const *cc, *const *bcc;
	size_t nto, ncc, nbcc;
	const char *subject;         /* UTF-8 */
	const char *text;            /* the plain body, UTF-8 */
	const char *html;            /* NULL, or an HTML alternative */
	const struct outbound_attachment *attach;
	size_t nattach;
	/* Threading: the message answered, by its Message-ID or by its
	 * stored id (at most one); In-Reply-To and References follow it. */
	const char *in_reply_to;
	int64_t reply_to_message;
	time_t now;                  /* 0: time(NULL) */
};

struct outbound_send_res {
	int64_t message_id;          /* the stored message (messages show) */
	int64_t outbound_id;         /* its queue row (outbox) */
	const char *msgid;           /* our Message-ID, without <> */
	const char *sender;          /* envelope sender / From address */
	size_t nqueued, ninternal;   /* recipients queued for SMTP / placed here */
	uint64_t size;
	const char *warning;         /* NULL, or why the caller should worry (size) */
};

/* Validate, compose, store and queue; all in a, result in res.  Refusals
 * are PR_E_INVALID (bad address, no recipient, empty subject),
 * PR_E_NOT_FOUND (project, user, replied message), PR_E_NOT_A_MEMBER,
 * PR_E_USER_INACTIVE, PR_E_CONFIG (no sender address), PR_E_TOO_BIG. */
int outbound_send(struct store *st, const struct settings *set, struct arena *a,
                  const struct outbound_send_req *req, struct outbound_send_res *res,
                  struct pr_why *why);

/* compose.c: a message built by GMime from everything it shows (also
 * intake's automatic mail); addresses already checked. */
struct compose_in {
	const char *from_name, *from_addr;
	const char *const *to, *const *cc;
	size_t nto, ncc;
	const char *subject, *text, *html;
	const struct outbound_attachment *attach;
	size_t nattach;
	const char *msgid;           /* without <> */
	const char *in_reply_to;     /* "<id>", or NULL */
	const char *references;      /* "<a> <b>", or NULL */
	time_t date;
	const char *auto_submitted;     /* NULL, or the Auto-Submitted value (RFC 3834) */
};
/* The message's bytes (CRLF lines) in a.  0, or -1 with why. */
int outbound_compose(struct arena *a, const struct compose_in *in, const uint8_t **out, size_t *len,
                     struct pr_why *why);

/* ---- delivery ----
 * What the worker hands a transport for one message, and what it wants
 * back.  The transport (src/outbound/transport.c, SMTP through libcurl to
 * smtp_server or directly to MX hosts) fills one result per recipient,
 * in the order of d->rcpts, and the message-level reply (the last line the
 * server said, "250 2.0.0 Ok: queued as ABC" or "550 5.1.1 ...").
 *
 * Outcomes: OUTBOUND_OK only after the server's 250 to the end of DATA;
 * OUTBOUND_PERMFAIL for 5xx; OUTBOUND_TEMPFAIL for 4xx, refused
 * connections, timeouts, TLS or DNS trouble (retried with backoff until
 * smtp_retry_for runs out). */
struct outbound_delivery {
	int64_t outbound_id;
	const char *msgid;           /* our Message-ID, without <> */
	const char *mail_from;       /* envelope sender */
	const char *const *rcpts;    /* the recipients still to deliver */
	size_t nrcpts;
	const uint8_t *data;         /* the stored message, byte-exact (CRLF) */
	size_t len;
};
struct outbound_attempt {
	enum store_outbound_outcome outcome;   /* for every recipient without its own */
	const char *reply;                     /* the server's words, or our reason */
	/* per recipient, parallel to d->rcpts, addresses filled in by the
	 * worker: a transport sets outcome and reply (non-NULL) only for a
	 * recipient whose fate differs from the message's, e.g. a 550 to one
	 * RCPT while the others were accepted; the rest share res->outcome */
	struct store_outbound_rcpt_result *rcpt;
};
/* Deliver d (blocking, on the worker's thread); fill res, strings in a. */
typedef void (*outbound_transport_fn)(void *arg, struct arena *a, const struct settings *set,
                                      const struct outbound_delivery *d, struct outbound_attempt *res);

/* Backoff after the n-th failed attempt (1-based): 1m, 5m, 15m, 1h, 2h,
 * then every 4h, until smtp_retry_for runs out. */
time_t outbound_backoff(int attempts);

struct outbound_worker_options {
	const char *store_uri;
	const char *node_id;         /* lease owner name; NULL: hostname:pid */
	int lease_seconds;           /* 0: OUTBOUND_LEASE_SECONDS */
	outbound_transport_fn transport;   /* NULL: the built-in one (deliver.c) */
	void *transport_arg;
	int poll_ms;                 /* the nap while the queue is empty; 0: 1000 */
};
/* Long enough for the slowest delivery the transport allows (its
 * connection and DATA timeouts), so a live worker never loses its lease. */
#define OUTBOUND_LEASE_SECONDS 600

/* The delivery thread of serve: its own store connection; claims due
 * rows, delivers them, records results; polls the store for new rows
 * (`send` runs in another process) once a second, and looks at once when
 * this process queued one (outbound_queue_poke).  One a process. */
struct outbound_worker;
struct outbound_worker *outbound_worker_start(const struct outbound_worker_options *opt,
                                              struct pr_why *why);
/* Let the delivery in progress finish, then stop the thread. */
void outbound_worker_stop(struct outbound_worker **w);
/* Rounds the thread has finished (tests wait on it). */
unsigned long outbound_worker_rounds(struct outbound_worker *w);
/* This process queued a row, or made one due again (and committed it):
 * its delivery thread, if it runs one, claims now instead of at its next
 * poll.  Safe from any thread; nothing without a running worker. */
void outbound_queue_poke(void);
/* Run one round on the caller's thread (tests): claim, deliver, record.
 * Returns how many rows were handled, or -1 with why. */
int outbound_worker_round(struct store *st, const struct outbound_worker_options *opt, time_t now,
                          struct pr_why *why);

#endif
