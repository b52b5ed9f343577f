/* store_dircache.c - the directory answers a connection has already read,
 * kept while the directory is unchanged.
 *
 * Why: intake asks the directory the same few questions for every message
 * (who sent it, is the project there, is the sender a member, whose are
 * the addresses in From/To/Cc), and SQLite drops a connection's whole page
 * cache whenever another connection commits, which the committer does
 * many times a second: each question re-read its B-tree pages from the
 * kernel (about nine 16 KiB reads a message), and over PostgreSQL each is
 * a round trip.  The directory changes rarely; a trigger on each of its
 * tables bumps directory_version (SQLite migration 21, PostgreSQL 6).
 *
 * When it is trusted: only between store_reads_begin and store_reads_end,
 * the windows intake reads a recipient's route and a message's policy in.
 * store_reads_begin reads the version first (in SQLite, the first read of
 * the window's snapshot) and empties the cache if it moved; so an answer is
 * never older than the last directory change committed before the window
 * began.  Outside a window (the API, the CLI) every call goes to the
 * backend as before.  If the version cannot be read (a stalled or busy
 * store), the window's directory calls fail at once with that reason
 * rather than each wait out the same stall again: the caller answers 451
 * as it would have.
 *
 * Ownership: entries live in the cache's own arena, freed as a whole when
 * the version moves or the cache fills; an answer is copied into the
 * caller's arena, since the caller keeps it past the next window (the
 * committer reads a message's people after its worker moved on).
 * Answers that failed (-1: busy, unreadable) are never kept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/store_backend.h"

/* Entries before the cache starts again empty: a directory far larger than
 * the set of people who write in a day costs no more than one refill.  The
 * keys are addresses a sender chose; colliding ones cost at most a scan of
 * these entries (the table is never more than half full). */
#define DIRCACHE_MAX 4096
#define DIRCACHE_SLOTS 8192         /* open addressing, a power of two > MAX */

enum dc_kind { DC_USER, DC_STAKEHOLDER, DC_ALIAS, DC_PROJECT, DC_MEMBER, DC_DOMAIN };

struct dc_entry {
	enum dc_kind kind;
	const char *key;            /* the arguments, as given ("4 1234 alice" for a member) */
	int rc;
	const struct pr_why *why;   /* what a "none" answer said, if it said so */
	union {
		struct store_user user;
		struct store_stakeholder stakeholder;
		struct store_alias alias;
	} v;
};

struct dircache {
	struct arena *arena;
	struct dc_entry **slots;    /* DIRCACHE_SLOTS, in arena */
	size_t n;
	size_t hits;                /* answers given from the cache (tests) */
	int64_t version;
	bool open;                  /* inside a window whose version was read */
	bool known;                 /* version holds what the store said */
	bool failed;                /* inside a window whose version read failed */
	struct pr_why failed_why;   /* how it failed */
};

static void
dc_reset(struct dircache *dc)
{
	arena_free(&dc->arena);
	dc->arena = arena_new();
	dc->slots = arena_alloc(dc->arena, DIRCACHE_SLOTS * sizeof(*dc->slots));
	dc->n = 0;
}

static struct dircache *
dc_of(struct store *st)
{
	struct store_head *h = store_head_of(st);
	if (h->dircache == NULL) {
		h->dircache = calloc(1, sizeof(*h->dircache));
		if (h->dircache != NULL)
			dc_reset(h->dircache);
	}
	return h->dircache;
}

void
store_dircache_free(struct store *st)
{
	struct store_head *h = store_head_of(st);
	if (h->dircache != NULL)
		arena_free(&h->dircache->arena);
	free(h->dircache);
	h->dircache = NULL;
}

static uint64_t
dc_hash(enum dc_kind kind, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)kind;       /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

/* The slot holding (kind, key), or the empty slot where it would go. */
static struct dc_entry **
dc_slot(struct dircache *dc, enum dc_kind kind, const char *key)
{
	size_t i = dc_hash(kind, key) & (DIRCACHE_SLOTS - 1);
	while (dc->slots[i] != NULL && (dc->slots[i]->kind != kind || strcmp(dc->slots[i]->key, key) != 0))
		i = (i + 1) & (DIRCACHE_SLOTS - 1);
	return &dc->slots[i];
}

