/* settings.c - the settings table and snapshots.  See settings.h.
 *
 * Adding a setting is adding one key to enum setting_key (settings.h) and
 * its row here; the loader, `settings set`, `settings show` and validation
 * all follow from the row. */
#include "core/settings.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/ipnet.h"
#include "core/keyspec.h"
#include "core/limits.h"
#include "core/log.h"

static int validate_email(const char *v, struct pr_why *why);
static int validate_email_or_empty(const char *v, struct pr_why *why);
static int validate_hostport(const char *v, struct pr_why *why);
static int validate_pop_server(const char *v, struct pr_why *why);
static int validate_pop_username(const char *v, struct pr_why *why);
static int validate_header_name(const char *v, struct pr_why *why);
static int validate_prefix(const char *v, struct pr_why *why);
static int validate_ipnet_list(const char *v, struct pr_why *why);
static int validate_smtp_server(const char *v, struct pr_why *why);
static int validate_dkim_keys(const char *v, struct pr_why *why);
static int validate_address_key(const char *v, struct pr_why *why);

#define MiB (1024LL * 1024)

/* Choice names, indexed by the C enums in settings.h / log.h. */
static const char *const log_level_names[] = {
	[LOG_DEBUG] = "debug", [LOG_INFO] = "info", [LOG_WARN] = "warning", [LOG_ERROR] = "error", NULL};
static const char *const unknown_recipient_names[] = {
	[UNKNOWN_RCPT_UNASSIGNED] = "unassigned", [UNKNOWN_RCPT_REJECT] = "reject", NULL};
static const char *const unknown_sender_names[] = {
	[UNKNOWN_SENDER_REJECT] = "reject", [UNKNOWN_SENDER_UNASSIGNED] = "unassigned", NULL};
static const char *const auth_policy_names[] = {
	[AUTH_POLICY_REQUIRE] = "require", [AUTH_POLICY_DMARC] = "dmarc", NULL};
static const char *const mailbox_type_names[] = {
	[MAILBOX_SINGLE] = "single", [MAILBOX_CATCHALL] = "catchall", NULL};
static const char *const smtp_tls_names[] = {
	[SMTP_TLS_STARTTLS] = "starttls", [SMTP_TLS_IMPLICIT] = "implicit", [SMTP_TLS_NONE] = "none", NULL};
static const char *const smtp_auth_names[] = {
	[SMTP_AUTH_NONE] = "none", [SMTP_AUTH_PLAIN] = "plain", [SMTP_AUTH_LOGIN] = "login",
	[SMTP_AUTH_CRAM_MD5] = "cram-md5", [SMTP_AUTH_XOAUTH2] = "xoauth2", NULL};
static const char *const sender_mode_names[] = {
	[SENDER_MODE_PROJECT] = "project", [SENDER_MODE_DEFAULT] = "default", NULL};

