/* auth-dkim.c - postroom's sender checks per second on one core (bench/auth).
 *
 *   auth-dkim dkim DIR SECONDS
 *   auth-dkim auth DIR SECONDS DNS_SERVER
 * DIR holds msg-*.eml (CRLF, signed by dkimpy), index.txt ("file<TAB>
 * envelope sender" per message, in order) and zone.txt ("name<TAB>TXT").
 *
 * dkim: DKIM verification alone (dkim_stream, the process key cache, an
 *   in-memory DNS zone): after the first pass the key cache answers, as it
 *   would for a busy sender.  The crypto + canonicalisation + hashing rate.
 * auth: the whole auth_check() intake runs per message -- SPF (client
 *   127.0.0.1), DKIM, DMARC, the Authentication-Results header and JSON --
 *   over the c-ares DNS port pointed at a loopback dnsmasq (DNS_SERVER).
 *   The first pass starts with empty caches: the first message of each
 *   sender domain fetches every record from dnsmasq ("cold", reported in
 *   wall time per message since it waits on the network); then a loop with
 *   the DNS cache and key cache warm.
 * Every message is first checked to pass everything.  Rates are CPU time of
 * this thread, not wall time: the machine may be shared.  Built by
 * bench/auth against libpostroom.a; not part of the meson build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/dkim.h"
#include "auth/dns.h"
#include "core/arena.h"
#include "core/settings.h"
#include "core/spool.h"

#define MAX_MSGS 4000

struct msg {
	char *data;
	size_t len;
	char *mail_from;
	const char *domain;
	struct spool *raw;    /* auth mode: made once, as intake has it already */
};

static struct msg msgs[MAX_MSGS];
static size_t nmsgs;

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, f);
	fclose(f);
	return p;
}

/* CPU time of this thread: "per core" means per second of CPU. */
static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
load_msgs(const char *dir)
{
	char path[4096], line[4096];
	snprintf(path, sizeof(path), "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f) && nmsgs < MAX_MSGS) {
		line[strcspn(line, "\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		struct msg *m = &msgs[nmsgs];
		if ((m->data = slurp(path, &m->len)) == NULL)
			continue;
		m->mail_from = strdup(tab + 1);
		const char *at = strrchr(m->mail_from, '@');
		m->domain = at ? at + 1 : "";
		nmsgs++;
	}
	if (f)
		fclose(f);
}

static struct dns *
load_zone(const char *dir)
{
	char path[4096], line[8192];
	snprintf(path, sizeof(path), "%s/zone.txt", dir);
	FILE *f = fopen(path, "r");
	struct dns *d = dns_new_memory();
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			dns_zone_add(d, line, DNS_T_TXT, tab + 1, strlen(tab + 1));
		}
	}
	if (f)
		fclose(f);
	return d;
}

/* DKIM alone; returns the signature count, adds passes to *npass. */
static size_t
verify(struct dns *d, const struct msg *m, size_t *npass)
{
	struct arena *a = arena_new();
	struct dkim_stream *st = dkim_stream_new(a);
	struct dkim_result r;
	dkim_stream_feed(st, m->data, m->len);
	dkim_stream_finish(st, dkim_keycache_process(), d, time(NULL), &r);
	for (size_t i = 0; i < r.n; i++)
		if (r.sig[i].result == AUTH_PASS)
			(*npass)++;
	arena_free(&a);
	return r.n;
}

static int
run_dkim(const char *dir, double secs)
{
	struct dns *d = load_zone(dir);
	size_t sigs = 0, pass = 0;
	for (size_t i = 0; i < nmsgs; i++)
		sigs += verify(d, &msgs[i], &pass);
	printf("postroom check: %zu messages, %zu signatures, %zu pass\n", nmsgs, sigs, pass);
	if (nmsgs == 0 || pass != sigs)
		return 1;
	double t0 = cpu_now(), t;
	size_t done = 0;
	do {
		for (size_t k = 0; k < 64; k++, done++)
			verify(d, &msgs[done % nmsgs], &pass);
	} while ((t = cpu_now() - t0) < secs);
	printf("postroom dkim: %.0f messages/s (%.0f signatures/s), one core, %zu messages in %.2f s of CPU\n",
	       (double)done / t, (double)done * (double)sigs / (double)nmsgs / t, done, t);
	dns_free(&d);
	return 0;
}

