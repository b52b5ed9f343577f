/* pop3_conn.c - one POP3 session over one libcurl easy handle.
 *
 * libcurl keeps the connection open between curl_easy_perform() calls on
 * the same handle, so UIDL, every RETR and every DELE of a round share one
 * POP3 session, and curl_easy_cleanup() sends QUIT, which is when the
 * server really deletes (RFC 1939 6, UPDATE state).
 *
 * The danger (measured on bookworm's libcurl 7.88): if the connection
 * drops, libcurl silently reconnects and would send "DELE n" on a new
 * session where n may name another message.  Two guards:
 *   1. once the listing is done the session is "sealed": the open-socket
 *      callback refuses any new socket, so libcurl cannot reconnect;
 *   2. CURLINFO_NUM_CONNECTS must be 0 for every request after the seal;
 *      if not, the connection is dropped without QUIT so that the server
 *      forgets every DELE of the session.
 * Passwords and tokens are handed to libcurl only; the debug callback
 * keeps server lines (greeting, last reply), never what we send.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/settings.h"
#include "core/spool.h"
#include "pop3/pop3_private.h"

/* A UIDL listing of POP3_MAX_LIST messages at ~80 bytes a line. */
#define POP3_LIST_MAX_BYTES (96u * 1024 * 1024)

enum sink { SINK_NONE, SINK_BUF, SINK_SPOOL };

struct pop3_conn {
	CURL *h;
	struct pop3_server srv;
	char *user;
	char errbuf[CURL_ERROR_SIZE];
	char greeting[200], last_reply[200];
	bool sealed;             /* listing done: no new connection allowed */
	bool doubtful;           /* session identity in doubt: never QUIT */
	enum sink sink;
	struct buf body;
	struct spool *sp;
	uint64_t got, max;
	bool too_big;
};

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct pop3_conn *c = arg;
	size_t len = size * n;
	if (c->sink == SINK_BUF) {
		buf_add(&c->body, p, len);
	} else if (c->sink == SINK_SPOOL) {
		/* Past the limit keep reading (the session stays in step) but
		 * store nothing more. */
		if (c->got + len > c->max)
			c->too_big = true;
		else
			spool_write(c->sp, p, len);
		c->got += len;
	}
	return len;
}

/* Server lines only (CURLINFO_HEADER_IN): what we send holds secrets. */
static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct pop3_conn *c = arg;
	if (type != CURLINFO_HEADER_IN || size == 0)
		return 0;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	if (c->greeting[0] == '\0')
		log_sanitize(c->greeting, sizeof(c->greeting), data, size);
	log_sanitize(c->last_reply, sizeof(c->last_reply), data, size);
	return 0;
}

static curl_socket_t
on_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct pop3_conn *c = arg;
	if (c->sealed) {
		c->doubtful = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static int
setup_auth(struct pop3_conn *c, const struct settings *set, struct pr_why *why)
{
	curl_easy_setopt(c->h, CURLOPT_USERNAME, settings_str(set, SET_POP_USERNAME));
	if (*settings_str(set, SET_POP_OAUTH_REFRESH_TOKEN)) {
		struct arena *a = arena_new();
		const char *tok = pop3_oauth_token(a, set, why);
		if (tok)   /* libcurl copies the string */
			curl_easy_setopt(c->h, CURLOPT_XOAUTH2_BEARER, tok);
		arena_free(&a);
		return tok ? 0 : -1;
	}
	curl_easy_setopt(c->h, CURLOPT_PASSWORD, settings_str(set, SET_POP_PASSWORD));
	return 0;
}

struct pop3_conn *
pop3_conn_new(const struct settings *set, struct pr_why *why)
{
	struct pop3_conn *c = xcalloc(1, sizeof(*c));
	buf_init(&c->body, POP3_LIST_MAX_BYTES);
	c->user = xstrdup(settings_str(set, SET_POP_USERNAME));
	if (pop3_server_parse(settings_str(set, SET_POP_SERVER), &c->srv, why) < 0)
		goto fail;
	if ((c->h = curl_easy_init()) == NULL) {
		pr_why_set(why, PR_E_INTERNAL, "curl_easy_init failed");
		goto fail;
	}
	CURL *h = c->h;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "pop3,pop3s");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, c);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A server that stalls for a minute mid-transfer is given up on. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	if (!c->srv.implicit_tls)
		curl_easy_setopt(h, CURLOPT_USE_SSL,
		                 settings_bool(set, SET_POP_REQUIRE_TLS) ? (long)CURLUSESSL_ALL
		                                                       : (long)CURLUSESSL_TRY);
	if (*settings_str(set, SET_POP_CA_FILE))
		curl_easy_setopt(h, CURLOPT_CAINFO, settings_str(set, SET_POP_CA_FILE));
	if (setup_auth(c, set, why) < 0)
		goto fail;
	return c;
