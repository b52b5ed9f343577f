/* store.h - the one interface to durable state.
 *
 * Everything postroom keeps -- the directory (users, projects, aliases,
 * domains, stakeholders), settings, messages with their placements, and the
 * intake log -- goes through these calls.  The SQLite backend is the
 * embedded default; a PostgreSQL backend will implement the same calls, so
 * nothing above this header may mention SQL.
 *
 * Threads: a struct store is one connection; use it from one thread at a
 * time.  Each thread that needs the store opens its own (same URI); SQLite
 * WAL lets readers run beside the single writer.
 *
 * Memory: lists and records are allocated in the arena the caller passes
 * and live as long as it.  Errors: -1 with why set; a busy or failing
 * store is PR_E_STORE_BUSY / PR_E_STORE_FAILED (temporary, 4xx), a missing
 * item PR_E_NOT_FOUND, a duplicate PR_E_EXISTS, bad input PR_E_INVALID.
 */
#ifndef PR_STORE_H
#define PR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/err.h"
#include "route/route.h"

struct arena;
struct spool;
struct store;
struct store_outbound_new;
struct store_body;

/* uri: "sqlite:PATH" (creates the file and schema) or a libpq URI
 * "postgres://..." / "postgresql://..." (several hosts allowed: see the
 * README).  Either way the schema is brought up to date, and a store
 * whose schema is newer than this binary is refused. */
struct store *store_open(const char *uri, struct pr_why *why);
void store_close(struct store **st);
/* "sqlite" or "postgres". */
const char *store_backend_name(const struct store *st);
/* How long a writer waits for the lock before PR_E_STORE_BUSY (default 5 s). */
void store_set_busy_timeout(struct store *st, int ms);
/* How much of the store this connection may keep in its own memory, in
 * KiB (SQLite's page cache; PostgreSQL caches on the server: nothing). */
void store_set_cache(struct store *st, int kib);
/* Several reads follow, and no write until store_reads_end: a backend may
 * serve them from one snapshot.  SQLite does (one read transaction):
 * otherwise each SELECT is a transaction of its own, and each one that
 * starts after another connection's commit -- the intake committer's,
 * hundreds a second -- discards this connection's page cache and reads
 * its pages again.  PostgreSQL: nothing (a BEGIN would cost round trips).
 * Not nested; a failed begin only loses the sharing. */
void store_reads_begin(struct store *st);
void store_reads_end(struct store *st);
/* True if the directory is empty (no users, no projects): seed it. */
int store_is_empty(struct store *st, bool *empty_r, struct pr_why *why);

/* ---- directory ---- */
struct store_user {
	int64_t id;
	const char *name;
	const char *display;
	bool active;
	bool admin;                 /* may administer postroom from the console */
	bool has_password;          /* a console password is set (never the hash) */
	const char **emails;
	size_t nemails;
};
struct store_project {
	const char *id;
	const char *name;
	const char **members;       /* user names */
	size_t nmembers;
	const char **stakeholders;  /* stakeholder names */
	size_t nstakeholders;
};
struct store_alias {
	const char *address;
	const char **users;
	size_t nusers;
};
struct store_stakeholder {
	int64_t id;
	const char *name;
	const char **emails;
	size_t nemails;
};

int store_user_add(struct store *st, const char *name, const char *display,
                   const char *const *emails, size_t nemails, struct pr_why *why);
int store_user_remove(struct store *st, const char *name, struct pr_why *why);
/* An inactive user keeps their addresses and memberships but may not
 * send into postroom (user_inactive) until enabled again, nor sign in to
 * the console: disabling ends their console sessions. */
int store_user_set_active(struct store *st, const char *name, bool active, struct pr_why *why);
int store_user_list(struct store *st, struct arena *a, struct store_user **out, size_t *n,
                    struct pr_why *why);
/* Find the user owning an address (case-insensitive).  0 found, 1 none. */
int store_user_by_email(struct store *st, struct arena *a, const char *email,
                        struct store_user *out, struct pr_why *why);
int store_user_get(struct store *st, struct arena *a, const char *name,
                   struct store_user *out, struct pr_why *why);

int store_project_add(struct store *st, const char *id, const char *name, struct pr_why *why);
int store_project_list(struct store *st, struct arena *a, struct store_project **out, size_t *n,
                       struct pr_why *why);
/* 0 found, 1 none. */
int store_project_get(struct store *st, struct arena *a, const char *id,
                      struct store_project *out, struct pr_why *why);
/* As store_project_get, without reading the project's members and
 * stakeholders: 0 there is such a project, 1 none (why says so).  What
 * intake asks for every recipient; a project's people grow with it. */
int store_project_exists(struct store *st, const char *id, struct pr_why *why);
int store_project_grant(struct store *st, const char *id, const char *user, struct pr_why *why);
int store_project_revoke(struct store *st, const char *id, const char *user, struct pr_why *why);
/* 1 member, 0 not, -1 error. */
int store_project_is_member(struct store *st, const char *id, const char *user, struct pr_why *why);

int store_alias_add(struct store *st, const char *address, const char *const *users, size_t nusers,
                    struct pr_why *why);
int store_alias_remove(struct store *st, const char *address, struct pr_why *why);
int store_alias_list(struct store *st, struct arena *a, struct store_alias **out, size_t *n,
                     struct pr_why *why);
