/* store_pg.h - what the PostgreSQL backend's files share (private).
 *
 * struct store is one libpq connection.  Every statement is a static
 * string in the file that runs it; the connection prepares it once (named
 * after its slot in the cache, keyed by the string's address) and then
 * only executes it, as the SQLite backend caches its statements.
 *
 * Values go in as text (or binary for bytea) through struct pg_params and
 * come back as text; every helper copies what it returns into the
 * caller's arena and clears the PGresult before returning, so nothing of
 * libpq's outlives a call.  The pg_* helpers live in store_pg_util.c.
 *
 * Failures are mapped once (pg_fail): a lost connection, a lock or
 * serialization conflict, a server shutting down or a read-only standby
 * are PR_E_STORE_BUSY (temporary: SMTP answers 4xx and the client comes
 * back; the connection is re-made, following a promoted standby when the
 * URI lists several hosts with target_session_attrs=read-write); a unique
 * violation where the caller names one is PR_E_EXISTS; anything else
 * PR_E_STORE_FAILED.
 */
#ifndef PR_STORE_PG_H
#define PR_STORE_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "store/store_backend.h"

struct arena;

#define PG_MAX_STMTS 256
#define PG_MAX_PARAMS 32
/* A message's bytes (prepend + raw, byte-exact) are rows of
 * message_chunks(message_id, seq 0.., data) of at most PG_CHUNK bytes:
 * written and read one chunk at a time, so a 20 MiB message is never one
 * value in memory. */
#define PG_CHUNK (1024 * 1024)

/* What a pipeline has sent and not yet read (store_pg_pipe.c). */
struct pg_pipe_item {
	const char *what;           /* for the failure's message */
	int64_t *out;               /* the first column of the first row goes here (NULL: none) */
	int prepare_slot;           /* >= 0: this is the Parse of that cache slot */
};
struct pg_pipe {
	struct pg_pipe_item *items; /* items[head..n) are unread */
	size_t head, n, cap;
	bool failed;                /* a statement failed: why, and the rest were skipped */
	struct pr_why why;
};

struct store {
	struct store_head head;        /* first: see store_backend.h */
	PGconn *conn;
	char *conninfo;
	int lock_timeout_ms;        /* how long a statement waits for a lock: then BUSY */
	int depth;                  /* open transactions (0 or 1) */
	char last_state[6];         /* SQLSTATE of the last failure ("" if none) */
	const char *cache[PG_MAX_STMTS];   /* statement i is prepared as "s<i>" */
	int ncache;
	bool prepared[PG_MAX_STMTS];
	bool queueing;              /* pg_queue sends without waiting (the group commit) */
	struct pg_pipe pipe;
};

/* This backend's implementation of every call of store.h. */
#define BACKEND_PREFIX(name) pg_store_##name
STORE_CALLS(STORE_DECLARE_BACKEND_CALL)
#undef BACKEND_PREFIX
extern const struct store_ops pg_store_ops;

/* Parameters of one statement: $1 is the first added.  Text is passed
 * as is (NULL is SQL NULL); integers as decimal text; bytes in binary
 * format (a bytea parameter).  The strings must outlive the call. */
