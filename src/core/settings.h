/* settings.h - the one table of settings, shared by the config file loader,
 * `settings set` and every module that reads a setting (Postfix main.cf).
 *
 * A struct settings is a snapshot: built, validated, then published with
 * settings_publish() and never changed again.  Readers take a reference
 * with settings_current() and drop it with settings_unref(), so SIGHUP can
 * swap in a new snapshot while sessions keep the one they started with.
 *
 * Precedence: built-in default < value stored with `settings set` < value
 * in the config file (node-local override).  settings_source() tells which.
 */
#ifndef PR_SETTINGS_H
#define PR_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Every setting, by name in code: a misspelt key is a compile error.  The
 * table in settings.c is indexed by this enum (designated initialisers and a
 * _Static_assert on the count keep the two in step).  Text (config file,
 * `settings set`, JSON) comes in by name through settings_key(). */
enum setting_key {
	SET_HOSTNAME,
	SET_SMTP_LISTEN,
	SET_TLS_CERT,
	SET_TLS_KEY,
	SET_RUN_AS_USER,
	SET_LOG_LEVEL,
	SET_MAX_MESSAGE_SIZE,
	SET_MAX_RECIPIENTS,
	SET_MAX_SESSIONS,
	SET_SMTP_IDLE_TIMEOUT,
	SET_SMTP_CLIENT_SESSION_LIMIT,
	SET_SMTP_CLIENT_CONNECTION_RATE,
	SET_SMTP_CLIENT_LIMIT_EXCEPTIONS,
	SET_SMTP_SESSION_LIFETIME,
	SET_SMTP_MIN_DATA_RATE,
	SET_SMTP_DATA_RATE_WINDOW,
	SET_SMTP_HARD_ERROR_LIMIT,
	SET_LOG_RETENTION_DAYS,
	SET_PROJECT_PREFIX,
	SET_UNKNOWN_RECIPIENT,
	SET_UNKNOWN_SENDER,
	SET_AUTO_STAKEHOLDERS,
	SET_FALLBACK_ADDRESS,
	SET_REQUIRE_SPF,
	SET_REQUIRE_DKIM,
	SET_AUTH_POLICY,
	SET_AUTHSERV_ID,
	SET_DNS_SERVER,
	SET_DNS_TIMEOUT_MS,
	SET_DNS_MESSAGE_BUDGET_MS,
	SET_DNS_DOMAIN_CONCURRENCY,
	SET_DNS_CACHE_SIZE,
	SET_TRUSTED_RECEIVED_HOST,
	SET_TRUSTED_AUTHSERV_ID,
	SET_POP_SERVER,
	SET_POP_USERNAME,
	SET_POP_PASSWORD,
	SET_POP_REQUIRE_TLS,
	SET_POP_CA_FILE,
	SET_POP_INTERVAL,
	SET_MAILBOX_TYPE,
	SET_SYSTEM_ADDRESS,
	SET_CATCHALL_HEADER,
	SET_POP_OAUTH_TOKEN_URL,
	SET_POP_OAUTH_CLIENT_ID,
	SET_POP_OAUTH_CLIENT_SECRET,
	SET_POP_OAUTH_REFRESH_TOKEN,
	SET_SMTP_SERVER,
	SET_SMTP_TLS,
	SET_SMTP_AUTH,
	SET_SMTP_USERNAME,
	SET_SMTP_PASSWORD,
	SET_SMTP_CA_FILE,
	SET_SMTP_RETRY_FOR,
	SET_SMTP_DIRECT_PORT,
	SET_OUTBOUND_LEASE_SECONDS,
	SET_DKIM_KEYS,
	SET_ADDRESS_KEY,
	SET_SENDER_MODE,
	SET_DEFAULT_SENDER,
	SET_INTERNAL_DELIVERY,
	SET_CHECK_ADDRESS,
	SET_CHECK_ADDRESS_HOURLY,
	SET_HTTP_LISTEN,
	SET_HTTP_THREADS,
	SET_HTTP_TLS_CERT,
	SET_HTTP_TLS_KEY,
	SET_WEBHOOK_RETRY_FOR,
	SET_WEBHOOK_LEASE_SECONDS,
	SET_HTTP_SESSION_HOURS,
	SET_HTTP_SESSION_IDLE_MINUTES,
	SET__COUNT
};

