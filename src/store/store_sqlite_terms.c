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
 *
 * A message's terms are made on its intake worker, not in the group
 * commit (sq_terms_list): tokenizing was a fifth of the committer's time,
 * the one serial step of intake (bench/README.md, "smtp-intake").  The
 * worker hands the commit a term list -- SQ_TERMS_MARK, then each
 * distinct term followed by a newline (no term holds either byte:
 * unicode61 keeps neither, a pair joins with a blank) -- and in document
 * mode the tokenizer only splits such a list.  Text that is not a list is
 * tokenized as ever; sq_search_add never lets such text start with the
 * mark.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
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

/* A term list (sq_terms_list) back into its terms. */
static int
split_list(void *ctx, const char *text, int len,
           int (*emit)(void *ctx, int flags, const char *term, int n, int start, int end))
{
	int start = 1;
	while (start < len) {
		const char *nl = memchr(text + start, '\n', (size_t)(len - start));
		int end = nl ? (int)(nl - text) : len;
		if (end > start) {
			int rc = emit(ctx, 0, text + start, end - start, start, end);
			if (rc != SQLITE_OK)
				return rc;
		}
		start = end + 1;
	}
	return SQLITE_OK;
}

static int
terms_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int len,
               int (*emit)(void *ctx, int flags, const char *term, int n, int start, int end))
{
	struct terms_tokenizer *t = (struct terms_tokenizer *)p;
	if (flags & FTS5_TOKENIZE_QUERY)
		return len > 0 ? emit(ctx, 0, text, len, 0, len) : SQLITE_OK;
	if (len > 0 && text[0] == SQ_TERMS_MARK)
		return split_list(ctx, text, len, emit);
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

/* The distinct terms of one document, in the order first seen: an
 * open-addressing set over the list being written.  The terms are the
 * sender's, so a run of colliding ones could make each insert walk the
 * whole table: after PROBE_MAX slots a term is written again instead (a
 * duplicate costs FTS5 one hash lookup, nothing in the index). */
#define PROBE_MAX 32
#define SET_FIRST 1024
#define LIST_MAX (4 * 1024 * 1024)

struct term_slot {
	uint32_t off, len;               /* off 0: empty (offset 0 is the mark) */
};

struct term_set {
	struct buf list;
	struct term_slot *slot;
	size_t cap, used;
};

struct sq_terms {
	Fts5Tokenizer *tok;
};

static uint32_t
term_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* Where term s goes: its slot if present (*found), else the empty slot
 * to take, or NULL when the probe ran out. */
static struct term_slot *
set_find(struct term_set *set, const char *s, size_t n, bool *found)
{
	size_t mask = set->cap - 1, i = term_hash(s, n) & mask;
	for (int probe = 0; probe < PROBE_MAX; probe++, i = (i + 1) & mask) {
		struct term_slot *e = &set->slot[i];
		if (e->off == 0) {
			*found = false;
			return e;
		}
		if (e->len == n && memcmp(set->list.data + e->off, s, n) == 0) {
			*found = true;
			return e;
		}
	}
	return NULL;
}

static bool
set_grow(struct term_set *set)
{
	size_t cap = set->cap ? set->cap * 2 : SET_FIRST;
	struct term_slot *old = set->slot;
	size_t oldcap = set->cap;
	set->slot = calloc(cap, sizeof(*set->slot));
	if (set->slot == NULL) {
		set->slot = old;
		return false;
	}
	set->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		bool found;
		const char *s = (const char *)set->list.data + old[i].off;
		struct term_slot *e = old[i].off ? set_find(set, s, old[i].len, &found) : NULL;
		if (e != NULL)
			*e = old[i];             /* a probe that ran out: dropped from the set only */
	}
	free(old);
	return true;
}

static int
collect(void *ctx, int flags, const char *term, int n, int start, int end)
{
	struct term_set *set = ctx;
	(void)flags, (void)start, (void)end;
	if (n <= 0)
		return SQLITE_OK;
	if (set->used * 2 >= set->cap && !set_grow(set))
		return SQLITE_NOMEM;
	bool found = false;
	struct term_slot *e = set_find(set, term, (size_t)n, &found);
	if (found)
		return SQLITE_OK;
	if (e != NULL) {
		*e = (struct term_slot){.off = (uint32_t)set->list.len, .len = (uint32_t)n};
		set->used++;
	}
	buf_add(&set->list, term, (size_t)n);
	buf_addch(&set->list, '\n');
	return set->list.err == PR_OK ? SQLITE_OK : SQLITE_TOOBIG;
}

struct sq_terms *
sq_terms_new(sqlite3 *db)
{
	fts5_api *api = fts5_api_of(db);
	Fts5Tokenizer *tok = NULL;
	if (api == NULL || terms_create(api, NULL, 0, &tok) != SQLITE_OK)
		return NULL;
	struct sq_terms *t = xcalloc(1, sizeof(*t));
	t->tok = tok;
	return t;
}

void
sq_terms_free(struct sq_terms **t)
{
	if (*t == NULL)
		return;
	terms_delete((*t)->tok);
	free(*t);
	*t = NULL;
}

const char *
sq_terms_list(struct sq_terms *t, struct arena *a, const char *text, size_t len, size_t *n_r)
{
	if (len > INT_MAX)
		return NULL;
	struct term_set set = {.cap = 0};
	buf_init(&set.list, LIST_MAX);
	buf_addch(&set.list, SQ_TERMS_MARK);
	int rc = terms_tokenize(t->tok, &set, FTS5_TOKENIZE_DOCUMENT, text, (int)len, collect);
	const char *out = NULL;
	if (rc == SQLITE_OK && set.list.err == PR_OK) {
		out = arena_strndup(a, (const char *)set.list.data, set.list.len);
		*n_r = set.list.len;
	}
	free(set.slot);
	buf_free(&set.list);
	return out;
}