/* 0 found, 1 none. */
int store_alias_get(struct store *st, struct arena *a, const char *address,
                    struct store_alias *out, struct pr_why *why);

int store_domain_add(struct store *st, const char *domain, struct pr_why *why);
int store_domain_remove(struct store *st, const char *domain, struct pr_why *why);
int store_domain_list(struct store *st, struct arena *a, const char ***out, size_t *n,
                      struct pr_why *why);
/* The domain added first (project addresses are formed with it): 0 with
 * *out, 1 when no domain is served. */
int store_domain_first(struct store *st, struct arena *a, const char **out, struct pr_why *why);
/* 1 served, 0 not, -1 error. */
int store_domain_served(struct store *st, const char *domain, struct pr_why *why);

int store_stakeholder_add(struct store *st, const char *name, const char *const *emails, size_t n,
                          struct pr_why *why);
int store_stakeholder_list(struct store *st, struct arena *a, struct store_stakeholder **out,
                           size_t *n, struct pr_why *why);
/* 0 found, 1 none. */
int store_stakeholder_by_email(struct store *st, struct arena *a, const char *email,
                               struct store_stakeholder *out, struct pr_why *why);
/* 0 found, 1 none. */
int store_stakeholder_get(struct store *st, struct arena *a, const char *name,
                          struct store_stakeholder *out, struct pr_why *why);
int store_project_add_stakeholder(struct store *st, const char *project, const char *name,
                                  struct pr_why *why);

/* ---- settings (values set with `settings set`; see core/settings.h) ---- */
struct store_setting { const char *key, *value; };
int store_settings_load(struct store *st, struct arena *a, struct store_setting **out, size_t *n,
                        struct pr_why *why);
/* Store one value; bumps the settings version in the same transaction. */
int store_setting_put(struct store *st, const char *key, const char *value, struct pr_why *why);
/* Store n values in one transaction, all or none, bumping the version
 * once.  expect_version >= 0: only if the version is still that (the
 * values the change was judged against are still the stored ones), else
 * nothing is stored and 1 is returned; -1: whatever it is.  0 stored, 1,
 * or -1 with why. */
int store_settings_put(struct store *st, const struct store_setting *kv, size_t n, int64_t expect_version,
                       struct pr_why *why);
/* A number that changes whenever a setting is stored (by any process or
 * node sharing the store).  One indexed read: cheap enough to poll. */
int store_settings_version(struct store *st, int64_t *version_r, struct pr_why *why);

/* ---- messages ---- */
struct store_placement {
	enum route_kind kind;
	const char *target;         /* project id, user name, or "" */
	const char *via;            /* recipient address that led here */
};

/* A person named in From/To/Cc, resolved against the directory. */
struct store_person {
	const char *address;
	const char *role;           /* "from", "to", "cc" */
	const char *user;           /* user name, or NULL */
	const char *stakeholder;    /* stakeholder name, or NULL */
};

/* Fill p->user or p->stakeholder from p->address (whose address it is);
 * both stay NULL for a stranger or when the store cannot say. */
void store_person_resolve(struct store *st, struct arena *a, struct store_person *p);

/* Everything to commit for one accepted message.  Built by intake/. */
struct store_msg {
	/* envelope */
	const char *source;         /* "smtp" or "pop3" */
	time_t received_at;
	const char *peer_ip, *helo, *mail_from;
	const char *const *rcpts;
	size_t nrcpts;
	/* bytes: prepend (our Received:, Authentication-Results:) + raw */
	const char *prepend;
	struct spool *raw;
	struct store_body *body;    /* set by store_body_put: bytes prepared before the commit */
	/* parsed (from mime/), all may be NULL */
	const char *message_id, *in_reply_to, *references;
	const char *subject, *from_addr, *date;
	const char *parsed_json;    /* mime/ JSON: bodies, parts, attachments */
	const char *search_text;    /* the text to index for search (its first
	                             * STORE_SEARCH_TEXT_MAX bytes are), or NULL */
	const char *auth_json;      /* auth/ results as JSON */
	bool unreadable;
	bool auto_reply;
	int64_t thread_id;          /* 0: start a new thread */
	const struct store_placement *placements;
	size_t nplacements;
	const struct store_person *people;
	size_t npeople;
	/* stakeholders to create and attach: {project, address} pairs */
	const char *const *new_stakeholders;   /* "project\taddress" */
	size_t nnew_stakeholders;
	/* A message we send (`postroom send`): its outbound queue row, written
	 * in the same transaction (see store_outbound_enqueue); NULL for mail
	 * received.  Such a message is never judged a duplicate and writes no
	 * intake-log row. */
	const struct store_outbound_new *outbound;
	int64_t outbound_id_r;      /* filled: the queue row's id */
	/* POP3: the mailbox ("server user") and UIDL it was collected from,
	 * recorded as collected in the same transaction; NULL for SMTP */
	const char *pop3_mailbox, *pop3_uidl;
	/* Webhooks exist: each new placement gets a delivery row per matching
	 * webhook in this transaction (store_webhook_placed).  The committer
	 * caches whether any webhook exists, so intake without webhooks does
	 * no webhook work at all. */
	bool webhooks;
	/* the intake log row written in the same transaction */
	const char *verdict;        /* "accepted" */
	enum pr_err reason;
	const char *detail;
	/* filled by store_commit_batch */
	int64_t id_r, log_id_r;
	bool duplicate_r;           /* an earlier copy was stored: id_r is its id */
};

