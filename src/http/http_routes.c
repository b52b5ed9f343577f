/* http_routes.c - every route the server answers, and the dispatcher that
 * takes a request from evhttp to its handler.
 *
 * Each area of the API keeps its routes in a table in its own file
 * (routes_<area>.c); this file lists the tables.  A pattern is matched
 * segment by segment ("{name}" takes one non-empty segment), on the path
 * split at '/' *before* percent-decoding, so an encoded slash stays inside
 * its segment.  Each decoded segment and query value must be UTF-8 without
 * control characters, or the request is refused before any handler runs:
 * handlers, the store and the JSON answers never see such bytes.
 */
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/postroom.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/settings.h"
#include "core/text.h"
#include "http/http.h"
#include "http/http_private.h"

#define HTTP_MAX_PATH 2048
#define HTTP_MAX_SEGMENTS 16

static const struct http_route *const tables[] = {
	http_routes_core,
	http_routes_dir,
	http_routes_settings,
	http_routes_check,
	http_routes_metrics,
	http_routes_console,
	http_routes_webhook,
	http_routes_msg,
	http_routes_send,
	http_routes_why,
	http_routes_session,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* UTF-8 without control characters (TAB included: nothing we take in a
 * path or query has one). */
static bool
clean_text(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	while (n > 0) {
		uint32_t cp;
		size_t len = text_utf8_next(p, n, &cp);
		if (cp == TEXT_INVALID || text_is_control(cp) || cp == '\t')
			return false;
		p += len, n -= len;
	}
	return true;
}

/* The raw path split at '/' into at most HTTP_MAX_SEGMENTS segments
 * (pointers into buf, which the split writes); -1 when too many. */
static int
split_path(char *buf, char **seg)
{
	int n = 0;
	char *p = buf;
	if (*p == '/')
		p++;
	while (*p) {
		if (n == HTTP_MAX_SEGMENTS)
			return -1;
		seg[n++] = p;
		char *slash = strchr(p, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

static int
pattern_segments(const char *pattern, char *buf, size_t cap, char **seg)
{
	snprintf(buf, cap, "%s", pattern);
	return split_path(buf, seg);
}

/* Does route's pattern match the n decoded segments?  Records params. */
static bool
match(struct http_req *r, const struct http_route *route, char **dec, int n)
{
	char pbuf[256];
	char *pseg[HTTP_MAX_SEGMENTS];
	int pn = pattern_segments(route->path, pbuf, sizeof(pbuf), pseg);
	if (pn != n)
		return false;
	for (int i = 0; i < n; i++) {
		if (pseg[i][0] == '{') {
			if (dec[i][0] == '\0')
				return false;
		} else if (strcmp(pseg[i], dec[i]) != 0) {
			return false;
		}
	}
	r->nparams = 0;
	for (int i = 0; i < n && r->nparams < HTTP_MAX_PARAMS; i++)
		if (pseg[i][0] == '{') {
			size_t len = strlen(pseg[i]);
			r->pnames[r->nparams] = xstrdup(pseg[i] + 1);
			r->pnames[r->nparams][len - 2] = '\0';
			r->pvals[r->nparams++] = xstrdup(dec[i]);
		}
	return true;
}

static void
allow_add(char *allow, size_t len, const char *method)
{
	if (strstr(allow, method))
		return;
	size_t used = strlen(allow);
	snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

int
http_route_find(struct http_req *r, const char *method, char *allow, size_t allow_len)
{
	char raw[HTTP_MAX_PATH + 1];
	char *seg[HTTP_MAX_SEGMENTS], *dec[HTTP_MAX_SEGMENTS];
	int found = 404;
	allow[0] = '\0';
	if (strlen(r->path) > HTTP_MAX_PATH)
		return 414;
	snprintf(raw, sizeof(raw), "%s", r->path);
	int n = split_path(raw, seg);
	if (n < 0)
		return 404;
	int ndec = 0;
	for (; ndec < n; ndec++) {
		size_t len = 0;
		dec[ndec] = evhttp_uridecode(seg[ndec], 0, &len);
		if (dec[ndec] == NULL || strlen(dec[ndec]) != len || !clean_text(dec[ndec], len)) {
			found = 400;
			ndec += dec[ndec] != NULL;
			goto out;
		}
	}
	for (size_t t = 0; t < NTABLES && found != 0; t++)
		for (const struct http_route *rt = tables[t]; rt->method && found != 0; rt++) {
			if (!match(r, rt, dec, n))
				continue;
			if (strcmp(rt->method, method) == 0) {
				r->route = rt;
				found = 0;
			} else {
				http_req_release(r);
				allow_add(allow, allow_len, rt->method);
				found = 405;
			}
		}
out:
	for (int i = 0; i < ndec; i++)
		free(dec[i]);
	return found;
}

static bool
parse_query(struct http_req *r, const struct evhttp_uri *uri)
{
	const char *q = evhttp_uri_get_query(uri);
	r->query.tqh_first = NULL;
	r->query.tqh_last = &r->query.tqh_first;
	r->query_parsed = true;
	if (q == NULL)
		return true;
	/* libevent decodes %00 into a string that ends there: "a%00b" would
	 * reach a handler as "a".  Refuse it rather than cut it. */
	if (strstr(q, "%00") != NULL || evhttp_parse_query_str(q, &r->query) != 0)
		return false;
	struct evkeyval *kv;
	for (kv = r->query.tqh_first; kv; kv = kv->next.tqe_next)
		if (!clean_text(kv->key, strlen(kv->key)) || !clean_text(kv->value, strlen(kv->value)))
			return false;
	return true;
}

/* Settings stored by any process or node since the last request. */
static void
refresh_settings(struct http_worker *w)
{
	struct settings *set = NULL;
	struct pr_why why;
	if (api_settings_watch_poll(w->watch, false, &set, &why) > 0)
		api_settings_replace(w->api, set);
}

static void
route_request(struct http_req *r, const char *method)
{
	char allow[64];
	int rc = http_route_find(r, method, allow, sizeof(allow));
	if (rc == 405)
		http_set_header(r, "Allow", allow);
	if (rc == 400)
		http_reply_error(r, 400, PR_E_INVALID, "the path is not UTF-8 text without control characters");
	else if (rc == 405)
		http_reply_error(r, 405, PR_E_INVALID, "%s is not allowed on %s; allowed: %s", method, r->path, allow);
	else if (rc != 0)
		http_reply_error(r, rc, PR_E_NOT_FOUND, "no such page or API route: %s", r->path);
	if (rc != 0)
		return;
	if (strcmp(r->route->path, HTTP_HEALTHZ_PATH) != 0)
		refresh_settings(r->w);
	if (http_authorize(r))
		r->route->fn(r);
	if (!r->replied) {
		log_error("HTTP route %s %s gave no answer", r->route->method, r->route->path);
		http_reply_error(r, 500, PR_E_INTERNAL, "the server gave no answer");
	}
}

/* An answer is written as headers and body: with Nagle's algorithm the
 * body's last segment waits for the client's delayed ACK (40 ms on Linux)
 * whenever it is larger than one segment.  Send at once instead. */
static void
no_delay(struct evhttp_connection *conn)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void
http_dispatch(struct evhttp_request *ev, void *arg)
{
	struct http_req r = {.ev = ev, .w = arg};
	uint64_t t0 = metrics_now_us();
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(ev);
	const char *method = cmd == EVHTTP_REQ_HEAD ? "GET" : http_method_name(cmd);
	char *host = NULL;
	uint16_t port = 0;
	struct evhttp_connection *conn = evhttp_request_get_connection(ev);
	evhttp_connection_get_peer(conn, &host, &port);
	no_delay(conn);
	snprintf(r.peer, sizeof(r.peer), "%s", host ? host : "");
	r.path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (r.path == NULL || r.path[0] != '/') {
		r.path = "?";
		http_reply_error(&r, 400, PR_E_INVALID, "the request target is not a path");
	} else if (!parse_query(&r, uri)) {
		http_reply_error(&r, 400, PR_E_INVALID,
		                 "the query string is not UTF-8 text without control characters");
	} else {
		route_request(&r, method);
	}
	/* By the route's pattern, never the path asked for: a fixed set of series. */
	metrics_http(r.route, r.route ? r.route->method : NULL, r.route ? r.route->path : NULL,
	             r.status, (double)(metrics_now_us() - t0) / 1e6);
	http_req_release(&r);
}

static const char *
need_name(enum http_need n)
{
	return n == HTTP_PUBLIC ? "public" : n == HTTP_READ ? "read" : n == HTTP_WRITE ? "write" : "admin";
}

json_t *
http_routes_json(void)
{
	json_t *arr = json_array();
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct http_route *rt = tables[t]; rt->method; rt++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "method", rt->method,
			                                     "path", rt->path, "access", need_name(rt->need),
			                                     "summary", rt->summary ? rt->summary : ""));
	return json_pack("{s:o}", "routes", arr);
}
