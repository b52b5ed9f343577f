/* cli_page.c - what every command that prints untrusted or long lists
 * shares: --limit/--before (the api's keyset paging, see postroom.h), the
 * hint for the next page, and escaping for the terminal.
 *
 * Text mode escapes every string of the document once, before the command
 * prints it (core/text.h): the print functions then cannot forget a field,
 * and an ESC from a peer's MAIL FROM, a Subject or an SPF explanation is
 * shown as \x1b instead of reaching the terminal.  --json is left alone:
 * jansson writes valid UTF-8 JSON with controls escaped as \u001b.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "api/postroom.h"
#include "cli/cli_util.h"
#include "core/arena.h"
#include "core/text.h"

static int
parse_count(const char *s, long long max, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return end == s || *end || errno || *out < 1 || *out > max ? -1 : 0;
}

int
cli_parse_id(const char *what, const char *s, int64_t *out, const char *fix)
{
	long long v;
	if (parse_count(s, INT64_MAX, &v) < 0) {
		struct pr_why why;
		pr_why_set(&why, PR_E_INVALID, "%s id '%s' is not a positive number", what, s);
		return cli_fail(&why, fix);
	}
	*out = v;
	return 0;
}

int
cli_paged(struct cli_ctx *ctx, const struct cli_sub *self, int argc, char **argv, const char *allowed,
          size_t def, cli_get_fn get, void (*print)(json_t *doc))
{
	struct cli_opts o;
	CLI_PARSE(self, allowed, argc, argv, &o, 0, 0);
	size_t limit;
	int64_t page[2];
	int rc = cli_page(self, &o, def, &limit, &page[1]);
	if (rc != 0)
		return rc;
	page[0] = (int64_t)limit;
	o.data = page;
	return cli_show(ctx, &o, get, print);
}

int
cli_page(const struct cli_sub *sub, const struct cli_opts *o, size_t def, size_t *limit_r,
         int64_t *before_r)
{
	long long v = 0;
	*limit_r = def;
	*before_r = 0;
	if (o->limit != NULL && parse_count(o->limit, API_PAGE_MAX, &v) < 0)
		return cli_usage(sub, "--limit takes a number from 1 to %d", API_PAGE_MAX);
	if (o->limit != NULL)
		*limit_r = (size_t)v;
	if (o->before != NULL && parse_count(o->before, INT64_MAX, &v) < 0)
		return cli_usage(sub, "--before takes an id (the \"next\" of the previous page)");
	if (o->before != NULL)
		*before_r = v;
	return 0;
}

void
cli_print_next(json_t *doc, const char *cmd)
{
	json_t *next = json_object_get(doc, "next");
	if (json_is_integer(next))
		fprintf(stderr, "postroom: more: run `postroom %s ... --before %lld` for the next page\n", cmd,
		        (long long)json_integer_value(next));
}

/* Fields that are bodies: line breaks and tabs are their layout. */
static bool
multiline(const char *key)
{
	return key && (!strcmp(key, "text_body") || !strcmp(key, "html_body") || !strcmp(key, "reply_text"));
}

static json_t *
escaped(struct arena *a, json_t *v, const char *key)
{
	const char *s = json_string_value(v);
	return json_string(text_escape(a, s, json_string_length(v), multiline(key) ? TEXT_MULTILINE : 0));
}

/* depth: the api's documents are a few levels deep; mime's parts nest no
 * deeper than PR_MIME_MAX_DEPTH.  Past the bound a string is dropped
 * rather than printed raw. */
static void
escape_in(struct arena *a, json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;
	if (json_is_object(j)) {
		json_object_foreach(j, key, v) {
			if (json_is_string(v))
				json_object_set_new(j, key, depth > 0 ? escaped(a, v, key) : json_null());
			else if (depth > 0)
				escape_in(a, v, depth - 1);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (json_is_string(v))
				json_array_set_new(j, i, depth > 0 ? escaped(a, v, NULL) : json_null());
			else if (depth > 0)
				escape_in(a, v, depth - 1);
		}
	}
}

void
cli_escape_doc(json_t *doc)
{
	struct arena *a = arena_new();
	escape_in(a, doc, 64);
	arena_free(&a);
}