enum setting_type { STYPE_INT, STYPE_SIZE, STYPE_BOOL, STYPE_STRING, STYPE_ENUM };
enum setting_source { SRC_DEFAULT, SRC_STORE, SRC_FILE };
/* When a changed value takes effect in a running serve: with the next
 * message or command, with the next SMTP connection, or only after a
 * restart (listeners, privileges, resolver set up at start). */
enum setting_applies { APPLIES_NOW, APPLIES_CONNECTION, APPLIES_RESTART };

/* The choices of each enum setting, in the order of its table row
 * (settings_enum() returns one of these).  log_level uses enum log_level. */
enum unknown_recipient { UNKNOWN_RCPT_UNASSIGNED, UNKNOWN_RCPT_REJECT };
enum unknown_sender { UNKNOWN_SENDER_REJECT, UNKNOWN_SENDER_UNASSIGNED };
enum auth_policy { AUTH_POLICY_REQUIRE, AUTH_POLICY_DMARC };
enum mailbox_type { MAILBOX_SINGLE, MAILBOX_CATCHALL };
enum smtp_tls { SMTP_TLS_STARTTLS, SMTP_TLS_IMPLICIT, SMTP_TLS_NONE };
enum smtp_auth { SMTP_AUTH_NONE, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, SMTP_AUTH_CRAM_MD5, SMTP_AUTH_XOAUTH2 };
enum sender_mode { SENDER_MODE_PROJECT, SENDER_MODE_DEFAULT };

struct setting_def {
	const char *name;
	enum setting_type type;
	enum setting_applies applies;
	const char *def;
	long long min, max;          /* STYPE_INT / STYPE_SIZE */
	const char *const *choices;  /* STYPE_ENUM: names indexed by the C enum, NULL-terminated */
	bool secret;                 /* never printed, logged or sent as JSON */
	/* Extra check beyond type/range; 0 ok, -1 with why set. */
	int (*validate)(const char *value, struct pr_why *why);
	const char *help;
};

struct settings;

const struct setting_def *settings_def(enum setting_key k);
/* The key named so, or -1: only where text comes in. */
int settings_key(const char *name);
const char *settings_applies_name(enum setting_applies a);   /* "now", "connection", "restart" */

struct settings *settings_new(void);                 /* all defaults */
struct settings *settings_clone(const struct settings *s);
void settings_unref(struct settings **s);

/* Validate and set.  0 ok; -1 with why (PR_E_CONFIG; PR_E_NOT_FOUND for
 * an unknown name). */
int settings_set(struct settings *s, enum setting_key k, const char *value,
                 enum setting_source src, struct pr_why *why);
int settings_set_named(struct settings *s, const char *name, const char *value,
                       enum setting_source src, struct pr_why *why);
/* Cross-field checks (fallback address vs catch-all domain, ...). */
int settings_check(const struct settings *s, struct pr_why *why);
/* Read "key = value" lines; '#' starts a comment only at line start. */
int settings_load_file(struct settings *s, const char *path, struct pr_why *why);

/* Typed reads; asking for the wrong type is a bug (panic). */
const char *settings_str(const struct settings *s, enum setting_key k);   /* any type, as text */
long long settings_int(const struct settings *s, enum setting_key k);     /* INT and SIZE */
bool settings_bool(const struct settings *s, enum setting_key k);
int settings_enum(const struct settings *s, enum setting_key k);          /* index of the choice */
enum setting_source settings_source(const struct settings *s, enum setting_key k);
/* "value", or "********" for a set secret, "" for an unset one. */
const char *settings_display(const struct settings *s, enum setting_key k);

/* The keys whose value differs between a and b, into out; how many. */
size_t settings_changed(const struct settings *a, const struct settings *b, enum setting_key *out);

/* Process-wide current snapshot (the only global mutable state). */
void settings_publish(struct settings *s);           /* takes ownership */
struct settings *settings_current(void);             /* new reference */

/* "host", "host:port", "[v6]" or "[v6]:port" -> host (without brackets)
 * and port (0 when absent).  0 ok, -1 if malformed or host >= size. */
int settings_split_hostport(const char *v, char *host, size_t size, int *port_r);

/* Parse "20M", "512k", "1048576" into bytes; -1 on error. */
long long settings_parse_size(const char *v);

#endif
