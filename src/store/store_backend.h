/* store_backend.h - how store.h's calls reach a backend (private to store/).
 *
 * A backend (SQLite, PostgreSQL) implements every call of store.h that
 * takes a struct store, under its own prefix (sqlite_store_user_add,
 * pg_store_user_add), and lists them in a struct store_ops; store.c
 * forwards each public call to the ops of the store it is given.  Each
 * backend defines struct store in its own private header with a struct
 * store_head (the ops, the directory cache) as its FIRST member: that is
 * all store.c ever reads of it (store.c sees the struct incomplete), so
 * the two definitions never meet in one translation unit.
 *
 * STORE_CALLS is the one list of those calls: X(return type, name without
 * "store_", (parameters), (arguments)).  It builds the ops structure, each
 * backend's declarations and store.c's forwarding functions, so a call
 * added to store.h is added here once and the compiler checks every
 * backend has it with the same signature.
 */
#ifndef PR_STORE_BACKEND_H
#define PR_STORE_BACKEND_H

#include "store/store.h"

/* Every call: those store.c forwards as they are, and those it answers
 * from the directory cache when it can (store_dircache.c). */
#define STORE_CALLS(X) STORE_CALLS_FORWARDED(X) STORE_CALLS_CACHED(X)

#define STORE_CALLS_CACHED(X) \
	X(void, reads_begin, (struct store *st), (st)) \
	X(void, reads_end, (struct store *st), (st)) \
	X(int, user_by_email, (struct store *st, struct arena *a, const char *email, struct store_user *out, struct pr_why *why), (st, a, email, out, why)) \
	X(int, project_exists, (struct store *st, const char *id, struct pr_why *why), (st, id, why)) \
	X(int, project_is_member, (struct store *st, const char *id, const char *user, struct pr_why *why), (st, id, user, why)) \
	X(int, alias_get, (struct store *st, struct arena *a, const char *address, struct store_alias *out, struct pr_why *why), (st, a, address, out, why)) \
	X(int, domain_served, (struct store *st, const char *domain, struct pr_why *why), (st, domain, why)) \
	X(int, stakeholder_by_email, (struct store *st, struct arena *a, const char *email, struct store_stakeholder *out, struct pr_why *why), (st, a, email, out, why))

