/* store_sqlite_search.c - full-text search over the stored messages with
 * SQLite's FTS5.
 *
 * message_terms (migration 18) holds one row per message, keyed by the
 * message id: its text (the first STORE_SEARCH_TEXT_MAX bytes), its
 * From/To/Cc addresses and its subject, as the terms postroom's tokenizer
 * makes of them (store_sqlite_terms.c: words, and pairs of words joined
 * by punctuation), without positions.  It is written in the group commit,
 * in the same transaction as the message, so a message is searchable
 * exactly when it is listed.  The table is contentless (content=''):
 * only the inverted index is kept, never a second copy of the text.
 * Messages are never deleted, which a contentless table could not follow.
 * Messages indexed before migration 18 stay in message_search (migration
 * 11: unicode61 words with positions), read after message_terms.
 *
 * A search walks the index, newest message first (FTS5 hands rowids out
 * in descending order and takes the keyset bound `rowid < before`), and
 * checks the list filters (project, mailbox) on each hit by key: no scan
 * of messages, and paging is the same as the plain list's.
 *
 * The search text is the user's: it never reaches FTS5 as query syntax.
 * Each blank-separated word becomes FTS5 strings ("..." with " doubled):
 * its word, or the pairs of a word punctuation joins (alice@example.com:
 * "alice example" "example com"); for message_search the word itself, a
 * phrase.  So NEAR(, AND, column filters, ^ and unbalanced quotes are
 * only words; the words must all match.  A word ending in '*' is a
 * prefix search (of its last term).
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

/* One term or word as an FTS5 string: "wo""rd". */
static void
add_string(struct buf *q, const char *w, size_t n)
{
	if (q->len)
		buf_add(q, " ", 1);
	buf_add(q, "\"", 1);
	for (size_t i = 0; i < n; i++)
		buf_add(q, w[i] == '"' ? "\"\"" : &w[i], 1 + (w[i] == '"'));
	buf_add(q, "\"", 1);
}

/* The index the query is for, and how it turns one word into strings. */
struct query {
	struct store *st;
	struct arena *a;
	struct buf q;
	bool legacy;                /* message_search: a word is one phrase */
	/* message_terms: the word's last unicode61 word (a copy), kept until
	 * it is known whether a pair holds it (then only the pair is asked
	 * for); NULL when the pair before already holds it. */
	const char *held;
	int held_n;
	bool after_pair;
};

static void
release_held(struct query *qy)
{
	if (qy->held != NULL)
		add_string(&qy->q, qy->held, (size_t)qy->held_n);
	qy->held = NULL;
}

/* sq_terms_split's sink: "alice@example.com" asks for the pairs "alice
 * example" and "example com"; a word no pair holds is asked for alone. */
static int
on_term(void *p, int flags, const char *term, int n, int start, int end)
{
	struct query *qy = p;
	(void)flags, (void)start, (void)end;
	if (memchr(term, ' ', (size_t)n) != NULL) {
		qy->held = NULL;                /* the pair holds its left word */
		add_string(&qy->q, term, (size_t)n);
		qy->after_pair = true;
		return SQLITE_OK;
	}
	release_held(qy);
	/* a copy: the tokenizer's buffer moves on */
	qy->held = qy->after_pair ? NULL : arena_strndup(qy->a, term, (size_t)n);
	qy->held_n = n;
	qy->after_pair = false;
	return SQLITE_OK;
}

/* One blank-separated word of the user's text into the query; a word
 * ending in '*' is a prefix search (of its last term). */
static int
add_word(struct query *qy, const char *w, size_t n)
{
	bool prefix = n > 1 && w[n - 1] == '*';
	if (prefix)
		n--;
	size_t before = qy->q.len;
	if (qy->legacy) {
		add_string(&qy->q, w, n);
	} else {
		qy->held = NULL, qy->after_pair = false;
		if (sq_terms_split(qy->st->db, w, n, on_term, qy) != SQLITE_OK)
			return -1;
		release_held(qy);
	}
	if (prefix && qy->q.len > before)
		buf_add(&qy->q, "*", 1);
	return 0;
}

/* The FTS5 query for the user's text, for message_terms or (legacy) for
 * message_search, in the arena; NULL with why (PR_E_INVALID) when it
 * has no word, too many, or is too long. */
static const char *
fts_query(struct store *st, struct arena *a, const char *text, bool legacy, struct pr_why *why)
{
	size_t len = strlen(text), words = 0;
	if (len > SEARCH_MAX_BYTES) {
		pr_why_set(why, PR_E_INVALID, "the search text is %zu bytes, over %d: search for fewer words",
		           len, SEARCH_MAX_BYTES);
		return NULL;
	}
	struct query qy = {.st = st, .a = a, .legacy = legacy};
	/* A word of n bytes: at most n words and n pairs of 2n bytes, quoted. */
	buf_init(&qy.q, 8 * len + 64);
	for (const char *p = text; *p;) {
		size_t skip = strspn(p, " \t\r\n\f\v"), n = strcspn(p + skip, " \t\r\n\f\v");
		const char *w = p + skip;
		p = w + n;
		if (n == 0 || !has_token_char(w, n))
			continue;
		if (++words > SEARCH_MAX_WORDS)
			break;
		if (add_word(&qy, w, n) < 0) {
			buf_free(&qy.q);
			pr_why_set(why, PR_E_STORE_FAILED, "cannot split the search into words: %s",
			           sqlite3_errmsg(st->db));
			return NULL;
		}
	}
	const char *out = qy.q.len && words <= SEARCH_MAX_WORDS && !qy.q.err
	                ? arena_strndup(a, (char *)qy.q.data, qy.q.len) : NULL;
	buf_free(&qy.q);
	if (out == NULL && words > SEARCH_MAX_WORDS)
		pr_why_set(why, PR_E_INVALID, "the search has more than %d words: search for fewer",
		           SEARCH_MAX_WORDS);
	else if (out == NULL)
		pr_why_set(why, PR_E_INVALID, "the search has no word to look for: give letters or digits");
	return out;
}