static const struct setting_def table[] = {
	/* identity and listeners (usually node-local, in the config file) */
	[SET_HOSTNAME] = {"hostname", STYPE_STRING, APPLIES_CONNECTION, "postroom.localdomain",
	 .help = "name in the SMTP banner and our Received: header"},
	[SET_SMTP_LISTEN] = {"smtp_listen", STYPE_STRING, APPLIES_RESTART, "127.0.0.1:2525",
	 .help = "SMTP listen addresses, comma separated (ADDR:PORT, [v6]:PORT)"},
	[SET_TLS_CERT] = {"tls_cert", STYPE_STRING, APPLIES_CONNECTION, "",
	 .help = "PEM certificate chain for STARTTLS (empty: STARTTLS not offered)"},
	[SET_TLS_KEY] = {"tls_key", STYPE_STRING, APPLIES_CONNECTION, "",
	 .help = "PEM private key for STARTTLS"},
	[SET_RUN_AS_USER] = {"run_as_user", STYPE_STRING, APPLIES_RESTART, "",
	 .help = "serve started as root binds its ports, then runs as this user; required as root "
	 "(config file only; the store's directory must be writable by it)"},
	[SET_LOG_LEVEL] = {"log_level", STYPE_ENUM, APPLIES_NOW, "info", .choices = log_level_names,
	 .help = "daemon log level"},
	/* SMTP limits */
	[SET_MAX_MESSAGE_SIZE] = {"max_message_size", STYPE_SIZE, APPLIES_CONNECTION, "20M",
	 .min = 1024, .max = PR_MAX_MESSAGE_SIZE,
	 .help = "largest message accepted, bytes (suffix k, M)"},
	[SET_MAX_RECIPIENTS] = {"max_recipients", STYPE_INT, APPLIES_CONNECTION, "100",
	 .min = 1, .max = PR_MAX_RECIPIENTS,
	 .help = "recipients per message; more get 452 and the client sends them again"},
	[SET_MAX_SESSIONS] = {"max_sessions", STYPE_INT, APPLIES_CONNECTION, "200",
	 .min = 1, .max = PR_MAX_SESSIONS,
	 .help = "concurrent SMTP sessions; more get 421"},
	[SET_SMTP_IDLE_TIMEOUT] = {"smtp_idle_timeout", STYPE_INT, APPLIES_CONNECTION, "300",
	 .min = 1, .max = 3600,
	 .help = "seconds an SMTP session may be idle (RFC 5321 4.5.3.2 suggests 5 minutes)"},
	/* denial of service: one client address must not hold the server */
	[SET_SMTP_CLIENT_SESSION_LIMIT] = {"smtp_client_session_limit", STYPE_INT, APPLIES_CONNECTION, "20",
	 .min = 1, .max = PR_MAX_SESSIONS,
	 .help = "concurrent SMTP sessions from one client IP; more get 421 (a Postfix sender opens at "
	 "most 20 per destination)"},
	[SET_SMTP_CLIENT_CONNECTION_RATE] = {"smtp_client_connection_rate", STYPE_INT, APPLIES_CONNECTION,
	 "60", .min = 0, .max = 1000000,
	 .help = "SMTP connections one client IP may open per minute; more get 421 (0: no limit)"},
	[SET_SMTP_CLIENT_LIMIT_EXCEPTIONS] = {"smtp_client_limit_exceptions", STYPE_STRING,
	 APPLIES_CONNECTION, "", .validate = validate_ipnet_list,
	 .help = "client addresses and networks exempt from smtp_client_session_limit and "
	 "smtp_client_connection_rate (not from max_sessions): your own relay or filter in front, "
	 "like 192.0.2.10, 10.0.0.0/8, 2001:db8::/32 (at most 64)"},
	[SET_SMTP_SESSION_LIFETIME] = {"smtp_session_lifetime", STYPE_INT, APPLIES_CONNECTION, "900",
	 .min = 1, .max = 86400,
	 .help = "seconds an SMTP session may last in all; a message being judged is answered first"},
	[SET_SMTP_MIN_DATA_RATE] = {"smtp_min_data_rate", STYPE_INT, APPLIES_CONNECTION, "500",
	 .min = 0, .max = 1000000000,
	 .help = "bytes per second a client must send during DATA, averaged over smtp_data_rate_window "
	 "(0: no minimum)"},
	[SET_SMTP_DATA_RATE_WINDOW] = {"smtp_data_rate_window", STYPE_INT, APPLIES_CONNECTION, "60",
	 .min = 1, .max = 3600,
	 .help = "seconds over which smtp_min_data_rate is averaged"},
	[SET_SMTP_HARD_ERROR_LIMIT] = {"smtp_hard_error_limit", STYPE_INT, APPLIES_CONNECTION, "20",
	 .min = 1, .max = 1000,
	 .help = "errors and refusals (5xx replies) after which an SMTP session is closed with 421"},
	/* the intake log */
	[SET_LOG_RETENTION_DAYS] = {"log_retention_days", STYPE_INT, APPLIES_NOW, "90",
	 .min = 0, .max = 36500,
	 .help = "intake log rows older than this many days are deleted (by serve, hourly; or `log prune`); "
	 "0 keeps them for ever"},
	/* routing */
	[SET_PROJECT_PREFIX] = {"project_prefix", STYPE_STRING, APPLIES_CONNECTION, "a",
	 .validate = validate_prefix,
	 .help = "local part prefix of project addresses: <prefix><id>@<domain>"},
	[SET_UNKNOWN_RECIPIENT] = {"unknown_recipient", STYPE_ENUM, APPLIES_CONNECTION, "unassigned",
	 .choices = unknown_recipient_names,
	 .help = "unknown local part at our domain: file in Unassigned, or refuse with 550 5.1.1"},
	[SET_UNKNOWN_SENDER] = {"unknown_sender", STYPE_ENUM, APPLIES_NOW, "reject",
	 .choices = unknown_sender_names,
	 .help = "mail from unknown senders that answers no thread: refuse, or file in Unassigned"},
	[SET_AUTO_STAKEHOLDERS] = {"auto_stakeholders", STYPE_BOOL, APPLIES_NOW, "true",
	 .help = "outside people Cc'd by a member become the project's stakeholders"},
	[SET_FALLBACK_ADDRESS] = {"fallback_address", STYPE_STRING, APPLIES_NOW, "",
	 .validate = validate_email_or_empty,
	 .help = "where unreadable mail is forwarded (not on the catch-all mailbox's domain)"},
	/* authentication */
	[SET_REQUIRE_SPF] = {"require_spf", STYPE_BOOL, APPLIES_NOW, "true",
	 .help = "refuse mail whose SPF result is not pass"},
	[SET_REQUIRE_DKIM] = {"require_dkim", STYPE_BOOL, APPLIES_NOW, "true",
	 .help = "refuse mail without a valid DKIM signature aligned with the From domain"},
	[SET_AUTH_POLICY] = {"auth_policy", STYPE_ENUM, APPLIES_NOW, "require", .choices = auth_policy_names,
	 .help = "require: apply require_spf/require_dkim; dmarc: follow the sender domain's DMARC policy"},
	[SET_AUTHSERV_ID] = {"authserv_id", STYPE_STRING, APPLIES_NOW, "",
	 .help = "authserv-id in our Authentication-Results header (empty: hostname)"},
	[SET_DNS_SERVER] = {"dns_server", STYPE_STRING, APPLIES_RESTART, "", .validate = validate_hostport,
	 .help = "DNS resolver as ADDR:PORT (empty: the system's resolv.conf)"},
	[SET_DNS_TIMEOUT_MS] = {"dns_timeout_ms", STYPE_INT, APPLIES_RESTART, "5000",
	 .min = 100, .max = 60000,
	 .help = "total time for one DNS lookup"},
	[SET_DNS_MESSAGE_BUDGET_MS] = {"dns_message_budget_ms", STYPE_INT, APPLIES_NOW, "20000",
	 .min = 100, .max = 600000,
	 .help = "total time for all DNS lookups of one message (RFC 7208 4.6.4); past it, 451"},
	[SET_DNS_DOMAIN_CONCURRENCY] = {"dns_domain_concurrency", STYPE_INT, APPLIES_NOW, "2",
	 .min = 1, .max = 64,
	 .help = "DNS lookups not answered from the cache that messages from one sender domain may "
	 "have in flight at once (1 while that domain is timing out)"},
	[SET_DNS_CACHE_SIZE] = {"dns_cache_size", STYPE_SIZE, APPLIES_RESTART, "16M",
	 .min = 65536, .max = 1024 * MiB,
	 .help = "bytes the DNS cache may hold; the oldest entries are evicted past it"},
	[SET_TRUSTED_RECEIVED_HOST] = {"trusted_received_host", STYPE_STRING, APPLIES_NOW, "",
	 .help = "collected mail: take client IP and HELO from the TCP-info of the topmost Received this host stamped (.domain: any host in it)"},
	[SET_TRUSTED_AUTHSERV_ID] = {"trusted_authserv_id", STYPE_STRING, APPLIES_NOW, "",
	 .help = "collected mail: trust Authentication-Results headers with this authserv-id"},
	/* POP3 collector */
	[SET_POP_SERVER] = {"pop_server", STYPE_STRING, APPLIES_NOW, "", .validate = validate_pop_server,
	 .help = "system mailbox: ssl://host:995 or tcp://host:110 (empty: no collection)"},
	[SET_POP_USERNAME] = {"pop_username", STYPE_STRING, APPLIES_NOW, "",
	 .validate = validate_pop_username, .help = "system mailbox user name"},
	[SET_POP_PASSWORD] = {"pop_password", STYPE_STRING, APPLIES_NOW, "", .secret = true,
	 .help = "system mailbox password"},
	[SET_POP_REQUIRE_TLS] = {"pop_require_tls", STYPE_BOOL, APPLIES_NOW, "true",
	 .help = "tcp:// servers must offer STLS"},
	[SET_POP_CA_FILE] = {"pop_ca_file", STYPE_STRING, APPLIES_NOW, "",
	 .help = "CA bundle to verify the POP3 server's certificate (empty: system store)"},
	[SET_POP_INTERVAL] = {"pop_interval", STYPE_INT, APPLIES_NOW, "60", .min = 5, .max = 86400,
	 .help = "seconds between collection rounds"},
	[SET_MAILBOX_TYPE] = {"mailbox_type", STYPE_ENUM, APPLIES_NOW, "single",
	 .choices = mailbox_type_names,
	 .help = "single address mailbox, or catch-all for the whole domain"},
	[SET_SYSTEM_ADDRESS] = {"system_address", STYPE_STRING, APPLIES_NOW, "",
	 .validate = validate_email_or_empty,
	 .help = "the system mailbox's own address (single mailboxes)"},
	[SET_CATCHALL_HEADER] = {"catchall_header", STYPE_STRING, APPLIES_NOW, "Delivered-To",
	 .validate = validate_header_name,
	 .help = "header carrying the original recipient in a catch-all mailbox"},
	[SET_POP_OAUTH_TOKEN_URL] = {"pop_oauth_token_url", STYPE_STRING, APPLIES_NOW, "",
	 .help = "OAuth 2.0 token endpoint (XOAUTH2)"},
	[SET_POP_OAUTH_CLIENT_ID] = {"pop_oauth_client_id", STYPE_STRING, APPLIES_NOW, "",
	 .help = "OAuth 2.0 client id"},
	[SET_POP_OAUTH_CLIENT_SECRET] = {"pop_oauth_client_secret", STYPE_STRING, APPLIES_NOW, "",
	 .secret = true,
	 .help = "OAuth 2.0 client secret"},
	[SET_POP_OAUTH_REFRESH_TOKEN] = {"pop_oauth_refresh_token", STYPE_STRING, APPLIES_NOW, "",
	 .secret = true,
	 .help = "OAuth 2.0 refresh token"},
	/* outbound: the relay (or the built-in path) */
	[SET_SMTP_SERVER] = {"smtp_server", STYPE_STRING, APPLIES_NOW, "", .validate = validate_smtp_server,
	 .help = "outgoing mail: the relay as host or host:port (default port 587, 465 with smtp_tls = "
	 "implicit; port 25 is refused), or direct: deliver to each recipient domain's MX hosts "
	 "(empty: nothing is sent)"},
	[SET_SMTP_TLS] = {"smtp_tls", STYPE_ENUM, APPLIES_NOW, "starttls", .choices = smtp_tls_names,
	 .help = "TLS towards the relay: starttls (required, certificate verified), implicit (TLS from "
	 "the first byte, port 465) or none; direct mode always tries STARTTLS without verifying"},
	[SET_SMTP_AUTH] = {"smtp_auth", STYPE_ENUM, APPLIES_NOW, "none", .choices = smtp_auth_names,
	 .help = "SMTP AUTH mechanism towards the relay (xoauth2: smtp_password holds the access token)"},
	[SET_SMTP_USERNAME] = {"smtp_username", STYPE_STRING, APPLIES_NOW, "",
	 .help = "relay login name"},
	[SET_SMTP_PASSWORD] = {"smtp_password", STYPE_STRING, APPLIES_NOW, "", .secret = true,
	 .help = "relay password (or OAuth 2.0 access token with smtp_auth = xoauth2)"},
	[SET_SMTP_CA_FILE] = {"smtp_ca_file", STYPE_STRING, APPLIES_NOW, "",
	 .help = "CA bundle to verify the relay's certificate (empty: system store)"},
	[SET_SMTP_RETRY_FOR] = {"smtp_retry_for", STYPE_INT, APPLIES_NOW, "172800", .min = 1,
	 .max = 30 * 86400,
	 .help = "seconds a message that meets only temporary failures is retried before it is marked "
	 "failed (172800: 2 days)"},
	[SET_SMTP_DIRECT_PORT] = {"smtp_direct_port", STYPE_INT, APPLIES_NOW, "25", .min = 1, .max = 65535,
	 .help = "test only: the port direct mode connects to on MX hosts (the world listens on 25)"},
	[SET_OUTBOUND_LEASE_SECONDS] = {"outbound_lease_seconds", STYPE_INT, APPLIES_RESTART, "600",
	 .min = 5, .max = 86400,
	 .help = "test only: how long a delivery worker holds a message it claimed; a node that dies "
	 "leaves it to be claimed again after this (the default outlasts the slowest delivery)"},
	/* outbound mail: signing and our own addresses */
	[SET_DKIM_KEYS] = {"dkim_keys", STYPE_STRING, APPLIES_NOW, "", .validate = validate_dkim_keys,
	 .help = "DKIM keys that sign outgoing mail: domain:selector:/path/key.pem entries, comma "
	 "separated (RSA and Ed25519; both sign when a domain has both; files 0600, owned by the "
	 "user postroom runs as)"},
	[SET_ADDRESS_KEY] = {"address_key", STYPE_STRING, APPLIES_NOW, "", .secret = true,
	 .validate = validate_address_key,
	 .help = "secret that authenticates our bounce addresses (bounce+ID-MAC@domain) so that no one "
	 "else can fail our messages; at least 16 characters (empty: the envelope sender is the From address, and reports are filed as ordinary automatic mail)"},
	/* outbound mail (`postroom send`, the delivery queue) */
	[SET_SENDER_MODE] = {"sender_mode", STYPE_ENUM, APPLIES_NOW, "project", .choices = sender_mode_names,
	 .help = "sender address of mail sent from a project: project (<project_prefix><id>@<first domain>, "
	 "so replies file themselves) or default (default_sender)"},
	[SET_DEFAULT_SENDER] = {"default_sender", STYPE_STRING, APPLIES_NOW, "",
	 .validate = validate_email_or_empty,
	 .help = "sender address for sender_mode = default and for automatic mail"},
	[SET_INTERNAL_DELIVERY] = {"internal_delivery", STYPE_BOOL, APPLIES_NOW, "true",
	 .help = "recipients at our own domains are placed directly by the routing rules, without SMTP"},
	/* the domain test, built in (intake/check_address.c) */
	[SET_CHECK_ADDRESS] = {"check_address", STYPE_STRING, APPLIES_NOW, "",
	 .validate = validate_email_or_empty,
	 .help = "mail to this address is not filed but answered with a report of its SPF, DKIM and DMARC "
	 "results (like check@firm.example; empty: off)"},
	[SET_CHECK_ADDRESS_HOURLY] = {"check_address_hourly", STYPE_INT, APPLIES_NOW, "5", .min = 1,
	 .max = 1000,
	 .help = "reports check_address sends one envelope sender per hour; past it, messages are logged "
	 "but not answered"},
	/* the HTTP API and web console (src/http/) */
	[SET_HTTP_LISTEN] = {"http_listen", STYPE_STRING, APPLIES_RESTART, "127.0.0.1:8025",
	 .help = "HTTP API and web console address, ADDR:PORT (empty: no HTTP); plain HTTP only on "
	 "loopback behind a proxy, else set http_tls_cert/http_tls_key"},
	[SET_HTTP_THREADS] = {"http_threads", STYPE_INT, APPLIES_RESTART, "4", .min = 1, .max = 64,
	 .help = "HTTP worker threads, each with its own store connection (a slow check holds one)"},
	[SET_HTTP_TLS_CERT] = {"http_tls_cert", STYPE_STRING, APPLIES_RESTART, "",
	 .help = "PEM certificate chain for HTTPS on http_listen (empty: plain HTTP)"},
	[SET_HTTP_TLS_KEY] = {"http_tls_key", STYPE_STRING, APPLIES_RESTART, "",
	 .help = "PEM private key for HTTPS"},
	/* webhooks (src/webhook/) */
	[SET_WEBHOOK_RETRY_FOR] = {"webhook_retry_for", STYPE_INT, APPLIES_NOW, "259200", .min = 1,
	 .max = 30 * 86400,
	 .help = "seconds a webhook delivery is retried (from its placement, or its last `webhook retry`) "
	 "before it is marked failed and the next one of its queue is sent (259200: 3 days)"},
	[SET_WEBHOOK_LEASE_SECONDS] = {"webhook_lease_seconds", STYPE_INT, APPLIES_RESTART, "60",
	 .min = 2, .max = 86400,
	 .help = "test only: how long a webhook worker holds a delivery it claimed; a node that dies "
	 "leaves it to be claimed again after this (the default outlasts the 15 s request timeout)"},
	/* console sign-in (api/api_session.c) */
	[SET_HTTP_SESSION_HOURS] = {"http_session_hours", STYPE_INT, APPLIES_NOW, "12", .min = 1,
	 .max = 720,
	 .help = "a console session ends this many hours after sign-in, however active"},
	[SET_HTTP_SESSION_IDLE_MINUTES] = {"http_session_idle_minutes", STYPE_INT, APPLIES_NOW, "60",
	 .min = 5, .max = 43200,
	 .help = "a console session ends after this many minutes without a request"},
};
_Static_assert(sizeof(table) / sizeof(table[0]) == SET__COUNT, "one row per enum setting_key");