/* One transaction, one fsync, for the whole batch: this is the group
 * commit.  On failure nothing of the batch is stored.
 *
 * Duplicates are judged inside the transaction, by the writer, so two
 * copies in flight at the same moment (or in the same batch) cannot both
 * be filed: a readable message whose Message-ID and bytes match a stored
 * one is not stored again; only the placements the earlier copy lacked
 * are added (a resend to other recipients reaches them) and the attempt
 * is logged as `duplicate`. */
int store_commit_batch(struct store *st, struct store_msg **msgs, size_t n, struct pr_why *why);
/* The same, with intake-log rows of attempts that were not accepted in
 * the same transaction: the intake's committer is the one writer of the
 * intake log, and refusals share the fsync of the messages. */
struct store_log_entry;
int store_commit_group(struct store *st, struct store_msg **msgs, size_t n,
                       const struct store_log_entry *const *log, size_t nlog, struct pr_why *why);
/* Search entries written with a later group (SQLite; PostgreSQL indexes
 * each message in its own group and ignores these).  FTS5 pays for every
 * commit that adds to its index about as much for four messages as for a
 * hundred (store_sqlite_held.c), so the intake's committer says before
 * each group whether more messages are on their way: with more_coming and
 * max > 0, the group's entries are held, up to max messages, and written
 * by the first group committed without more_coming (or that fills the
 * batch).  search_flush writes the held entries now, in their own
 * transaction (before closing the store).  search_unindexed lists the
 * messages among the newest `newest` ids the index lacks (held entries a
 * crash lost: at most max a process), oldest first, in a's memory; each is
 * indexed again with store_import_search. */
void store_search_hold(struct store *st, size_t max, bool more_coming);
int store_search_flush(struct store *st, struct pr_why *why);
int store_search_unindexed(struct store *st, struct arena *a, size_t newest, int64_t **ids_r,
                           size_t *n_r, struct pr_why *why);

/* ---- message bodies stored apart from the commit ----
 * A large message's bytes are made durable on their own before the group
 * commit, on the worker thread that prepared the message, so the commit
 * only records a reference: the bytes are written once, and a 20 MiB
 * message does not hold the one writer (and every message queued behind
 * it) while they are written.  Small messages go into the commit, where
 * they are cheaper.  A body no commit took is removed when its message is
 * freed; one left behind by a crash (never acknowledged: 250 follows the
 * commit) is an orphan that no read can reach and store_body_sweep
 * removes. */

/* Called by the intake worker, outside the commit: prepare m's bytes so
 * the commit only has to name or bind them (m->body).  A large m's bytes
 * are made durable now in a file of their own, which the commit then
 * links (making its name durable first, one directory sync for all the
 * bodies of a group commit); a backend may also pack a short message's
 * bytes here (SQLite deflates them), or leave m->body NULL.  a is the message's arena:
 * freeing it removes the body unless a commit took (or may have taken)
 * it.  0, or -1 with why (PR_E_IO: a temporary local fault). */
int store_body_put(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why);
/* Remove the bodies no stored message refers to, except those another
 * running process may still commit and, of this process's own, those
 * made since `live_since` (the oldest message it still has in flight).
 * *removed_r counts them.  0, or -1 with why. */
int store_body_sweep(struct store *st, time_t live_since, int64_t *removed_r, struct pr_why *why);

/* 0 found (id and thread in *_r), 1 none: a stored message with that
 * Message-ID header (threading and duplicate detection). */
int store_message_by_msgid(struct store *st, const char *msgid, int64_t *id_r, int64_t *thread_r,
                           struct pr_why *why);
/* 0 found (its id in *id_r), 1 none: a stored message with that
 * Message-ID and SHA-256 of its bytes (a duplicate). */
int store_message_find_duplicate(struct store *st, const char *msgid, const char *sha256_hex,
                                 int64_t *id_r, struct pr_why *why);
/* Places where messages of a thread live (so a reply lands there too). */
int store_thread_placements(struct store *st, struct arena *a, int64_t thread_id,
                            struct store_placement **out, size_t *n, struct pr_why *why);
/* A project's threads, newest activity first (the latest message filed
 * in the project), a page of limit (0: 50) whose latest message is below
 * before (0: from the newest); the next page's before is the last row's
 * last_id.  A thread that gets a message while a client pages moves to
 * the top (it is not seen twice, but it may be missed by that walk). */
#define STORE_THREAD_PEOPLE 20
struct store_thread_summary {
	int64_t thread_id;
	int64_t last_id;            /* the thread's latest message in the project */
	int64_t messages;           /* how many of its messages are in the project */
	const char *subject;        /* of its first message; may be NULL */
	time_t last_at;             /* when last_id was received */
	const char **participants;  /* addresses, at most STORE_THREAD_PEOPLE */
	size_t nparticipants;
};
int store_project_threads(struct store *st, struct arena *a, const char *project, size_t limit,
                          int64_t before, struct store_thread_summary **out, size_t *n,
                          struct pr_why *why);
/* How much of a message's text is indexed for search: enough for any
 * letter or note; the rest of a longer text is not searchable. */
#define STORE_SEARCH_TEXT_MAX (128 * 1024)
/* 1 if addr appeared in From/To/Cc of any message of the thread that is
 * not automatic (auto_reply): an auto-reply or bounce makes no participant. */
