/* store_sqlite_search.c - full-text search over the stored messages with
 * SQLite's FTS5.
 *
 * message_search (migration 11) holds one row per message, keyed by the
 * message id: its text (the first STORE_SEARCH_TEXT_MAX bytes), its
 * From/To/Cc addresses and its subject, the text first (SQ_SEARCH_INSERT
 * says why, and why the first column is named "subject").  It is written in the group commit,
 * in the same transaction as the message, so a message is searchable
 * exactly when it is listed.  The table is contentless (content=''):
 * only the inverted index is kept, never a second copy of the text.
 * Messages are never deleted, which a contentless table could not follow.
 *
 * A search walks the index, newest message first (FTS5 hands rowids out
 * in descending order and takes the keyset bound `rowid < before`), and
 * checks the list filters (project, mailbox) on each hit by key: no scan
 * of messages, and paging is the same as the plain list's.
 *
 * The search text is the user's: it never reaches FTS5 as query syntax.
 * Each blank-separated word becomes an FTS5 string ("..." with " doubled),
 * so NEAR(, AND, column filters, ^ and unbalanced quotes are only words;
 * the words must all match.  A word ending in '*' is a prefix search.
 */
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* Words of one search: more is not a search a person types. */
#define SEARCH_MAX_WORDS 32
#define SEARCH_MAX_BYTES 4096

/* Something the tokenizer keeps: a letter or digit (ASCII), or any
 * non-ASCII character (unicode61 decides; a word of only punctuation
 * would be an empty phrase, which matches nothing). */
static bool
has_token_char(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			return true;
	}
	return false;
}

/* One word as an FTS5 string: "wo""rd", or "word"* for a prefix. */
static void
add_word(struct buf *q, const char *w, size_t n)
{
	bool prefix = n > 1 && w[n - 1] == '*';
	if (prefix)
		n--;
	if (q->len)
		buf_add(q, " ", 1);
	buf_add(q, "\"", 1);
	for (size_t i = 0; i < n; i++)
		buf_add(q, w[i] == '"' ? "\"\"" : &w[i], 1 + (w[i] == '"'));
	buf_add(q, prefix ? "\"*" : "\"", prefix ? 2 : 1);
}

/* The FTS5 query for the user's text, in the arena; NULL with why
 * (PR_E_INVALID) when it has no word, too many, or is too long. */
static const char *
fts_query(struct arena *a, const char *text, struct pr_why *why)
{
	size_t len = strlen(text), words = 0;
	if (len > SEARCH_MAX_BYTES) {
		pr_why_set(why, PR_E_INVALID, "the search text is %zu bytes, over %d: search for fewer words",
		           len, SEARCH_MAX_BYTES);
		return NULL;
	}
	struct buf q;
	buf_init(&q, 2 * len + 4 * SEARCH_MAX_WORDS + 1);
	for (const char *p = text; *p;) {
		size_t skip = strspn(p, " \t\r\n\f\v"), n = strcspn(p + skip, " \t\r\n\f\v");
		const char *w = p + skip;
		p = w + n;
		if (n == 0 || !has_token_char(w, n))
			continue;
		if (++words > SEARCH_MAX_WORDS)
			break;
		add_word(&q, w, n);
	}
	const char *out = words && words <= SEARCH_MAX_WORDS && !q.err ? arena_strndup(a, (char *)q.data, q.len)
	                                                                : NULL;
	buf_free(&q);
	if (out == NULL && words)
		pr_why_set(why, PR_E_INVALID, "the search has more than %d words: search for fewer",
		           SEARCH_MAX_WORDS);
	else if (out == NULL)
		pr_why_set(why, PR_E_INVALID, "the search has no word to look for: give letters or digits");
	return out;
}

int
sq_message_search(struct store *st, struct arena *a, const struct store_message_filter *f,
                  struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	/* CROSS JOIN keeps the index as the outer loop: SQLite must not
	 * choose to walk messages and probe the index for each. */
	static const char sql[] = SQ_SUMMARY_COLS "FROM message_search f CROSS JOIN messages m"
		" ON m.id = f.rowid WHERE message_search MATCH ?8 AND f.rowid < ?7 AND" SQ_MESSAGE_FILTER
		" ORDER BY f.rowid DESC LIMIT ?5";
	const char *q = fts_query(a, f->search, why);
	if (q == NULL)
		return -1;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_message_filter(s, f);
	sq_bind_text(s, 8, q);
	return sq_collect(st, a, s, sizeof(**out), sq_read_summary, out, n, "searching messages", why);
}

/* The first max bytes of s, not cutting a UTF-8 character. */
static const char *
utf8_prefix(struct arena *a, const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return s;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return arena_strndup(a, s, max);
}

static const char *
addresses(struct arena *a, const struct store_msg *m)
{
	const char *s = m->from_addr ? m->from_addr : "";
	for (size_t i = 0; i < m->npeople; i++)
		if (m->people[i].address != NULL)
			s = arena_printf(a, "%s %s", s, m->people[i].address);
	return s;
}

int
sq_search_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = SQ_SEARCH_INSERT " VALUES(?1, ?2, ?3, ?4)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, m->id_r);
	sq_bind_text(s, 2, m->search_text ? utf8_prefix(a, m->search_text, STORE_SEARCH_TEXT_MAX) : "");
	sq_bind_text(s, 3, addresses(a, m));
	sq_bind_text(s, 4, m->subject ? m->subject : "");
	return sq_step_done(st, s, "indexing a message for search", why);
}
