/* net_priv.c - bind first, then stop being root (OpenSMTPD, Postfix).
 *
 * An MX listens on port 25, which needs root (or CAP_NET_BIND_SERVICE);
 * nothing after the bind does.  So the daemon binds its sockets, then
 * switches to an unprivileged user before it opens the store or reads a
 * byte from the network: a bug in a parser then runs without root.
 */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

int
net_bind(const struct net_addr *a, struct pr_why *why)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int on = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 128) < 0) {
		pr_why_set(why, PR_E_CONFIG, "cannot listen on %s: %s", a->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
net_drop_privileges(const char *user, struct pr_why *why)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		pr_why_set(why, PR_E_CONFIG, "run_as_user: no user '%s' on this system", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		pr_why_set(why, PR_E_CONFIG, "run_as_user: '%s' is root; name an unprivileged user", user);
		return -1;
	}
	/* Groups first: after setuid we could no longer change them. */
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		pr_why_set(why, PR_E_CONFIG, "cannot become user %s: %s", user, strerror(errno));
		return -1;
	}
	/* Make sure it is for good: getting root back must fail. */
	if (setuid(0) == 0) {
		pr_why_set(why, PR_E_INTERNAL, "dropped to %s but could become root again", user);
		return -1;
	}
	return 0;
}
