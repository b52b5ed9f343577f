/* settings.c - the settings table and snapshots.  See settings.h.
 *
 * Adding a setting is adding one row here; the loader, `settings set`,
 * `settings show` and validation all follow from the row. */
#include "core/settings.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"

static int validate_email(const char *v, struct pr_why *why);
static int validate_email_or_empty(const char *v, struct pr_why *why);
static int validate_hostport(const char *v, struct pr_why *why);
static int validate_pop_server(const char *v, struct pr_why *why);
static int validate_header_name(const char *v, struct pr_why *why);
static int validate_prefix(const char *v, struct pr_why *why);

#define MiB (1024LL * 1024)

static const struct setting_def table[] = {
	/* identity and listeners (usually node-local, in the config file) */
	{"hostname", SET_STRING, "postroom.localdomain", 0, 0, NULL, false, NULL,
	 "name in the SMTP banner and our Received: header"},
	{"smtp_listen", SET_STRING, "127.0.0.1:2525", 0, 0, NULL, false, NULL,
	 "SMTP listen addresses, comma separated (ADDR:PORT, [v6]:PORT)"},
	{"tls_cert", SET_STRING, "", 0, 0, NULL, false, NULL,
	 "PEM certificate chain for STARTTLS (empty: STARTTLS not offered)"},
	{"tls_key", SET_STRING, "", 0, 0, NULL, false, NULL, "PEM private key for STARTTLS"},
	{"run_as_user", SET_STRING, "", 0, 0, NULL, false, NULL,
	 "serve started as root binds its ports, then runs as this user (config file only; "
	 "the store's directory must be writable by it)"},
	{"log_level", SET_ENUM, "info", 0, 0, "debug|info|warning|error", false, NULL, "daemon log level"},
	/* SMTP limits */
	{"max_message_size", SET_SIZE, "20M", 1024, PR_MAX_MESSAGE_SIZE, NULL, false, NULL,
	 "largest message accepted, bytes (suffix k, M)"},
	{"max_recipients", SET_INT, "100", 1, PR_MAX_RECIPIENTS, NULL, false, NULL,
	 "recipients per message; more get 452 and the client sends them again"},
	{"max_sessions", SET_INT, "200", 1, PR_MAX_SESSIONS, NULL, false, NULL,
	 "concurrent SMTP sessions; more get 421"},
	{"smtp_idle_timeout", SET_INT, "300", 1, 3600, NULL, false, NULL,
	 "seconds an SMTP session may be idle (RFC 5321 4.5.3.2 suggests 5 minutes)"},
	/* routing */
	{"project_prefix", SET_STRING, "a", 0, 0, NULL, false, validate_prefix,
	 "local part prefix of project addresses: <prefix><id>@<domain>"},
	{"unknown_recipient", SET_ENUM, "unassigned", 0, 0, "unassigned|reject", false, NULL,
	 "unknown local part at our domain: file in Unassigned, or refuse with 550 5.1.1"},
	{"unknown_sender", SET_ENUM, "reject", 0, 0, "reject|unassigned", false, NULL,
	 "mail from unknown senders that answers no thread: refuse, or file in Unassigned"},
	{"auto_stakeholders", SET_BOOL, "true", 0, 0, NULL, false, NULL,
	 "outside people Cc'd by a member become the project's stakeholders"},
	{"fallback_address", SET_STRING, "", 0, 0, NULL, false, validate_email_or_empty,
	 "where unreadable mail is forwarded (not on the catch-all mailbox's domain)"},
	/* authentication */
	{"require_spf", SET_BOOL, "true", 0, 0, NULL, false, NULL, "refuse mail whose SPF result is not pass"},
	{"require_dkim", SET_BOOL, "true", 0, 0, NULL, false, NULL,
	 "refuse mail without a valid DKIM signature aligned with the From domain"},
	{"auth_policy", SET_ENUM, "require", 0, 0, "require|dmarc", false, NULL,
	 "require: apply require_spf/require_dkim; dmarc: follow the sender domain's DMARC policy"},
	{"authserv_id", SET_STRING, "", 0, 0, NULL, false, NULL,
	 "authserv-id in our Authentication-Results header (empty: hostname)"},
	{"dns_server", SET_STRING, "", 0, 0, NULL, false, validate_hostport,
	 "DNS resolver as ADDR:PORT (empty: the system's resolv.conf)"},
	{"dns_timeout_ms", SET_INT, "5000", 100, 60000, NULL, false, NULL, "total time for one DNS lookup"},
	{"trusted_received_host", SET_STRING, "", 0, 0, NULL, false, NULL,
	 "collected mail: take client IP and HELO from the Received header this host stamped"},
	{"trusted_authserv_id", SET_STRING, "", 0, 0, NULL, false, NULL,
	 "collected mail: trust Authentication-Results headers with this authserv-id"},
	/* POP3 collector */
	{"pop_server", SET_STRING, "", 0, 0, NULL, false, validate_pop_server,
	 "system mailbox: ssl://host:995 or tcp://host:110 (empty: no collection)"},
	{"pop_username", SET_STRING, "", 0, 0, NULL, false, NULL, "system mailbox user name"},
	{"pop_password", SET_STRING, "", 0, 0, NULL, true, NULL, "system mailbox password"},
	{"pop_require_tls", SET_BOOL, "true", 0, 0, NULL, false, NULL, "tcp:// servers must offer STLS"},
	{"pop_ca_file", SET_STRING, "", 0, 0, NULL, false, NULL,
	 "CA bundle to verify the POP3 server's certificate (empty: system store)"},
	{"pop_interval", SET_INT, "60", 5, 86400, NULL, false, NULL, "seconds between collection rounds"},
	{"mailbox_type", SET_ENUM, "single", 0, 0, "single|catchall", false, NULL,
	 "single address mailbox, or catch-all for the whole domain"},
	{"system_address", SET_STRING, "", 0, 0, NULL, false, validate_email_or_empty,
	 "the system mailbox's own address (single mailboxes)"},
	{"catchall_header", SET_STRING, "Delivered-To", 0, 0, NULL, false, validate_header_name,
	 "header carrying the original recipient in a catch-all mailbox"},
	{"pop_oauth_token_url", SET_STRING, "", 0, 0, NULL, false, NULL, "OAuth 2.0 token endpoint (XOAUTH2)"},
	{"pop_oauth_client_id", SET_STRING, "", 0, 0, NULL, false, NULL, "OAuth 2.0 client id"},
	{"pop_oauth_client_secret", SET_STRING, "", 0, 0, NULL, true, NULL, "OAuth 2.0 client secret"},
	{"pop_oauth_refresh_token", SET_STRING, "", 0, 0, NULL, true, NULL, "OAuth 2.0 refresh token"},
	{NULL, 0, NULL, 0, 0, NULL, false, NULL, NULL},
};

