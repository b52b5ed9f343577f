/* postroom.h - the one internal API: what the command line (and later the
 * HTTP API) may do.  Clients of this header never see SQL or the store's
 * structs: they get validated calls and jansson documents whose shapes are
 * stable, because scripts read them (`--json`).
 *
 * Errors: -1 (or NULL) with why set.  PR_E_INVALID: a value was refused
 * (the reason says which and why); PR_E_NOT_FOUND / PR_E_EXISTS; PR_E_CONFIG;
 * PR_E_STORE_BUSY / PR_E_STORE_FAILED from the store.
 */
#ifndef PR_API_H
#define PR_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/err.h"

struct settings;
struct store;
struct store_message_filter;
struct store_log_filter;

struct pr_api;

/* Open the store (creating its schema) and merge the settings. */
struct pr_api *api_open(const char *store_uri, const char *config_path, struct pr_why *why);
void api_close(struct pr_api **api);
struct store *api_store(struct pr_api *api);
/* The merged snapshot (owned by the api; valid until api_close). */
const struct settings *api_settings(const struct pr_api *api);

/* ---- settings ---- */
/* Defaults, then values stored with `settings set`, then the config file
 * (path may be NULL); validated with settings_check.  *out is a new
 * snapshot the caller owns (settings_unref).  serve calls this on start
 * and on SIGHUP. */
int api_settings_load(const char *store_uri, const char *config_path, struct settings **out,
                      struct pr_why *why);
/* The same over an open store. */
int api_settings_merge(struct store *st, const char *config_path, struct settings **out,
                       struct pr_why *why);
/* Validate (type, range, cross-field checks) and store.  Refusals are
 * PR_E_INVALID with the reason; an unknown key PR_E_NOT_FOUND. */
int api_settings_set(struct pr_api *api, const char *key, const char *value, struct pr_why *why);
/* Make s (taken over) the API's settings snapshot: a long-lived API (an
 * HTTP worker) follows the stored settings with a watch. */
void api_settings_replace(struct pr_api *api, struct settings *s);
/* Several settings as one change (the HTTP API's PATCH, a settings form):
 * every value validated, then the cross-field checks on the whole, then
 * all stored in one transaction (one settings-version bump), or nothing
 * stored.  A secret given as "********" (its mask in api_settings_json)
 * keeps its stored value.  {"changed": [names], "applies": {"now": [...],
 * "connection": [...], "restart": [...]}, "file_wins": [names the config
 * file overrides on this node]}; NULL with why (PR_E_INVALID naming the
 * key, also for an unknown key or none at all). */
struct api_setting { const char *key, *value; };
json_t *api_settings_set_many(struct pr_api *api, const struct api_setting *kv, size_t n,
                              struct pr_why *why);
/* The current settings with kv over them, validated as set_many does but
 * stored nowhere: a check tests a form's values before they are saved.
 * The caller owns the snapshot (settings_unref); NULL with why. */
struct settings *api_settings_trial(struct pr_api *api, const struct api_setting *kv, size_t n,
                                    struct pr_why *why);
/* {"name": "value" | whole number | true | false, ...} (NULL: none) as
 * kv pairs allocated in a (strings borrowed from obj); an unknown name, a
 * value of another type or one holding a control character is
 * PR_E_INVALID. */
struct arena;
int api_settings_from_json(json_t *obj, struct arena *a, struct api_setting **out, size_t *n,
                           struct pr_why *why);
/* Following the stored settings from a running serve (api_watch.c): poll
 * once a second; 1 with *out a new merged snapshot (the caller owns it)
 * when a setting was stored since the last poll (by any process or node
 * sharing the store) or when force is set (SIGHUP: the config file may
 * have changed), 0 when nothing changed, -1 with why (a bad config file
 * is reported once, then not again until the next change). */
struct api_settings_watch;
struct api_settings_watch *api_settings_watch_new(const char *store_uri, const char *config_path,
                                                  struct pr_why *why);
int api_settings_watch_poll(struct api_settings_watch *w, bool force, struct settings **out,
                            struct pr_why *why);
void api_settings_watch_free(struct api_settings_watch **w);
/* {"settings":[{"name","value","source","applies","secret","help"}]}; secrets are
 * "********" (or "" when unset), never their value. */
json_t *api_settings_json(const struct settings *s);

/* Seed the sample organisation if the directory is empty: domain
 * firm.example; users alice, bob, carol; project 1234 (alice a member);
 * alias team@firm.example -> alice, bob.  *seeded_r tells whether it did. */
