/* private.c - see private.h.
 *
 * Modes are changed by path (stat + chmod), never through an fd we open
 * and close: closing any fd of a file drops every POSIX lock this process
 * holds on it, and SQLite's locks on the store, its -wal and -shm are
 * POSIX locks held by the other connections of this very process. */
#include "core/private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path's mode limited to keep, if we own it; a missing path is fine. */
static int
tighten(const char *path, mode_t keep, struct pr_why *why)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		pr_why_set(why, PR_E_IO, "cannot stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) == 0)
		return 0;
	if (chmod(path, st.st_mode & keep) < 0) {
		pr_why_set(why, PR_E_IO, "cannot make %s private (chmod): %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
private_dir(const char *path, struct pr_why *why)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		pr_why_set(why, PR_E_IO, "cannot create directory %s: %s", path, strerror(errno));
		return -1;
	}
	return tighten(path, 0700, why);
}

int
private_file(const char *path, bool create, struct pr_why *why)
{
	if (create) {
		/* O_EXCL: only a file nobody has open yet is opened (and closed). */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST) {
			pr_why_set(why, PR_E_IO, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return tighten(path, 0700, why);
}
