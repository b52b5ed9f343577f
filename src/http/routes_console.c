/* routes_console.c - the web console's files: index.html at /, the rest
 * at /console/<file>, from the arrays embedded at build time
 * (console_files.h).  Public: the sign-in form is one of them; every call
 * the console makes goes to /api/v1, which checks the session.
 *
 * Every answer carries the console's Content-Security-Policy (no inline
 * script or style, nothing from another origin, no framing), nosniff and
 * no Referer.  Files are revalidated by ETag on every use (no-cache):
 * their names carry no version, and a new binary must never run with an
 * old app.js from the browser's cache. */
#include <string.h>

#include "http/console_files.h"
#include "http/http_route.h"

#define CONSOLE_CSP                                                                  \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "      \
	"frame-ancestors 'none'"

static const struct console_file *
find(const char *name)
{
	for (size_t i = 0; i < console_nfiles; i++)
		if (strcmp(console_files[i].name, name) == 0)
			return &console_files[i];
	return NULL;
}

/* Does an If-None-Match header name this ETag?  ("*", or one of a
 * comma-separated list, weak or strong: RFC 9110 13.1.2 compares weakly.) */
static bool
etag_matches(const char *inm, const char *etag)
{
	if (inm == NULL)
		return false;
	size_t elen = strlen(etag);
	const char *p = inm;
	while (*p) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		size_t len = strcspn(p, " \t,");
		if (len == elen && strncmp(p, etag, len) == 0)
			return true;
		p += len;
	}
	return false;
}

static void
serve_file(struct http_req *r, const struct console_file *f)
{
	http_set_header(r, "Content-Security-Policy", CONSOLE_CSP);
	http_set_header(r, "X-Content-Type-Options", "nosniff");
	http_set_header(r, "Referrer-Policy", "no-referrer");
	http_set_header(r, "Cache-Control", "no-cache");
	http_set_header(r, "ETag", f->etag);
	if (etag_matches(http_header(r, "If-None-Match"), f->etag)) {
		http_reply_bytes(r, 304, f->content_type, "", 0);
		return;
	}
	http_reply_bytes(r, 200, f->content_type, f->data, f->len);
}

static void
console_index(struct http_req *r)
{
	const struct console_file *f = find("index.html");
	if (f == NULL) {  /* embed-console refuses a folder without one */
		http_reply_error(r, 404, PR_E_NOT_FOUND, "the console was built without index.html");
		return;
	}
	serve_file(r, f);
}

static void
console_file(struct http_req *r)
{
	const char *name = http_param(r, "file");
	const struct console_file *f = find(name);
	if (f == NULL) {
		http_set_header(r, "X-Content-Type-Options", "nosniff");
		http_reply_error(r, 404, PR_E_NOT_FOUND, "no console file %.100s", name);
		return;
	}
	serve_file(r, f);
}

const struct http_route http_routes_console[] = {
	{"GET", "/", HTTP_PUBLIC, console_index, "the web console (index.html)"},
	{"GET", "/console/{file}", HTTP_PUBLIC, console_file, "the web console's files"},
	{0},
};