#define NSETTINGS (sizeof(table) / sizeof(table[0]) - 1)

struct settings {
	atomic_int refs;
	char *value[NSETTINGS];
	long long num[NSETTINGS];
	enum setting_source src[NSETTINGS];
};

const struct setting_def *
settings_table(void)
{
	return table;
}

static int
index_of(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(table[i].name, name) == 0)
			return (int)i;
	return -1;
}

const struct setting_def *
settings_def(const char *name)
{
	int i = index_of(name);
	return i < 0 ? NULL : &table[i];
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

static bool
enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p += len + (bar ? 1 : 0);
	}
	return false;
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
	case SET_INT:
	case SET_SIZE: {
		long long n;
		if (d->type == SET_SIZE) {
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
			           d->type == SET_SIZE ? "size (like 20M or 512k)" : "whole number");
			return -1;
		}
		if (n < d->min || n > d->max) {
			pr_why_set(why, PR_E_CONFIG, "%s: %lld is outside %lld..%lld", d->name, n, d->min, d->max);
			return -1;
		}
		*num_r = n;
		break;
	}
	case SET_BOOL: {
		int b = parse_bool(v);
		if (b < 0) {
			pr_why_set(why, PR_E_CONFIG, "%s: '%s' is not true or false", d->name, v);
			return -1;
		}
		*num_r = b;
		break;
	}
	case SET_ENUM:
		if (!enum_has(d->choices, v)) {
			pr_why_set(why, PR_E_CONFIG, "%s: '%s' is not one of %s", d->name, v, d->choices);
			return -1;
		}
		break;
	case SET_STRING:
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
settings_set(struct settings *s, const char *name, const char *value,
             enum setting_source src, struct pr_why *why)
{
	int i = index_of(name);
	if (i < 0) {
		pr_why_set(why, PR_E_NOT_FOUND, "unknown setting '%s' (see `postroom settings show`)", name);
		return -1;
	}
	long long num;
	if (check_value(&table[i], value, &num, why) < 0)
		return -1;
	free(s->value[i]);
	s->value[i] = xstrdup(value);
	s->num[i] = num;
	s->src[i] = src;
	return 0;
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
	const char *fb = settings_get(s, "fallback_address");
	const char *sys = settings_get(s, "system_address");
	if (*fb && *sys && !strcmp(settings_get(s, "mailbox_type"), "catchall") &&
	    strcasecmp(domain_of(fb), domain_of(sys)) == 0) {
		pr_why_set(why, PR_E_CONFIG,
		           "fallback_address %s is on the catch-all mailbox's domain %s: "
		           "mail to it would be collected again; use an address elsewhere", fb, domain_of(sys));
		return -1;
	}
	if (*settings_get(s, "tls_cert") && !*settings_get(s, "tls_key")) {
		pr_why_set(why, PR_E_CONFIG, "tls_cert is set but tls_key is not");
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
		if (settings_set(s, key, val, SRC_FILE, &w) < 0) {
			pr_why_set(why, PR_E_CONFIG, "%s:%d: %s", path, lineno, w.detail);
			rc = -1;
		}
	}
	fclose(f);
	return rc < 0 ? rc : settings_check(s, why);
}

static int
must_index(const char *name)
{
	int i = index_of(name);
	if (i < 0)
		pr_panic("no setting named %s", name);
	return i;
}

const char *
settings_get(const struct settings *s, const char *name)
{
	return s->value[must_index(name)];
}

long long
settings_int(const struct settings *s, const char *name)
{
	return s->num[must_index(name)];
}

bool
settings_bool(const struct settings *s, const char *name)
{
	return s->num[must_index(name)] != 0;
}

enum setting_source
settings_source(const struct settings *s, const char *name)
{
	return s->src[must_index(name)];
}

const char *
settings_display(const struct settings *s, const char *name)
{
	int i = must_index(name);
	if (table[i].secret)
		return s->value[i][0] ? "********" : "";
	return s->value[i];
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
