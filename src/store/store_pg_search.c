/* store_pg_search.c - full-text search over the stored messages with
 * PostgreSQL's tsvector (the PostgreSQL side of store_sqlite_search.c).
 *
 * message_search holds one row per message: a tsvector of its subject,
 * its From/To/Cc addresses and its text (the first STORE_SEARCH_TEXT_MAX
 * bytes), with a GIN index.  It is written in the group commit, in the
 * same transaction as the message, so a message is searchable exactly
 * when it is listed.  Only the vector is kept, never a second copy of
 * the text.
 *
 * Words are made here, as SQLite's unicode61 tokenizer (remove_diacritics
 * 2) makes them, not by PostgreSQL's parser: that one keeps
 * "alice@example.com" or "foo-bar" as one lexeme (and "alice" would not
 * find the address), and how it cases and splits non-ASCII text depends
 * on the database's locale (a --no-locale cluster lowercases only ASCII).
 * So the text reaches to_tsvector('simple', ...) as words only: letters
 * and digits lowercased and without diacritics, everything else a blank;
 * 'simple' then takes each word as it is (no stemming).  The query's
 * words are made by the same function, so both sides always agree.
 *
 * The search text is the user's: it never reaches the engine as tsquery
 * syntax.  Each blank-separated word becomes its runs of letters and
 * digits, each single-quoted (so &, |, !, <->, :, parentheses and quotes
 * are only separators), joined as a phrase (<->: the runs in a row, as an
 * FTS5 string); a word ending in '*' is a prefix search (":*" on its last
 * run).  The words are joined with & : all must match.
 *
 * A search takes the newest hits below before (the keyset bound on
 * message_search's key: see SEARCH_WALK_1) and checks the list filters on
 * each hit by key, so paging is the same as the plain list's.
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/text.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_read.h"

/* Words of one search: more is not a search a person types. */
#define SEARCH_MAX_WORDS 32
#define SEARCH_MAX_BYTES 4096
/* PostgreSQL leaves longer words out of a tsvector (and a tsquery). */
#define PG_LEXEME_MAX 2047

static bool
ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Append code point cp to b as a word character, or a blank: letters,
 * digits and marks (Unicode's L*, N*, M*, and private use) are word
 * characters, lowercased, with their diacritics removed ("É" -> "e"), as
 * unicode61 with remove_diacritics does; everything else separates. */
static void
add_word_char(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		char c = !ascii_alnum((unsigned char)cp) ? ' ' : cp >= 'A' ? (char)(cp | 0x20) : (char)cp;
		buf_add(b, &c, 1);
		return;
	}
	if (!g_unichar_isalnum(cp) && !g_unichar_ismark(cp) &&
	    g_unichar_type(cp) != G_UNICODE_PRIVATE_USE) {
		buf_add(b, " ", 1);
		return;
	}
	gunichar parts[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
	gsize nparts = g_unichar_fully_decompose(cp, FALSE, parts, G_UNICHAR_MAX_DECOMPOSITION_LENGTH);
	for (gsize i = 0; i < nparts; i++) {
		if (g_unichar_ismark(parts[i]))
			continue;   /* an accent (of this letter, or combining with the one before) */
		char u[6];
		buf_add(b, u, (size_t)g_unichar_to_utf8(g_unichar_tolower(parts[i]), u));
	}
}

/* s[0..n) as words only: word characters lowercased and without
 * diacritics, each other character and each byte that is not UTF-8 a
 * blank, appended to b.  The result is valid UTF-8 (PostgreSQL refuses
 * text that is not) holding no quote, backslash or operator, and the
 * words PostgreSQL's parser finds in it are the words (whatever the
 * database's locale: the folding is done here). */
static void
add_words_only(struct buf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = text_utf8_next(p + i, n - i, &cp);
		if (cp == TEXT_INVALID)
			buf_add(b, " ", 1);
		else
			add_word_char(b, cp);
		i += len;
	}
}

/* Something the tokenizer keeps: a letter or digit (ASCII), or any
 * non-ASCII character (as store_sqlite_search.c: a word of only
 * punctuation is no word). */
static bool
has_token_char(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80 || ascii_alnum((unsigned char)w[i]))
			return true;
	return false;
}

/* One word as tsquery text: ('ru' <-> 'ns'), the last run with :* for a
 * prefix.  false when a run is longer than PostgreSQL indexes, or the
 * word has none: no message can hold it, so the search finds nothing. */