int api_seed_sample(struct store *st, bool *seeded_r, struct pr_why *why);

/* ---- directory ---- */
int api_user_add(struct pr_api *api, const char *name, const char *display,
                 const char *const *emails, size_t n, struct pr_why *why);
int api_user_remove(struct pr_api *api, const char *name, struct pr_why *why);
int api_user_set_active(struct pr_api *api, const char *name, bool active, struct pr_why *why);
json_t *api_user_list(struct pr_api *api, struct pr_why *why);      /* {"users":[...]} */
/* One entry, shaped as in its list; NULL with why (PR_E_NOT_FOUND). */
json_t *api_user_get(struct pr_api *api, const char *name, struct pr_why *why);

int api_project_add(struct pr_api *api, const char *id, const char *name, struct pr_why *why);
json_t *api_project_list(struct pr_api *api, struct pr_why *why);   /* {"projects":[...]} */
json_t *api_project_get(struct pr_api *api, const char *id, struct pr_why *why);
int api_project_grant(struct pr_api *api, const char *id, const char *user, struct pr_why *why);
int api_project_revoke(struct pr_api *api, const char *id, const char *user, struct pr_why *why);
int api_project_stakeholder(struct pr_api *api, const char *id, const char *name, struct pr_why *why);

int api_stakeholder_add(struct pr_api *api, const char *name, const char *const *emails, size_t n,
                        struct pr_why *why);
json_t *api_stakeholder_list(struct pr_api *api, struct pr_why *why);  /* {"stakeholders":[...]} */
json_t *api_stakeholder_get(struct pr_api *api, const char *name, struct pr_why *why);

/* The alias's domain must be served (mail to it would be refused otherwise). */
int api_alias_add(struct pr_api *api, const char *address, const char *const *users, size_t n,
                  struct pr_why *why);
int api_alias_remove(struct pr_api *api, const char *address, struct pr_why *why);
json_t *api_alias_list(struct pr_api *api, struct pr_why *why);     /* {"aliases":[...]} */
json_t *api_alias_get(struct pr_api *api, const char *address, struct pr_why *why);

int api_domain_add(struct pr_api *api, const char *domain, struct pr_why *why);
int api_domain_remove(struct pr_api *api, const char *domain, struct pr_why *why);
json_t *api_domain_list(struct pr_api *api, struct pr_why *why);    /* {"domains":[...]} */

/* ---- messages and the intake log ----
 * The lists are pages, newest first by id: f->limit rows at most (0: the
 * call's default; more than API_PAGE_MAX is PR_E_INVALID) with ids below
 * f->before (0: from the newest).  The document's "next" is the before of
 * the following page, or null on the last one, so a script pages with
 * `--before NEXT` until next is null and sees every row once. */
#define API_PAGE_MAX 10000
json_t *api_message_list(struct pr_api *api, const struct store_message_filter *f,
                         struct pr_why *why);        /* {"messages":[...], "next"}; 100 a page */
/* One message's list entry ({"id", "placements", ...} as in the list),
 * read without its bytes: where it is filed, cheaply. */
json_t *api_message_summary(struct pr_api *api, int64_t id, struct pr_why *why);
/* One message with its envelope, parsed parts and auth results (no bytes). */
json_t *api_message_get(struct pr_api *api, int64_t id, struct pr_why *why);
/* The stored bytes, exactly, to out. */
int api_message_write_raw(struct pr_api *api, int64_t id, FILE *out, struct pr_why *why);
/* Refile into a project (Unassigned -> project). */
int api_message_move(struct pr_api *api, int64_t id, const char *project, struct pr_why *why);
/* Attachment n (1-based) of message id, decoded, byte-exact, to out. */
int api_message_attachment(struct pr_api *api, int64_t id, int n, FILE *out, struct pr_why *why);
/* f->search (a full-text search, see store.h) must be UTF-8 without
 * control characters, at most API_SEARCH_MAX bytes: else PR_E_INVALID. */
#define API_SEARCH_MAX 1000
/* Attachment n as api_message_attachment, with what to serve it as: its
 * Content-Type ("type/subtype" checked to be a token, else
 * application/octet-stream) and file name (UTF-8 as the part gave it, ""
 * when none; the caller sanitises it for a header). */
struct api_attachment {
	char content_type[128];
	char filename[256];
};
int api_message_attachment_info(struct pr_api *api, int64_t id, int n, FILE *out,
                                struct api_attachment *info, struct pr_why *why);