#define STORE_CALLS_FORWARDED(X) \
	X(int, directory_version, (struct store *st, int64_t *version_r, struct pr_why *why), (st, version_r, why)) \
	X(void, set_busy_timeout, (struct store *st, int ms), (st, ms)) \
	X(void, set_cache, (struct store *st, int kib), (st, kib)) \
	X(int, is_empty, (struct store *st, bool *empty_r, struct pr_why *why), (st, empty_r, why)) \
	X(int, user_add, (struct store *st, const char *name, const char *display, const char *const *emails, size_t nemails, struct pr_why *why), (st, name, display, emails, nemails, why)) \
	X(int, user_remove, (struct store *st, const char *name, struct pr_why *why), (st, name, why)) \
	X(int, user_set_active, (struct store *st, const char *name, bool active, struct pr_why *why), (st, name, active, why)) \
	X(int, user_list, (struct store *st, struct arena *a, struct store_user **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, user_get, (struct store *st, struct arena *a, const char *name, struct store_user *out, struct pr_why *why), (st, a, name, out, why)) \
	X(int, project_add, (struct store *st, const char *id, const char *name, struct pr_why *why), (st, id, name, why)) \
	X(int, project_list, (struct store *st, struct arena *a, struct store_project **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, project_get, (struct store *st, struct arena *a, const char *id, struct store_project *out, struct pr_why *why), (st, a, id, out, why)) \
	X(int, project_grant, (struct store *st, const char *id, const char *user, struct pr_why *why), (st, id, user, why)) \
	X(int, project_revoke, (struct store *st, const char *id, const char *user, struct pr_why *why), (st, id, user, why)) \
	X(int, alias_add, (struct store *st, const char *address, const char *const *users, size_t nusers, struct pr_why *why), (st, address, users, nusers, why)) \
	X(int, alias_remove, (struct store *st, const char *address, struct pr_why *why), (st, address, why)) \
	X(int, alias_list, (struct store *st, struct arena *a, struct store_alias **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, domain_add, (struct store *st, const char *domain, struct pr_why *why), (st, domain, why)) \
	X(int, domain_remove, (struct store *st, const char *domain, struct pr_why *why), (st, domain, why)) \
	X(int, domain_list, (struct store *st, struct arena *a, const char ***out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, domain_first, (struct store *st, struct arena *a, const char **out, struct pr_why *why), (st, a, out, why)) \
	X(int, stakeholder_add, (struct store *st, const char *name, const char *const *emails, size_t n, struct pr_why *why), (st, name, emails, n, why)) \
	X(int, stakeholder_list, (struct store *st, struct arena *a, struct store_stakeholder **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, stakeholder_get, (struct store *st, struct arena *a, const char *name, struct store_stakeholder *out, struct pr_why *why), (st, a, name, out, why)) \
	X(int, project_add_stakeholder, (struct store *st, const char *project, const char *name, struct pr_why *why), (st, project, name, why)) \
	X(int, settings_load, (struct store *st, struct arena *a, struct store_setting **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, setting_put, (struct store *st, const char *key, const char *value, struct pr_why *why), (st, key, value, why)) \
	X(int, settings_put, (struct store *st, const struct store_setting *kv, size_t n, int64_t expect_version, struct pr_why *why), (st, kv, n, expect_version, why)) \
	X(int, settings_version, (struct store *st, int64_t *version_r, struct pr_why *why), (st, version_r, why)) \
	X(void, person_resolve, (struct store *st, struct arena *a, struct store_person *p), (st, a, p)) \
	X(int, commit_batch, (struct store *st, struct store_msg **msgs, size_t n, struct pr_why *why), (st, msgs, n, why)) \
	X(int, commit_group, (struct store *st, struct store_msg **msgs, size_t n, const struct store_log_entry *const *log, size_t nlog, struct pr_why *why), (st, msgs, n, log, nlog, why)) \
	X(int, body_put, (struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why), (st, a, m, why)) \
	X(int, body_sweep, (struct store *st, time_t live_since, int64_t *removed_r, struct pr_why *why), (st, live_since, removed_r, why)) \
	X(int, message_by_msgid, (struct store *st, const char *msgid, int64_t *id_r, int64_t *thread_r, struct pr_why *why), (st, msgid, id_r, thread_r, why)) \
	X(int, message_find_duplicate, (struct store *st, const char *msgid, const char *sha256_hex, int64_t *id_r, struct pr_why *why), (st, msgid, sha256_hex, id_r, why)) \
	X(int, thread_placements, (struct store *st, struct arena *a, int64_t thread_id, struct store_placement **out, size_t *n, struct pr_why *why), (st, a, thread_id, out, n, why)) \
	X(int, project_threads, (struct store *st, struct arena *a, const char *project, size_t limit, int64_t before, struct store_thread_summary **out, size_t *n, struct pr_why *why), (st, a, project, limit, before, out, n, why)) \
	X(int, thread_has_participant, (struct store *st, int64_t thread_id, const char *addr, struct pr_why *why), (st, thread_id, addr, why)) \
	X(int, message_list, (struct store *st, struct arena *a, const struct store_message_filter *f, struct store_message_summary **out, size_t *n, struct pr_why *why), (st, a, f, out, n, why)) \
	X(int, message_get, (struct store *st, struct arena *a, int64_t id, struct store_message *out, struct pr_why *why), (st, a, id, out, why)) \
	X(int, message_meta, (struct store *st, struct arena *a, int64_t id, struct store_message *out, struct pr_why *why), (st, a, id, out, why)) \
	X(int, message_write_raw, (struct store *st, int64_t id, FILE *out, struct pr_why *why), (st, id, out, why)) \
	X(int, message_move, (struct store *st, int64_t id, const struct store_placement *to, struct pr_why *why), (st, id, to, why)) \
	X(int, pop3_known_uidl, (struct store *st, const char *mailbox, const char *uidl, struct pr_why *why), (st, mailbox, uidl, why)) \
	X(int, pop3_known_hash, (struct store *st, const char *mailbox, const char *sha256_hex, struct pr_why *why), (st, mailbox, sha256_hex, why)) \
	X(int, pop3_mark, (struct store *st, const char *mailbox, const struct store_pop3_mark *marks, size_t n, struct pr_why *why), (st, mailbox, marks, n, why)) \
	X(int, pop3_touch, (struct store *st, const char *mailbox, const char *uidl, struct pr_why *why), (st, mailbox, uidl, why)) \
	X(int, pop3_expire, (struct store *st, time_t before, struct pr_why *why), (st, before, why)) \
	X(int, log_append, (struct store *st, const struct store_log_entry *e, int64_t *id_r, struct pr_why *why), (st, e, id_r, why)) \
	X(int, log_list, (struct store *st, struct arena *a, const struct store_log_filter *f, struct store_log_entry **out, size_t *n, struct pr_why *why), (st, a, f, out, n, why)) \
	X(int, log_prune, (struct store *st, time_t before, size_t batch, int64_t *deleted_r, struct pr_why *why), (st, before, batch, deleted_r, why)) \
	X(int, log_prune_days, (struct store *st, time_t now, long long days, int64_t *deleted_r, struct pr_why *why), (st, now, days, deleted_r, why)) \
	X(int, queue_depths, (struct store *st, struct store_depths *out, struct pr_why *why), (st, out, why)) \
	X(int, outbound_enqueue, (struct store *st, struct store_msg *m, struct pr_why *why), (st, m, why)) \
	X(int, outbound_claim, (struct store *st, struct arena *a, const char *owner, time_t now, int lease_seconds, size_t max, struct store_outbound **out, size_t *n, struct pr_why *why), (st, a, owner, now, lease_seconds, max, out, n, why)) \
	X(int, outbound_result, (struct store *st, int64_t id, const char *owner, int64_t lease, time_t now, const struct store_outbound_rcpt_result *r, size_t nr, time_t next_at, const char *reply, struct pr_why *why), (st, id, owner, lease, now, r, nr, next_at, reply, why)) \
	X(int, outbound_get, (struct store *st, struct arena *a, int64_t id, struct store_outbound *out, struct pr_why *why), (st, a, id, out, why)) \
	X(int, outbound_by_msgid, (struct store *st, struct arena *a, const char *msgid, struct store_outbound *out, struct pr_why *why), (st, a, msgid, out, why)) \
	X(int, outbound_by_message, (struct store *st, struct arena *a, int64_t message_id, struct store_outbound *out, struct pr_why *why), (st, a, message_id, out, why)) \
	X(int, outbound_list, (struct store *st, struct arena *a, const struct store_outbound_filter *f, struct store_outbound **out, size_t *n, struct pr_why *why), (st, a, f, out, n, why)) \
	X(int, outbound_retry, (struct store *st, int64_t id, time_t now, time_t retry_for, struct pr_why *why), (st, id, now, retry_for, why)) \
	X(int, outbound_bounced, (struct store *st, int64_t id, const char *rcpt, const char *reply, time_t now, struct pr_why *why), (st, id, rcpt, reply, now, why)) \
	X(int, outbound_cancel, (struct store *st, int64_t id, time_t now, struct pr_why *why), (st, id, now, why)) \
	X(int, token_add, (struct store *st, const char *name, const char *scope, const unsigned char hash[STORE_TOKEN_HASH_LEN], time_t now, int64_t *id_r, struct pr_why *why), (st, name, scope, hash, now, id_r, why)) \
	X(int, token_find, (struct store *st, struct arena *a, const unsigned char hash[STORE_TOKEN_HASH_LEN], struct store_token *out, struct pr_why *why), (st, a, hash, out, why)) \
	X(int, token_list, (struct store *st, struct arena *a, struct store_token **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, token_remove, (struct store *st, int64_t id, struct pr_why *why), (st, id, why)) \
	X(int, webhook_add, (struct store *st, const char *url, const char *project, const char *secret, time_t now, int64_t *id_r, struct pr_why *why), (st, url, project, secret, now, id_r, why)) \
	X(int, webhook_remove, (struct store *st, int64_t id, struct pr_why *why), (st, id, why)) \
	X(int, webhook_list, (struct store *st, struct arena *a, struct store_webhook **out, size_t *n, struct pr_why *why), (st, a, out, n, why)) \
	X(int, webhooks_exist, (struct store *st, bool *any_r, struct pr_why *why), (st, any_r, why)) \
	X(int, webhook_claim, (struct store *st, struct arena *a, const char *owner, time_t now, int lease_seconds, size_t max, struct store_webhook_delivery **out, size_t *n, struct pr_why *why), (st, a, owner, now, lease_seconds, max, out, n, why)) \
	X(int, webhook_result, (struct store *st, int64_t id, const char *owner, int64_t lease, time_t now, bool ok, int status, const char *error, time_t next_at, time_t retry_for, struct pr_why *why), (st, id, owner, lease, now, ok, status, error, next_at, retry_for, why)) \
	X(int, webhook_deliveries, (struct store *st, struct arena *a, const struct store_webhook_filter *f, struct store_webhook_delivery **out, size_t *n, struct pr_why *why), (st, a, f, out, n, why)) \
	X(int, webhook_retry, (struct store *st, int64_t id, time_t now, struct pr_why *why), (st, id, now, why)) \
	X(int, user_login, (struct store *st, struct arena *a, const char *name, struct store_login *out, struct pr_why *why), (st, a, name, out, why)) \
	X(int, user_set_password, (struct store *st, const char *name, const char *hash, struct pr_why *why), (st, name, hash, why)) \
	X(int, user_set_admin, (struct store *st, const char *name, bool admin, struct pr_why *why), (st, name, admin, why)) \
	X(int, session_add, (struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], int64_t user_id, const char *csrf, time_t now, time_t expires_at, struct pr_why *why), (st, hash, user_id, csrf, now, expires_at, why)) \
	X(int, session_get, (struct store *st, struct arena *a, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now, time_t idle_since, struct store_session *out, struct pr_why *why), (st, a, hash, now, idle_since, out, why)) \
	X(int, session_touch, (struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], time_t now, struct pr_why *why), (st, hash, now, why)) \
	X(int, session_remove, (struct store *st, const unsigned char hash[STORE_SESSION_HASH_LEN], struct pr_why *why), (st, hash, why)) \
	X(int, session_prune, (struct store *st, time_t now, time_t idle_since, struct pr_why *why), (st, now, idle_since, why)) \
	X(int, login_failed, (struct store *st, const char *addr, const char *user, time_t now, time_t forget_before, struct pr_why *why), (st, addr, user, now, forget_before, why)) \
	X(int, login_nth, (struct store *st, const char *kind, const char *key, time_t since, int n, time_t *at_r, struct pr_why *why), (st, kind, key, since, n, at_r, why)) \
	X(int, login_clear, (struct store *st, const char *user, struct pr_why *why), (st, user, why)) \
	X(int, schema_version, (struct store *st, int *current_r, int *known_r, struct pr_why *why), (st, current_r, known_r, why)) \
	X(int, port_begin, (struct store *st, bool import, struct pr_why *why), (st, import, why)) \
	X(int, port_end, (struct store *st, bool commit, struct pr_why *why), (st, commit, why)) \
	X(int, table_rows, (struct store *st, const struct store_table *t, store_row_fn fn, void *ctx, struct pr_why *why), (st, t, fn, ctx, why)) \
	X(int, import_row, (struct store *st, const struct store_table *t, const struct store_value *v, struct pr_why *why), (st, t, v, why)) \
	X(int, import_bytes, (struct store *st, int64_t message_id, int64_t total, int64_t off, const void *data, size_t len, struct pr_why *why), (st, message_id, total, off, data, len, why)) \
	X(int, lease_take, (struct store *st, struct arena *a, const char *name, const char *owner, time_t now, int seconds, struct store_lease *out, struct pr_why *why), (st, a, name, owner, now, seconds, out, why)) \
	X(int, lease_release, (struct store *st, const char *name, const char *owner, struct pr_why *why), (st, name, owner, why)) \
	X(int, import_search, (struct store *st, int64_t message_id, const char *text, struct pr_why *why), (st, message_id, text, why)) \
	X(void, search_hold, (struct store *st, size_t max, bool more_coming), (st, max, more_coming)) \
	X(int, search_flush, (struct store *st, struct pr_why *why), (st, why)) \
	X(int, search_unindexed, (struct store *st, struct arena *a, size_t newest, int64_t **ids_r, size_t *n_r, struct pr_why *why), (st, a, newest, ids_r, n_r, why))


struct store_ops {
	const char *name;           /* "sqlite", "postgres" */
	void (*close)(struct store *st);
#define STORE_OP_MEMBER(ret, name, params, args) ret (*name) params;
	STORE_CALLS(STORE_OP_MEMBER)
#undef STORE_OP_MEMBER
};

/* What every backend's struct store begins with: all store.c reads of it
 * (store.c sees struct store incomplete). */
struct dircache;
struct store_head {
	const struct store_ops *ops;
	struct dircache *dircache;  /* store_dircache.c; NULL until first used */
};

static inline struct store_head *
store_head_of(const struct store *st)
{
	return (struct store_head *)(void *)st;
}

/* Free a store's directory cache (store_close, before the backend's close). */
void store_dircache_free(struct store *st);
/* How many answers the cache has given since the store was opened (tests). */
size_t store_dircache_hits(struct store *st);

/* The ops of any backend's store. */
static inline const struct store_ops *
store_ops_of(const struct store *st)
{
	return store_head_of(st)->ops;
}

/* Declares prefix##store_<call> for every call (a backend's header). */
#define STORE_DECLARE_BACKEND_CALL(ret, name, params, args) ret BACKEND_PREFIX(name) params;

/* The backends: open one store (uri already told apart by store_open). */
struct store *sqlite_store_open(const char *path, struct pr_why *why);
struct store *pg_store_open(const char *conninfo, struct pr_why *why);
/* Their schema versions without opening a store (store_schema_peek). */
int sqlite_schema_peek(const char *path, int *current_r, int *known_r, struct pr_why *why);
int pg_schema_peek(const char *conninfo, int *current_r, int *known_r, struct pr_why *why);

/* Helpers every backend uses (store.c). */
struct arena;
/* Split a '\n'-joined aggregate (group_concat, string_agg) into an arena array. */
void store_split(struct arena *a, const char *joined, const char ***out, size_t *n);
/* ASCII-lowercased arena copy (addresses and domains are stored so). */
char *store_lower(struct arena *a, const char *s);
/* Fill p->user or p->stakeholder from the directory (store_user_by_email,
 * store_stakeholder_by_email): every backend's store_person_resolve. */
void store_person_by_address(struct store *st, struct arena *a, struct store_person *p);
/* Message-ID as stored and looked up: without <> and surrounding blanks;
 * NULL when nothing is left. */
const char *store_msgid(struct arena *a, const char *msgid);
/* A message's envelope recipients as stored: comma-joined. */
const char *store_join_rcpts(struct arena *a, const char *const *rcpts, size_t n);
/* The bytes a message stores: our prepended fields and the raw message. */
struct store_msg;
uint64_t store_msg_size(const struct store_msg *m);
/* A keyset page's upper id bound for "id < ?": before, or every id (0). */
int64_t store_before(int64_t before);

/* The statement that reads ("SELECT c1, c2 FROM t [ORDER BY order]") or
 * writes ("INSERT INTO t(c1, c2) VALUES(?1, ?2)", with param '?' or '$')
 * the logical columns of an exported table, into out: 0, or -1 with why.
 * Names come from api_export.c's static list only. */
#define STORE_TABLE_SQL_MAX 2048
int store_table_sql(const struct store_table *t, bool insert, char param, const char *order,
                    char *out, size_t cap, struct pr_why *why);

/* What a take of a lease came to, from the row before it (found: there
 * was one, with old_owner and old_until) and whether the take wrote it
 * (for owner, until `until`): fills out the same way in every backend. */
void store_lease_outcome(struct arena *a, struct store_lease *out, const char *owner, time_t until,
                         bool took, bool found, const char *old_owner, time_t old_until);

/* State words as stored (the same in every backend). */
enum store_outbound_state store_outbound_state_of(const char *name);
enum store_webhook_state store_webhook_state_of(const char *name);

#endif