#define NSETTINGS SET__COUNT

struct settings {
	atomic_int refs;
	char *value[NSETTINGS];
	long long num[NSETTINGS];    /* INT/SIZE value, BOOL 0/1, ENUM choice index */
	enum setting_source src[NSETTINGS];
};

const struct setting_def *
settings_def(enum setting_key k)
{
	if ((unsigned)k >= NSETTINGS)
		pr_panic("no setting with key %d", (int)k);
	return &table[k];
}

int
settings_key(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(table[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
settings_applies_name(enum setting_applies a)
{
	return a == APPLIES_RESTART ? "restart" : a == APPLIES_CONNECTION ? "connection" : "now";
}

long long
settings_parse_size(const char *v)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (end == v || errno != 0 || n < 0)
		return -1;
	long long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = MiB, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024 * MiB, end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || n > (1LL << 50) / mul)
		return -1;
	return n * mul;
}

static int
parse_bool(const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static int
enum_index(const char *const *choices, const char *v)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], v) == 0)
			return i;
	return -1;
}

/* "a|b|c" for messages. */
static void
enum_list(const char *const *choices, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; choices[i] != NULL && len < size; i++) {
		int n = snprintf(out + len, size - len, "%s%s", i ? "|" : "", choices[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* Check one value against its row; on success *num_r holds its number. */
static int
check_value(const struct setting_def *d, const char *v, long long *num_r, struct pr_why *why)
{
	*num_r = 0;
	if (strlen(v) > PR_SETTING_MAX) {
		pr_why_set(why, PR_E_CONFIG, "%s: value longer than %d bytes", d->name, PR_SETTING_MAX);
		return -1;
	}
	switch (d->type) {
	case STYPE_INT:
	case STYPE_SIZE: {
		long long n;
		if (d->type == STYPE_SIZE) {
			n = settings_parse_size(v);
		} else {
			char *end;
			errno = 0;
			n = strtoll(v, &end, 10);
			if (end == v || *end || errno)
				n = -1;
		}
		if (n < 0) {
			pr_why_set(why, PR_E_CONFIG, "%s: '%s' is not a %s", d->name, v,
			           d->type == STYPE_SIZE ? "size (like 20M or 512k)" : "whole number");
			return -1;
		}
		if (n < d->min || n > d->max) {
			pr_why_set(why, PR_E_CONFIG, "%s: %lld is outside %lld..%lld", d->name, n, d->min, d->max);
			return -1;
		}
		*num_r = n;
		break;
	}
	case STYPE_BOOL: {
		int b = parse_bool(v);
		if (b < 0) {
			pr_why_set(why, PR_E_CONFIG, "%s: '%s' is not true or false", d->name, v);
			return -1;
		}
		*num_r = b;
		break;
	}
	case STYPE_ENUM: {
		int c = enum_index(d->choices, v);
		if (c < 0) {
			char list[256];
			enum_list(d->choices, list, sizeof(list));
			pr_why_set(why, PR_E_CONFIG, "%s: '%s' is not one of %s", d->name, v, list);
			return -1;
		}
		*num_r = c;
		break;
	}
	case STYPE_STRING:
		break;
	}
	return d->validate ? d->validate(v, why) : 0;
}

struct settings *
settings_new(void)
{
	struct settings *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	for (size_t i = 0; i < NSETTINGS; i++) {
		struct pr_why why;
		if (table[i].name == NULL)
			pr_panic("setting key %zu has no row in the table", i);
		if (check_value(&table[i], table[i].def, &s->num[i], &why) < 0)
			pr_panic("bad default for %s: %s", table[i].name, why.detail);
		s->value[i] = xstrdup(table[i].def);
		s->src[i] = SRC_DEFAULT;
	}
	return s;
}

struct settings *
settings_clone(const struct settings *o)
{
	struct settings *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	for (size_t i = 0; i < NSETTINGS; i++) {
		s->value[i] = xstrdup(o->value[i]);
		s->num[i] = o->num[i];
		s->src[i] = o->src[i];
	}
	return s;
}

void
settings_unref(struct settings **sp)
{
	struct settings *s = *sp;
	*sp = NULL;
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (size_t i = 0; i < NSETTINGS; i++)
		free(s->value[i]);
	free(s);
}

int
settings_set(struct settings *s, enum setting_key k, const char *value,
             enum setting_source src, struct pr_why *why)
{
	long long num;
	if (check_value(settings_def(k), value, &num, why) < 0)
		return -1;
	free(s->value[k]);
	s->value[k] = xstrdup(value);
	s->num[k] = num;
	s->src[k] = src;
	return 0;
}

int
settings_set_named(struct settings *s, const char *name, const char *value,
                   enum setting_source src, struct pr_why *why)
{
	int k = settings_key(name);
	if (k < 0) {
		pr_why_set(why, PR_E_NOT_FOUND, "unknown setting '%s' (see `postroom settings show`)", name);
		return -1;
	}
	return settings_set(s, (enum setting_key)k, value, src, why);
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

int
settings_check(const struct settings *s, struct pr_why *why)
{
	const char *fb = settings_str(s, SET_FALLBACK_ADDRESS);
	const char *sys = settings_str(s, SET_SYSTEM_ADDRESS);
	if (*fb && *sys && settings_enum(s, SET_MAILBOX_TYPE) == MAILBOX_CATCHALL &&
	    strcasecmp(domain_of(fb), domain_of(sys)) == 0) {
		pr_why_set(why, PR_E_CONFIG,
		           "fallback_address %s is on the catch-all mailbox's domain %s: "
		           "mail to it would be collected again; use an address elsewhere", fb, domain_of(sys));
		return -1;
	}
	if (*settings_str(s, SET_TLS_CERT) && !*settings_str(s, SET_TLS_KEY)) {
		pr_why_set(why, PR_E_CONFIG, "tls_cert is set but tls_key is not");
		return -1;
	}
	if (!*settings_str(s, SET_HTTP_TLS_CERT) != !*settings_str(s, SET_HTTP_TLS_KEY)) {
		pr_why_set(why, PR_E_CONFIG, "http_tls_cert and http_tls_key go together: set both or neither");
		return -1;
	}
	return 0;
}

static char *
trim(char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	char *e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return p;
}

int
settings_load_file(struct settings *s, const char *path, struct pr_why *why)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		pr_why_set(why, PR_E_CONFIG, "cannot open config file %s: %s", path, strerror(errno));
		return -1;
	}
	char line[PR_CONFIG_MAX_LINE];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			pr_why_set(why, PR_E_CONFIG, "%s:%d: line longer than %d bytes", path, lineno, PR_CONFIG_MAX_LINE);
			rc = -1;
			break;
		}
		char *p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		if (eq == NULL) {
			pr_why_set(why, PR_E_CONFIG, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(p), *val = trim(eq + 1);
		struct pr_why w;
		if (settings_set_named(s, key, val, SRC_FILE, &w) < 0) {
			pr_why_set(why, PR_E_CONFIG, "%s:%d: %s", path, lineno, w.detail);
			rc = -1;
		}
	}
	fclose(f);
	return rc < 0 ? rc : settings_check(s, why);
}

/* The row of k, which must hold a value of one of the two types. */
static const struct setting_def *
typed(enum setting_key k, enum setting_type t1, enum setting_type t2)
{
	const struct setting_def *d = settings_def(k);
	if (d->type != t1 && d->type != t2)
		pr_panic("setting %s read as the wrong type", d->name);
	return d;
}

const char *
settings_str(const struct settings *s, enum setting_key k)
{
	(void)settings_def(k);
	return s->value[k];
}

long long
settings_int(const struct settings *s, enum setting_key k)
{
	typed(k, STYPE_INT, STYPE_SIZE);
	return s->num[k];
}

bool
settings_bool(const struct settings *s, enum setting_key k)
{
	typed(k, STYPE_BOOL, STYPE_BOOL);
	return s->num[k] != 0;
}

int
settings_enum(const struct settings *s, enum setting_key k)
{
	typed(k, STYPE_ENUM, STYPE_ENUM);
	return (int)s->num[k];
}

enum setting_source
settings_source(const struct settings *s, enum setting_key k)
{
	(void)settings_def(k);
	return s->src[k];
}

const char *
settings_display(const struct settings *s, enum setting_key k)
{
	if (settings_def(k)->secret)
		return s->value[k][0] ? "********" : "";
	return s->value[k];
}

size_t
settings_changed(const struct settings *a, const struct settings *b, enum setting_key *out)
{
	size_t n = 0;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(a->value[i], b->value[i]) != 0)
			out[n++] = (enum setting_key)i;
	return n;
}

/* --- the process-wide snapshot --- */

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct settings *current;

void
settings_publish(struct settings *s)
{
	pthread_mutex_lock(&current_lock);
	struct settings *old = current;
	current = s;
	pthread_mutex_unlock(&current_lock);
	settings_unref(&old);
}

struct settings *
settings_current(void)
{
	pthread_mutex_lock(&current_lock);
	if (current == NULL)
		current = settings_new();
	struct settings *s = current;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&current_lock);
	return s;
}