/* The message's HTML part made safe to show (mime_html_safe: no script,
 * handlers, forms, frames; images only data: and cid:, the latter
 * pointing at cid_base + the attachment's number, and https: with
 * remote_images): a whole document, malloc'd in *out (the caller frees).
 * PR_E_NOT_FOUND when the message has no HTML part (plain text). */
int api_message_html(struct pr_api *api, int64_t id, bool remote_images, const char *cid_base,
                     char **out, size_t *len, struct pr_why *why);
/* A project's threads, newest activity first, a page of limit (0: 50)
 * below before (0: the newest): {"threads": [{"id", "subject",
 * "messages", "last_message", "last_at", "participants": [...]}],
 * "next"}; next is the last thread's last_message.  PR_E_NOT_FOUND for
 * an unknown project. */
json_t *api_project_threads(struct pr_api *api, const char *project, size_t limit, int64_t before,
                            struct pr_why *why);
/* {"log":[...], "next"}, newest first, 100 a page.  With f->project,
 * refusals sent to the project's address (project_prefix + id) are
 * included too; likewise for each of f->member's projects. */
json_t *api_log_list(struct pr_api *api, const struct store_log_filter *f, struct pr_why *why);

/* `why`: the attempts matching an address, a Message-ID or a log id,
 * newest first, a page of limit (0: 20) below before (0: the newest):
 * {"query", "attempts":[log entry + smtp, dsn, filed_in], "next"}.
 * member non-NULL: only attempts concerning that user's projects (see
 * store_log_filter.member). */
json_t *api_why(struct pr_api *api, const char *query, size_t limit, int64_t before,
                const char *member, struct pr_why *why);
/* `check smtp`: connect to smtp_server, negotiate TLS, log in, read the
 * EHLO keywords; no mail is sent.  {"ok":true, "server", "tls",
 * "authenticated", "greeting", "ehlo":[keyword lines], "size": bytes, 0 for
 * no limit, null if not announced}; NULL with why saying exactly what
 * failed (relay_port_25, not_found, unreachable, tls_failed,
 * tls_certificate, relay_auth with the server's words, config). */
json_t *api_check_smtp(const struct settings *set, struct pr_why *why);
/* `check pop`: connect to pop_server, log in, count the messages:
 * {"ok": true, "server", "user", "messages"}; NULL with why saying exactly
 * what failed (config: pop_server unset or IMAP's port; not_found,
 * unreachable, tls_failed, tls_certificate, login refused). */
json_t *api_check_pop(const struct settings *set, struct pr_why *why);
/* `check domain`: the domain's SPF (worst-case lookups through every
 * include), DMARC and, with a selector, DKIM records, each with a
 * "status" (ok, missing, broken, dns_error, skipped), "record", "detail"
 * and "suggest" (the record to add); "signing": our keys for the domain
 * with the TXT record to publish ("zone": split for a zone file) and
 * whether DNS has it; with an ip, "evaluation": the SPF verdict a server
 * there gets; "ok": all present and sound.  NULL with why: PR_E_INVALID
 * for a bad domain, selector, ip or sender; PR_E_CONFIG when dns_server
 * cannot be used. */
struct api_domain_check {
	const char *domain;
	const char *selector;        /* NULL: DKIM skipped */
	const char *ip, *sender;     /* NULL: no evaluation; sender for macros */
};
json_t *api_check_domain(const struct settings *set, const struct api_domain_check *q,
                         struct pr_why *why);
/* `check smtp --to`: send one message now, outside the queue, through
 * smtp_server (relay or direct) and report each recipient:
 * {"status": "sent"|"deferred"|"failed", "server", "recipients":
 * [{"address", "status", "code", "reply"}], "error"?: first failure}.
 * fd >= 0: the message's bytes (CRLF lines), sent exactly; fd < 0: a short
 * test message.  NULL with why only when nothing could be tried (config). */
json_t *api_send_test(const struct settings *set, const char *from, const char *const *rcpts,
                      size_t n, int fd, struct pr_why *why);

/* Every reason code with its reply and explanation: {"reasons":[...]}. */
json_t *api_reasons(void);

/* Delete intake log rows older than log_retention_days at `now`:
 * {"deleted": N, "retention_days": D}; NULL with why. */
json_t *api_log_prune(struct pr_api *api, time_t now, struct pr_why *why);
/* One log entry as JSON (shared with `why`). */
struct store_log_entry;
json_t *api_log_entry_json(const struct store_log_entry *e);

/* "2024-05-01", "2024-05-01T10:00:00Z", a Unix time, or an age like
 * "30m", "2h", "7d" (before now).  0 ok, -1 with PR_E_INVALID. */