static bool
add_word(struct buf *q, const char *w, size_t n)
{
	bool prefix = n > 1 && w[n - 1] == '*';
	if (prefix)
		n--;
	struct buf runs;
	buf_init(&runs, SIZE_MAX);
	add_words_only(&runs, w, n);
	buf_add(q, q->len ? " & (" : "(", q->len ? 4 : 1);
	const char *r = buf_cstr(&runs);
	bool first = true, fits = true;
	for (;;) {
		r += strspn(r, " ");
		size_t len = strcspn(r, " ");
		if (len == 0)
			break;
		fits = fits && len <= PG_LEXEME_MAX;
		buf_add(q, first ? "'" : " <-> '", first ? 1 : 6);
		buf_add(q, r, len);   /* no quote or backslash: see add_words_only */
		buf_add(q, "'", 1);
		first = false;
		r += len;
	}
	if (prefix && !first)
		buf_add(q, ":*", 2);
	buf_add(q, ")", 1);
	buf_free(&runs);
	/* No run at all: bytes that are not UTF-8 (api/ refuses them). */
	return fits && !first;
}

/* The tsquery text for the user's text, in the arena; NULL with why
 * (PR_E_INVALID) when it has no word, too many, or is too long (the
 * texts store_sqlite_search.c gives).  *none_r: a word no message can
 * hold (the search finds nothing). */
