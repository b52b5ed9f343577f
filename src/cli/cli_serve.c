/* cli_serve.c - `postroom serve [--smtp ADDR:PORT]...`: the daemon.
 *
 * Wiring only: settings snapshot -> intake (threads, store, group commit)
 * -> SMTP server on one libevent loop -> optional POP3 collector thread.
 * Foreground, logs on stderr.  Signals are handled on the loop:
 *   SIGTERM/SIGINT  stop accepting, 421 to idle sessions, let transactions
 *                   in flight finish (at most DRAIN_SECONDS), drain intake,
 *                   exit 0.  Nothing acknowledged is ever lost: a 250 is
 *                   only sent after the commit.
 *   SIGHUP          reload the settings (store + config file); a bad config
 *                   keeps the running one and logs why.
 * Settings stored with `settings set` (by any process or node sharing the
 * store) need no signal: a thread polls the store's settings version twice
 * a second and hands a new snapshot to the loop when it moved
 * (cli_serve_follow.c, api_watch.c): off the loop, because that read
 * waits out the store's busy timeout when another process holds its locks,
 * and no session may wait for it.  Keys
 * that only apply at start (listeners, run_as_user, the resolver) are
 * logged as waiting for a restart.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "api/postroom.h"
#include "cli/cli_private.h"
#include "cli/cli_serve_follow.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/private.h"
#include "core/settings.h"
#include "http/http.h"
#include "intake/intake.h"
#include "net/net.h"
#include "outbound/outbound.h"
#include "pop3/pop3.h"
#include "smtp/smtp.h"
#include "webhook/webhook.h"


/* How long SIGTERM waits for transactions in flight before closing them. */
#define DRAIN_SECONDS 30
#define MAX_LISTEN 16
/* How often the stored settings version is polled: "within a second". */
#define SETTINGS_POLL_MS 500

struct daemon {
	struct cli_ctx *ctx;
	bool seeded;                 /* the store was empty: print how to start */
	char first_addr[80];
	struct event_base *base;
	struct smtp_server *srv;
	struct event *deadline;
	struct event *ev[3];         /* SIGTERM, SIGINT, SIGHUP */
	struct api_settings_watch *watch;
	struct settings_follow *follow;
	bool stopping;
	/* Sockets bound as root before dropping to run_as_user. */
	int early_fd[MAX_LISTEN];
	struct net_addr early_addr[MAX_LISTEN];
	size_t nearly;
	const char *http_arg;        /* --http ADDR:PORT, or NULL: http_listen */
	int http_fd;                 /* bound before the privilege drop; -1 */
	struct net_addr http_addr;
	struct http_server *http;
};

static void
usage(FILE *f)
{
	fputs("usage: postroom [--config FILE] [--store URI] serve [--smtp ADDR:PORT]... [--http ADDR:PORT]\n"
	      "  Run the daemon in the foreground, logging to stderr.\n"
	      "  --smtp ADDR:PORT   listen for SMTP here (repeatable; IPv4 or [IPv6]);\n"
	      "                     default: the smtp_listen setting (comma separated)\n"
	      "  --http ADDR:PORT   the HTTP API and web console (default: the http_listen\n"
	      "                     setting, 127.0.0.1:8025; \"\" for none)\n"
	      "  SIGTERM drains sessions and exits; SIGHUP reloads the settings.\n", f);
}

static void
set_log_level(const struct settings *set)
{
	log_set_level((enum log_level)settings_enum(set, SET_LOG_LEVEL));
}

/* Messages past 256 KiB spill here: next to an SQLite store, else ./var. */
static char *
spool_dir_for(const char *store_uri)
{
	char dir[PATH_MAX];
	const char *slash = NULL;
	if (strncmp(store_uri, "sqlite:", 7) == 0)
		slash = strrchr(store_uri + 7, '/');
	int n = slash ? snprintf(dir, sizeof(dir), "%.*s/spool", (int)(slash - store_uri - 7), store_uri + 7)
	              : snprintf(dir, sizeof(dir), "./var/spool");
	struct pr_why why;
	if (n < 0 || (size_t)n >= sizeof(dir))
		return xstrdup("/tmp");
	/* A PostgreSQL store has no directory of its own: ./var may not exist. */
	if (slash == NULL && private_dir("./var", &why) < 0) {
		log_warn("%s; spooling in /tmp (unnamed 0600 files)", pr_why_text(&why));
		return xstrdup("/tmp");
	}
	if (private_dir(dir, &why) < 0) {
		log_warn("%s; spooling in /tmp (unnamed 0600 files)", pr_why_text(&why));
		return xstrdup("/tmp");
	}
	return xstrdup(dir);
}

