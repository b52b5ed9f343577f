/* auth-opendkim.c - libopendkim verifying the same messages (bench/auth).
 *
 *   auth-opendkim DIR SECONDS
 * DIR is what bench/auth prepared for auth-dkim: msg-*.eml (CRLF, two
 * signatures each) and zone.txt ("name<TAB>TXT" per line).  The keys come
 * from that zone through dkim_set_key_lookup(): an in-memory lookup
 * (sorted table, bsearch), the same footing as postroom's in-memory zone,
 * so neither side pays for DNS.  libopendkim has no parsed-key cache of
 * its own here (its query cache needs libdb and caches the TXT only), so
 * every signature decodes its key: that is how the library works.
 * Every message is verified once (all signatures must pass), then in a
 * loop for SECONDS of this thread's CPU time.  Built by bench/auth with
 * `pkg-config --cflags --libs opendkim`; not part of the meson build.
 */
#include <sys/types.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dkim.h>

#define MAX_MSGS 4000
#define MAX_ZONE 4000

struct rec {
	char *name, *txt;
};
static struct rec zone[MAX_ZONE];
static size_t nzone;

static int
rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->name, ((const struct rec *)b)->name);
}

static void
load_zone(const char *dir)
{
	char path[4096], line[8192];
	snprintf(path, sizeof(path), "%s/zone.txt", dir);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f) && nzone < MAX_ZONE) {
		line[strcspn(line, "\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (tab == NULL)
			continue;
		*tab = '\0';
		zone[nzone].name = strdup(line);
		zone[nzone].txt = strdup(tab + 1);
		nzone++;
	}
	if (f)
		fclose(f);
	qsort(zone, nzone, sizeof(zone[0]), rec_cmp);
}

/* libopendkim's key lookup hook: "selector._domainkey.domain" from the zone. */
static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	(void)dkim;
	char name[1024];
	snprintf(name, sizeof(name), "%s._domainkey.%s", (char *)dkim_sig_getselector(sig),
	         (char *)dkim_sig_getdomain(sig));
	struct rec key = {.name = name}, *r = bsearch(&key, zone, nzone, sizeof(zone[0]), rec_cmp);
	if (r == NULL)
		return DKIM_CBSTAT_NOTFOUND;
	if (strlen(r->txt) >= buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, r->txt, strlen(r->txt) + 1);
	return DKIM_CBSTAT_CONTINUE;
}

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

static double
cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verify one message; returns the number of signatures, counts passes. */
static int
verify(DKIM_LIB *lib, const char *m, size_t n, size_t *npass)
{
	DKIM_STAT st;
	DKIM *d = dkim_verify(lib, (const u_char *)"bench", NULL, &st);
	if (d == NULL)
		return 0;
	dkim_chunk(d, (u_char *)m, n);
	dkim_chunk(d, NULL, 0);
	dkim_eom(d, NULL);
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	if (dkim_getsiglist(d, &sigs, &nsigs) != DKIM_STAT_OK)
		nsigs = 0;
	for (int i = 0; i < nsigs; i++)
		if (DKIM_SIG_CHECK(sigs[i]))
			(*npass)++;
	dkim_free(d);
	return nsigs;
}

int
main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: auth-opendkim DIR SECONDS\n"), 2;
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
	load_zone(argv[1]);
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	if (lib == NULL)
		return fprintf(stderr, "auth-opendkim: dkim_init failed\n"), 1;
	dkim_set_key_lookup(lib, key_lookup);
	for (size_t i = 0; i < n; i++)
		sigs += (size_t)verify(lib, msg[i], len[i], &pass);
	printf("opendkim check: %zu messages, %zu signatures, %zu pass\n", n, sigs, pass);
	if (n == 0 || pass != sigs)
		return 1;
	double secs = strtod(argv[2], NULL), t0 = cpu_now(), t;
	size_t done = 0;
	do {
		for (size_t k = 0; k < 16; k++, done++)
			verify(lib, msg[done % n], len[done % n], &pass);
	} while ((t = cpu_now() - t0) < secs);
	printf("opendkim dkim: %.0f messages/s (%.0f signatures/s), one core, %zu messages in %.2f s of CPU\n",
	       (double)done / t, (double)done * (double)sigs / (double)n / t, done, t);
	dkim_close(lib);
	for (size_t i = 0; i < n; i++)
		free(msg[i]);
	return 0;
}
