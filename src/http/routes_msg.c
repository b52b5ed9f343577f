/* routes_msg.c - mail in the HTTP API: lists and full-text search, one
 * message, its stored bytes, attachments and HTML made safe, refiling,
 * and a project's threads.  The documents are the CLI's (`messages list
 * --json`, `messages show --json`).
 *
 * Who sees what: tokens and administrators see every mailbox; a member
 * signed in with a password sees the projects they belong to
 * (http_may_see_project) and their own mailbox, and may file a message
 * they see into one of their projects.  A message a member may not see
 * is answered as one that does not exist.
 *
 * Bytes (raw, attachments) are written by api/ into an unlinked temporary
 * file and streamed from it by evhttp (http_reply_fd): a 20 MiB message
 * is never held in memory, let alone twice.  The HTML of a message is
 * served with a Content-Security-Policy that sandboxes it (no script, no
 * plugins, no forms) and lets it load images only from data: and from
 * us (its cid: parts), and https: only when remote images were asked for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/postroom.h"
#include "http/http_private.h"
#include "http/routes_util.h"
#include "store/store.h"

/* May the caller see a message filed in these places? */
static bool
may_see_places(struct http_req *r, json_t *places)
{
	size_t i;
	json_t *p;
	json_array_foreach(places, i, p) {
		const char *s = json_string_value(p);
		if (s && !strncmp(s, "project:", 8) && http_may_see_project(r, s + 8))
			return true;
		if (s && !strncmp(s, "user:", 5) && !strcmp(s + 5, http_who(r)->name))
			return true;
	}
	return false;
}

/* The message id in the path, if the caller may see it; false after
 * answering (400, 404). */
static bool
seen_message(struct http_req *r, int64_t *id)
{
	if (!routes_path_id(r, "id", INT64_MAX, id))
		return false;
	if (http_member(r) == NULL)
		return true;
	struct pr_why why;
	json_t *m = api_message_summary(http_api(r), *id, &why);
	bool ok = m && may_see_places(r, json_object_get(m, "placements"));
	json_decref(m);
	if (m == NULL && why.code != PR_E_NOT_FOUND)
		http_reply_why(r, &why);
	else if (!ok)
		http_reply_error(r, 404, PR_E_NOT_FOUND, "no message %lld in your projects or mailbox",
		                 (long long)*id);
	return ok;
}

/* limit and before, as the CLI's --limit and --before. */
static bool
paging(struct http_req *r, size_t *limit, int64_t *before)
{
	struct pr_why why;
	int64_t l, b;
	if (http_query_int(r, "limit", 0, 1, API_PAGE_MAX, &l, &why) < 0 ||
	    http_query_int(r, "before", 0, 1, INT64_MAX, &b, &why) < 0) {
		http_reply_why(r, &why);
		return false;
	}
	*limit = (size_t)l;
	*before = b;
	return true;
}

/* The list's filter from the query; false after answering. */
static bool
list_filter(struct http_req *r, struct store_message_filter *f)
{
	const char *mailbox = http_query(r, "mailbox");
	memset(f, 0, sizeof(*f));
	f->project = http_query(r, "project");
	f->user = http_query(r, "user");
	f->stakeholder = http_query(r, "stakeholder");
	f->search = http_query(r, "q");
	if (f->search && *f->search == '\0')
		f->search = NULL;
	if (mailbox && strcmp(mailbox, "unassigned") && strcmp(mailbox, "fallback")) {
		http_reply_error(r, 400, PR_E_INVALID, "mailbox is \"unassigned\" or \"fallback\", not '%s'", mailbox);
		return false;
	}
	f->unassigned = mailbox && !strcmp(mailbox, "unassigned");
	f->fallback = mailbox && !strcmp(mailbox, "fallback");
	if ((f->project != NULL) + (f->user != NULL) + (mailbox != NULL) > 1) {
		http_reply_error(r, 400, PR_E_INVALID, "use only one of project=, user=, mailbox=");
		return false;
	}
	return paging(r, &f->limit, &f->before);
}

/* A member lists one of their projects or their own mailbox. */
static bool
member_may_list(struct http_req *r, const struct store_message_filter *f)
{
	if (http_member(r) == NULL || (f->project && http_may_see_project(r, f->project)) ||
	    (f->user && !strcmp(f->user, http_who(r)->name)))
		return true;
	http_reply_error(r, 403, PR_E_FORBIDDEN, "you may list the mail of your own projects (project=ID) "
	                 "and your own mailbox (user=%s) only", http_who(r)->name);
	return false;
}

static void
get_messages(struct http_req *r)
{
	struct store_message_filter f;
	struct pr_why why;
	if (!list_filter(r, &f) || !member_may_list(r, &f))
		return;
	routes_reply_doc(r, 200, api_message_list(http_api(r), &f, &why), &why);
}

static void
get_message(struct http_req *r)
{
	int64_t id;
	struct pr_why why;
	if (seen_message(r, &id))
		routes_reply_doc(r, 200, api_message_get(http_api(r), id, &why), &why);
}

/* An unlinked temporary file to write an answer's bytes into. */
static FILE *
answer_file(struct http_req *r)
{
	FILE *f = tmpfile();
	if (f == NULL)
		http_reply_error(r, 503, PR_E_IO, "no room for a temporary file (%s): try again later",
		                 strerror(errno));
	return f;
}

