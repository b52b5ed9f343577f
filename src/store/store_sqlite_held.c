/* store_sqlite_held.c - search entries held for a later group commit.
 *
 * Why: FTS5 writes what a transaction added to the index as a new segment
 * when the transaction commits, and merges segments as they pile up.  At
 * four messages a group that flush and its merges were most of the
 * search index's cost and a tenth of serve's CPU (bench/README.md,
 * smtp-intake, stop 35): the same work for a few messages or a hundred.
 * So while more messages are on their way (intake says so with
 * store_search_hold), a group's entries are kept here and written with a
 * later group -- at most the number intake gives, and at most
 * HELD_MAX_AGE_MS -- and the group committed when nothing else is on its
 * way writes them all.  A message is therefore searchable as soon as its
 * 250 when it comes alone, and within a batch (or half a second) under
 * load.
 *
 * Durability: the messages themselves are committed with their group; only
 * their index entries wait.  A crash loses at most the held entries, and
 * the next start indexes again the newest messages the index lacks
 * (store_search_unindexed, intake_search_recover).
 *
 * Ownership: each entry's three columns are copied into one malloc'd
 * block (the group's arenas are freed when its 250s are sent); they are
 * freed when a commit that wrote them succeeds, or dropped with the
 * group that added them when that group rolls back.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_sqlite.h"

struct held_doc {
	int64_t id;
	struct sq_doc d;             /* the columns point into block */
	char *block;
};

struct sq_held {
	struct held_doc *v;
	size_t n, cap;
	size_t group_start;          /* entries before the group being committed */
	bool writing;                /* this group's commit writes them all */
	unsigned failed_writes;      /* commits that wrote them and failed, in a row */
	unsigned long long written, batches;   /* entries and commits that wrote them */
	struct timespec oldest;      /* when the first entry held now was added */
};

/* Entries held this long are written with the next group whatever comes
 * after it: at a few messages a second, with sessions always mid-way,
 * a batch would otherwise take minutes to fill. */
#define HELD_MAX_AGE_MS 500

static long
age_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
}

/* After this many failed commits that wrote the held entries, they are
 * dropped (the next start indexes their messages again): should an entry
 * itself be what fails, it must not fail every group after it. */
#define HELD_MAX_FAILED_WRITES 3

static struct sq_held *
held_of(struct store *st)
{
	if (st->held == NULL)
		st->held = xcalloc(1, sizeof(*st->held));
	return st->held;
}

void
sqlite_store_search_hold(struct store *st, size_t max, bool more_coming)
{
	st->hold_max = max;
	st->hold_more = more_coming;
}

bool
sq_held_active(const struct store *st)
{
	return st->hold_max > 0;
}

void
sq_held_add(struct store *st, struct arena *a, const struct store_msg *m)
{
	struct sq_held *h = held_of(st);
	struct sq_doc text;
	const struct sq_doc *d = sq_search_doc_of(a, m, &text);
	if (h->n == 0)
		clock_gettime(CLOCK_MONOTONIC, &h->oldest);
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	struct held_doc *e = &h->v[h->n++];
	size_t total = d->len[0] + d->len[1] + d->len[2] + 3;
	e->id = m->id_r;
	e->block = xmalloc(total);
	char *p = e->block;
	for (int i = 0; i < 3; i++) {
		memcpy(p, d->col[i], d->len[i]);
		p[d->len[i]] = '\0';
		e->d.col[i] = p;
		e->d.len[i] = d->len[i];
		p += d->len[i] + 1;
	}
}

/* Called at the start of a group: what it adds can be taken back. */
void
sq_held_group_begin(struct store *st)
{
	if (st->held != NULL) {
		st->held->group_start = st->held->n;
		st->held->writing = false;
	}
}

/* Whether message id is in the index already: the next start of another
 * process on this store may have indexed it again (intake_search_recover)
 * while this one held it, and FTS5 must never get one rowid twice. */
static int
already_indexed(struct store *st, int64_t id, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep(st, "SELECT 1 FROM message_terms_docsize WHERE id = ?1", why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	sq_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(st, rc, "looking up a message in the search index", why);
	return rc == SQLITE_ROW;
}

/* Every held entry, into the transaction open now. */
static int
write_held(struct store *st, struct pr_why *why)
{
	struct sq_held *h = st->held;
	h->writing = true;
	for (size_t i = 0; i < h->n; i++) {
		int indexed = already_indexed(st, h->v[i].id, why);
		if (indexed < 0 || (!indexed && sq_search_insert(st, h->v[i].id, &h->v[i].d, why) < 0))
			return -1;
	}
	return 0;
}

/* At the end of the group's statements, before COMMIT: write every held
 * entry if the batch is full, old enough, or nothing more is coming. */
int
sq_held_group_write(struct store *st, struct pr_why *why)
{
	struct sq_held *h = st->held;
	if (h == NULL || h->n == 0 ||
	    (st->hold_more && h->n < st->hold_max && age_ms(&h->oldest) < HELD_MAX_AGE_MS))
		return 0;
	return write_held(st, why);
}

static void
drop_from(struct sq_held *h, size_t from)
{
	for (size_t i = from; i < h->n; i++)
		free(h->v[i].block);
	h->n = from;
}

void
sq_held_group_end(struct store *st, bool committed)
{
	struct sq_held *h = st->held;
	if (h == NULL)
		return;
	if (committed && h->writing) {
		h->written += h->n;
		h->batches++;
		drop_from(h, 0);                 /* in the index now */
	}
	else if (!committed)
		drop_from(h, h->group_start);    /* their messages were rolled back */
	h->failed_writes = committed || !h->writing ? 0 : h->failed_writes + 1;
	if (h->failed_writes >= HELD_MAX_FAILED_WRITES && h->n > 0) {
		log_warn("store: dropping %zu messages' search entries after %u failed commits; the next "
		         "start indexes them again", h->n, h->failed_writes);
		drop_from(h, 0);
		h->failed_writes = 0;
	}
	h->writing = false;
}

size_t
sq_held_count(const struct store *st)
{
	return st->held ? st->held->n : 0;
}

int
sqlite_store_search_flush(struct store *st, struct pr_why *why)
{
	pr_why_clear(why);
	if (sq_held_count(st) == 0)
		return 0;
	sq_held_group_begin(st);
	int rc = sq_begin(st, why) == 0 && write_held(st, why) == 0 ? sq_commit(st, why) : -1;
	if (rc < 0)
		sq_rollback(st);
	sq_held_group_end(st, rc == 0);
	return rc;
}

void
sq_held_free(struct store *st)
{
	if (st->held == NULL)
		return;
	if (st->held->batches > 0)
		log_info("store: search entries of %llu messages written in %llu batches (%.1f a batch)",
		         st->held->written, st->held->batches,
		         (double)st->held->written / (double)st->held->batches);
	if (st->held->n > 0)
		log_warn("store: %zu messages' search entries were not written; the next start indexes "
		         "them again", st->held->n);
	drop_from(st->held, 0);
	free(st->held->v);
	free(st->held);
	st->held = NULL;
}