int api_parse_time(const char *s, time_t now, time_t *out, struct pr_why *why);
/* ISO 8601 UTC text for t, in buf. */
const char *api_format_time(time_t t, char *buf, size_t len);

/* ---- sending (outbound/) ----
 * Send from a project as a member: stored in the project's thread,
 * internal recipients placed at once, the rest queued for delivery:
 * {"id" (stored message), "outbound_id", "message_id", "sender",
 *  "queued", "internal", "size", "warning" (null, or a size warning)}. */
struct outbound_send_req;
json_t *api_send(struct pr_api *api, const struct outbound_send_req *req, struct pr_why *why);
/* The same from a JSON request (`POST /api/v1/send`, api_send_doc.c):
 * {"project", "user", "to", "cc"?, "bcc"?, "subject", "text", "html"?,
 *  "in_reply_to"?, "reply_to_message"?, "attachments"?: [{"filename",
 *  "content_type"?, "data" (base64)}]}; unknown fields are refused, the
 * decoded content must fit in max_message_size (PR_E_TOO_BIG). */
json_t *api_send_doc(struct pr_api *api, json_t *doc, struct pr_why *why);
/* The outbound queue, newest first: {"outbox":[{"id", "message",
 * "message_id", "sender", "project", "sent_by", "subject", "state",
 * "attempts", "created_at", "next_attempt_at", "expires_at", "done_at",
 * "last_reply"}], "next"}; only failed ones with failed_only; only those
 * sent from projects the user `member` belongs to unless member is NULL. */
json_t *api_outbox_list(struct pr_api *api, bool failed_only, size_t limit, int64_t before,
                        const char *member, struct pr_why *why);
/* One row with "recipients": [{"address", "kind", "state", "reply"}]. */
json_t *api_outbox_get(struct pr_api *api, int64_t id, struct pr_why *why);
/* The same for the stored message message_id, or null if we did not send it. */
json_t *api_outbound_of_message(struct pr_api *api, int64_t message_id);
/* Queue again now (failed, cancelled or waiting), with a fresh
 * smtp_retry_for; stop trying (queued).  See store_outbound_retry/_cancel. */
int api_outbox_retry(struct pr_api *api, int64_t id, struct pr_why *why);
int api_outbox_cancel(struct pr_api *api, int64_t id, struct pr_why *why);

/* ---- API tokens (api_token.c) ----
 * create: {"id", "name", "scope", "created_at", "token"}; the token's text
 * is in this answer only (the store keeps its SHA-256).  scope is "admin"
 * (everything) or "read" (nothing that changes state). */
json_t *api_token_create(struct pr_api *api, const char *name, const char *scope, struct pr_why *why);
json_t *api_token_list(struct pr_api *api, struct pr_why *why);   /* {"tokens":[...]}, no secrets */
int api_token_remove(struct pr_api *api, int64_t id, struct pr_why *why);
/* Who presents this token: 0 with name and *admin set; 1 no such token;
 * -1 with why (the store could not be read). */
int api_token_verify(struct pr_api *api, const char *text, char *name, size_t namelen, bool *admin,
                     struct pr_why *why);
/* ---- webhooks (see webhook/webhook.h for what is POSTed) ----
 * Register url (http:// or https://) for one project's placements
 * (project NULL: every placement) signed with secret (NULL: 32 random
 * bytes in hex, made here; else 16-256 printable characters):
 * {"id", "url", "project", "secret", "created_at", "active"} -- the only
 * document that ever carries the secret. */
json_t *api_webhook_add(struct pr_api *api, const char *url, const char *project, const char *secret,
                        struct pr_why *why);
/* {"webhooks":[{"id", "url", "project", "created_at", "active"}]} */
json_t *api_webhook_list(struct pr_api *api, struct pr_why *why);
/* The webhook and its deliveries; PR_E_NOT_FOUND. */
int api_webhook_remove(struct pr_api *api, int64_t id, struct pr_why *why);
/* Newest first, 100 a page: {"deliveries":[{"id", "webhook", "url",
 * "project", "seq", "message", "state", "attempts", "created_at",
 * "next_attempt_at", "delivered_at", "last_status", "last_error"}], "next"}. */
json_t *api_webhook_deliveries(struct pr_api *api, bool failed_only, size_t limit, int64_t before,
                               struct pr_why *why);
/* Try a failed (or waiting) delivery again now, with a fresh
 * webhook_retry_for (see store_webhook_retry). */
