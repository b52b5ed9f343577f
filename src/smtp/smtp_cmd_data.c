/* smtp_cmd_data.c - DATA (RFC 5321 4.1.1.4) and the hand-over to intake.
 *
 * The message streams through smtp_data into a spool (memory up to
 * 256 KiB, then an unlinked file), so a 20 MiB message costs a file, not
 * 20 MiB of heap.  Errors found on the way (bare LF/CR, too big, a line
 * too long) are sticky and answered at the final dot.
 *
 * At the final dot the message goes to intake_submit() and the session
 * pauses: no reply and no further command is read until intake reports.
 * The 250 therefore means "committed" (intake's group commit fsyncs many
 * sessions' messages at once), and a crash before it loses nothing the
 * client believes delivered.  intake calls back on its own thread; we hop
 * to the loop thread through net_wake before touching the bufferevent.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/settings.h"
#include "core/spool.h"
#include "net/net.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_private.h"

void
smtp_cmd_data(struct smtp_session *s, const char *args)
{
	struct pr_why why;
	(void)args;
	if (s->msg->nrcpts == 0) {
		pr_why_set(&why, PR_E_BAD_SEQUENCE, "no valid recipients");
		smtp_error(s, &why);
		return;
	}
	struct smtp_data_limits lim = {.max_size = (uint64_t)settings_int(s->set, SET_MAX_MESSAGE_SIZE)};
	s->spool = spool_new(s->msg->arena, s->srv->spool_dir);
	s->data = smtp_data_new(s->msg->arena, s->spool, &lim);
	smtp_set_state(s, SMTP_DATA);
	smtp_guard_restart(s);
	smtp_reply(s, 354, NULL, "send the message, end with <CRLF>.<CRLF>");
}

/* Runs on the loop thread: the answer the client has been waiting for. */
static void
intake_done_on_loop(void *arg)
{
	struct smtp_session *s = arg;
	smtp_set_state(s, SMTP_READY);
	if (s->gone) {                      /* the peer left meanwhile */
		smtp_session_free(s);
		return;
	}
	const struct pr_why *why = &s->res.why;
	const struct pr_err_info *info = pr_err_info(why->code);
	s->busy++;       /* the reply goes out with what the resume answers */
	if (info->smtp == 250 && s->res.message_id > 0) {
		smtp_reply(s, 250, info->dsn, "%s (message %" PRId64 ")", pr_why_text(why), s->res.message_id);
		metrics_observe(METRICS_TIME_TO_250, (double)(metrics_now_us() - s->data_end_us) / 1e6);
	} else if (info->smtp >= 500)
		smtp_error(s, why);            /* a refusal counts as an error */
	else
		smtp_reply_why(s, why);
	s->busy--;
	smtp_session_resume(s);
}

/* Runs on an intake thread: copy the result, hop to the loop. */
static void
intake_done(void *arg, const struct intake_result *res)
{
	struct smtp_session *s = arg;
	s->res = *res;
	net_wake_post(s->srv->wake, intake_done_on_loop, s);
}

static void
refuse(struct smtp_session *s, enum pr_err err, uint64_t size)
{
	struct pr_why why;
	long long max = settings_int(s->set, SET_MAX_MESSAGE_SIZE);
	if (err == PR_E_TOO_BIG)
		pr_why_set(&why, err, "message exceeds the size limit of %lld bytes", max);
	else if (err == PR_E_LINE_TOO_LONG)
		pr_why_set(&why, err, "a line of the message is longer than %d bytes", PR_SMTP_MAX_DATA_LINE);
	else
		pr_why_set(&why, err, NULL);
	log_info("smtp %llu [%s]: message refused at the end of DATA: %s", (unsigned long long)s->id,
	         s->peer_ip, pr_err_name(err));
	smtp_log_refusal(s, NULL, size, &why);
	smtp_tx_reset(s);
	smtp_set_state(s, SMTP_READY);
	smtp_guard_restart(s);
	smtp_error(s, &why);
}

static void
end_of_data(struct smtp_session *s)
{
	enum pr_err err = smtp_data_error(s->data);
	uint64_t size = smtp_data_size(s->data);
	if (err == PR_OK) {
		spool_finish(s->spool);
		err = spool_error(s->spool);
	}
	if (err != PR_OK) {
		refuse(s, err, size);
		return;
	}
	s->data_end_us = metrics_now_us();
	struct intake_msg *m = s->msg;
	m->raw = s->spool;
	m->received_at = time(NULL);
	s->msg = NULL;                      /* intake owns it now */
	s->data = NULL;
	s->spool = NULL;
	smtp_set_state(s, SMTP_WAIT);
	smtp_guard_restart(s);
	bufferevent_disable(s->bev, EV_READ);
	smtp_expect(s, false);              /* in flight from here (intake_submit) */
	intake_submit(s->srv->in, m, intake_done, s);
}

size_t
smtp_data_input(struct smtp_session *s, const uint8_t *p, size_t n)
{
	size_t used = 0;
	int rc = smtp_data_feed(s->data, p, n, &used);
	s->window_bytes += used;
	if (rc == 1)
		end_of_data(s);
	return used;
}

/* Why: libevent 2.1 reads a socket at most 4 KiB a call (EVBUFFER_MAX_READ;
 * 2.2 makes it settable), so a 1 MiB body took 256 reads, each a turn of
 * the loop and a callback.  Once the input evbuffer is empty, a plain-TCP
 * session in DATA reads the socket itself, once a turn and up to 64 KiB
 * (bench/smtp-intake: 1 MiB and 20 MiB loads +20-45% MiB/s).  Once, not
 * until it would block: 16 reads a turn doubled a 10 KiB probe's
 * time-to-250 while large messages streamed, as every turn of the loop
 * (which answers every session) grew.  Bytes after the final dot
 * (pipelined commands) go into the input evbuffer, where the next command
 * is read from, so nothing is reordered.  EOF and errors are left for
 * libevent's next read to report (a socket at EOF stays readable); the
 * DATA machine, its limits and the DATA-rate guard see every byte as
 * before.  With TLS, libevent's OpenSSL layer reads whole records. */
bool
smtp_data_read_socket(struct smtp_session *s)
{
	evutil_socket_t fd = bufferevent_getfd(s->bev);
	if (s->tls || s->state != SMTP_DATA || fd < 0)
		return false;
	ssize_t n = recv(fd, s->srv->data_buf, SMTP_DATA_READ, MSG_DONTWAIT);
	if (n <= 0)
		return false;
	size_t used = smtp_data_input(s, s->srv->data_buf, (size_t)n);
	/* The input evbuffer is empty (we read only then) and its end is
	 * frozen outside libevent's own reads, so the rest goes in at its
	 * start: the same place. */
	if (used < (size_t)n &&
	    evbuffer_prepend(bufferevent_get_input(s->bev), s->srv->data_buf + used, (size_t)n - used) < 0)
		pr_panic("smtp: cannot keep %zu bytes of pipelined input", (size_t)n - used);
	return true;
}
