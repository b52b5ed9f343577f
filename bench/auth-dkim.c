/* auth-dkim.c - DKIM verifications per second on one core (bench/auth).
 *
 *   auth-dkim DIR SECONDS
 * DIR holds msg-*.eml (CRLF, signed by dkimpy) and zone.txt ("name<TAB>TXT"
 * per line).  Every message is verified once to check all signatures pass,
 * then in a loop for SECONDS on one thread, with the process key cache and
 * an in-memory DNS zone (after the first message the cache answers, as it
 * would for a busy sender; DNS cost is the resolver's, not measured here).
 * Built by bench/auth against libpostroom.a; not part of the meson build.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/dkim.h"
#include "auth/dns.h"
#include "core/arena.h"

#define MAX_MSGS 1000

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

/* CPU time of this thread: the machine may be shared (other builds), and
 * "per core" means per second of CPU, not of wall clock. */
static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
verify(struct dns *d, const char *m, size_t n, size_t *npass)
{
	struct arena *a = arena_new();
	struct dkim_stream *st = dkim_stream_new(a);
	struct dkim_result r;
	dkim_stream_feed(st, m, n);
	dkim_stream_finish(st, dkim_keycache_process(), d, time(NULL), &r);
	for (size_t i = 0; i < r.n; i++)
		if (r.sig[i].result == AUTH_PASS)
			(*npass)++;
	arena_free(&a);
	return r.n;
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

int
main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: auth-dkim DIR SECONDS\n"), 2;
	static char *msg[MAX_MSGS];
	static size_t len[MAX_MSGS];
	size_t n = 0, sigs = 0, pass = 0;
	char path[4096];
	DIR *dir = opendir(argv[1]);
	struct dirent *e;
	while (dir && (e = readdir(dir)) != NULL && n < MAX_MSGS) {
		if (strncmp(e->d_name, "msg-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if ((msg[n] = slurp(path, &len[n])) != NULL)
			n++;
	}
	if (dir)
		closedir(dir);
	struct dns *d = load_zone(argv[1]);
	for (size_t i = 0; i < n; i++)
		sigs += verify(d, msg[i], len[i], &pass);
	printf("postroom check: %zu messages, %zu signatures, %zu pass\n", n, sigs, pass);
	if (n == 0 || pass != sigs)
		return 1;
	double secs = strtod(argv[2], NULL), t0 = mono(), t;
	size_t done = 0;
	do {
		for (size_t k = 0; k < 64; k++, done++)
			verify(d, msg[done % n], len[done % n], &pass);
	} while ((t = mono() - t0) < secs);
	printf("postroom dkim: %.0f messages/s (%.0f signatures/s), one core, %zu messages in %.2f s of CPU\n",
	       (double)done / t, (double)done * (double)sigs / (double)n / t, done, t);
	dns_free(&d);
	for (size_t i = 0; i < n; i++)
		free(msg[i]);
	return 0;
}