static const char *
ts_query(struct arena *a, const char *text, bool *none_r, struct pr_why *why)
{
	size_t len = strlen(text), words = 0;
	*none_r = false;
	if (len > SEARCH_MAX_BYTES) {
		pr_why_set(why, PR_E_INVALID, "the search text is %zu bytes, over %d: search for fewer words",
		           len, SEARCH_MAX_BYTES);
		return NULL;
	}
	struct buf q;
	buf_init(&q, SIZE_MAX);
	for (const char *p = text; *p;) {
		size_t skip = strspn(p, " \t\r\n\f\v"), n = strcspn(p + skip, " \t\r\n\f\v");
		const char *w = p + skip;
		p = w + n;
		if (n == 0 || !has_token_char(w, n))
			continue;
		if (++words > SEARCH_MAX_WORDS)
			break;
		if (!add_word(&q, w, n))
			*none_r = true;
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

/* How a search finds its page.  It walks messages below before in id
 * order, by the primary key, checking each one's vector: a word that
 * many messages hold fills its page at once, at the cost of the page (a
 * GIN index hands its hits over in no order: asking it first would cost
 * every hit of the word).  The walk is bounded: a window of
 * SEARCH_WALK_1 ids, then SEARCH_WALK_2 more (a word in a small project);
 * a page still short asks the GIN index for the hits below the windows
 * (a rare word's few) and checks the filters on each.  So a page costs
 * the windows plus what the rare word's hits cost, the first page as
 * much as a deep one, whichever plan PostgreSQL caches for the
 * statements (SQLite's FTS5 walks its index newest first the same way). */
#define SEARCH_WALK_1 2000
#define SEARCH_WALK_2 10000

/* Append n rows at more to the list (*out, *n). */
static void
append(struct arena *a, struct store_message_summary **out, size_t *n,
       const struct store_message_summary *more, size_t nmore)
{
	if (nmore == 0)
		return;
	struct store_message_summary *all = arena_alloc(a, (*n + nmore) * sizeof(*all));
	if (*n)
		memcpy(all, *out, *n * sizeof(*all));
	memcpy(all + *n, more, nmore * sizeof(*all));
	*out = all;
	*n += nmore;
}

/* One step of the search: rows of f below f->before (down to low when
 * sql is the window's), at most f->limit, appended to (*out, *n). */
static int
search_step(struct store *st, struct arena *a, const char *sql, const struct store_message_filter *f,
            const char *q, int64_t low, struct store_message_summary **out, size_t *n,
            struct pr_why *why)
{
	struct store_message_summary *more;
	size_t nmore;
	struct pg_params p = {0};
	pg_message_filter_params(&p, f);
	pg_p_text(&p, q);
	if (low > 0)
		pg_p_int(&p, low);
	if (pg_collect(st, a, sql, &p, sizeof(*more), pg_read_summary, &more, &nmore, "searching messages",
	               why) < 0)
		return -1;
	append(a, out, n, more, nmore);
	return 0;
}

int
pg_message_search(struct store *st, struct arena *a, const struct store_message_filter *f,
                  struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	static const char top[] = "SELECT max(message_id) FROM message_search WHERE message_id < $1";
	static const char window[] = PG_SUMMARY_COLS "FROM message_search f JOIN messages m"
		" ON m.id = f.message_id WHERE f.doc @@ to_tsquery('simple', $8) AND f.message_id < $7"
		" AND f.message_id >= $9 AND" PG_MESSAGE_FILTER " ORDER BY f.message_id DESC LIMIT $5";
	static const char below[] = "WITH f AS MATERIALIZED (SELECT message_id FROM message_search"
		" WHERE doc @@ to_tsquery('simple', $8) AND message_id < $7) "
		PG_SUMMARY_COLS "FROM f JOIN messages m ON m.id = f.message_id WHERE" PG_MESSAGE_FILTER
		" ORDER BY f.message_id DESC LIMIT $5";
	static const int64_t walks[] = {SEARCH_WALK_1, SEARCH_WALK_2};
	bool none;
	*out = NULL;
	*n = 0;
	const char *q = ts_query(a, f->search, &none, why);
	if (q == NULL)
		return -1;
	if (none || !pg_message_filter_ok(f))
		return 0;
	struct pg_params p = {0};
	int64_t high = 0;
	pg_p_int(&p, store_before(f->before));
	if (pg_int_of(st, top, &p, &high, "searching messages", why) < 0)
		return -1;
	if (high == 0)
		return 0;   /* nothing indexed below before */
	size_t limit = f->limit ? f->limit : 100;
	struct store_message_filter step = *f;
	step.before = store_before(f->before);
	for (size_t i = 0; i < sizeof(walks) / sizeof(walks[0]); i++) {
		int64_t low = high > walks[i] ? high - walks[i] : 1;
		step.limit = limit - *n;
		if (search_step(st, a, window, &step, q, low, out, n, why) < 0)
			return -1;
		if (*n >= limit || low <= 1)
			return 0;
		step.before = low;
		high = low - 1;
	}
	step.limit = limit - *n;
	return search_step(st, a, below, &step, q, 0, out, n, why);
}

int
pg_search_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO message_search(message_id, doc)"
	                          " VALUES($1, to_tsvector('simple', $2))";
	(void)a;
	const char *text = m->search_text ? m->search_text : "";
	size_t tlen = strlen(text);
	struct buf doc;
	buf_init(&doc, SIZE_MAX);
	add_words_only(&doc, m->subject ? m->subject : "", m->subject ? strlen(m->subject) : 0);
	buf_add(&doc, " ", 1);
	if (m->from_addr)
		add_words_only(&doc, m->from_addr, strlen(m->from_addr));
	for (size_t i = 0; i < m->npeople; i++)
		if (m->people[i].address != NULL) {
			buf_add(&doc, " ", 1);
			add_words_only(&doc, m->people[i].address, strlen(m->people[i].address));
		}
	buf_add(&doc, " ", 1);
	/* A character cut at the limit is not UTF-8: it becomes a blank. */
	add_words_only(&doc, text, tlen < STORE_SEARCH_TEXT_MAX ? tlen : STORE_SEARCH_TEXT_MAX);
	struct pg_params p = {0};
	pg_p_int(&p, m->id_r);
	pg_p_text(&p, buf_cstr(&doc));
	int rc = doc.err ? -1 : 0;
	if (rc < 0)
		pr_why_set(why, PR_E_STORE_FAILED, "indexing a message for search: out of memory");
	else if (pg_queue(st, sql, &p, "indexing a message for search", why) < 0)
		rc = -1;
	buf_free(&doc);
	return rc;
}

/* Each message's search document is written in its own group commit (a
 * row GIN indexes, with none of FTS5's cost per commit): nothing is held
 * for a later group, so nothing can be missing after a crash. */
void
pg_store_search_hold(struct store *st, size_t max, bool more_coming)
{
	(void)st, (void)max, (void)more_coming;
}

int
pg_store_search_flush(struct store *st, struct pr_why *why)
{
	(void)st;
	pr_why_clear(why);
	return 0;
}

int
pg_store_search_unindexed(struct store *st, struct arena *a, size_t newest, int64_t **ids_r,
                          size_t *n_r, struct pr_why *why)
{
	(void)st, (void)a, (void)newest;
	pr_why_clear(why);
	*ids_r = NULL;
	*n_r = 0;
	return 0;
}