/* Send what was written to f (which is closed) from its start. */
static void
reply_file(struct http_req *r, FILE *f, const char *type, const char *filename)
{
	int fd = fflush(f) == 0 ? dup(fileno(f)) : -1;
	fclose(f);
	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		if (fd >= 0)
			close(fd);
		http_reply_error(r, 503, PR_E_IO, "the temporary file could not be written: try again later");
		return;
	}
	/* Never rendered as our page, whatever the type says. */
	http_set_header(r, "Content-Security-Policy", "sandbox; default-src 'none'");
	http_reply_fd(r, 200, type, fd, filename);
}

static void
get_raw(struct http_req *r)
{
	int64_t id;
	struct pr_why why;
	FILE *f;
	if (!seen_message(r, &id) || (f = answer_file(r)) == NULL)
		return;
	if (api_message_write_raw(http_api(r), id, f, &why) < 0) {
		fclose(f);
		http_reply_why(r, &why);
		return;
	}
	char name[64];
	snprintf(name, sizeof(name), "message-%lld.eml", (long long)id);
	reply_file(r, f, "message/rfc822", name);
}

static void
get_attachment(struct http_req *r)
{
	int64_t id, n;
	struct pr_why why;
	struct api_attachment info;
	FILE *f;
	if (!seen_message(r, &id) || !routes_path_id(r, "n", 100000, &n) || (f = answer_file(r)) == NULL)
		return;
	if (api_message_attachment_info(http_api(r), id, (int)n, f, &info, &why) < 0) {
		fclose(f);
		http_reply_why(r, &why);
		return;
	}
	if (info.filename[0] == '\0')
		snprintf(info.filename, sizeof(info.filename), "attachment-%lld", (long long)n);
	reply_file(r, f, info.content_type, info.filename);
}

static void
get_html(struct http_req *r)
{
	int64_t id;
	struct pr_why why;
	if (!seen_message(r, &id))
		return;
	const char *ri = http_query(r, "remote_images");
	bool remote = ri && !strcmp(ri, "1");
	char base[96], *html = NULL;
	size_t len = 0;
	snprintf(base, sizeof(base), "/api/v1/messages/%lld/attachments/", (long long)id);
	if (api_message_html(http_api(r), id, remote, base, &html, &len, &why) < 0) {
		http_reply_why(r, &why);
		return;
	}
	/* The console shows it in a frame of its own origin; nothing else may. */
	http_set_header(r, "Content-Security-Policy", remote
		? "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self' https:; frame-ancestors 'self'"
		: "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'; frame-ancestors 'self'");
	http_set_header(r, "X-Frame-Options", "SAMEORIGIN");
	http_reply_bytes(r, 200, "text/html; charset=utf-8", html, len);
	free(html);
}

static void
post_move(struct http_req *r)
{
	int64_t id;
	struct pr_why why;
	if (!seen_message(r, &id))
		return;
	json_t *body = http_body_json(r, &why);
	if (body == NULL) {
		http_reply_why(r, &why);
		return;
	}
	const char *project;
	if (routes_str(body, "project", true, &project, &why) < 0)
		http_reply_why(r, &why);
	else if (http_member(r) != NULL && !http_may_see_project(r, project))
		http_reply_error(r, 403, PR_E_FORBIDDEN, "you may file messages into your own projects only, "
		                 "not into '%s'", project);
	else if (api_message_move(http_api(r), id, project, &why) < 0)
		http_reply_why(r, &why);
	else
		http_reply_json(r, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "project", project));
	json_decref(body);
}

static void
get_threads(struct http_req *r)
{
	const char *project = http_param(r, "id");
	size_t limit;
	int64_t before;
	struct pr_why why;
	if (!paging(r, &limit, &before))
		return;
	if (!http_may_see_project(r, project)) {
		http_reply_error(r, 403, PR_E_FORBIDDEN, "you are not a member of project '%s'", project);
		return;
	}
	routes_reply_doc(r, 200, api_project_threads(http_api(r), project, limit, before, &why), &why);
}

const struct http_route http_routes_msg[] = {
	{"GET", "/api/v1/messages", HTTP_READ, get_messages,
	 "messages of a project, mailbox, Unassigned or Fallback, newest first, paged; q= searches"},
	{"GET", "/api/v1/messages/{id}", HTTP_READ, get_message, "one message (messages show --json)"},
	{"GET", "/api/v1/messages/{id}/raw", HTTP_READ, get_raw, "the stored bytes, exactly"},
	{"GET", "/api/v1/messages/{id}/attachments/{n}", HTTP_READ, get_attachment,
	 "attachment n, decoded, byte-exact"},
	{"GET", "/api/v1/messages/{id}/html", HTTP_READ, get_html,
	 "the HTML part made safe (no script, no remote images unless remote_images=1)"},
	{"POST", "/api/v1/messages/{id}/move", HTTP_WRITE, post_move, "file a message into a project"},
	{"GET", "/api/v1/projects/{id}/threads", HTTP_READ, get_threads,
	 "a project's threads, newest activity first, paged"},
	{0},
};