int store_thread_has_participant(struct store *st, int64_t thread_id, const char *addr,
                                 struct pr_why *why);

struct store_message_summary {
	int64_t id;
	time_t received_at;
	const char *from_addr, *subject, *message_id;
	uint64_t size;
	const char *placements;     /* "project:1234,user:alice" */
	bool unreadable;
};
struct store_message_filter {
	const char *project;        /* NULL: any */
	const char *user;
	bool unassigned, fallback;
	size_t limit;               /* 0: 100 */
	const char *stakeholder;    /* only messages naming this stakeholder in From/To/Cc */
	int64_t before;             /* keyset paging: only ids below this (0: from the newest) */
	/* Full-text search: only messages whose subject, From/To/Cc addresses
	 * or text hold every word of this text (whole words, any case; a word
	 * ending in '*' matches as a prefix).  It is the user's text: the
	 * backend quotes it (no query syntax reaches its engine); the caller
	 * checks it is UTF-8 without control characters (api/).  A text with
	 * no word in it is PR_E_INVALID.  NULL: no search. */
	const char *search;
};
/* Newest first, by id, walking the id index down from f->before: a page
 * deep in the list costs what the first one costs (no OFFSET).  With
 * f->search, the search index is walked instead, in the same order. */
int store_message_list(struct store *st, struct arena *a, const struct store_message_filter *f,
                       struct store_message_summary **out, size_t *n, struct pr_why *why);

struct store_message {
	struct store_message_summary s;
	const char *source, *peer_ip, *helo, *mail_from, *rcpts;
	const char *in_reply_to, *date, *sha256;
	const char *references;     /* the References field as stored, or NULL */
	const char *parsed_json, *auth_json;
	int64_t thread_id;
	const uint8_t *raw;         /* prepend + raw, byte-exact */
	size_t raw_len;
};
/* 0 found, 1 none. */
int store_message_get(struct store *st, struct arena *a, int64_t id, struct store_message *out,
                      struct pr_why *why);
/* Like store_message_get without the bytes (raw NULL, raw_len 0). */
int store_message_meta(struct store *st, struct arena *a, int64_t id, struct store_message *out,
                       struct pr_why *why);
/* Write the stored bytes to out in chunks, never holding them whole.
 * 0 ok, 1 no such message, -1 error. */
int store_message_write_raw(struct store *st, int64_t id, FILE *out, struct pr_why *why);
/* Refile a message (Unassigned -> project). */
int store_message_move(struct store *st, int64_t id, const struct store_placement *to,
                       struct pr_why *why);

/* ---- POP3 collection: what was taken from each system mailbox ----
 * A mailbox is named "server user" (UIDLs are unique only within one).
 * A message stored from POP3 is marked "stored" by store_commit_batch
 * itself; the collector marks refusals with store_pop3_mark. */
struct store_pop3_mark {
	const char *uidl, *sha256;
	const char *state;          /* "stored" or "refused" */
	int64_t message_id;         /* 0 if none */
};
/* 1 if recorded (stored or refused), 0 not, -1 error. */
int store_pop3_known_uidl(struct store *st, const char *mailbox, const char *uidl,
                          struct pr_why *why);
int store_pop3_known_hash(struct store *st, const char *mailbox, const char *sha256_hex,
                          struct pr_why *why);
/* Record n marks in one transaction: all or (on -1) none. */
int store_pop3_mark(struct store *st, const char *mailbox, const struct store_pop3_mark *marks,
                    size_t n, struct pr_why *why);
/* A recorded message is still listed (its DELE did not take): refresh
 * its record's time so expiry does not forget it while it is there. */
int store_pop3_touch(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why);
/* Forget records older than before (their messages were deleted long ago). */
int store_pop3_expire(struct store *st, time_t before, struct pr_why *why);

/* ---- intake log: every attempt, accepted or not ---- */
struct store_log_entry {
	int64_t id;
	time_t at;
	const char *source, *peer_ip, *helo, *mail_from, *rcpts;   /* rcpts: comma separated */
	uint64_t size;
	const char *verdict;        /* "accepted", "rejected", "deferred" */
	enum pr_err reason;
	const char *detail;
	const char *message_id_hdr; /* Message-ID header, if known */
	int64_t message_id;         /* stored message, 0 if none */
};
/* One row on its own (tools and tests; the intake writes its rows with
 * store_commit_group). */
int store_log_append(struct store *st, const struct store_log_entry *e, int64_t *id_r,
                     struct pr_why *why);
struct store_log_filter {
	time_t since;               /* 0: any */
	const char *verdict, *sender, *project, *address, *message_id_hdr;
	int64_t id;                 /* 0: any */
	size_t limit;               /* 0: 100 */
	/* with project: also match refusals sent to <project_local>@any
	 * domain (e.g. "a1234"), which never got a placement */
	const char *project_local;
	int64_t before;             /* keyset paging: only ids below this (0: from the newest) */
	const char *recipient;      /* NULL, or only attempts naming this envelope recipient */
	time_t until;               /* 0: any; else only attempts before this time */
	/* NULL, or only attempts placed in a project this user belongs to, or
	 * refused on its way to one: a recipient's local part is
	 * member_prefix (project_prefix) + one of the user's project ids. */
	const char *member, *member_prefix;
};
/* Newest first, by id, from below f->before (see store_message_list). */
int store_log_list(struct store *st, struct arena *a, const struct store_log_filter *f,
                   struct store_log_entry **out, size_t *n, struct pr_why *why);