static void
on_empty(void *arg)
{
	struct daemon *d = arg;
	event_base_loopbreak(d->base);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	(void)fd, (void)what;
	log_warn("shutdown: %zu sessions still busy after %d s; closing them",
	         smtp_server_sessions(d->srv), DRAIN_SECONDS);
	smtp_server_close_all(d->srv);
	event_base_loopbreak(d->base);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)what;
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("signal %d: no new connections; finishing %zu sessions (at most %d s)", (int)sig,
	         smtp_server_sessions(d->srv), DRAIN_SECONDS);
	struct timeval tv = {.tv_sec = DRAIN_SECONDS};
	d->deadline = evtimer_new(d->base, on_deadline, d);
	evtimer_add(d->deadline, &tv);
	smtp_server_drain(d->srv, on_empty, d);
}

/* Name the keys that changed, and which of them wait for a restart. */
static void
log_changes(const struct settings *old, const struct settings *set, const char *origin)
{
	enum setting_key k[SET__COUNT];
	size_t n = settings_changed(old, set, k);
	struct buf now, later;
	buf_init(&now, 4096);
	buf_init(&later, 4096);
	for (size_t i = 0; i < n; i++) {
		const struct setting_def *def = settings_def(k[i]);
		struct buf *b = def->applies == APPLIES_RESTART ? &later : &now;
		buf_printf(b, "%s%s", b->len ? ", " : "", def->name);
	}
	if (n == 0)
		log_info("%s: settings reloaded; nothing changed", origin);
	if (now.len)
		log_info("%s: settings changed: %s", origin, buf_cstr(&now));
	if (later.len)
		log_warn("%s: changed, but only applied after a restart of serve: %s", origin, buf_cstr(&later));
	buf_free(&now);
	buf_free(&later);
}

/* The loop's base.  With epoll's change list, a session that stops and
 * starts reading or writing within one turn of the loop (a reply written,
 * the next command read) costs no epoll_ctl: the changes are merged and
 * made once, before the loop waits. */
static struct event_base *
new_event_base(void)
{
	struct event_config *cfg = event_config_new();
	if (cfg == NULL)
		pr_panic("event_config_new failed");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	struct event_base *base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base == NULL)
		pr_panic("event_base_new_with_config failed");
	return base;
}

/* Make set the running settings (takes it over), or keep the old ones. */
static void
apply_settings(void *arg, struct settings *set, const char *origin)
{
	struct daemon *d = arg;
	struct pr_why why;
	if (d->stopping) {
		settings_unref(&set);
		return;
	}
	if (smtp_server_configure(d->srv, set, &why) < 0) {
		log_error("%s: keeping the running settings: %s", origin, pr_why_text(&why));
		settings_unref(&set);
		return;
	}
	struct settings *old = settings_current();
	log_changes(old, set, origin);
	settings_unref(&old);
	set_log_level(set);
	settings_publish(set);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	(void)sig, (void)what;
	settings_follow_reload(d->follow);
}

/* --smtp values, or the smtp_listen setting split at commas. */
/* The listeners bound before the privilege drop (see bind_early). */
static int
attach_early(struct daemon *d)
{
	struct pr_why why;
	for (size_t i = 0; i < d->nearly; i++) {
		if (smtp_server_listen_fd(d->srv, d->early_fd[i], &d->early_addr[i], &why) < 0) {
			fprintf(stderr, "postroom: %s\n", pr_why_text(&why));
			return EX_UNAVAILABLE;
		}
		log_info("listening for SMTP on %s", d->early_addr[i].text);
	}
	snprintf(d->first_addr, sizeof(d->first_addr), "%s", d->early_addr[0].text);
	return EX_OK;
}

/* No core dumps and no ptrace by other processes of the same user: the
 * memory holds mail, the POP3 password and OAuth secrets. */
static void
not_dumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn("cannot make the process non-dumpable: %s", strerror(errno));
}

/* The HTTP listener: --http, else setting (http_listen); "" is none.
 * EX_OK (d->http_fd bound, or -1 for none) or an exit code. */
