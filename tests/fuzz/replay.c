/* replay.c - run a fuzz target over its corpus as an ordinary unit test.
 *
 * Linked with one fuzz-<name>.c, this main() calls LLVMFuzzerTestOneInput
 * on every file under the directories (or files) named on the command line,
 * so the seeds and every crasher ever found are replayed in CI under
 * ASan+UBSan.  A crash or a target's abort() kills the process: the runner
 * counts that as a failure, and the signal handler first names the file.
 * A missing directory (shared test data not checked out) is skipped with a
 * message.  Prints how many inputs were replayed, then
 * "fuzz-<name>: 1 passed, 0 failed, 0 skipped" (one target, one test).
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not fuzz inputs; libFuzzer runs use less. */
#define REPLAY_MAX_FILE (8u << 20)
/* Corpus trees are shallow; the bound stops a symlink loop. */
#define REPLAY_MAX_DEPTH 6

static char current[4096];
static unsigned passed, skipped;

static void
on_crash(int sig)
{
	static const char msg[] = "\nreplay: crashed on input ";
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, current, strlen(current));
	(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
run_file(const char *path, off_t size)
{
	if (size < 0 || (uint64_t)size > REPLAY_MAX_FILE) {
		fprintf(stderr, "replay: skipping %s: over %u bytes\n", path, REPLAY_MAX_FILE);
		skipped++;
		return;
	}
	FILE *f = fopen(path, "rb");
	/* Exactly size bytes (no NUL after them), as libFuzzer passes them, so
	 * ASan sees a read one byte past the end; never malloc(0). */
	uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
	size_t n = f && buf ? fread(buf, 1, (size_t)size, f) : 0;
	if (f == NULL || buf == NULL || n != (size_t)size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	snprintf(current, sizeof(current), "%s", path);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	passed++;
}

static void
walk(const char *path, int depth)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		printf("replay: skipping %s: not found\n", path);
		skipped++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path, st.st_size);
		return;
	}
	if (depth >= REPLAY_MAX_DEPTH)
		return;
	struct dirent **list;
	int n = scandir(path, &list, NULL, alphasort);   /* sorted: same order every run */
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.') {
			char sub[4096];
			if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, list[i]->d_name) < sizeof(sub))
				walk(sub, depth + 1);
		}
		free(list[i]);
	}
	free(list);
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	signal(SIGSEGV, on_crash);
	signal(SIGABRT, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", name);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		walk(argv[i], 0);
	/* One target is one test, however many inputs it replays: the
	 * totals should count tests, not corpus files.  A crash aborts the
	 * process, which the runner counts as the failure. */
	printf("%s: %u inputs replayed, %u skipped\n", name, passed, skipped);
	printf("%s: %d passed, 0 failed, 0 skipped\n", name, passed > 0 ? 1 : 0);
	return 0;
}
