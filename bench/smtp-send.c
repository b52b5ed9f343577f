/* smtp-send.c - the checks-mode client of bench/smtp-intake.
 *
 *   smtp-send PORT SENDER RCPT SESSIONS FILE
 *
 * Sends every message of FILE (each one as "<length>\n" then that many
 * bytes, ending in CRLF, no line starting with ".") to 127.0.0.1:PORT, as
 * smtp-source does: SESSIONS threads, a new connection per message, EHLO,
 * then MAIL/RCPT/DATA pipelined, the body, the final dot, QUIT.  Prints
 * "sent OK SECONDS CPU_US": the messages answered 250 after the dot, the
 * wall time, and this process's CPU per message.  On stderr, "phases"
 * and the mean wall time in microseconds of each step of a message that
 * was answered 250: connect to banner, EHLO, the pipelined MAIL/RCPT/DATA,
 * the body to its 250 -- where a session's time goes.
 *
 * Why C: smtp-source sends one body only, and the Python client this
 * replaces spent 200-290 us of CPU a message on the two cores the servers
 * under test share, capping what either could show.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct msg {
	const char *data;
	size_t len;
};

static struct msg *msgs;
static size_t nmsgs;
static atomic_size_t next_msg, sent_ok;
enum { PH_BANNER, PH_EHLO, PH_HEAD, PH_BODY, PH_N };
static atomic_ullong phase_ns[PH_N];
static int port;
static char head[1024];           /* MAIL, RCPT, DATA: pipelined */
static size_t head_len;

struct conn {
	int fd;
	char buf[4096];
	size_t len, off;
};

/* The next reply's three-digit code (continuation lines skipped), or -1. */
static int
reply(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			char *line = c->buf + c->off;
			size_t n = (size_t)(nl - line) + 1;
			c->off += n;
			if (n >= 4 && line[3] == '-')
				continue;
			return n >= 3 ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : -1;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
connect_local(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct timeval tv = {.tv_sec = 60};
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static unsigned long long
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* One message on a new connection: 1 on 250 after the dot. */
static int
send_one(const struct msg *m)
{
	static const char ehlo[] = "EHLO mta.bench.example\r\n", dot[] = ".\r\n", quit[] = "QUIT\r\n";
	unsigned long long t[PH_N + 1];
	t[0] = now_ns();
	struct conn c = {.fd = connect_local()};
	if (c.fd < 0)
		return 0;
	int ok = reply(&c) == 220 && (t[1] = now_ns(), send_all(c.fd, ehlo, sizeof(ehlo) - 1) == 0) &&
	         reply(&c) == 250 && (t[2] = now_ns(), send_all(c.fd, head, head_len) == 0) &&
	         reply(&c) == 250 && reply(&c) == 250 && reply(&c) == 354 &&
	         (t[3] = now_ns(), send_all(c.fd, m->data, m->len) == 0) &&
	         send_all(c.fd, dot, sizeof(dot) - 1) == 0 && reply(&c) == 250;
	if (ok) {
		t[4] = now_ns();
		for (int i = 0; i < PH_N; i++)
			atomic_fetch_add(&phase_ns[i], t[i + 1] - t[i]);
		send_all(c.fd, quit, sizeof(quit) - 1);
	}
	close(c.fd);
	return ok;
}

static void *
worker(void *arg)
{
	(void)arg;
	for (;;) {
		size_t i = atomic_fetch_add(&next_msg, 1);
		if (i >= nmsgs)
			return NULL;
		if (send_one(&msgs[i]))
			atomic_fetch_add(&sent_ok, 1);
	}
}

/* FILE into memory, split into messages; exits on a malformed file. */
static void
load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	size_t cap = 1024;
	msgs = calloc(cap, sizeof(*msgs));
	unsigned long len;
	while (msgs != NULL && fscanf(f, "%lu", &len) == 1 && fgetc(f) == '\n') {
		char *p = malloc(len ? len : 1);
		if (p == NULL || fread(p, 1, len, f) != len) {
			fprintf(stderr, "smtp-send: %s: message %zu is cut short\n", path, nmsgs + 1);
			exit(2);
		}
		if (nmsgs == cap && (msgs = realloc(msgs, (cap *= 2) * sizeof(*msgs))) == NULL)
			break;
		msgs[nmsgs++] = (struct msg){p, len};
	}
	if (msgs == NULL || !feof(f)) {
		fprintf(stderr, "smtp-send: %s: not a list of <length>\\n<bytes> messages\n", path);
		exit(2);
	}
	fclose(f);
}

static double
cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: smtp-send PORT SENDER RCPT SESSIONS FILE\n");
		return 2;
	}
	port = atoi(argv[1]);
	int sessions = atoi(argv[4]);
	int n = snprintf(head, sizeof(head), "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", argv[2], argv[3]);
	if (port <= 0 || port > 65535 || sessions <= 0 || sessions > 1000 || n < 0 || (size_t)n >= sizeof(head)) {
		fprintf(stderr, "smtp-send: bad PORT, SESSIONS (1-1000) or addresses\n");
		return 2;
	}
	head_len = (size_t)n;
	load(argv[5]);
	pthread_t *t = calloc((size_t)sessions, sizeof(*t));
	struct timespec t0, t1;
	double c0 = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < sessions; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "smtp-send: cannot start a thread\n");
			return 1;
		}
	for (int i = 0; i < sessions; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	size_t ok = atomic_load(&sent_ok);
	printf("sent %zu %.6f %.1f\n", ok, secs, 1e6 * (cpu_seconds() - c0) / (double)(ok ? ok : 1));
	fprintf(stderr, "phases");
	for (int i = 0; i < PH_N; i++)
		fprintf(stderr, " %.0f", (double)atomic_load(&phase_ns[i]) / 1e3 / (double)(ok ? ok : 1));
	fprintf(stderr, "\n");
	return 0;
}
