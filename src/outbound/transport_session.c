/* transport_session.c - one SMTP session over one libcurl easy handle.
 *
 * libcurl runs the protocol; we need the server's words for each step,
 * which libcurl does not return.  Its debug callback shows every command
 * we send (CURLINFO_HEADER_OUT) and every reply line (CURLINFO_HEADER_IN)
 * in order -- libcurl does not pipeline SMTP -- so a small state machine
 * pairs each reply with the command it answers: the n-th RCPT reply is
 * recipient n's, the reply after DATA's 354 is the verdict on the message.
 *
 * What we send is only looked at, never kept: AUTH lines carry the
 * password.  After "AUTH", every line we send until the server's final
 * answer is an AUTH continuation (LOGIN sends name and password as bare
 * base64 lines, which could look like any command).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "core/settings.h"
#include "outbound/transport_private.h"

/* libcurl 8.2 fixed the spelling of the option (same number). */
#ifndef CURLOPT_MAIL_RCPT_ALLOWFAILS
#define CURLOPT_MAIL_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

enum cmd { CMD_NONE, CMD_EHLO, CMD_STARTTLS, CMD_AUTH, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_EOD,
	   CMD_OTHER };

struct sess {
	const struct tsess_in *in;
	struct tsess_out *out;
	enum cmd last;
	size_t rcpt_next;        /* RCPT commands sent so far */
	bool ehlo_fresh;         /* the next EHLO line starts a new keyword list */
	uint64_t off;            /* message bytes handed to libcurl */
};

static void
keep(struct tsess_reply *r, int code, const char *line, size_t len)
{
	r->code = code;
	log_sanitize(r->text, sizeof(r->text), line, len);
}

/* One EHLO reply line "250-SIZE 1000" into the keyword list. */
static void
ehlo_line(struct sess *s, const char *line, size_t len)
{
	struct tsess_out *o = s->out;
	if (s->ehlo_fresh) {
		o->ehlo[0] = '\0', o->offers_auth = false, o->size = -1;
		s->ehlo_fresh = false;
		return;              /* the first line is the greeting of EHLO */
	}
	char kw[256];
	log_sanitize(kw, sizeof(kw), line + 4, len - 4);
	size_t used = strlen(o->ehlo);
	snprintf(o->ehlo + used, sizeof(o->ehlo) - used, "%s%s", used ? "\n" : "", kw);
	if (!strncasecmp(kw, "AUTH", 4) && (kw[4] == ' ' || kw[4] == '=' || kw[4] == '\0'))
		o->offers_auth = true;
	if (!strncasecmp(kw, "SIZE", 4) && (kw[4] == ' ' || kw[4] == '\0')) {
		char *end;
		errno = 0;
		long long v = kw[4] ? strtoll(kw + 5, &end, 10) : 0;
		o->size = (kw[4] && (end == kw + 5 || errno || v < 0)) ? -1 : v;
	}
}

/* A complete reply line from the server. */
static void
reply_line(struct sess *s, const char *line, size_t len)
{
	struct tsess_out *o = s->out;
	if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return;
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	bool final = len == 3 || line[3] != '-';
	if (s->last == CMD_EHLO && code / 100 == 2) {
		if (len > 4 || !final)
			ehlo_line(s, line, len);
	}
	if (!final)
		return;
	keep(&o->last, code, line, len);
	switch (s->last) {
	case CMD_NONE: keep(&o->greeting, code, line, len); break;
	case CMD_STARTTLS: o->tls = o->tls || code == 220; break;
	case CMD_AUTH:
		if (code != 334)
			keep(&o->auth, code, line, len), s->last = CMD_OTHER;
		break;
	case CMD_MAIL: keep(&o->mail, code, line, len); break;
	case CMD_RCPT:
		if (s->rcpt_next > 0 && s->rcpt_next <= s->in->n)
			keep(&o->rcpt[s->rcpt_next - 1], code, line, len);
		break;
	case CMD_DATA:
		keep(&o->data, code, line, len);
		if (code == 354)
			s->last = CMD_EOD;   /* the next reply judges the message */
		break;
	case CMD_EOD: keep(&o->eod, code, line, len); s->last = CMD_OTHER; break;
	default: break;
	}
}

static bool
starts(const char *p, size_t len, const char *word)
{
	size_t w = strlen(word);
	return len >= w && strncasecmp(p, word, w) == 0;
}

/* A command line we sent: only its verb is looked at. */
static void
command_line(struct sess *s, const char *p, size_t len)
{
	if (s->last == CMD_AUTH)
		return;              /* an AUTH continuation: never looked at */
	if (starts(p, len, "EHLO ") || starts(p, len, "HELO "))
		s->last = CMD_EHLO, s->ehlo_fresh = true;
	else if (starts(p, len, "STARTTLS"))
		s->last = CMD_STARTTLS;
	else if (starts(p, len, "AUTH "))
		s->last = CMD_AUTH;
	else if (starts(p, len, "MAIL FROM:"))
		s->last = CMD_MAIL;
	else if (starts(p, len, "RCPT TO:"))
		s->last = CMD_RCPT, s->rcpt_next++;
	else if (starts(p, len, "DATA"))
		s->last = CMD_DATA;
	else
		s->last = CMD_OTHER;
}