/* Retention (log_retention_days): delete rows older than before, at most
 * `batch` per transaction so the writer lock is held briefly; *deleted_r
 * counts them all.  0 ok, -1 with why (rows deleted so far stay deleted). */
int store_log_prune(struct store *st, time_t before, size_t batch, int64_t *deleted_r,
                    struct pr_why *why);
/* The same for "older than `days` days at `now`"; days 0 keeps everything. */
int store_log_prune_days(struct store *st, time_t now, long long days, int64_t *deleted_r,
                         struct pr_why *why);

/* ---- queue depths, read at each scrape of GET /metrics ---- */
struct store_depths {
	int64_t outbound_queued;    /* outbound messages waiting for an attempt */
	int64_t outbound_sending;   /* claimed by a delivery worker (a lease) */
	int64_t webhook_pending;    /* webhook deliveries not yet delivered */
};
/* Counts by index: cheap enough for every scrape.  0, or -1 with why. */
int store_queue_depths(struct store *st, struct store_depths *out, struct pr_why *why);

/* ---- outbound queue: mail we send (src/outbound/) ----
 *
 * One row per message we send, pointing at the stored message (source
 * "outbound", placed in the project's thread), with one row per envelope
 * recipient.  States of a message:
 *
 *   queued --claim--> sending --result sent------> sent
 *      ^                 |    --result tempfail--> queued (next_attempt_at later)
 *      |                 |    --result permfail--> failed (the server's answer)
 *      |                 +-- lease expired (the node died): claimable again
 *      +-- retry (failed/cancelled)     queued/sending --cancel--> cancelled
 *
 * A message whose expires_at (created + smtp_retry_for) passes while it
 * still waits for a temporary failure is failed ("gave up after ...").
 *
 * Leases, so that several nodes (and threads) may share one queue: a
 * claim atomically takes due rows whose lease is free or expired, stamps
 * lease_owner, lease_until and a new lease number, and hands the number
 * back.  store_outbound_result applies only while the caller still holds
 * that lease (same owner and number, lease_until not passed): a worker
 * that stalled past its lease and lost the row to another claimer cannot
 * overwrite what the other one recorded.
 *
 * Exactly once, as far as SMTP allows: a message is marked sent only
 * after the relay's 250 for DATA was received AND that result was
 * committed here.  If the process dies between the relay's 250 and our
 * commit, the row is still "sending" with a lease that expires; it is
 * then claimed again and SENT AGAIN -- at most one duplicate per crash in
 * that window (milliseconds wide), never a loss.  SMTP has no way to ask
 * a relay "did you take this one?", so no store can close that window;
 * what we do guarantee is that once the 250 is recorded, nothing sends
 * the message again (a claim only takes queued/sending rows, and a stale
 * worker's result is refused).  The recipient's side can still tell the
 * copies apart as one: both carry the same Message-ID. */
enum store_outbound_state {
	OUTBOUND_QUEUED, OUTBOUND_SENDING, OUTBOUND_SENT, OUTBOUND_FAILED, OUTBOUND_CANCELLED,
};
const char *store_outbound_state_name(enum store_outbound_state s);   /* "queued", ... */

/* Recipient state: "queued" (waits for SMTP), "sent", "failed" (refused
 * for good, reply says why) or "internal" (one of our own addresses:
 * placed directly by `send`, never through SMTP). */
struct store_outbound_rcpt {
	const char *address;
	const char *kind;           /* "to", "cc", "bcc" */
	const char *state;
	const char *reply;          /* the server's answer, or NULL */
};

/* What store_commit_batch writes for a message with m->outbound set. */
struct store_outbound_new {
	const char *msgid;          /* our Message-ID, without <> (unique) */
	const char *mail_from;      /* envelope sender */
	const char *project;        /* the project it was sent from */
	const char *sent_by;        /* user name */
	time_t created_at;
	time_t expires_at;          /* created_at + smtp_retry_for */
	const struct store_outbound_rcpt *rcpts;   /* state "queued" or "internal" */
	size_t nrcpts;
};

struct store_outbound {
	int64_t id;
	int64_t message_id;         /* the stored message (messages show) */
	const char *msgid;          /* our Message-ID, without <> */
	const char *mail_from, *project, *sent_by, *subject;
	enum store_outbound_state state;
	int attempts;
	time_t created_at, next_attempt_at, expires_at, done_at;   /* done_at 0 until sent/failed */
	const char *last_reply;     /* the last server answer (or our reason), or NULL */
	const char *lease_owner;    /* NULL when never claimed */
	time_t lease_until;
	int64_t lease;              /* lease number of the last claim */
	struct store_outbound_rcpt *rcpts;
	size_t nrcpts;
};

/* Store a message we send and its queue row, in one transaction (the
 * message in its thread and the row exist together or not at all).  m
 * must have m->outbound set; fills m->id_r and m->outbound_id_r.  A
 * message without a "queued" recipient (all internal) is recorded as
 * sent at once. */
int store_outbound_enqueue(struct store *st, struct store_msg *m, struct pr_why *why);

/* Claim up to max rows due at now (queued, or sending with an expired
 * lease) whose lease is free or expired, for lease_seconds, in one write
 * transaction: two claimers (threads, processes, nodes) never get the
 * same row.  Rows past expires_at are failed instead of claimed.  Each
 * claimed row comes back in state sending with its lease number and only
 * the recipients still "queued".  *n may be 0. */
