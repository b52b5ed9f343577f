/* test-route.c - routing decisions from golden files, against a real
 * temporary SQLite store.
 *
 * Each tests/golden/route/NAME.in holds directives, one per line:
 *   setting KEY [VALUE]       (settings_set; no VALUE: empty)
 *   domain DOMAIN
 *   user NAME ADDR...
 *   project ID
 *   grant ID USER
 *   alias ADDR USER...
 *   rcpt ADDRESS              -> one output line with the decision
 * '#' lines are copied to the output (blank lines dropped), so the
 * .out file reads as its .in file with the answers filled in.  The output
 * must equal NAME.out exactly; on a difference both are printed.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/settings.h"
#include "route/route.h"
#include "store/store.h"
#include "test.h"

static char tmpdir[256];

#define MAX_WORDS 16

static int
split(char *line, char **w)
{
	int n = 0;
	for (char *tok = strtok(line, " \t\r\n"); tok && n < MAX_WORDS; tok = strtok(NULL, " \t\r\n"))
		w[n++] = tok;
	return n;
}

static void
decide(struct store *st, struct settings *set, const char *addr, struct buf *out)
{
	struct arena *a = arena_new();
	struct route_target *t;
	size_t n;
	struct pr_why why = {0};
	buf_printf(out, "rcpt %s ->", addr);
	if (route_recipient(st, set, a, addr, &t, &n, &why) < 0) {
		const struct pr_err_info *i = pr_err_info(why.code);
		buf_printf(out, " refused %s %d %s: %s\n", i->name, i->smtp, i->dsn, why.detail);
		arena_free(&a);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		buf_printf(out, " %s", route_kind_name(t[k].kind));
		if (*t[k].target)
			buf_printf(out, ":%s", t[k].target);
		if (t[k].alias)
			buf_printf(out, "(alias %s)", t[k].alias);
	}
	buf_printf(out, " via %s\n", n ? t[0].via : "");
	arena_free(&a);
}

/* Apply one directive; 0 ok, -1 if the line is not understood. */
static int
directive(struct store *st, struct settings *set, char **w, int n, struct buf *out)
{
	struct pr_why why = {0};
	int rc = 0;
	if (!strcmp(w[0], "setting") && (n == 2 || n == 3))
		rc = settings_set_named(set, w[1], n == 3 ? w[2] : "", SRC_STORE, &why);
	else if (!strcmp(w[0], "domain") && n == 2)
		rc = store_domain_add(st, w[1], &why);
	else if (!strcmp(w[0], "user") && n >= 3)
		rc = store_user_add(st, w[1], NULL, (const char *const *)w + 2, (size_t)n - 2, &why);
	else if (!strcmp(w[0], "project") && n == 2)
		rc = store_project_add(st, w[1], "golden", &why);
	else if (!strcmp(w[0], "grant") && n == 3)
		rc = store_project_grant(st, w[1], w[2], &why);
	else if (!strcmp(w[0], "alias") && n >= 3)
		rc = store_alias_add(st, w[1], (const char *const *)w + 2, (size_t)n - 2, &why);
	else if (!strcmp(w[0], "rcpt") && n == 2)
		decide(st, set, w[1], out);
	else
		return -1;
	if (rc < 0)
		buf_printf(out, "! %s failed: %s\n", w[0], why.detail);
	return 0;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096];
	size_t r;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, r);
	fclose(f);
	char *s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

/* Run one .in file; 0 if the output matches its .out. */
static int
run_golden(const char *dir, const char *name, int idx)
{
	char path[1024], uri[600];
	snprintf(uri, sizeof(uri), "sqlite:%s/g%d.db", tmpdir, idx);
	struct pr_why why;
	struct store *st = store_open(uri, &why);
	struct settings *set = settings_new();
	struct buf out;
	buf_init(&out, 1 << 20);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *in = slurp(path), *save = NULL;
	for (char *line = in ? strtok_r(in, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0') {
			buf_printf(&out, "%s\n", line);
			continue;
		}
		char *w[MAX_WORDS], copy[1024];
		snprintf(copy, sizeof(copy), "%s", line);
		int n = split(copy, w);
		if (n > 0 && directive(st, set, w, n, &out) < 0)
			buf_printf(&out, "! not understood: %s\n", line);
	}
	snprintf(path + strlen(path) - 3, 5, ".out");
	char *want = slurp(path);
	int rc = want && strcmp(want, buf_cstr(&out)) == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "golden %s differs.\n--- got:\n%s--- want (%s):\n%s", name, buf_cstr(&out), path,
		        want ? want : "(missing)\n");
	free(in);
	free(want);
	buf_free(&out);
	settings_unref(&set);
	store_close(&st);
	return rc;
}

TEST(golden)
{
	const char *src = getenv("POSTROOM_SOURCE");
	if (src == NULL)
		SKIP("POSTROOM_SOURCE is not set (run through meson test)");
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/tests/golden/route", src);
	DIR *d = opendir(dir);
	if (d == NULL)
		SKIP("tests/golden/route is missing");
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".in") != 0)
			continue;
		files++;
		CHECK_INT(run_golden(dir, e->d_name, files), 0);
	}
	closedir(d);
	CHECK(files >= 3);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/route-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	RUN(golden);
	test_rmtree(tmpdir);
	return test_summary("route");
}
