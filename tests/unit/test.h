/* test.h - the unit test runner every tests/unit/test-*.c uses.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STR(got, "want"); CHECK_INT(n, 3); }
 *   int main(void) { RUN(name); ...; return test_summary("core"); }
 *
 * Failures print "file:line: got X, want Y"; the summary prints
 * "<suite>: N passed, N failed" (one test = one TEST function) and the
 * exit code is non-zero on any failure.  test_shared_dir() finds
 * ../shared/testdata or returns NULL so a test can SKIP with a reason.
 */
#ifndef PR_TEST_H
#define PR_TEST_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int test_passed, test_failed, test_skipped, test_cur_failed;
static const char *test_skip_reason;

#define TEST(name) static void test_##name(void)
#define RUN(name) test_run(#name, test_##name)
#define SKIP(why) do { test_skip_reason = (why); return; } while (0)

#define CHECK(c) do { if (!(c)) { test_cur_failed++; \
	fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)
#define CHECK_INT(got, want) do { long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) { test_cur_failed++; \
	fprintf(stderr, "%s:%d: %s: got %lld, want %lld\n", __FILE__, __LINE__, #got, g_, w_); } } while (0)
#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) { test_cur_failed++; \
	fprintf(stderr, "%s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, \
	        g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } } while (0)

/* Remove dir (a test's mkdtemp directory) and everything in it: the
 * exit status of rm, 0 when it is gone (said on stderr when not). */
static inline int
test_rmtree(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}

/* Monotonic seconds: for deadlines while a test waits for a condition. */
static inline double
test_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void
test_run(const char *name, void (*fn)(void))
{
	test_cur_failed = 0;
	test_skip_reason = NULL;
	fn();
	if (test_skip_reason) {
		test_skipped++;
		fprintf(stderr, "SKIP %s: %s\n", name, test_skip_reason);
	} else if (test_cur_failed) {
		test_failed++;
		fprintf(stderr, "FAIL %s\n", name);
	} else {
		test_passed++;
	}
}

static inline int
test_summary(const char *suite)
{
	printf("%s: %d passed, %d failed, %d skipped\n", suite, test_passed, test_failed, test_skipped);
	return test_failed ? 1 : 0;
}

/* fn in n threads (at most 16) at once, each given arg; the sum of what
 * they return (their counts of failures, as intptr_t). */
static inline intptr_t
test_in_threads(int n, void *(*fn)(void *), void *arg)
{
	pthread_t th[16];
	intptr_t sum = 0;
	if (n > 16)
		n = 16;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, fn, arg) != 0)
			return -1;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(th[i], &r);
		sum += (intptr_t)r;
	}
	return sum;
}

/* ../shared/testdata relative to the source tree, or NULL. */
static inline const char *
test_shared_dir(void)
{
	static char path[4096];
	const char *env = getenv("POSTROOM_SHARED");
	if (env == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/testdata", env);
	FILE *f;
	char probe[4200];
	snprintf(probe, sizeof(probe), "%s/README.md", path);
	if ((f = fopen(probe, "r")) == NULL)
		return NULL;
	fclose(f);
	return path;
}

#endif