static int
http_bind(struct daemon *d, const char *setting)
{
	struct pr_why why;
	const char *addr = d->http_arg ? d->http_arg : setting;
	if (*addr == '\0' || d->http_fd >= 0)
		return EX_OK;
	if (net_parse_addr(addr, &d->http_addr, &why) < 0) {
		fprintf(stderr, "postroom: http_listen: %s: give ADDR:PORT like 127.0.0.1:8025\n", pr_why_text(&why));
		return EX_USAGE;
	}
	if ((d->http_fd = net_bind(&d->http_addr, &why)) < 0) {
		fprintf(stderr, "postroom: %s: stop what uses the port or choose another with --http "
		        "(or http_listen)\n", pr_why_text(&why));
		return EX_UNAVAILABLE;
	}
	return EX_OK;
}

/* Start the HTTP workers on the bound listener; EX_OK or an exit code. */
static int
http_begin(struct daemon *d, const struct settings *set)
{
	struct pr_why why;
	int rc = http_bind(d, settings_str(set, SET_HTTP_LISTEN));
	if (rc != EX_OK || d->http_fd < 0)
		return rc;
	struct http_config hc = {
		.listen_fd = d->http_fd, .listen_text = d->http_addr.text,
		.threads = (int)settings_int(set, SET_HTTP_THREADS),
		.tls_cert = settings_str(set, SET_HTTP_TLS_CERT), .tls_key = settings_str(set, SET_HTTP_TLS_KEY),
		.store_uri = d->ctx->store_uri, .config_path = d->ctx->config_path};
	d->http_fd = -1;     /* http_start takes it, also when it fails */
	if ((d->http = http_start(&hc, &why)) == NULL) {
		fprintf(stderr, "postroom: HTTP: %s\n", pr_why_text(&why));
		return EX_CONFIG;
	}
	return EX_OK;
}

/* Started as root with run_as_user in the config file: bind the listeners
 * now, then become that user before the store is opened or a byte of
 * input is read.  Addresses come from --smtp or the config file (the store
 * cannot be read yet).  0 to go on, or an exit code. */
static int
bind_early(struct daemon *d, const char **addrs, size_t naddrs)
{
	struct pr_why why;
	struct settings *file = settings_new();
	int rc = EX_OK;
	if (d->ctx->config_path && settings_load_file(file, d->ctx->config_path, &why) < 0) {
		settings_unref(&file);
		if (geteuid() != 0)
			return EX_OK;      /* prepare() reports the bad config */
		fprintf(stderr, "postroom: %s\n", pr_why_text(&why));
		return EX_CONFIG;      /* as root, not a step further (not even the store) */
	}
	const char *user = settings_str(file, SET_RUN_AS_USER);
	if (*user == '\0' && geteuid() == 0) {
		fprintf(stderr, "postroom: serve will not run as root: set run_as_user = USER in the config file "
		        "(an unprivileged user that owns the store's directory); serve binds its ports as root, "
		        "then runs as that user\n");
		settings_unref(&file);
		return EX_CONFIG;
	}
	if (*user == '\0' || geteuid() != 0) {
		if (*user)
			log_warn("run_as_user is set, but postroom was not started as root: running as uid %d",
			         (int)geteuid());
		settings_unref(&file);
		return EX_OK;
	}
	char list[PR_SETTING_MAX + 1];
	snprintf(list, sizeof(list), "%s", settings_str(file, SET_SMTP_LISTEN));
	const char *from_file[MAX_LISTEN];
	if (naddrs == 0) {
		for (char *save = NULL, *t = strtok_r(list, ", ", &save); t && naddrs < MAX_LISTEN;
		     t = strtok_r(NULL, ", ", &save))
			from_file[naddrs++] = t;
		addrs = from_file;
	}
	for (size_t i = 0; i < naddrs && rc == EX_OK; i++) {
		struct net_addr *a = &d->early_addr[d->nearly];
		int fd = net_parse_addr(addrs[i], a, &why) < 0 ? -1 : net_bind(a, &why);
		if (fd < 0) {
			fprintf(stderr, "postroom: %s\n", pr_why_text(&why));
			rc = EX_UNAVAILABLE;
		} else {
			d->early_fd[d->nearly++] = fd;
		}
	}
	if (rc == EX_OK)
		rc = http_bind(d, settings_str(file, SET_HTTP_LISTEN));
	if (rc == EX_OK && net_drop_privileges(user, &why) < 0) {
		fprintf(stderr, "postroom: %s\n", pr_why_text(&why));
		rc = EX_CONFIG;
	}
	if (rc == EX_OK)
		log_info("bound %zu listener(s) as root; now running as %s", d->nearly, user);
	/* setuid resets it to fs.suid_dumpable: set it again. */
	if (rc == EX_OK)
		not_dumpable();
	settings_unref(&file);
	return rc;
}