int store_outbound_claim(struct store *st, struct arena *a, const char *owner, time_t now,
                         int lease_seconds, size_t max, struct store_outbound **out, size_t *n,
                         struct pr_why *why);

/* What one delivery attempt came to, per recipient. */
enum store_outbound_outcome { OUTBOUND_OK, OUTBOUND_TEMPFAIL, OUTBOUND_PERMFAIL };
struct store_outbound_rcpt_result {
	const char *address;
	enum store_outbound_outcome outcome;
	const char *reply;          /* the server's words (or our reason) */
};
/* Record an attempt's outcome: recipients OK become sent, PERMFAIL
 * failed, TEMPFAIL stay queued.  The message is then sent (every
 * recipient sent), failed (none left to try and one failed, or
 * temporary failures past expires_at) or queued again for next_at.
 * reply is the message-level answer kept in last_reply.  Applies only
 * while (owner, lease) still hold the row's lease at now: otherwise 1
 * (lease lost, nothing written: another claimer owns the row).  0 ok. */
int store_outbound_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now,
                          const struct store_outbound_rcpt_result *r, size_t nr, time_t next_at,
                          const char *reply, struct pr_why *why);

/* 0 found, 1 none. */
int store_outbound_get(struct store *st, struct arena *a, int64_t id, struct store_outbound *out,
                       struct pr_why *why);
/* The row of the message we sent with that Message-ID (with or without
 * <>): sent copies coming back through the system mailbox, DSNs and
 * replies are recognised by it.  0 found, 1 none. */
int store_outbound_by_msgid(struct store *st, struct arena *a, const char *msgid,
                            struct store_outbound *out, struct pr_why *why);
/* The row of a stored message (messages show), 0 found, 1 none. */
int store_outbound_by_message(struct store *st, struct arena *a, int64_t message_id,
                              struct store_outbound *out, struct pr_why *why);

struct store_outbound_filter {
	bool failed_only;           /* only failed rows */
	size_t limit;               /* 0: 100 */
	int64_t before;             /* keyset paging (0: from the newest) */
	const char *member;         /* NULL, or only rows sent from projects this user belongs to */
};
/* Newest first (recipients not filled: nrcpts 0). */
int store_outbound_list(struct store *st, struct arena *a, const struct store_outbound_filter *f,
                        struct store_outbound **out, size_t *n, struct pr_why *why);
/* Try again now: a failed, cancelled or waiting message becomes queued
 * with next_attempt_at = now, a fresh expiry (now + retry_for) and its
 * failed recipients queued again.  PR_E_INVALID for a sent or sending
 * one; PR_E_NOT_FOUND. */
int store_outbound_retry(struct store *st, int64_t id, time_t now, time_t retry_for,
                         struct pr_why *why);
/* A delivery report (DSN) to the message's bounce address said a
 * recipient failed: the message (and rcpt, when one of its recipients;
 * may be NULL) becomes failed with reply, its lease dropped.  A cancelled
 * message is left alone.  Idempotent.  0 ok, -1 with why. */
int store_outbound_bounced(struct store *st, int64_t id, const char *rcpt, const char *reply,
                           time_t now, struct pr_why *why);
/* Stop trying: a queued message becomes cancelled.  One being sent right
 * now (a live lease) is PR_E_INVALID ("being sent; try again in a
 * moment"), as is a sent one.  PR_E_NOT_FOUND. */
int store_outbound_cancel(struct store *st, int64_t id, time_t now, struct pr_why *why);

/* ---- API tokens (store_sqlite_token.c) ----
 * A token is kept only as the SHA-256 of its text: the text is shown once
 * when it is made, and a stolen store gives no usable token. */
#define STORE_TOKEN_HASH_LEN 32
struct store_token {
	int64_t id;
	const char *name;
	const char *scope;          /* "admin" or "read" */
	time_t created_at;
};
/* PR_E_EXISTS when the name is taken. */
int store_token_add(struct store *st, const char *name, const char *scope,
                    const unsigned char hash[STORE_TOKEN_HASH_LEN], time_t now, int64_t *id_r,
                    struct pr_why *why);
/* 0 found, 1 no token has that hash, -1 with why. */
int store_token_find(struct store *st, struct arena *a, const unsigned char hash[STORE_TOKEN_HASH_LEN],
                     struct store_token *out, struct pr_why *why);
int store_token_list(struct store *st, struct arena *a, struct store_token **out, size_t *n,
                     struct pr_why *why);
/* PR_E_NOT_FOUND when no token has that id. */
int store_token_remove(struct store *st, int64_t id, struct pr_why *why);

/* ---- webhooks: placements POSTed to the host application ----
 *
 * A webhook is a URL (http or https), optionally narrowed to one project,
 * with the secret its deliveries are signed with.  Every new placement
 * (the group commit with store_msg.webhooks set, and store_message_move)
 * writes a delivery row per matching webhook in the same transaction as
 * the placement: nothing placed is lost across a crash.
 *
 * Order: a webhook's deliveries for one project (project "" for places
 * outside projects) form a queue by seq.  Only its head is sendable
 * ("queued"); the others are "waiting" and the head's success or final
 * failure promotes the next.  States:
 *
 *   waiting --promoted--> queued --claim--> delivering --2xx--> delivered
 *                           ^                  |   --other, not yet given up--> queued (later)
 *                           |                  |   --other, past retry_for----> failed
 *                           +-- lease expired (the node died): claimable again
 *   failed/queued --retry--> queued (or waiting behind its queue's head), now
 *
 * Leases as in the outbound queue: a claim takes due heads whose lease is
 * free or expired, stamps owner, lease_until and a new lease number; a
 * result is recorded only while that lease still holds. */