/* --- validators --- */

static int
validate_email(const char *v, struct pr_why *why)
{
	const char *at = strrchr(v, '@');
	if (at == NULL || at == v || at[1] == '\0' || strchr(at, '.') == NULL ||
	    strpbrk(v, " <>\t\r\n,;") != NULL) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not an email address like name@example.org", v);
		return -1;
	}
	return 0;
}

static int
validate_dkim_keys(const char *v, struct pr_why *why)
{
	struct keyspec_list l;
	return keyspec_parse(v, &l, why);
}

/* A short key can be guessed off-line from one bounce address. */
static int
validate_address_key(const char *v, struct pr_why *why)
{
	if (*v != '\0' && strlen(v) < 16) {
		pr_why_set(why, PR_E_CONFIG, "address_key must have at least 16 characters "
		           "(try: openssl rand -hex 32)");
		return -1;
	}
	return 0;
}

static int
validate_email_or_empty(const char *v, struct pr_why *why)
{
	return *v ? validate_email(v, why) : 0;
}

static int
validate_hostport(const char *v, struct pr_why *why)
{
	if (*v == '\0')
		return 0;
	const char *colon = strrchr(v, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (colon == NULL || colon == v || *end || port < 1 || port > 65535) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not ADDR:PORT (like 127.0.0.1:53)", v);
		return -1;
	}
	return 0;
}