/* The cache to consult for this call: NULL outside a trusted window. */
static struct dircache *
dc_open(struct store *st)
{
	struct dircache *dc = store_head_of(st)->dircache;
	return dc != NULL && dc->open ? dc : NULL;
}

/* In a window whose version read failed: its reason, and true. */
static bool
dc_failed(struct store *st, struct pr_why *why)
{
	struct dircache *dc = store_head_of(st)->dircache;
	if (dc == NULL || !dc->failed)
		return false;
	if (why != NULL)
		*why = dc->failed_why;
	return true;
}

static const char **
copy_strings(struct arena *a, const char *const *v, size_t n)
{
	const char **out = n ? arena_alloc(a, n * sizeof(*out)) : NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = v[i] ? arena_strdup(a, v[i]) : NULL;
	return out;
}

static const char *
copy_str(struct arena *a, const char *s)
{
	return s ? arena_strdup(a, s) : NULL;
}

static void
copy_user(struct arena *a, struct store_user *to, const struct store_user *from)
{
	*to = *from;
	to->name = copy_str(a, from->name);
	to->display = copy_str(a, from->display);
	to->emails = copy_strings(a, from->emails, from->nemails);
}

static void
copy_stakeholder(struct arena *a, struct store_stakeholder *to, const struct store_stakeholder *from)
{
	*to = *from;
	to->name = copy_str(a, from->name);
	to->emails = copy_strings(a, from->emails, from->nemails);
}

static void
copy_alias(struct arena *a, struct store_alias *to, const struct store_alias *from)
{
	*to = *from;
	to->address = copy_str(a, from->address);
	to->users = copy_strings(a, from->users, from->nusers);
}

/* A kept answer, or NULL. */
static const struct dc_entry *
dc_find(struct dircache *dc, enum dc_kind kind, const char *key)
{
	return dc && key ? *dc_slot(dc, kind, key) : NULL;
}

/* Keep an answer the backend gave (never a failure); the value is copied
 * by the caller into the returned entry's union.  NULL: not kept. */
static struct dc_entry *
dc_keep(struct dircache *dc, enum dc_kind kind, const char *key, int rc, const struct pr_why *why)
{
	if (dc == NULL || key == NULL || rc < 0)
		return NULL;
	if (dc->n >= DIRCACHE_MAX)
		dc_reset(dc);
	struct dc_entry **slot = dc_slot(dc, kind, key);
	struct dc_entry *e = arena_alloc(dc->arena, sizeof(*e));
	e->kind = kind;
	e->key = arena_strdup(dc->arena, key);
	e->rc = rc;
	if (why != NULL) {
		struct pr_why *w = arena_alloc(dc->arena, sizeof(*w));
		*w = *why;
		e->why = w;
	}
	*slot = e;
	dc->n++;
	return e;
}

/* A kept answer's return value, its why given back as the backend gave it. */
static int
dc_answer(struct dircache *dc, const struct dc_entry *e, struct pr_why *why)
{
	dc->hits++;
	if (e->why != NULL && why != NULL)
		*why = *e->why;
	return e->rc;
}

size_t
store_dircache_hits(struct store *st)
{
	struct dircache *dc = store_head_of(st)->dircache;
	return dc ? dc->hits : 0;
}

void
store_reads_begin(struct store *st)
{
	store_ops_of(st)->reads_begin(st);
	struct dircache *dc = dc_of(st);
	if (dc == NULL)
		return;
	int64_t version;
	struct pr_why why;
	if (store_ops_of(st)->directory_version(st, &version, &why) < 0) {
		dc->open = dc->known = false;
		dc->failed = true;
		dc->failed_why = why;
		return;
	}
	if (!dc->known || version != dc->version)
		dc_reset(dc);
	dc->version = version;
	dc->known = dc->open = true;
	dc->failed = false;
}

void
store_reads_end(struct store *st)
{
	struct dircache *dc = store_head_of(st)->dircache;
	if (dc != NULL)
		dc->open = dc->failed = false;
	store_ops_of(st)->reads_end(st);
}

