/* store_sqlite_terms.c - the words the search index keeps: SQLite's
 * unicode61 words, and one term for each two words joined by punctuation.
 *
 * Why: the index (message_terms, migration 18) records which messages
 * hold a term, not where in them (FTS5 detail=none): about a quarter of
 * the bytes of an index with positions, and so a quarter of the merge
 * work done inside the intake commit (bench/README.md, "growth").
 * Without positions FTS5 matches no phrase, and a word a person types,
 * such as alice@example.com or e-mail, is one: unicode61 cuts it into
 * alice, example, com.  So this tokenizer ("postroom") also indexes each
 * pair of neighbouring words that only punctuation separates (1 to 4
 * printable ASCII characters, no blank) as the one term "alice example",
 * and a search for such a word asks for its pairs (sq_terms_split, used
 * by store_sqlite_search.c).  Exact for two words; for three or more
 * every neighbouring pair must be in the message, which almost always
 * means the whole word is.
 *
 * A pair is told from a word by its blank (unicode61 never keeps one in
 * a word).  A query's terms reach the tokenizer already built by the
 * search code: in query mode it hands each back whole.
 */
#include <limits.h>
#include <string.h>

#include "store/store_sqlite.h"

/* A pair longer than this (two long words) is not indexed; a search for
 * it asks for both words instead, on both sides alike. */
#define PAIR_MAX 128
/* At most this much punctuation between two words of one pair. */
#define GAP_MAX 4

struct terms_tokenizer {
	fts5_tokenizer words;       /* unicode61's methods */
	Fts5Tokenizer *inner;       /* its instance: remove_diacritics 2 */
};

/* One document being tokenized: the caller's sink and the last word. */
struct terms_walk {
	void *ctx;
	int (*emit)(void *ctx, int flags, const char *term, int n, int start, int end);
	const char *text;
	char pair[PAIR_MAX];
	int prev_n, prev_start, prev_end;   /* prev_n 0: no word to pair with */
};

static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
		sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return api != NULL && api->iVersion >= 2 ? api : NULL;
}

static int
terms_create(void *api_ptr, const char **args, int nargs, Fts5Tokenizer **out)
{
	fts5_api *api = api_ptr;
	static const char *const inner_args[] = {"remove_diacritics", "2"};
	void *inner_ctx = NULL;
	if (nargs != 0)
		return SQLITE_ERROR;
	(void)args;
	struct terms_tokenizer *t = sqlite3_malloc(sizeof(*t));
	if (t == NULL)
		return SQLITE_NOMEM;
	int rc = api->xFindTokenizer(api, "unicode61", &inner_ctx, &t->words);
	if (rc == SQLITE_OK)
		rc = t->words.xCreate(inner_ctx, (const char **)inner_args, 2, &t->inner);
	if (rc != SQLITE_OK) {
		sqlite3_free(t);
		return rc;
	}
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

static void
terms_delete(Fts5Tokenizer *p)
{
	struct terms_tokenizer *t = (struct terms_tokenizer *)p;
	t->words.xDelete(t->inner);
	sqlite3_free(t);
}

/* Only punctuation, and little of it, lies between two words of a pair. */
static bool
joins(const char *text, int from, int to)
{
	if (to - from < 1 || to - from > GAP_MAX)
		return false;
	for (int i = from; i < to; i++)
		if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
			return false;
	return true;
}

/* unicode61 found a word: first the pair it closes, if any, then the word. */
static int
on_word(void *p, int flags, const char *word, int n, int start, int end)
{
	struct terms_walk *w = p;
	if (w->prev_n > 0 && w->prev_n + 1 + n <= PAIR_MAX && joins(w->text, w->prev_end, start)) {
		w->pair[w->prev_n] = ' ';
		memcpy(w->pair + w->prev_n + 1, word, (size_t)n);
		int rc = w->emit(w->ctx, 0, w->pair, w->prev_n + 1 + n, w->prev_start, end);
		if (rc != SQLITE_OK)
			return rc;
	}
	w->prev_n = n < PAIR_MAX ? n : 0;
	if (w->prev_n)
		memcpy(w->pair, word, (size_t)n);
	w->prev_start = start, w->prev_end = end;
	return w->emit(w->ctx, flags, word, n, start, end);
}

static int
terms_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int len,
               int (*emit)(void *ctx, int flags, const char *term, int n, int start, int end))
{
	struct terms_tokenizer *t = (struct terms_tokenizer *)p;
	if (flags & FTS5_TOKENIZE_QUERY)
		return len > 0 ? emit(ctx, 0, text, len, 0, len) : SQLITE_OK;
	struct terms_walk w = {.ctx = ctx, .emit = emit, .text = text};
	return t->words.xTokenize(t->inner, &w, flags, text, len, on_word);
}

static fts5_tokenizer terms_methods = {terms_create, terms_delete, terms_tokenize};

int
sq_terms_register(sqlite3 *db)
{
	fts5_api *api = fts5_api_of(db);
	if (api == NULL)
		return SQLITE_ERROR;
	return api->xCreateTokenizer(api, "postroom", api, &terms_methods, NULL);
}

int
sq_terms_split(sqlite3 *db, const char *text, size_t len,
               int (*emit)(void *ctx, int flags, const char *term, int n, int start, int end), void *ctx)
{
	fts5_api *api = fts5_api_of(db);
	Fts5Tokenizer *t = NULL;
	if (api == NULL || len > INT_MAX)
		return SQLITE_ERROR;
	int rc = terms_create(api, NULL, 0, &t);
	if (rc == SQLITE_OK) {
		rc = terms_tokenize(t, ctx, FTS5_TOKENIZE_DOCUMENT, text, (int)len, emit);
		terms_delete(t);
	}
	return rc;
}