enum store_webhook_state {
	WEBHOOK_WAITING, WEBHOOK_QUEUED, WEBHOOK_DELIVERING, WEBHOOK_DELIVERED, WEBHOOK_FAILED,
};
const char *store_webhook_state_name(enum store_webhook_state s);   /* "queued", ... */

struct store_webhook {
	int64_t id;
	const char *url;
	const char *project;        /* NULL: every placement */
	const char *secret;         /* filled only by store_webhook_claim's rows */
	time_t created_at;
	bool active;
};
/* 0 with *id_r, or -1 with why. */
int store_webhook_add(struct store *st, const char *url, const char *project, const char *secret,
                      time_t now, int64_t *id_r, struct pr_why *why);
/* Removes the webhook and its deliveries.  PR_E_NOT_FOUND. */
int store_webhook_remove(struct store *st, int64_t id, struct pr_why *why);
/* Every webhook, oldest first (secret NULL). */
int store_webhook_list(struct store *st, struct arena *a, struct store_webhook **out, size_t *n,
                       struct pr_why *why);
/* Whether any active webhook exists (one read of a tiny table). */
int store_webhooks_exist(struct store *st, bool *any_r, struct pr_why *why);

struct store_webhook_delivery {
	int64_t id;
	int64_t webhook_id;
	const char *url;
	const char *secret;         /* claimed rows only (else NULL) */
	const char *project;        /* "" outside projects */
	int64_t seq;
	int64_t message_id;         /* the stored message placed */
	const char *event;          /* the event document (JSON) without delivery_id */
	enum store_webhook_state state;
	int attempts;
	time_t created_at, next_attempt_at, delivered_at, retry_from;
	int last_status;            /* HTTP status of the last answer, 0: none */
	const char *last_error;     /* NULL after success */
	const char *lease_owner;
	time_t lease_until;
	int64_t lease;
};
/* Claim up to max due queue heads (see above) for lease_seconds. */
int store_webhook_claim(struct store *st, struct arena *a, const char *owner, time_t now,
                        int lease_seconds, size_t max, struct store_webhook_delivery **out,
                        size_t *n, struct pr_why *why);
/* Record an attempt: ok (a 2xx) -> delivered; else failed when
 * now >= retry_from + retry_for, or queued again for next_at.  status 0
 * when no HTTP answer came; error says what went wrong (NULL when ok).
 * 1 when (owner, lease) no longer holds the row (nothing written), 0. */
int store_webhook_result(struct store *st, int64_t id, const char *owner, int64_t lease, time_t now,
                         bool ok, int status, const char *error, time_t next_at, time_t retry_for,
                         struct pr_why *why);
struct store_webhook_filter {
	bool failed_only;
	int64_t webhook_id;         /* 0: every webhook */
	size_t limit;               /* 0: 100 */
	int64_t before;             /* keyset paging (0: from the newest) */
};
/* Newest first (secret NULL). */
int store_webhook_deliveries(struct store *st, struct arena *a, const struct store_webhook_filter *f,
                             struct store_webhook_delivery **out, size_t *n, struct pr_why *why);
/* Try again now, with retry_from = now: a failed or queued delivery (or
 * one whose lease expired).  Delivered, or being delivered: PR_E_INVALID. */
int store_webhook_retry(struct store *st, int64_t id, time_t now, struct pr_why *why);
/* ---- console sign-in (store_sqlite_session.c) ----
 * Passwords are kept as encoded Argon2id hashes (made and checked in
 * api/, never here); sessions only as the SHA-256 of their random id, so
 * a copy of the store yields no cookie that works. */
struct store_login {
	int64_t user_id;
	const char *name;
	const char *hash;           /* "$argon2id$..."; NULL when no password is set */
	bool active, admin;
};
/* 0 found, 1 no such user, -1 with why. */
int store_user_login(struct store *st, struct arena *a, const char *name, struct store_login *out,
                     struct pr_why *why);
/* Store a new hash and end every session of the user, in one transaction.
 * PR_E_NOT_FOUND. */
int store_user_set_password(struct store *st, const char *name, const char *hash, struct pr_why *why);
int store_user_set_admin(struct store *st, const char *name, bool admin, struct pr_why *why);

#define STORE_SESSION_HASH_LEN 32
struct store_session {
	const char *user;
	bool admin;
	const char *csrf;
	time_t created_at, expires_at, last_seen;
};
int store_session_add(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN],
                      int64_t user_id, const char *csrf, time_t now, time_t expires_at,
                      struct pr_why *why);
/* The session with this hash if it expires after now, was seen at or after
 * idle_since, and its user is active: 0, 1 none, -1 with why. */
int store_session_get(struct store *st, struct arena *a, const unsigned char hash[STORE_SESSION_HASH_LEN],
                      time_t now, time_t idle_since, struct store_session *out, struct pr_why *why);
int store_session_touch(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now,
                        struct pr_why *why);
/* Ends the session (0 also when there was none). */
int store_session_remove(struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN],
                         struct pr_why *why);
