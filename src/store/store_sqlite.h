/* store_sqlite.h - what the SQLite backend's files share (private).
 *
 * struct store is one SQLite connection plus a cache of prepared
 * statements keyed by the address of their SQL text (each statement is a
 * static string in the file that uses it), so a hot statement is prepared
 * once per connection and then only reset.  The sq_* helpers below live
 * in store_sqlite_stmt.c unless their comment says otherwise.
 */
#ifndef PR_STORE_SQLITE_H
#define PR_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "store/store_backend.h"

struct arena;

/* Every distinct statement a connection has run stays prepared.  The
 * store files hold about 120 (and grow): a long-lived connection that
 * serves every area -- an HTTP worker -- prepares them all, and the
 * 97th used to be a panic. */
#define SQ_MAX_STMTS 256

struct sq_cached {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct store {
	struct store_head head;        /* first: see store_backend.h */
	sqlite3 *db;
	char *path;
	char *bodies;               /* <path>.bodies, once needed (store_sqlite_body.c) */
	int bodies_fd;              /* that directory, open for writers; -1 */
	struct sq_cached cache[SQ_MAX_STMTS];
	int ncache;
	bool reads_open;            /* inside store_reads_begin/end */
	bool importing;             /* between store_port_begin(import) and its end */
	struct sq_terms *terms;     /* the search tokenizer, once a worker needs it */
	struct sq_held *held;       /* search entries for a later group (store_sqlite_held.c) */
	size_t hold_max;            /* store_search_hold: 0, index in each group */
	bool hold_more;
};

/* This backend's implementation of every call of store.h (store.c
 * forwards to them through sqlite_store_ops). */
#define BACKEND_PREFIX(name) sqlite_store_##name
STORE_CALLS(STORE_DECLARE_BACKEND_CALL)
#undef BACKEND_PREFIX
extern const struct store_ops sqlite_store_ops;

/* How many schema migrations this binary has (store_sqlite.c): the
 * newest PRAGMA user_version it knows. */
int sq_migrations_known(void);

/* The cached statement for sql (prepared on first use), or NULL with why. */
sqlite3_stmt *sq_prep(struct store *st, const char *sql, struct pr_why *why);
/* The SQL text of the i-th statement this connection has prepared and
 * cached, or NULL past the last: lets a test explain every statement a
 * workload ran (tests/unit/test-store-plan.c). */
const char *sq_cached_sql(const struct store *st, int i);
/* Reset and unbind after use, so the statement holds no read lock. */
void sq_done(sqlite3_stmt *s);
/* Classify an SQLite failure into why: busy/locked -> PR_E_STORE_BUSY,
 * else PR_E_STORE_FAILED.  Always returns -1. */
int sq_fail(struct store *st, int rc, const char *what, struct pr_why *why);
/* Step a statement that returns no rows; 0 or -1 with why. */
int sq_step_done(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why);
int sq_exec(struct store *st, const char *sql, struct pr_why *why);
int sq_begin(struct store *st, struct pr_why *why);      /* BEGIN IMMEDIATE */
int sq_commit(struct store *st, struct pr_why *why);
void sq_rollback(struct store *st);

void sq_bind_text(sqlite3_stmt *s, int i, const char *v);   /* NULL binds NULL */
/* Column as an arena string; NULL stays NULL. */
const char *sq_col_text(struct arena *a, sqlite3_stmt *s, int col);
/* Column as an arena string; NULL becomes "". */
const char *sq_col_str(struct arena *a, sqlite3_stmt *s, int col);
/* messages.sha256: a digest is bound as its 32 bytes (half of its hex);
 * read back as hex, as are the hex digits rows written before hold.
 * Anything but 64 hex digits is bound as the text it is. */
#define SQ_DIGEST_LEN 32
void sq_bind_digest(sqlite3_stmt *s, int i, const char *hex);
const char *sq_col_digest(struct arena *a, sqlite3_stmt *s, int col);

/* Grow an arena array of elem-sized items to hold n+1; returns the array. */
void *sq_grow(struct arena *a, void *arr, size_t n, size_t *cap, size_t elem);
/* The cached statement for sql with ?1 bound to key (the one-name lookup
 * most directory calls make), or NULL with why. */
sqlite3_stmt *sq_prep_key(struct store *st, const char *sql, const char *key, struct pr_why *why);
/* The same with ?1 and ?2 bound (the two-key lookups). */
sqlite3_stmt *sq_prep_keys(struct store *st, const char *sql, const char *k1, const char *k2,
                           struct pr_why *why);
/* Step an INSERT; a UNIQUE/PRIMARY KEY clash is PR_E_EXISTS with the text
 * exists_fmt makes (only formatted on a clash), a foreign key failure
 * PR_E_NOT_FOUND. */
int sq_step_insert(struct store *st, sqlite3_stmt *s, struct pr_why *why, const char *exists_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Step a DELETE or UPDATE of one named thing: 0 if a row changed, else
 * -1 with PR_E_NOT_FOUND and the text missing_fmt makes. */
int sq_step_changed(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why,
                    const char *missing_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Step a query once and only ask whether it found a row: 1 yes, 0 no, -1. */
int sq_exists(struct store *st, sqlite3_stmt *s, const char *what, struct pr_why *why);
/* Insert a link row: ?1 the text key (project, alias), ?2 an id. */
int sq_link(struct store *st, const char *sql, const char *key, int64_t id, const char *what,
            struct pr_why *why);

/* Reads one row into the element at p. */
typedef void (*sq_read_fn)(struct arena *a, sqlite3_stmt *s, void *p);
/* An sq_read_fn for one integer column (an id): into *(int64_t *)p. */
void sq_read_int64(struct arena *a, sqlite3_stmt *s, void *p);
/* Step a prepared, bound query to the end, reading every row into a
 * growing arena array of elem-sized items.  0 or -1 with why. */
int sq_collect(struct store *st, struct arena *a, sqlite3_stmt *s, size_t elem, sq_read_fn read,
               void *out, size_t *n, const char *what, struct pr_why *why);
/* Step a prepared, bound query once: 0 row read into out, 1 none, -1. */
int sq_one(struct store *st, struct arena *a, sqlite3_stmt *s, sq_read_fn read, void *out,
           const char *what, struct pr_why *why);
/* sq_collect over sql, which takes no parameters (the "list all" calls). */
int sq_list(struct store *st, struct arena *a, const char *sql, size_t elem, sq_read_fn read,
            void *out, size_t *n, const char *what, struct pr_why *why);
/* sq_one over sql with ?1 bound to key (the "get one by name" calls). */
int sq_get(struct store *st, struct arena *a, const char *sql, const char *key, sq_read_fn read,
           void *out, const char *what, struct pr_why *why);

/* Look up an id by name (store_sqlite_dir.c); 0 found, 1 none (why set
 * to PR_E_NOT_FOUND with the text "no <kind> '<name>'"), -1 error. */
int sq_user_id(struct store *st, const char *name, int64_t *id_r, struct pr_why *why);
int sq_project_exists(struct store *st, const char *id, struct pr_why *why);
/* End every console session of a user, inside the caller's transaction
 * (store_sqlite_session.c). */
int sq_user_sessions_end(struct store *st, const char *name, struct pr_why *why);

/* Listing messages (store_sqlite_read.c): the summary columns (read by
 * sq_read_summary into a struct store_message_summary), a filter on
 * messages m by ?1 project, ?2 user, ?3 unassigned, ?4 fallback and ?6
 * stakeholder, and its binding (with ?5 the limit and ?7 before). */
#define SQ_SUMMARY_COLS "SELECT m.id, m.received_at, m.from_addr, m.subject, m.message_id, m.size," \
	" (SELECT group_concat(CASE WHEN target = '' THEN kind ELSE kind || ':' || target END, ',')" \
	"  FROM placements WHERE message_id = m.id), m.unreadable "
/* The search index's insert (store_sqlite_search.c, and imports): the
 * text goes into its first column, the one named "subject".  FTS5 writes
 * a column marker (2 bytes) before the positions of each word of any
 * other column, so the long text costs least there: 987 instead of 1,442
 * bytes a message on bench/growth's texts.  The names are migration 11's,
 * and a contentless table cannot be rebuilt from itself; no query names a
 * column (a search's words match any), so rows written either way are
 * found alike.  Parameters: ?1 rowid, ?2 the text, ?3 addresses, ?4 the
 * subject. */
#define SQ_SEARCH_INSERT "INSERT INTO message_terms(rowid, text, addresses, subject)"
#define SQ_MESSAGE_FILTER \
	" (?1 IS NULL OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id AND kind = 'project' AND target = ?1))" \
	" AND (?2 IS NULL OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id AND kind = 'user' AND target = ?2))" \
	" AND (?3 = 0 OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id AND kind = 'unassigned'))" \
	" AND (?4 = 0 OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id AND kind = 'fallback'))" \
	" AND (?6 IS NULL OR EXISTS (SELECT 1 FROM people WHERE message_id = m.id AND stakeholder_name = ?6))"
struct store_message_filter;
void sq_read_summary(struct arena *a, sqlite3_stmt *s, void *p);
void sq_bind_message_filter(sqlite3_stmt *s, const struct store_message_filter *f);
/* Full-text search (store_sqlite_search.c): store_message_list with
 * f->search; and indexing a message just stored, in the commit. */
struct store_message_summary;
int sq_message_search(struct store *st, struct arena *a, const struct store_message_filter *f,
                      struct store_message_summary **out, size_t *n, struct pr_why *why);
struct store_msg;
int sq_search_add(struct store *st, struct arena *a, const struct store_msg *m, struct pr_why *why);
struct sq_doc;
int sq_search_insert(struct store *st, int64_t id, const struct sq_doc *d, struct pr_why *why);
/* Held search entries (store_sqlite_held.c), around a group commit:
 * begin, add each new message (when active), write before COMMIT, end. */
bool sq_held_active(const struct store *st);
void sq_held_group_begin(struct store *st);
void sq_held_add(struct store *st, struct arena *a, const struct store_msg *m);
int sq_held_group_write(struct store *st, struct pr_why *why);
void sq_held_group_end(struct store *st, bool committed);
size_t sq_held_count(const struct store *st);
void sq_held_free(struct store *st);
/* What message_terms indexes of a message, column by column (text,
 * addresses, subject): as text (sq_search_doc), or as term lists made on
 * the worker (sq_search_terms, kept by store_body_put; false if they
 * could not be made, and the commit indexes the text). */
struct sq_doc {
	const char *col[3];
	size_t len[3];
};
void sq_search_doc(struct arena *a, const struct store_msg *m, struct sq_doc *d);
bool sq_search_terms(struct store *st, struct arena *a, const struct store_msg *m, struct sq_doc *d);
const struct sq_doc *sq_body_terms(const struct store_msg *m);
/* What message_terms gets for m: the worker's term lists, else its text
 * (made in text, in a's memory). */
const struct sq_doc *sq_search_doc_of(struct arena *a, const struct store_msg *m, struct sq_doc *text);
/* The search index's tokenizer (store_sqlite_terms.c), registered as
 * "postroom" on a connection before it touches message_terms; and the
 * terms it makes of text (words, and "word word" for two words joined by
 * punctuation), each passed to emit as FTS5 passes tokens.  SQLite codes. */
int sq_terms_register(sqlite3 *db);
int sq_terms_split(sqlite3 *db, const char *text, size_t len,
                   int (*emit)(void *ctx, int flags, const char *term, int n, int start, int end), void *ctx);
/* A document's terms made ahead of its commit (on the intake worker):
 * SQ_TERMS_MARK, then each distinct term and a newline, in the arena
 * (*n_r bytes, NUL after them); NULL if it cannot be made (no memory,
 * too long): index the text itself then.  Bound as the document, the
 * tokenizer only splits it.  One sq_terms a connection, for its thread. */
#define SQ_TERMS_MARK '\x01'
struct sq_terms;
struct sq_terms *sq_terms_new(sqlite3 *db);
void sq_terms_free(struct sq_terms **t);
const char *sq_terms_list(struct sq_terms *t, struct arena *a, const char *text, size_t len, size_t *n_r);
/* The 8-byte key messages.msgid_key holds for a stored Message-ID (as
 * store_msgid gives it), and postroom_msgid_key() registered for SQL
 * (store_sqlite_msgid.c).  SQLite codes. */
int64_t sq_msgid_key(const char *msgid);
int sq_msgid_key_register(sqlite3 *db);


/* A thread's places and participants, kept in the caller's transaction
 * (store_sqlite_thread.c).  place_added: message_id got a placement row it
 * did not have; places_removing: its placement rows are about to be
 * deleted; people_add: m (just stored) names its participants. */
struct store_msg;
int sq_thread_place_added(struct store *st, int64_t message_id, const char *kind, const char *target,
                          struct pr_why *why);
int sq_thread_places_removing(struct store *st, int64_t message_id, struct pr_why *why);
int sq_thread_people_add(struct store *st, struct arena *a, const struct store_msg *m,
                         struct pr_why *why);
/* Message bodies kept as files (store_sqlite_body.c).  Inside the
 * commit's transaction: the row naming m->body for message m->id_r. */
int sq_body_link(struct store *st, const struct store_msg *m, struct pr_why *why);
/* Whether m's body is a file (then sq_body_link), and the bytes the
 * worker packed for message_raw (NULL: pack them now). */
bool sq_body_is_file(const struct store_msg *m);
const struct sq_packed *sq_body_packed(const struct store_msg *m);
/* The JSON columns and References the worker packed (NULL: pack them
 * at the bind). */
const struct sq_ztext *sq_body_parsed_json(const struct store_msg *m);
const struct sq_ztext *sq_body_auth_json(const struct store_msg *m);
const struct sq_ztext *sq_body_references(const struct store_msg *m);
/* Before the transaction that links them: make the names of the bodies
 * among msgs durable (one sync of the directory for all of them; none
 * when no message has a body).  0, or -1 with why (PR_E_IO). */
int sq_bodies_sync(struct store *st, struct store_msg *const *msgs, size_t n, struct pr_why *why);
/* The stored bytes of message id if they are in a body file: 0 with
 * prepend + file in the arena, 1 none (they are in message_raw), -1. */
int sq_body_read(struct store *st, struct arena *a, int64_t id, const uint8_t **raw_r,
                 size_t *len_r, struct pr_why *why);
/* The same, written to out in chunks: 0, 1 none, -1. */
int sq_body_write(struct store *st, int64_t id, FILE *out, struct pr_why *why);

/* Stored bytes, JSON and References, packed (store_sqlite_zraw.c).  Up to
 * SQ_BIND_MAX a message is bound as one blob, packed when that saves a
 * tenth; above it, it is streamed into the blob in chunks, plain.  New
 * rows are zstd (SQ_RAW_ZSTD1, SQ_TEXT_ZSTD1); the deflate codecs are
 * what earlier versions wrote, read still. */
#define SQ_BIND_MAX (256 * 1024)
enum { SQ_RAW_PLAIN = 0, SQ_RAW_DEFLATE = 1, SQ_RAW_DICT1 = 2, SQ_RAW_ZSTD1 = 3 };
/* The first byte of a packed text column's blob (JSON, References). */
#define SQ_TEXT_DICT1 1
#define SQ_TEXT_ZSTD1 2
/* The preset dictionaries (store_sqlite_zdict.c); never edited. */
enum sq_zdict_id { SQ_ZDICT_RAW1 = 1, SQ_ZDICT_JSON1 = 2 };
const void *sq_zdict(enum sq_zdict_id id, size_t *len_r);
/* zstd with dictionary d (store_sqlite_zstd.c): in packed after `header`
 * bytes left for the caller, malloc'd, or NULL if that would not save a
 * tenth of len (or len > SQ_BIND_MAX); and exactly len bytes back from a
 * frame, false if it does not hold exactly that. */
uint8_t *sq_zstd_pack(const uint8_t *in, size_t len, enum sq_zdict_id d, size_t header, size_t *zlen_r);
bool sq_zstd_unpack(const void *z, size_t zlen, enum sq_zdict_id d, uint8_t *out, size_t len);
/* The len bytes a message_raw blob of this codec holds, in the arena; -1
 * with why (PR_E_STORE_FAILED) if they are not exactly len. */
int sq_inflate(struct arena *a, int codec, const void *z, size_t zlen, size_t len, uint8_t **out_r,
               struct pr_why *why);
/* message_raw's blob for m (prepend + spool, up to SQ_BIND_MAX bytes):
 * malloc'd bytes, deflated when that saves a tenth. */
struct sq_packed {
	uint8_t *bytes;
	size_t len;
	int codec;                   /* SQ_RAW_* */
};
int sq_raw_pack(const struct store_msg *m, struct sq_packed *p, struct pr_why *why);
/* A text column's value: tried, and bytes (malloc'd) the blob to store,
 * or NULL to store the text as it is. */
struct sq_ztext {
	uint8_t *bytes;
	size_t len;
	bool tried;
};
void sq_text_pack(const char *text, struct sq_ztext *out);
/* Bind text to parameter i as packed (NULL or not tried: pack it now). */
void sq_bind_ztext(sqlite3_stmt *s, int i, const char *text, const struct sq_ztext *packed);
/* The text a packed blob holds, in the arena; NULL if it is damaged. */
const char *sq_text_unpack(struct arena *a, const void *blob, size_t n);
/* A text column as text, unpacked if it is a blob (NULL, logged, if the
 * blob is damaged). */
const char *sq_col_ztext(struct arena *a, sqlite3_stmt *s, int col);

/* Insert one intake-log row (store_sqlite_log.c); used by the commit too. */
struct store_log_entry;
int sq_log_insert(struct store *st, const struct store_log_entry *e, int64_t *id_r,
                  struct pr_why *why);

/* Insert or refresh one pop3_collected row inside the caller's
 * transaction (store_sqlite_pop3.c). */
struct store_pop3_mark;
int sq_pop3_record(struct store *st, const char *mailbox, const struct store_pop3_mark *mk,
                   struct pr_why *why);
/* The stored message these bytes were collected as from this mailbox:
 * 0 found (*id_r), 1 none, -1.  Read inside the commit transaction, so
 * two rounds collecting the same mailbox at once store it once. */
int sq_pop3_stored_id(struct store *st, const char *mailbox, const char *sha256_hex, int64_t *id_r,
                      struct pr_why *why);

/* Insert the queue row and recipients of a message we send, inside the
 * commit's transaction, once the message has its id (store_sqlite_outbound.c). */
struct store_msg;
int sq_outbound_insert(struct store *st, struct store_msg *m, struct pr_why *why);
/* One queue row by id without recipients (0 found, 1 none), and the
 * recipients of a row (all, or only those still queued). */
struct store_outbound;
int sq_outbound_row(struct store *st, struct arena *a, int64_t id, struct store_outbound *out,
                    struct pr_why *why);
int sq_outbound_rcpts(struct store *st, struct arena *a, struct store_outbound *o, bool queued_only,
                      struct pr_why *why);

/* Webhooks (store_sqlite_webhook.c): inside the caller's transaction,
 * after message_id got a new placement, a delivery row for each active
 * webhook that wants it. */
int sq_webhook_placed(struct store *st, int64_t message_id, const char *kind, const char *target,
                      struct pr_why *why);
/* One delivery row by id (0 found, 1 none); the columns WH_COLS selects,
 * read by sq_webhook_read (store_sqlite_webhook.c). */
struct store_webhook_delivery;
#define WH_COLS "d.id, d.webhook_id, w.url, d.project, d.seq, d.event, d.state, d.attempts," \
	" d.created_at, d.next_attempt_at, coalesce(d.delivered_at, 0), d.retry_from," \
	" coalesce(d.last_status, 0), d.last_error, d.lease_owner, d.lease_until, d.lease," \
	" coalesce(json_extract(d.event, '$.message.id'), 0)" \
	" FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
void sq_webhook_read(struct arena *a, sqlite3_stmt *s, void *p);
int sq_webhook_row(struct store *st, struct arena *a, int64_t id, struct store_webhook_delivery *out,
                   struct pr_why *why);

#endif