static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct sess *s = arg;
	if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
		return 0;
	/* Several lines may come in one call: split at LF. */
	while (size > 0) {
		char *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) + 1 : size, l = len;
		while (l > 0 && (data[l - 1] == '\n' || data[l - 1] == '\r'))
			l--;
		if (type == CURLINFO_HEADER_IN)
			reply_line(s, data, l);
		else
			command_line(s, data, l);
		data += len, size -= len;
	}
	return 0;
}

static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct sess *s = arg;
	const struct transport_msg *m = s->in->msg;
	size_t want = size * nitems;
	if (m->fd < 0) {
		size_t left = m->len - (size_t)s->off;
		size_t k = left < want ? left : want;
		memcpy(buf, m->data + s->off, k);
		s->off += k;
		return k;
	}
	ssize_t k = pread(m->fd, buf, want, (off_t)s->off);
	if (k < 0)
		return CURL_READFUNC_ABORT;   /* a short message must never be sent */
	s->off += (uint64_t)k;
	return (size_t)k;
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	return size * n;             /* NOOP/VRFY output: not needed */
}

static const char *
login_options(int auth)
{
	switch (auth) {
	case SMTP_AUTH_PLAIN: return "AUTH=PLAIN";
	case SMTP_AUTH_LOGIN: return "AUTH=LOGIN";
	case SMTP_AUTH_CRAM_MD5: return "AUTH=CRAM-MD5";
	case SMTP_AUTH_XOAUTH2: return "AUTH=XOAUTH2";
	default: return NULL;
	}
}

static void
setup_login(CURL *h, const struct transport_config *cfg)
{
	curl_easy_setopt(h, CURLOPT_USERNAME, cfg->username);
	if (cfg->auth == SMTP_AUTH_XOAUTH2)
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, cfg->password);
	else
		curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password);
	curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, login_options(cfg->auth));
}

static void
setup(CURL *h, const struct transport_config *cfg, const struct tsess_in *in, struct sess *s,
      char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_URL, in->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, cfg->connect_timeout_s ? cfg->connect_timeout_s : 30L);
	long stall = cfg->stall_timeout_s ? cfg->stall_timeout_s : 60L;
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall);
	curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, stall);
	curl_easy_setopt(h, CURLOPT_USE_SSL, in->use_ssl);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, in->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, in->verify ? 2L : 0L);
	if (in->verify && cfg->ca_file && *cfg->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (in->login)
		setup_login(h, cfg);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
}

static void
setup_mail(CURL *h, const struct tsess_in *in, struct sess *s, struct curl_slist **rcpts)
{
	if (in->mail_from == NULL) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "NOOP");
		return;
	}
	for (size_t i = 0; i < in->n; i++)
		*rcpts = curl_slist_append(*rcpts, in->rcpts[i]);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, in->mail_from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, *rcpts);
	/* Go on past a refused recipient: the others still get the message,
	 * and each refusal is recorded with its own answer. */
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, s);
	/* SIZE= on MAIL FROM: a relay with a smaller limit refuses at once. */
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
	                 (curl_off_t)(in->msg->fd >= 0 ? in->msg->size : in->msg->len));
}

void
tsess_run(const struct transport_config *cfg, const struct tsess_in *in, struct tsess_out *out)
{
	struct tsess_reply *rcpt = out->rcpt;
	memset(out, 0, sizeof(*out));
	out->rcpt = rcpt, out->size = -1;
	for (size_t i = 0; i < in->n; i++)
		memset(&rcpt[i], 0, sizeof(rcpt[i]));
	out->tls = strncmp(in->url, "smtps:", 6) == 0;
	struct sess s = {.in = in, .out = out};
	CURL *h = curl_easy_init();
	if (h == NULL) {
		out->curl_code = CURLE_OUT_OF_MEMORY;
		return;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpts = NULL, *resolve = NULL;
	setup(h, cfg, in, &s, errbuf);
	setup_mail(h, in, &s, &rcpts);
	if (in->connect_to[0]) {
		resolve = curl_slist_append(resolve, in->connect_to);
		curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	}
	out->curl_code = curl_easy_perform(h);
	log_sanitize(out->errbuf, sizeof(out->errbuf), errbuf, strlen(errbuf));
	if (out->tls && out->greeting.code == 0 && out->curl_code != CURLE_OK)
		out->tls = false;   /* implicit TLS that never got through */
	curl_easy_cleanup(h);   /* QUIT */
	curl_slist_free_all(rcpts);
	curl_slist_free_all(resolve);
}