static int
validate_pop_server(const char *v, struct pr_why *why)
{
	if (*v == '\0')
		return 0;
	if (!strncmp(v, "imap://", 7) || !strncmp(v, "imaps://", 8) ||
	    (strrchr(v, ':') && !strcmp(strrchr(v, ':'), ":993")) ||
	    (strrchr(v, ':') && !strcmp(strrchr(v, ':'), ":143"))) {
		pr_why_set(why, PR_E_CONFIG,
		           "'%s' is an IMAP server; postroom collects by POP3: use ssl://host:995 or tcp://host:110", v);
		return -1;
	}
	int skip = !strncmp(v, "ssl://", 6) ? 6 : !strncmp(v, "tcp://", 6) ? 6 : 0;
	if (skip == 0 || validate_hostport(v + skip, why) < 0) {
		pr_why_set(why, PR_E_CONFIG, "'%s' is not ssl://host:995 or tcp://host:110", v);
		return -1;
	}
	/* A DNS name is at most 253 bytes; the bound also keeps the mailbox
	 * key ("server user") within what the store's index takes. */
	if (strrchr(v, ':') - (v + skip) > 253) {
		pr_why_set(why, PR_E_CONFIG, "pop_server's host name is longer than 253 characters");
		return -1;
	}
	return 0;
}