struct pg_params {
	int n;
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	int fmt[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};
void pg_p_text(struct pg_params *p, const char *s);
void pg_p_int(struct pg_params *p, int64_t v);
void pg_p_bool(struct pg_params *p, bool v);           /* as 0 or 1 (INTEGER columns) */
void pg_p_bytes(struct pg_params *p, const void *b, size_t len);

/* Run sql with p (NULL: none), prepared once per connection.  The result
 * (rows or a command's status), or NULL with why (pg_fail).  PQclear it. */
PGresult *pg_run(struct store *st, const char *sql, const struct pg_params *p, const char *what,
                 struct pr_why *why);
/* Run a statement whose rows are not wanted: the number of rows it
 * changed (>= 0), or -1 with why. */
int64_t pg_do(struct store *st, const char *sql, const struct pg_params *p, const char *what,
              struct pr_why *why);
/* pg_do for an INSERT: a unique violation is PR_E_EXISTS with the text
 * exists_fmt makes, a foreign key violation PR_E_NOT_FOUND.  0 or -1. */
int pg_insert(struct store *st, const char *sql, const struct pg_params *p, struct pr_why *why,
              const char *exists_fmt, ...) __attribute__((format(printf, 5, 6)));
/* pg_insert for an INSERT ... RETURNING id: the new row's id in *id_r. */
int pg_insert_id(struct store *st, const char *sql, const struct pg_params *p, int64_t *id_r,
                 struct pr_why *why, const char *exists_fmt, ...) __attribute__((format(printf, 6, 7)));
/* Whether s can be a text value (valid UTF-8: a UTF8 database refuses
 * anything else, where SQLite keeps any bytes).  A lookup by a key that
 * is not finds nothing without asking; NULL is fine. */
bool pg_text_ok(const char *s);
/* A write of such text: -1 with PR_E_INVALID naming what ("domain"). */
int pg_not_text(const char *what, struct pr_why *why);
/* pg_do for a DELETE or UPDATE of one named thing: 0 if a row changed,
 * else -1 with PR_E_NOT_FOUND and the text missing_fmt makes. */
int pg_changed(struct store *st, const char *sql, const struct pg_params *p, const char *what,
               struct pr_why *why, const char *missing_fmt, ...) __attribute__((format(printf, 6, 7)));
/* The first column of the first row as an integer: 0 with *v, 1 no row, -1. */
int pg_int_of(struct store *st, const char *sql, const struct pg_params *p, int64_t *v,
              const char *what, struct pr_why *why);
/* 1 if the query returns a row, 0 if not, -1. */
int pg_exists(struct store *st, const char *sql, const struct pg_params *p, const char *what,
              struct pr_why *why);

/* Reads row `row` of r into the element at p. */
typedef void (*pg_read_fn)(struct arena *a, PGresult *r, int row, void *p);
/* Every row into a growing arena array of elem-sized items (*out, *n). */
int pg_collect(struct store *st, struct arena *a, const char *sql, const struct pg_params *p,
               size_t elem, pg_read_fn read, void *out, size_t *n, const char *what,
               struct pr_why *why);
/* The first row into out: 0 read, 1 none, -1. */
int pg_one(struct store *st, struct arena *a, const char *sql, const struct pg_params *p,
           pg_read_fn read, void *out, const char *what, struct pr_why *why);

/* Statements whose results can wait (store_pg_pipe.c).  While
 * st->queueing is set, pg_queue sends a statement in libpq's pipeline mode
 * and returns at once; its failure is reported by the next pg_pipe_sync,
 * which every statement run the ordinary way (pg_run, pg_commit) does
 * first, so statements always run in the order they are called.  Outside
 * st->queueing, pg_queue is pg_do.  0 or -1 (a failure to send). */
int pg_queue(struct store *st, const char *sql, const struct pg_params *p, const char *what,
             struct pr_why *why);
/* pg_queue of a statement returning a row: its first column is written to
 * *out when the result is read (left as it is if there is no row). */
int pg_queue_int(struct store *st, const char *sql, const struct pg_params *p, int64_t *out,
                 const char *what, struct pr_why *why);
/* Read every queued result and leave pipeline mode: 0, or -1 with the
 * first failure (mapped by pg_fail, with its statement's what). */
int pg_pipe_sync(struct store *st, struct pr_why *why);
void pg_pipe_free(struct store *st);
/* For store_pg_pipe.c (store_pg_util.c): the cache slot of sql (prepared
 * as "s<slot>"), and p's values as libpq takes them (*tmp freed after). */
int pg_slot(struct store *st, const char *sql, char name[16]);
const char *const *pg_values(const struct pg_params *p, struct arena **tmp);

/* Transactions.  pg_begin opens one (BEGIN); pg_rollback is safe to call
 * whatever happened (it ends the transaction if one is open). */
int pg_begin(struct store *st, struct pr_why *why);
int pg_commit(struct store *st, struct pr_why *why);
void pg_rollback(struct store *st);

/* Column values of a text-format result. */
const char *pg_text(struct arena *a, const PGresult *r, int row, int col);   /* NULL stays NULL */
const char *pg_str(struct arena *a, const PGresult *r, int row, int col);    /* NULL becomes "" */
int64_t pg_int(const PGresult *r, int row, int col);                          /* NULL is 0 */
/* A bytea column (text format, hex) as bytes in the arena; NULL is NULL. */
const uint8_t *pg_bytes(struct arena *a, const PGresult *r, int row, int col, size_t *len_r);

/* Map a failed result (or a NULL one: the connection) into why; -1. */
int pg_fail(struct store *st, const PGresult *r, const char *what, struct pr_why *why);

/* Set up a new connection's session (store_pg_util.c). */
int pg_connect_setup(struct store *st, struct pr_why *why);

/* The schema (store_pg_schema.c): bring it up to date under an advisory
 * lock (several nodes may start at once); refuse a newer one.  0 or -1. */
int pg_migrate(struct store *st, struct pr_why *why);

/* Shared by the area files (each in the file named). */
/* store_pg_dir.c: a user's id by name (0, 1 none with PR_E_NOT_FOUND "no user 'x'", -1). */
int pg_user_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why);
int pg_project_exists(struct store *st, const char *id, struct pr_why *why);
/* store_pg_session.c: end every console session of a user (caller's transaction). */
int pg_user_sessions_end(struct store *st, const char *name, struct pr_why *why);
/* store_pg_body.c: a new message's bytes as message_chunks rows (the commit's transaction). */
struct store_msg;
int pg_body_insert(struct store *st, const struct store_msg *m, struct pr_why *why);
/* store_pg_thread.c: a thread's places and participants, in the caller's transaction. */
struct store_msg;
int pg_thread_place_added(struct store *st, int64_t message_id, const char *kind, const char *target,
                          struct pr_why *why);