/* One index's hits, newest first, below f->before, at most f->limit. */
static int
search_index(struct store *st, struct arena *a, const char *sql, const char *q,
             const struct store_message_filter *f, struct store_message_summary **out, size_t *n,
             struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_message_filter(s, f);
	sq_bind_text(s, 8, q);
	return sq_collect(st, a, s, sizeof(**out), sq_read_summary, out, n, "searching messages", why);
}

/* CROSS JOIN keeps the index as the outer loop: SQLite must not choose to
 * walk messages and probe the index for each. */
#define SEARCH_SQL(index) SQ_SUMMARY_COLS "FROM " index " f CROSS JOIN messages m" \
	" ON m.id = f.rowid WHERE " index " MATCH ?8 AND f.rowid < ?7 AND" SQ_MESSAGE_FILTER \
	" ORDER BY f.rowid DESC LIMIT ?5"

int
sq_message_search(struct store *st, struct arena *a, const struct store_message_filter *f,
                  struct store_message_summary **out, size_t *n, struct pr_why *why)
{
	const char *q = fts_query(st, a, f->search, false, why);
	if (q == NULL || search_index(st, a, SEARCH_SQL("message_terms"), q, f, out, n, why) < 0)
		return -1;
	size_t limit = f->limit ? f->limit : 100;
	if (*n >= limit)
		return 0;
	/* The rest of the page from messages indexed before migration 18:
	 * their ids are all below message_terms' (empty in a newer store). */
	struct store_message_filter rest = *f;
	rest.limit = limit - *n;
	if (*n)
		rest.before = (*out)[*n - 1].id;
	struct store_message_summary *older = NULL;
	size_t nolder = 0;
	const char *lq = fts_query(st, a, f->search, true, why);
	if (lq == NULL || search_index(st, a, SEARCH_SQL("message_search"), lq, &rest, &older, &nolder, why) < 0)
		return -1;
	if (nolder == 0)
		return 0;
	struct store_message_summary *all = arena_alloc(a, (*n + nolder) * sizeof(*all));
	if (*n)
		memcpy(all, *out, *n * sizeof(*all));
	memcpy(all + *n, older, nolder * sizeof(*all));
	*out = all, *n += nolder;
	return 0;
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

void
sq_search_doc(struct arena *a, const struct store_msg *m, struct sq_doc *d)
{
	d->col[0] = m->search_text ? utf8_prefix(a, m->search_text, STORE_SEARCH_TEXT_MAX) : "";
	d->col[1] = addresses(a, m);
	d->col[2] = m->subject ? m->subject : "";
	for (int i = 0; i < 3; i++) {
		d->len[i] = strlen(d->col[i]);
		/* Text is never taken for a term list (store_sqlite_terms.c);
		 * the mark is no word character, so nothing is lost. */
		while (d->len[i] > 0 && d->col[i][0] == SQ_TERMS_MARK)
			d->col[i]++, d->len[i]--;
	}
}

bool
sq_search_terms(struct store *st, struct arena *a, const struct store_msg *m, struct sq_doc *d)
{
	if (st->terms == NULL && (st->terms = sq_terms_new(st->db)) == NULL)
		return false;
	struct sq_doc text;
	sq_search_doc(a, m, &text);
	for (int i = 0; i < 3; i++)
		if ((d->col[i] = sq_terms_list(st->terms, a, text.col[i], text.len[i], &d->len[i])) == NULL)
			return false;
	return true;
}

int
sq_search_insert(struct store *st, int64_t id, const struct sq_doc *d, struct pr_why *why)
{
	static const char sql[] = SQ_SEARCH_INSERT " VALUES(?1, ?2, ?3, ?4)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	for (int i = 0; i < 3; i++)
		sqlite3_bind_text64(s, 2 + i, d->col[i], d->len[i], SQLITE_STATIC, SQLITE_UTF8);
	return sq_step_done(st, s, "indexing a message for search", why);
}

const struct sq_doc *
sq_search_doc_of(struct arena *a, const struct store_msg *m, struct sq_doc *text)
{
	const struct sq_doc *d = sq_body_terms(m);
	if (d != NULL)
		return d;
	sq_search_doc(a, m, text);
	return text;
}

int
sq_search_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why)
{
	struct sq_doc text;
	return sq_search_insert(st, m->id_r, sq_search_doc_of(a, m, &text), why);
}

/* Messages among the newest that the index lacks: a row of
 * message_terms_docsize (FTS5's own table, one row per indexed rowid) is
 * what makes a message indexed. */
int
sqlite_store_search_unindexed(struct store *st, struct arena *a, size_t newest, int64_t **ids_r,
                              size_t *n_r, struct pr_why *why)
{
	static const char sql[] = "SELECT m.id FROM messages m"
		" WHERE m.id > (SELECT coalesce(max(id), 0) FROM messages) - ?1"
		" AND NOT EXISTS (SELECT 1 FROM message_terms_docsize d WHERE d.id = m.id) ORDER BY m.id";
	*ids_r = NULL;
	*n_r = 0;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)newest);
	int64_t *ids = arena_alloc(a, (newest ? newest : 1) * sizeof(*ids));
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < newest)
		ids[n++] = sqlite3_column_int64(s, 0);
	sq_done(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(st, rc, "finding messages the search index lacks", why);
	*ids_r = ids;
	*n_r = n;
	return 0;
}