/* The mailbox ("server user") keys the store's record of what was
 * collected: PostgreSQL's index entries hold at most ~2.7 KB, and no POP3
 * server gives out user names near this (an address is at most 254). */
#define POP_USERNAME_MAX 320

static int
validate_pop_username(const char *v, struct pr_why *why)
{
	if (strlen(v) > POP_USERNAME_MAX) {
		pr_why_set(why, PR_E_CONFIG, "pop_username is longer than %d bytes: give the mailbox's user name"
		           " or address", POP_USERNAME_MAX);
		return -1;
	}
	return 0;
}

static int
validate_header_name(const char *v, struct pr_why *why)
{
	if (*v == '\0') {
		pr_why_set(why, PR_E_CONFIG, "a header name is needed, like Delivered-To");
		return -1;
	}
	for (const char *p = v; *p; p++)
		if (*p <= 32 || *p >= 127 || *p == ':') {
			pr_why_set(why, PR_E_CONFIG, "'%s' is not a header field name", v);
			return -1;
		}
	return 0;
}

static int
validate_prefix(const char *v, struct pr_why *why)
{
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			pr_why_set(why, PR_E_CONFIG, "project_prefix may only hold letters, digits, '-', '_', '.'");
			return -1;
		}
	if (strlen(v) > 32) {
		pr_why_set(why, PR_E_CONFIG, "project_prefix is longer than 32 characters");
		return -1;
	}
	return 0;
}

