/* http_req.c - what a handler reads of its request and how it answers
 * (http_route.h).
 *
 * Everything a client sends is untrusted: parameters are percent-decoded
 * by libevent and then refused unless they are UTF-8 without control
 * characters (the dispatcher checks path and query before any handler
 * runs), bodies are bounded by evhttp (HTTP_MAX_BODY) and parsed by
 * jansson with a depth limit of its own.  Every answer carries headers
 * that keep a browser from sniffing types or framing it.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "http/http_private.h"

const char *
http_param(struct http_req *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (strcmp(r->pnames[i], name) == 0)
			return r->pvals[i];
	return NULL;
}

const char *
http_query(struct http_req *r, const char *name)
{
	return r->query_parsed ? evhttp_find_header(&r->query, name) : NULL;
}

const char *
http_header(struct http_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *
http_body(struct http_req *r, size_t *len)
{
	if (r->body == NULL) {
		struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
		r->body_len = evbuffer_get_length(in);
		r->body = malloc(r->body_len + 1);
		if (r->body == NULL)
			pr_panic("out of memory reading a request body");
		evbuffer_copyout(in, r->body, r->body_len);
		r->body[r->body_len] = '\0';
	}
	*len = r->body_len;
	return r->body;
}

json_t *
http_body_json(struct http_req *r, struct pr_why *why)
{
	size_t len;
	const char *body = http_body(r, &len);
	json_error_t err;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL) {
		pr_why_set(why, PR_E_INVALID, "the request body is not JSON (%s at line %d, column %d)",
		           err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		pr_why_set(why, PR_E_INVALID, "the request body must be a JSON object");
		return NULL;
	}
	return doc;
}

struct pr_api *http_api(struct http_req *r) { return r->w->api; }
const struct http_principal *http_who(struct http_req *r) { return &r->who; }
const char *http_peer(struct http_req *r) { return r->peer; }
bool http_is_tls(struct http_req *r) { return r->w->tls; }

int
http_query_int(struct http_req *r, const char *name, int64_t def, int64_t min, int64_t max,
               int64_t *out, struct pr_why *why)
{
	const char *v = http_query(r, name);
	*out = def;
	if (v == NULL || *v == '\0')
		return 0;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || *end || errno || n < min || n > max) {
		pr_why_set(why, PR_E_INVALID, "%s must be a whole number from %lld to %lld", name,
		           (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

void
http_set_header(struct http_req *r, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

/* Set only where the handler did not set its own. */
static void
default_header(struct evkeyvalq *h, const char *name, const char *value)
{
	if (evhttp_find_header(h, name) == NULL)
		evhttp_add_header(h, name, value);
}

void
http_common_headers(struct http_req *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	default_header(h, "X-Content-Type-Options", "nosniff");
	default_header(h, "Referrer-Policy", "no-referrer");
	default_header(h, "X-Frame-Options", "DENY");
	default_header(h, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	default_header(h, "Cache-Control", "no-store");
	if (r->w->tls)
		default_header(h, "Strict-Transport-Security", "max-age=31536000");
}

static void
send_buffer(struct http_req *r, int status, struct evbuffer *b)
{
	if (r->replied)
		pr_panic("HTTP route %s %s answered twice", r->route ? r->route->method : "?", r->path);
	r->replied = true;
	r->status = status;
	http_common_headers(r);
	evhttp_send_reply(r->ev, status, NULL, b);
}

void
http_reply_bytes(struct http_req *r, int status, const char *content_type, const void *data,
                 size_t len)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, data, len);
	http_set_header(r, "Content-Type", content_type);
	send_buffer(r, status, b);
	evbuffer_free(b);
}

void
http_reply_json(struct http_req *r, int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(doc);
	if (text == NULL) {
		log_error("HTTP %s: an answer could not be written as JSON", r->path);
		text = xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"the answer could not be "
		               "written as JSON\"}}");
		status = 500;
	}
	http_reply_bytes(r, status, "application/json", text, strlen(text));
	free(text);
}

static int
status_of(enum pr_err code)
{
	switch (code) {
	case PR_E_INVALID: case PR_E_TOO_LONG: case PR_E_BAD_ADDRESS: case PR_E_SYNTAX: return 400;
	case PR_E_NOT_FOUND: return 404;
	case PR_E_EXISTS: return 409;
	case PR_E_TOO_BIG: return 413;
	case PR_E_STORE_BUSY: case PR_E_SHUTDOWN: case PR_E_DNS_TEMP: return 503;
	case PR_E_CONFIG: return 409;
	case PR_E_UNAUTHORIZED: return 401;
	case PR_E_RATE_LIMITED: return 429;
	case PR_E_FORBIDDEN: case PR_E_RELAY_DENIED: case PR_E_NOT_A_MEMBER: case PR_E_NOT_A_USER: case PR_E_USER_INACTIVE:
		return 403;
	default: return 500;
	}
}

static void
reply_error_doc(struct http_req *r, int status, enum pr_err code, const char *message)
{
	const struct pr_err_info *info = pr_err_info(code);
	json_t *err = json_pack("{s:s, s:s}", "code", pr_err_name(code), "message", message);
	if (err == NULL)      /* not UTF-8: the detail quoted peer bytes */
		err = json_pack("{s:s, s:s}", "code", pr_err_name(code), "message", info->summary);
	if (info->fix && *info->fix)
		json_object_set_new(err, "fix", json_string(info->fix));
	if (status == 503)
		http_set_header(r, "Retry-After", "1");
	if (status >= 500)
		log_warn("HTTP %s %s: %d %s", r->route ? r->route->method : "-", r->path, status, message);
	http_reply_json(r, status, json_pack("{s:o}", "error", err));
}

void
http_reply_why(struct http_req *r, const struct pr_why *why)
{
	reply_error_doc(r, status_of(why->code), why->code, pr_why_text(why));
}

void
http_reply_error(struct http_req *r, int status, enum pr_err code, const char *fmt, ...)
{
	char msg[PR_WHY_DETAIL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error_doc(r, status, code, msg);
}

/* A filename for Content-Disposition: printable ASCII but quotes and
 * backslashes, at most 100 bytes; "download" if nothing is left. */
static void
safe_filename(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < cap && n < 100; p++)
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '/' && *p != ';')
			out[n++] = (char)*p;
	out[n] = '\0';
	if (n == 0)
		snprintf(out, cap, "download");
}

void
http_reply_fd(struct http_req *r, int status, const char *content_type, int fd, const char *filename)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		http_reply_error(r, 500, PR_E_IO, "the file to send could not be read");
		return;
	}
	http_set_header(r, "Content-Type", content_type);
	if (filename) {
		char safe[128], disp[192];
		safe_filename(filename, safe, sizeof(safe));
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", safe);
		http_set_header(r, "Content-Disposition", disp);
	}
	struct evbuffer *b = evbuffer_new();
	if (sb.st_size > 0 && evbuffer_add_file(b, fd, 0, sb.st_size) < 0) {
		evbuffer_free(b);
		close(fd);
		http_reply_error(r, 500, PR_E_IO, "the file to send could not be read");
		return;
	}
	if (sb.st_size == 0)
		close(fd);
	send_buffer(r, status, b);
	evbuffer_free(b);
}

void
http_req_release(struct http_req *r)
{
	for (int i = 0; i < r->nparams; i++) {
		free(r->pnames[i]);
		free(r->pvals[i]);
	}
	r->nparams = 0;
	if (r->query_parsed)
		evhttp_clear_headers(&r->query);
	r->query_parsed = false;
	free(r->body);
	r->body = NULL;
}

const char *
http_method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return "OTHER";
	}
}