fail:
	pop3_conn_free(&c, false);
	return NULL;
}

/* One request on the session.  path "" or "/N"; cmd NULL means RETR. */
static int
request(struct pop3_conn *c, const char *path, const char *cmd, bool nobody, struct pr_why *why)
{
	char url[600];
	snprintf(url, sizeof(url), "%s/%s", c->srv.url, path);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, cmd);
	curl_easy_setopt(c->h, CURLOPT_NOBODY, nobody ? 1L : 0L);
	c->errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(c->h);
	long nconn = 0;
	curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &nconn);
	if (c->sealed && nconn > 0) {
		c->doubtful = true;
		pr_why_set(why, PR_E_IO, "the POP3 connection was re-established mid-round; "
		           "nothing is deleted this round");
		return -1;
	}
	if (rc != CURLE_OK) {
		/* After the listing any failure ends the round: libcurl has
		 * closed the connection, so no QUIT will apply the DELEs. */
		if (c->sealed) {
			c->doubtful = true;
			pr_why_set(why, PR_E_IO, "the POP3 session with %s:%d broke mid-round (%s); "
			           "nothing is deleted this round: what was stored is deleted next round",
			           c->srv.host, c->srv.port, *c->errbuf ? c->errbuf : curl_easy_strerror(rc));
		} else
			pop3_explain(rc, c->srv.host, c->srv.port, c->user, c->greeting, c->last_reply,
			             c->errbuf, why);
		return -1;
	}
	return 0;
}

int
pop3_conn_uidl(struct pop3_conn *c, struct arena *a, struct pop3_item **items, size_t *n,
               struct pr_why *why)
{
	buf_reset(&c->body);
	c->sink = SINK_BUF;
	int rc = request(c, "", "UIDL", false, why);
	c->sink = SINK_NONE;
	if (rc < 0)
		return -1;
	if (c->body.err) {
		pr_why_set(why, PR_E_TOO_LONG, "the server's UIDL listing is over %u bytes",
		           POP3_LIST_MAX_BYTES);
		return -1;
	}
	c->sealed = true;
	return pop3_uidl_parse(a, (const char *)c->body.data, c->body.len, items, n, why);
}

int
pop3_conn_stat(struct pop3_conn *c, size_t *count, struct pr_why *why)
{
	if (request(c, "", "STAT", true, why) < 0)
		return -1;
	/* "+OK nn mm" */
	unsigned long n = 0, size = 0;
	if (sscanf(c->last_reply, "+OK %lu %lu", &n, &size) != 2) {
		pr_why_set(why, PR_E_IO, "unexpected answer to STAT: '%s'", c->last_reply);
		return -1;
	}
	*count = n;
	return 0;
}

int
pop3_conn_retr(struct pop3_conn *c, struct arena *a, const char *spool_dir, unsigned long num,
               uint64_t max, struct spool **out, bool *too_big, struct pr_why *why)
{
	char path[32];
	snprintf(path, sizeof(path), "%lu", num);
	c->sp = spool_new(a, spool_dir);
	c->got = 0, c->max = max, c->too_big = false;
	c->sink = SINK_SPOOL;
	int rc = request(c, path, NULL, false, why);
	c->sink = SINK_NONE;
	if (rc < 0)
		return -1;
	spool_finish(c->sp);
	if (spool_error(c->sp) != PR_OK) {
		pr_why_set(why, spool_error(c->sp), "could not spool message %lu", num);
		return -1;
	}
	*too_big = c->too_big;
	*out = c->sp;
	c->sp = NULL;
	return 0;
}

int
pop3_conn_dele(struct pop3_conn *c, unsigned long num, struct pr_why *why)
{
	if (!c->sealed || c->doubtful) {
		pr_why_set(why, PR_E_INTERNAL, "DELE refused: no listing on this session");
		return -1;
	}
	char path[32];
	snprintf(path, sizeof(path), "%lu", num);
	return request(c, path, "DELE", true, why);
}

bool
pop3_conn_lost(const struct pop3_conn *c)
{
	return c->doubtful;
}

void
pop3_conn_free(struct pop3_conn **cp, bool commit)
{
	struct pop3_conn *c = *cp;
	if (c == NULL)
		return;
	if (c->h) {
		curl_socket_t fd = CURL_SOCKET_BAD;
		if ((!commit || c->doubtful) &&
		    curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
		    fd != CURL_SOCKET_BAD)
			shutdown(fd, SHUT_RDWR);   /* no QUIT reaches the server */
		curl_easy_cleanup(c->h);       /* sends QUIT if still connected */
	}
	buf_free(&c->body);
	free(c->user);
	free(c);
	*cp = NULL;
}