int
settings_split_hostport(const char *v, char *host, size_t size, int *port_r)
{
	const char *h = v, *hend, *port = NULL;
	*port_r = 0;
	if (*v == '[') {            /* "[v6]" or "[v6]:port" */
		h = v + 1;
		if ((hend = strchr(h, ']')) == NULL || (hend[1] != '\0' && hend[1] != ':'))
			return -1;
		port = hend[1] == ':' ? hend + 2 : NULL;
	} else if ((hend = strchr(v, ':')) != NULL) {
		if (strchr(hend + 1, ':') != NULL)
			return -1;          /* a bare IPv6 address: brackets are needed */
		port = hend + 1;
	} else
		hend = v + strlen(v);
	size_t len = (size_t)(hend - h);
	if (len == 0 || len >= size || strcspn(h, " \t/@[]") < len)
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	if (port) {
		char *end;
		errno = 0;
		long n = strtol(port, &end, 10);
		if (end == port || *end || errno || n < 1 || n > 65535)
			return -1;
		*port_r = (int)n;
	}
	return 0;
}

/* "", "direct", or a host with an optional port.  Port 25 is accepted here
 * and refused by the transport with its reason, so that `check smtp` and
 * the outbox can say why. */
static int
validate_smtp_server(const char *v, struct pr_why *why)
{
	char host[PR_MAX_DOMAIN + 1];
	int port;
	if (*v == '\0' || !strcmp(v, "direct") || settings_split_hostport(v, host, sizeof(host), &port) == 0)
		return 0;
	pr_why_set(why, PR_E_CONFIG, "'%s' is not host, host:port, [IPv6]:port or direct", v);
	return -1;
}

static int
validate_ipnet_list(const char *v, struct pr_why *why)
{
	struct ipnet_list l;
	return ipnet_list_parse(v, &l, why);
}
