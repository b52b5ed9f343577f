/* dnsmasq.h - a real dnsmasq on loopback for the unit tests that drive
 * c-ares (test-dns.c, test-rec-cache.c): authoritative for the records
 * given, NXDOMAIN for everything else, no upstream, so the machine's own
 * resolver is never asked.  Started with fork/exec, stopped by its pid.
 */
#ifndef PR_TEST_DNSMASQ_H
#define PR_TEST_DNSMASQ_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct test_dnsmasq {
	pid_t pid;             /* -1: not running */
	int port;
	char dir[64];
};

/* A free loopback UDP port; with keep_fd the socket stays bound (a server
 * that never answers). */
static int
test_free_udp_port(int *keep_fd)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
	return ntohs(sa.sin_port);
}

/* True once something holds the UDP port (dnsmasq has bound it). */
static bool
test_udp_port_taken(int port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool taken = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == EADDRINUSE;
	if (fd >= 0)
		close(fd);
	return taken;
}

/* records: dnsmasq conf lines ("txt-record=name,\"text\"\n" ...).  port 0
 * picks a free one (m->port says which); a port again restarts on it. */
static bool
test_dnsmasq_start(struct test_dnsmasq *m, const char *records, int port)
{
	m->pid = -1;
	snprintf(m->dir, sizeof(m->dir), "/tmp/test-dnsmasq-XXXXXX");
	if (access("/usr/sbin/dnsmasq", X_OK) != 0 || mkdtemp(m->dir) == NULL)
		return false;
	char conf[128], confarg[160], portarg[32];
	snprintf(conf, sizeof(conf), "%s/dnsmasq.conf", m->dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		return false;
	fputs("no-resolv\nno-hosts\nno-poll\nbind-interfaces\nlisten-address=127.0.0.1\n"
	      "local-ttl=60\nlocal=/#/\n", f);
	fputs(records, f);
	fclose(f);
	m->port = port ? port : test_free_udp_port(NULL);
	snprintf(portarg, sizeof(portarg), "--port=%d", m->port);
	snprintf(confarg, sizeof(confarg), "--conf-file=%s", conf);
	m->pid = fork();
	if (m->pid == 0) {
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--keep-in-foreground", confarg, portarg,
		      "--pid-file=", "--user=root", (char *)NULL);
		_exit(127);
	}
	/* Until it holds the port, or exits: at most 5 s. */
	for (int i = 0; i < 500 && m->pid > 0; i++) {
		if (waitpid(m->pid, NULL, WNOHANG) != 0) {
			m->pid = -1;
			break;
		}
		if (test_udp_port_taken(m->port))
			return true;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (m->pid > 0) {                 /* never came up: do not leave it behind */
		kill(m->pid, SIGTERM);
		waitpid(m->pid, NULL, 0);
		m->pid = -1;
	}
	return false;
}

static void
test_dnsmasq_stop(struct test_dnsmasq *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		waitpid(m->pid, NULL, 0);
	}
	m->pid = -1;
	char path[128];
	snprintf(path, sizeof(path), "%s/dnsmasq.conf", m->dir);
	unlink(path);
	rmdir(m->dir);
}

#endif