/* Delete sessions that expired or were idle since before idle_since. */
int store_session_prune(struct store *st, time_t now, time_t idle_since, struct pr_why *why);

/* Failed sign-ins, counted per client address and per user name as typed
 * (kinds "addr" and "user").  failed: one row of each at now, and rows
 * older than forget_before deleted.  nth: the time of the n-th newest
 * failure of kind/key at or after since: 0 with *at_r (there are n or
 * more: the limit is reached until that one is older than the window), 1
 * fewer than n, -1.  clear: forget the failures of a user name (a
 * successful sign-in). */
int store_login_failed(struct store *st, const char *addr, const char *user, time_t now,
                       time_t forget_before, struct pr_why *why);
int store_login_nth(struct store *st, const char *kind, const char *key, time_t since, int n,
                    time_t *at_r, struct pr_why *why);
int store_login_clear(struct store *st, const char *user, struct pr_why *why);

/* ---- schema version, export and import (issue 15) ----
 * schema_version: the store's schema version and the newest this binary
 * knows (SQLite: PRAGMA user_version against its migrations; PostgreSQL:
 * schema_version against its own, numbered apart).  schema_peek: the same
 * for a store URI without opening it as a store, so nothing is migrated
 * (*current_r 0 for a store not created yet).
 *
 * Moving an installation between backends (api_export.c holds the format
 * and the one list of logical tables): a table is named with its logical
 * columns and their kinds ('i' integer, 't' text, 'b' bytes); the names
 * only ever come from that static list, never from a file.  table_rows
 * calls fn with each row's values in column order (in the order the
 * backend keeps the rows where that order means something: placements,
 * thread_places, domains); fn returns 0 or -1 with why (which stops).
 * port_begin opens one transaction: a consistent snapshot to export, or
 * (import) the one write transaction an import runs in, after checking
 * the store holds nothing yet (PR_E_EXISTS if it does).  import_row
 * inserts one row with its ids as given; import_bytes writes len bytes at
 * offset off of message message_id's stored bytes (total in all: pieces
 * come in order, the first at 0).  import_search: index imported message
 * message_id (or one store_search_unindexed found) for search: its stored subject and addresses, and text (the
 * words of its body, as the caller recovered them from its bytes; NULL:
 * none).  port_end(commit): commit (an import first advances id sequences
 * past the ids it wrote) or roll back. */
enum store_value_kind { STORE_V_NULL, STORE_V_INT, STORE_V_TEXT, STORE_V_BLOB };
struct store_value {
	enum store_value_kind kind;
	int64_t i;                  /* STORE_V_INT */
	const void *p;              /* STORE_V_TEXT, STORE_V_BLOB */
	size_t len;
};
struct store_table {
	const char *name;
	const char *const *cols;
	const char *kinds;          /* one of 'i', 't', 'b' per column */
	size_t ncols;
	bool ordered;               /* the backend's row order is kept */
};
typedef int (*store_row_fn)(void *ctx, const struct store_value *v, struct pr_why *why);
int store_schema_version(struct store *st, int *current_r, int *known_r, struct pr_why *why);
int store_schema_peek(const char *uri, int *current_r, int *known_r, struct pr_why *why);
int store_port_begin(struct store *st, bool import, struct pr_why *why);
int store_port_end(struct store *st, bool commit, struct pr_why *why);
int store_table_rows(struct store *st, const struct store_table *t, store_row_fn fn, void *ctx,
                     struct pr_why *why);
int store_import_row(struct store *st, const struct store_table *t, const struct store_value *v,
                     struct pr_why *why);
int store_import_bytes(struct store *st, int64_t message_id, int64_t total, int64_t off,
                       const void *data, size_t len, struct pr_why *why);
int store_import_search(struct store *st, int64_t message_id, const char *text, struct pr_why *why);

/* ---- leases: work only one node may do at a time (store_sqlite_lease.c) ----
 * A lease is a named row ("pop3:<mailbox>") held by one owner (a node:
 * "hostname:pid") until a time.  Take it while it is free, expired or
 * already ours, renewing it by taking it again well before it runs out;
 * a node that dies stops renewing, and its lease expires `seconds` after
 * its last renewal for another node to take.  One transaction decides,
 * so two nodes never both hold it.  Times are the callers' clocks: nodes
 * sharing a store keep their clocks in step (NTP), as for the queues. */
struct store_lease {
	bool held;                  /* the owner holds it now, until `until` */
	const char *holder;         /* who holds it after the call ("" none) */
	time_t until;
	/* When held: the owner it was taken from (its lease had expired or
	 * it released it), or NULL when it was ours already or new. */
	const char *previous;
	bool previous_released;     /* previous let it go (a clean stop), not expired */
};
/* Take or renew lease `name` for owner until now + seconds if it is free,
 * expired or owner's: out->held.  Held by another owner whose lease runs:
 * out->held false, out->holder and out->until say whose until when.
 * 0, or -1 with why (PR_E_STORE_BUSY: try again). */
int store_lease_take(struct store *st, struct arena *a, const char *name, const char *owner,
                     time_t now, int seconds, struct store_lease *out, struct pr_why *why);
/* Let lease `name` go if owner holds it (a clean stop): another node may
 * take it at once.  0 (also when owner did not hold it), or -1 with why. */
int store_lease_release(struct store *st, const char *name, const char *owner, struct pr_why *why);

#endif