int api_webhook_retry(struct pr_api *api, int64_t id, struct pr_why *why);

/* ---- monitoring (api_metrics.c) ----
 * GET /metrics: this process's metrics (core/metrics.h) with the store's
 * queue depths read now, in the Prometheus text format, appended to out.
 * A store that cannot be read does not fail the scrape: it shows as
 * postroom_store_up 0 without the depths.  0, or -1 with why (PR_E_TOO_LONG
 * if out's ceiling was reached). */
struct buf;
int api_metrics_text(struct pr_api *api, struct buf *out, struct pr_why *why);
/* GET /healthz (api_health.c): one cheap store read, on a thread of its
 * own, waited for at most 2 s.  0 with {"status": "ok", "store": "ok"};
 * -1 with {"status": "unavailable", "store": <reason code>} (a 503; the
 * detail goes to the daemon log), "timeout" when the read did not answer
 * in time.  *doc_r is the caller's. */
int api_health(struct pr_api *api, json_t **doc_r);

/* ---- console sign-in and passwords (api_session.c, api_password.c) ----
 * Passwords are hashed with Argon2id (parameters and why in
 * api_password.c); the hash never leaves the store (`user list` says only
 * "password_set").  A password is API_PASSWORD_MIN characters or more, at
 * most API_PASSWORD_MAX bytes. */
#define API_PASSWORD_MIN 10
#define API_PASSWORD_MAX 1024
/* A session id (the cookie's value) and a CSRF token: 43 base64url characters. */
#define API_SESSION_ID_LEN 43
/* Set a user's password (PR_E_INVALID with the rule it breaks); ends every
 * session of theirs. */
int api_user_set_password(struct pr_api *api, const char *name, const char *password, struct pr_why *why);
/* A signed-in user's current password, checked as sign-in checks it
 * (the same rate limits from peer and for the user; a wrong one counts
 * as a failed sign-in): 0 right; -1 with why: PR_E_FORBIDDEN (wrong),
 * PR_E_RATE_LIMITED (*retry_after_r seconds), PR_E_INVALID, a store error. */
int api_password_confirm(struct pr_api *api, const char *user, const char *password, const char *peer,
                         int *retry_after_r, struct pr_why *why);
/* An administrator may sign in to the console with full rights (scope
 * admin); other users see the projects they belong to. */
int api_user_set_admin(struct pr_api *api, const char *name, bool admin, struct pr_why *why);
/* Sign in from client address peer: {"user", "admin", "csrf"} with the new
 * session's id in cookie; NULL with why: PR_E_UNAUTHORIZED (wrong user or
 * password: the same answer and work for both), PR_E_FORBIDDEN (the user
 * is disabled), PR_E_RATE_LIMITED (*retry_after_r seconds), PR_E_INVALID,
 * store errors. */
json_t *api_session_create(struct pr_api *api, const char *user, const char *password, const char *peer,
                           char cookie[API_SESSION_ID_LEN + 1], int *retry_after_r, struct pr_why *why);
struct api_session {
	char user[128];
	bool admin;
	char csrf[API_SESSION_ID_LEN + 1];
};
/* The live session a cookie names (not expired, not idle, its user
 * active): 0 with out set, 1 none, -1 with why (store). */
int api_session_find(struct pr_api *api, const char *cookie, struct api_session *out, struct pr_why *why);
/* Sign out: the session is gone on every node (0 also if it was). */
int api_session_end(struct pr_api *api, const char *cookie, struct pr_why *why);
/* May a signed-in member see project's mail: 1 they belong to it, 0 not
 * (or no such project), -1 with why. */
int api_user_in_project(struct pr_api *api, const char *project, const char *user, struct pr_why *why);

/* Name rules shared by every client: user and project ids are 1-64 of
 * [A-Za-z0-9._-] starting with a letter or digit. */
int api_check_name(const char *what, const char *name, struct pr_why *why);

/* ---- schema and moving between backends (api_export.c, api_import.c) ----
 * schema: {"backend", "before", "version", "known"}: the schema version
 * the store had, has (after applying pending migrations when apply), and
 * the newest this binary knows; opened only when apply.  export: every
 * row and message of the store into a new file at path (refused if it
 * exists), {header fields, "rows", "messages"}.  import: such a file into
 * this store, which must hold nothing yet, in one transaction. */
json_t *api_schema(const char *store_uri, bool apply, struct pr_why *why);
json_t *api_export(struct pr_api *api, const char *path, struct pr_why *why);
json_t *api_import(struct pr_api *api, const char *path, struct pr_why *why);

#endif