/* The whole auth_check, as intake calls it; true when everything passed. */
static bool
check(struct auth *au, const struct settings *set, const struct msg *m)
{
	struct arena *a = arena_new();
	char helo[300];
	snprintf(helo, sizeof(helo), "mta.%s", m->domain);
	struct auth_input in = {
		.client_ip = "127.0.0.1", .helo = helo, .mail_from = m->mail_from,
		.from_domain = m->domain, .raw = m->raw, .now = time(NULL),
	};
	struct auth_verdict v;
	auth_check(au, a, &in, set, &v);
	bool ok = v.spf == AUTH_PASS && v.dmarc == AUTH_PASS && v.ndkim == 2 && v.header != NULL;
	for (size_t i = 0; i < v.ndkim; i++)
		ok = ok && v.dkim[i].result == AUTH_PASS && v.dkim[i].aligned;
	if (!ok)
		fprintf(stderr, "auth-dkim: %s did not pass: %s", m->mail_from, v.header ? v.header : "?\n");
	arena_free(&a);
	return ok;
}

static int
run_auth(double secs, const char *server)
{
	struct pr_why why;
	struct settings *set = settings_new();
	if (settings_set(set, SET_DNS_SERVER, server, SRC_FILE, &why) != 0 ||
	    settings_set(set, SET_HOSTNAME, "mx.firm.example", SRC_FILE, &why) != 0 ||
	    settings_set(set, SET_DNS_TIMEOUT_MS, "2000", SRC_FILE, &why) != 0)
		return fprintf(stderr, "auth-dkim: %s\n", pr_why_text(&why)), 1;
	struct auth *au = auth_new(set, &why);
	if (au == NULL)
		return fprintf(stderr, "auth-dkim: %s\n", pr_why_text(&why)), 1;
	/* Intake has the message in a finished spool (its SHA-256 computed as
	 * the bytes arrived): build those outside the timed part. */
	struct arena *spools = arena_new();
	for (size_t i = 0; i < nmsgs; i++)
		msgs[i].raw = spool_from_bytes(spools, NULL, msgs[i].data, msgs[i].len);
	/* Cold: the first message of each domain (index.txt lists the domains
	 * round-robin, so the first ndom messages are one per domain). */
	size_t ndom = 0, pass = 0;
	while (ndom < nmsgs && (ndom == 0 || strcmp(msgs[ndom].domain, msgs[0].domain) != 0))
		ndom++;
	double w0 = wall_now(), c0 = cpu_now();
	for (size_t i = 0; i < ndom; i++)
		pass += check(au, set, &msgs[i]);
	double cw = wall_now() - w0, cc = cpu_now() - c0;
	for (size_t i = ndom; i < nmsgs; i++)
		pass += check(au, set, &msgs[i]);
	printf("postroom auth check: %zu messages from %zu domains, %zu pass SPF+DKIM(2)+DMARC\n", nmsgs,
	       ndom, pass);
	if (pass != nmsgs)
		return 1;
	printf("postroom auth cold: %zu messages (each domain's first: SPF, include, 2 DKIM keys, DMARC "
	       "fetched from dnsmasq): %.2f ms wall, %.0f us CPU per message\n",
	       ndom, 1e3 * cw / (double)ndom, 1e6 * cc / (double)ndom);
	double t0 = cpu_now(), t;
	size_t done = 0;
	do {
		for (size_t k = 0; k < 64; k++, done++)
			check(au, set, &msgs[done % nmsgs]);
	} while ((t = cpu_now() - t0) < secs);
	printf("postroom auth: %.0f messages/s, one core (SPF+DKIM+DMARC+A-R, DNS cache warm), %zu "
	       "messages in %.2f s of CPU\n", (double)done / t, done, t);
	auth_free(&au);
	arena_free(&spools);
	settings_unref(&set);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "auth") == 0 && argc != 5))
		return fprintf(stderr, "usage: auth-dkim dkim|auth DIR SECONDS [DNS_SERVER]\n"), 2;
	load_msgs(argv[2]);
	double secs = strtod(argv[3], NULL);
	int rc = strcmp(argv[1], "auth") == 0 ? run_auth(secs, argv[4]) : run_dkim(argv[2], secs);
	for (size_t i = 0; i < nmsgs; i++) {
		free(msgs[i].data);
		free(msgs[i].mail_from);
	}
	return rc;
}