static int
listen_all(struct daemon *d, const char **addrs, size_t naddrs, const struct settings *set)
{
	char list[PR_SETTING_MAX + 1];
	const char *from_setting[MAX_LISTEN];
	struct pr_why why;
	if (naddrs == 0) {
		snprintf(list, sizeof(list), "%s", settings_str(set, SET_SMTP_LISTEN));
		for (char *save = NULL, *t = strtok_r(list, ", ", &save); t && naddrs < MAX_LISTEN;
		     t = strtok_r(NULL, ", ", &save))
			from_setting[naddrs++] = t;
		addrs = from_setting;
	}
	if (d->nearly > 0)
		return attach_early(d);
	for (size_t i = 0; i < naddrs; i++) {
		struct net_addr a;
		if (net_parse_addr(addrs[i], &a, &why) < 0) {
			fprintf(stderr, "postroom: %s: give ADDR:PORT like 127.0.0.1:2525 or [::1]:2525\n",
			        pr_why_text(&why));
			return EX_USAGE;
		}
		if (smtp_server_listen(d->srv, &a, &why) < 0) {
			fprintf(stderr, "postroom: %s: stop what uses the port or choose another with --smtp\n",
			        pr_why_text(&why));
			return EX_UNAVAILABLE;
		}
		log_info("listening for SMTP on %s", a.text);
		if (i == 0)
			snprintf(d->first_addr, sizeof(d->first_addr), "%s", a.text);
	}
	if (naddrs == 0) {
		fputs("postroom: no SMTP address to listen on: set smtp_listen or give --smtp\n", stderr);
		return EX_CONFIG;
	}
	return EX_OK;
}

