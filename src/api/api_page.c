/* api_page.c - keyset paging for the lists that grow without bound
 * (`messages list`, `log`, `why ADDRESS`), and text from the store made
 * safe for JSON.
 *
 * Lists are newest first by id, and a page is "the ids below `before`":
 * the store walks its id index from there, so page 50 costs what page 1
 * costs (no OFFSET) and rows that arrive while a script pages do not
 * shift the pages it has still to read.  The cursor is the last id shown,
 * in "next"; it is null on the last page.
 */
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/text.h"

int
api_page_ask(size_t asked, size_t def, size_t *store_limit_r, struct pr_why *why)
{
	if (asked > API_PAGE_MAX) {
		pr_why_set(why, PR_E_INVALID, "a page holds at most %d rows, not %zu: page with the "
		           "\"next\" cursor (--before) instead", API_PAGE_MAX, asked);
		return -1;
	}
	*store_limit_r = (asked ? asked : def) + 1;
	return 0;
}

size_t
api_page_shown(size_t n, size_t store_limit)
{
	return n < store_limit ? n : store_limit - 1;
}

void
api_page_set_next(json_t *doc, int64_t next)
{
	json_object_set_new(doc, "next", next > 0 ? json_integer(next) : json_null());
}

json_t *
api_textn(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	if (j == NULL) {
		struct arena *a = arena_new();
		j = json_string(text_cleann(a, s, n));
		arena_free(&a);
	}
	return j;
}

json_t *
api_text(const char *s)
{
	return s ? api_textn(s, strlen(s)) : json_null();
}