int pg_thread_places_removing(struct store *st, int64_t message_id, struct pr_why *why);
int pg_thread_people_add(struct store *st, struct arena *a, const struct store_msg *m,
                         struct pr_why *why);
/* store_pg_search.c: index a message just stored (caller's transaction),
 * and store_message_list with f->search. */
struct store_message_filter;
struct store_message_summary;
int pg_search_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why);
int pg_message_search(struct store *st, struct arena *a, const struct store_message_filter *f,
                      struct store_message_summary **out, size_t *n, struct pr_why *why);
/* store_pg_log.c: one intake-log row (the commit's too). */
struct store_log_entry;
int pg_log_insert(struct store *st, const struct store_log_entry *e, int64_t *id_r,
                  struct pr_why *why);
/* store_pg_pop3.c: inside the caller's transaction. */
struct store_pop3_mark;
int pg_pop3_record(struct store *st, const char *mailbox, const struct store_pop3_mark *mk,
                   struct pr_why *why);
/* The id of a message stored from these bytes of mailbox, written to *id_r
 * (left as it is if none) at once, or in the group commit when its answer
 * is read (pg_queue_int).  0 or -1. */
int pg_pop3_stored_id(struct store *st, const char *mailbox, const char *sha256_hex, int64_t *id_r,
                      struct pr_why *why);
/* store_pg_copy.c: the group commit's duplicates.  pg_copy_lock takes the
 * batch's Message-ID locks; pg_copy_find queues m's lookups into l, read at
 * the next sync; pg_copy_of is then the earlier copy's id (0: m is new);
 * pg_copy_look_again says msgs[i] must be looked up again once the
 * messages before it are written (one of them may be its copy). */
struct pg_look {
	int64_t pop3, msgid;   /* what each lookup found (0: nothing) */
};
int pg_copy_lock(struct store *st, struct arena *a, struct store_msg **msgs, size_t n,
                 struct pr_why *why);
int pg_copy_find(struct store *st, struct arena *a, const struct store_msg *m, struct pg_look *l,
                 struct pr_why *why);
int64_t pg_copy_of(const struct pg_look *l);
bool pg_copy_look_again(struct arena *a, struct store_msg **msgs, const struct pg_look *look,
                        size_t i);
/* store_pg_outbound.c: the queue row of a message we send (commit's transaction). */
int pg_outbound_insert(struct store *st, struct store_msg *m, struct pr_why *why);
/* store_pg_webhook.c: delivery rows for a new placement (caller's transaction). */
int pg_webhook_placed(struct store *st, int64_t message_id, const char *kind, const char *target,
                      struct pr_why *why);

#endif