static int
parse_args(int argc, char **argv, const char **addrs, size_t *naddrs, const char **http)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return -2;
		} else if (!strcmp(argv[i], "--smtp") && i + 1 < argc && *naddrs < MAX_LISTEN) {
			addrs[(*naddrs)++] = argv[++i];
		} else if (!strncmp(argv[i], "--smtp=", 7) && *naddrs < MAX_LISTEN) {
			addrs[(*naddrs)++] = argv[i] + 7;
		} else if (!strcmp(argv[i], "--http") && i + 1 < argc) {
			*http = argv[++i];
		} else if (!strncmp(argv[i], "--http=", 7)) {
			*http = argv[i] + 7;
		} else {
			fprintf(stderr, "postroom: serve: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

/* Open the store (creating the schema), seed an empty one with the sample
 * organisation, publish the merged settings.  Returns the snapshot. */
static struct settings *
prepare(struct daemon *d)
{
	struct cli_ctx *ctx = d->ctx;
	struct pr_why why;
	bool seeded = false;
	struct pr_api *api = api_open(ctx->store_uri, ctx->config_path, &why);
	if (api == NULL) {
		fprintf(stderr, "postroom: %s: check --store and --config\n", pr_why_text(&why));
		return NULL;
	}
	struct settings *set = settings_clone(api_settings(api));
	set_log_level(set);
	if (api_seed_sample(api_store(api), &seeded, &why) < 0)
		log_warn("could not seed the sample organisation: %s", pr_why_text(&why));
	d->seeded = seeded;
	if (seeded)
		log_info("the store was empty: seeded the sample organisation (domain firm.example, "
		         "project 1234 at a1234@firm.example, alias team@firm.example)");
	api_close(&api);
	settings_publish(settings_clone(set));
	return set;
}

static int
run(struct daemon *d, struct intake *in, const char **addrs, size_t naddrs, struct settings *set)
{
	struct pr_why why;
	int rc = EX_OK;
	if (smtp_server_configure(d->srv, set, &why) < 0) {
		fprintf(stderr, "postroom: %s: fix tls_cert/tls_key or clear them\n", pr_why_text(&why));
		return EX_CONFIG;
	}
	/* Handlers first: a client may signal as soon as the port answers. */
	d->follow = settings_follow_start(d->base, d->watch, SETTINGS_POLL_MS, apply_settings, d);
	d->ev[0] = evsignal_new(d->base, SIGTERM, on_term, d);
	d->ev[1] = evsignal_new(d->base, SIGINT, on_term, d);
	d->ev[2] = evsignal_new(d->base, SIGHUP, on_hup, d);
	for (int i = 0; i < 3; i++)
		event_add(d->ev[i], NULL);
	if ((rc = listen_all(d, addrs, naddrs, set)) != EX_OK || (rc = http_begin(d, set)) != EX_OK)
		return rc;
	/* Always running: pop_server may be set while serve runs. */
	struct pop3_service *pop = pop3_service_start(in, d->ctx->store_uri);
	struct intake_retention *retention = intake_retention_start(in, d->ctx->store_uri);
	/* Mail we send: delivered from the store's queue (`send` runs in
	 * another process and only writes the queue). */
	struct outbound_worker_options wo = {
		.store_uri = d->ctx->store_uri,
		.lease_seconds = (int)settings_int(set, SET_OUTBOUND_LEASE_SECONDS)};
	struct outbound_worker *outq = outbound_worker_start(&wo, &why);
	if (outq == NULL)
		log_error("outbound delivery is not running: %s", pr_why_text(&why));
	struct webhook_worker_options ho = {
		.store_uri = d->ctx->store_uri,
		.lease_seconds = (int)settings_int(set, SET_WEBHOOK_LEASE_SECONDS)};
	struct webhook_worker *hooks = webhook_worker_start(&ho, &why);
	if (hooks == NULL)
		log_error("webhook delivery is not running: %s", pr_why_text(&why));
	log_info("postroom ready (store %s)", d->ctx->store_uri);
	if (d->seeded)
		log_info("send a first message: swaks --server %s --from alice@firm.example "
		         "--to a1234@firm.example; then: postroom messages list --project 1234", d->first_addr);
	event_base_dispatch(d->base);
	log_info("stopping: finishing messages in intake");
	settings_follow_stop(&d->follow);
	http_stop(&d->http);
	pop3_service_stop(&pop);
	outbound_worker_stop(&outq);
	webhook_worker_stop(&hooks);
	intake_retention_stop(&retention);
	return EX_OK;
}

int
cli_serve(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *addrs[MAX_LISTEN];
	size_t naddrs = 0;
	const char *http_arg = NULL;
	int rc = parse_args(argc, argv, addrs, &naddrs, &http_arg);
	if (rc < 0)
		return rc == -2 ? EX_OK : EX_USAGE;
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() < 0)
		pr_panic("evthread_use_pthreads failed");
	struct daemon d = {.ctx = ctx, .http_arg = http_arg, .http_fd = -1};
	not_dumpable();
	if ((rc = bind_early(&d, addrs, naddrs)) != EX_OK || (rc = cli_store_dir(ctx)) != EX_OK)
		return rc;
	struct pr_why why;
	/* Before the settings are first read, so no change falls between. */
	d.watch = api_settings_watch_new(ctx->store_uri, ctx->config_path, &why);
	struct settings *set = d.watch ? prepare(&d) : NULL;
	if (set == NULL) {
		if (d.watch == NULL)
			fprintf(stderr, "postroom: %s: check --store\n", pr_why_text(&why));
		api_settings_watch_free(&d.watch);
		return EX_CONFIG;
	}
	char *spool = spool_dir_for(ctx->store_uri);
	struct intake_options opt = {.store_uri = ctx->store_uri, .spool_dir = spool};
	struct intake *in = intake_new(&opt, &why);
	if (in == NULL) {
		fprintf(stderr, "postroom: cannot open the store %s: %s\n", ctx->store_uri, pr_why_text(&why));
		settings_unref(&set);
		api_settings_watch_free(&d.watch);
		free(spool);
		return EX_UNAVAILABLE;
	}
	d.base = new_event_base();
	d.srv = smtp_server_new(d.base, in, intake_spool_dir(in));
	rc = run(&d, in, addrs, naddrs, set);
	intake_free(&in);              /* every submitted message finishes first */
	smtp_server_free(&d.srv);      /* then their completions, then the rest */
	if (d.deadline)
		event_free(d.deadline);
	settings_follow_stop(&d.follow);   /* run() may have returned early */
	for (int i = 0; i < 3; i++)
		if (d.ev[i])
			event_free(d.ev[i]);
	event_base_free(d.base);
	settings_unref(&set);
	api_settings_watch_free(&d.watch);
	free(spool);
	if (rc == EX_OK)
		log_info("stopped");
	return rc;
}