int
store_user_by_email(struct store *st, struct arena *a, const char *email, struct store_user *out,
                    struct pr_why *why)
{
	if (dc_failed(st, why))
		return -1;
	struct dircache *dc = dc_open(st);
	const struct dc_entry *e = dc_find(dc, DC_USER, email);
	if (e == NULL) {
		int rc = store_ops_of(st)->user_by_email(st, a, email, out, why);
		struct dc_entry *k = dc_keep(dc, DC_USER, email, rc, rc == 1 ? why : NULL);
		if (k != NULL && rc == 0)
			copy_user(dc->arena, &k->v.user, out);
		return rc;
	}
	if (e->rc == 0)
		copy_user(a, out, &e->v.user);
	return dc_answer(dc, e, why);
}

int
store_stakeholder_by_email(struct store *st, struct arena *a, const char *email,
                           struct store_stakeholder *out, struct pr_why *why)
{
	if (dc_failed(st, why))
		return -1;
	struct dircache *dc = dc_open(st);
	const struct dc_entry *e = dc_find(dc, DC_STAKEHOLDER, email);
	if (e == NULL) {
		int rc = store_ops_of(st)->stakeholder_by_email(st, a, email, out, why);
		struct dc_entry *k = dc_keep(dc, DC_STAKEHOLDER, email, rc, rc == 1 ? why : NULL);
		if (k != NULL && rc == 0)
			copy_stakeholder(dc->arena, &k->v.stakeholder, out);
		return rc;
	}
	if (e->rc == 0)
		copy_stakeholder(a, out, &e->v.stakeholder);
	return dc_answer(dc, e, why);
}

int
store_alias_get(struct store *st, struct arena *a, const char *address, struct store_alias *out,
                struct pr_why *why)
{
	if (dc_failed(st, why))
		return -1;
	struct dircache *dc = dc_open(st);
	const struct dc_entry *e = dc_find(dc, DC_ALIAS, address);
	if (e == NULL) {
		int rc = store_ops_of(st)->alias_get(st, a, address, out, why);
		struct dc_entry *k = dc_keep(dc, DC_ALIAS, address, rc, rc == 1 ? why : NULL);
		if (k != NULL && rc == 0)
			copy_alias(dc->arena, &k->v.alias, out);
		return rc;
	}
	if (e->rc == 0)
		copy_alias(a, out, &e->v.alias);
	return dc_answer(dc, e, why);
}

int
store_project_exists(struct store *st, const char *id, struct pr_why *why)
{
	if (dc_failed(st, why))
		return -1;
	struct dircache *dc = dc_open(st);
	const struct dc_entry *e = dc_find(dc, DC_PROJECT, id);
	if (e != NULL)
		return dc_answer(dc, e, why);
	int rc = store_ops_of(st)->project_exists(st, id, why);
	dc_keep(dc, DC_PROJECT, id, rc, rc == 1 ? why : NULL);
	return rc;
}

int
store_domain_served(struct store *st, const char *domain, struct pr_why *why)
{
	if (dc_failed(st, why))
		return -1;
	struct dircache *dc = dc_open(st);
	const struct dc_entry *e = dc_find(dc, DC_DOMAIN, domain);
	if (e != NULL)
		return dc_answer(dc, e, why);
	int rc = store_ops_of(st)->domain_served(st, domain, why);
	dc_keep(dc, DC_DOMAIN, domain, rc, NULL);
	return rc;
}

int
store_project_is_member(struct store *st, const char *id, const char *user, struct pr_why *why)
{
	if (dc_failed(st, why))
		return -1;
	struct dircache *dc = dc_open(st);
	/* The id's length first, so no two pairs make one key. */
	char key[512];
	int len = id && user ? snprintf(key, sizeof(key), "%zu %s %s", strlen(id), id, user) : -1;
	if (len < 0 || (size_t)len >= sizeof(key))
		dc = NULL;                  /* too long to keep: ask every time */
	const struct dc_entry *e = dc_find(dc, DC_MEMBER, key);
	if (e != NULL)
		return dc_answer(dc, e, why);
	int rc = store_ops_of(st)->project_is_member(st, id, user, why);
	dc_keep(dc, DC_MEMBER, key, rc, NULL);
	return rc;
}
