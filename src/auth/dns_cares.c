/* dns_cares.c - the production DNS backend: c-ares 1.18, bounded in time.
 *
 * One channel per struct dns (channels are not thread-safe in 1.18).  The
 * resolver is settable as "ADDR:PORT" (ares_set_servers_ports_csv) so
 * tests point it at a loopback dnsmasq.  A lookup is one ares_query driven
 * by poll() until it completes or the total budget (dns_timeout_ms, all
 * tries) runs out; then ares_cancel() and DNS_TEMPFAIL.  An SMTP session
 * therefore never waits longer than the budget per lookup.
 *
 * We parse the answer section ourselves (with ares_expand_name for name
 * compression) rather than with ares_parse_txt_reply_ext & co: those do
 * not report TTLs for TXT, MX or PTR, and the cache must honour TTLs.
 * Status mapping: NOERROR without a record of the type -> NODATA, NXDOMAIN
 * -> NXDOMAIN, everything else (SERVFAIL, REFUSED, timeout, malformed
 * answer) -> TEMPFAIL: a DNS problem is never a verdict.
 */
#include "auth/dns_private.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"

struct cares_query {
	enum dns_type want;
	struct dns_rrset *out;
	bool done;
};

static pthread_once_t cares_once = PTHREAD_ONCE_INIT;
static int cares_init_status;

static void
cares_library_init(void)
{
	cares_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

struct dns *
dns_new_cares(const char *server, int timeout_ms, struct pr_why *why)
{
	pthread_once(&cares_once, cares_library_init);
	if (cares_init_status != ARES_SUCCESS) {
		pr_why_set(why, PR_E_INTERNAL, "c-ares: %s", ares_strerror(cares_init_status));
		return NULL;
	}
	if (timeout_ms < 50)
		timeout_ms = 50;
	struct ares_options o;
	memset(&o, 0, sizeof(o));
	/* Two tries inside the budget; NOCHECKRESP reports SERVFAIL/REFUSED
	 * at once instead of spending the budget on other servers. */
	o.timeout = timeout_ms / 2;
	o.tries = 2;
	o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS;
	o.ednspsz = 1232;
	int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ;
	struct dns *d = xcalloc(1, sizeof(*d));
	d->kind = DNS_KIND_CARES;
	d->timeout_ms = timeout_ms;
	d->server = xstrdup(server ? server : "");
	int rc = ares_init_options(&d->channel, &o, mask);
	if (rc == ARES_SUCCESS && d->server[0])
		rc = ares_set_servers_ports_csv(d->channel, d->server);
	if (rc != ARES_SUCCESS) {
		pr_why_set(why, PR_E_CONFIG, "DNS resolver \"%s\": %s", d->server, ares_strerror(rc));
		if (d->channel)
			ares_destroy(d->channel);
		free(d->server);
		free(d);
		return NULL;
	}
	return d;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One record of the wanted type from its rdata; false if malformed. */
static bool
cares_rdata(const unsigned char *abuf, int alen, const unsigned char *rd, size_t rdlen,
            enum dns_type t, uint32_t ttl, struct dns_rrset *out)
{
	char text[INET6_ADDRSTRLEN];
	char *name = NULL;
	long enclen;
	switch (t) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		size_t want = t == DNS_T_A ? 4 : 16;
		if (rdlen != want || !inet_ntop(t == DNS_T_A ? AF_INET : AF_INET6, rd, text, sizeof(text)))
			return false;
		dns_rrset_add(out, t, ttl, text, strlen(text), rd, 0);
		return true;
	}
	case DNS_T_TXT:
	case DNS_T_SPF: {
		/* character-strings concatenated (RFC 7208 3.3, RFC 6376 3.6.2.2) */
		char *buf = xmalloc(rdlen + 1);
		size_t n = 0;
		for (size_t i = 0; i < rdlen;) {
			size_t l = rd[i++];
			if (i + l > rdlen) {
				free(buf);
				return false;
			}
			memcpy(buf + n, rd + i, l);
			n += l;
			i += l;
		}
		dns_rrset_add(out, t, ttl, buf, n, NULL, 0);
		free(buf);
		return true;
	}
	case DNS_T_MX:
		if (rdlen < 3 || ares_expand_name(rd + 2, abuf, alen, &name, &enclen) != ARES_SUCCESS)
			return false;
		dns_rrset_add(out, t, ttl, name, strlen(name), NULL, get16(rd));
		ares_free_string(name);
		return true;
	default:             /* PTR, CNAME */
		if (ares_expand_name(rd, abuf, alen, &name, &enclen) != ARES_SUCCESS)
			return false;
		dns_rrset_add(out, t, ttl, name, strlen(name), NULL, 0);
		ares_free_string(name);
		return true;
	}
}

/* Walk question and answer sections; records of type t go to out. */
static bool
cares_parse(const unsigned char *abuf, int alen, enum dns_type t, struct dns_rrset *out)
{
	if (alen < 12)
		return false;
	const unsigned char *p = abuf + 12, *end = abuf + alen;
	unsigned qd = get16(abuf + 4), an = get16(abuf + 6);
	uint32_t chain_ttl = UINT32_MAX;
	char *name;
	long enclen;
	for (unsigned i = 0; i < qd + an; i++) {
		if (ares_expand_name(p, abuf, alen, &name, &enclen) != ARES_SUCCESS)
			return false;
		ares_free_string(name);
		p += enclen;
		if (i < qd) {
			p += 4;
			continue;
		}
		if (end - p < 10)
			return false;
		unsigned type = get16(p), rdlen = get16(p + 8);
		uint32_t ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		p += 10;
		if ((size_t)(end - p) < rdlen)
			return false;
		if (type == (unsigned)t && !cares_rdata(abuf, alen, p, rdlen, t, ttl, out))
			return false;
		if (type == DNS_T_CNAME && ttl < chain_ttl)
			chain_ttl = ttl;
		p += rdlen;
	}
	if (out->n && chain_ttl < out->ttl)
		out->ttl = chain_ttl;
	return true;
}

static void
cares_callback(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct cares_query *q = arg;
	(void)timeouts;
	q->done = true;
	dns_rrset_clear(q->out);
	if (status == ARES_SUCCESS) {
		if (!cares_parse(abuf, alen, q->want, q->out)) {
			dns_rrset_clear(q->out);
			q->out->status = DNS_TEMPFAIL;
			return;
		}
		q->out->status = q->out->n ? DNS_OK : DNS_NODATA;
	} else if (status == ARES_ENODATA) {
		q->out->status = DNS_NODATA;
	} else if (status == ARES_ENOTFOUND) {
		q->out->status = DNS_NXDOMAIN;
	} else {
		q->out->status = DNS_TEMPFAIL;
	}
}

/* Drive the channel until q is done or the deadline passes. */
static void
cares_wait(struct dns *d, struct cares_query *q, int64_t deadline)
{
	while (!q->done) {
		long long left = deadline - dns_now_ms();
		if (left <= 0) {
			ares_cancel(d->channel);     /* runs the callback: TEMPFAIL */
			break;
		}
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		int bits = ares_getsock(d->channel, socks, ARES_GETSOCK_MAXNUM);
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		nfds_t n = 0;
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			/* ARES_GETSOCK_WRITABLE shifts a signed 1 into bit 31 (UB) */
			unsigned ub = (unsigned)bits;
			short ev = (short)((ub & (1u << i) ? POLLIN : 0) |
			                   (ub & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0));
			if (ev == 0)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n++].revents = 0;
		}
		struct timeval max = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000}, tv;
		struct timeval *t = ares_timeout(d->channel, &max, &tv);
		int ms = (int)(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
		int r = poll(pfd, n, ms);
		if (r <= 0) {
			ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < n; i++) {
			ares_socket_t rd = pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD;
			ares_socket_t wr = pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD;
			if (rd != ARES_SOCKET_BAD || wr != ARES_SOCKET_BAD)
				ares_process_fd(d->channel, rd, wr);
		}
	}
	if (!q->done) {              /* cancel did not call back: never hang */
		dns_rrset_clear(q->out);
		q->out->status = DNS_TEMPFAIL;
	}
}

void
dns_cares_lookup(struct dns *d, const char *name, enum dns_type t, struct dns_rrset *out)
{
	if (dns_cache_get(d->server, name, t, out))
		return;
	int64_t deadline = dns_deadline_ms(d);
	if (dns_gate_enter(d->domain, d->domain_cap, deadline) < 0) {
		dns_rrset_clear(out);
		out->status = DNS_TEMPFAIL;
		d->budget_spent = true;      /* refused for this message: 451 */
		return;
	}
	struct cares_query q = {.want = t, .out = out, .done = false};
	int64_t start = dns_now_ms();
	ares_query(d->channel, name, ns_c_in, (int)t, cares_callback, &q);
	cares_wait(d, &q, deadline);
	int64_t now = dns_now_ms();
	bool failed = out->status == DNS_TEMPFAIL;
	/* A lookup that used (nearly) its whole timeout marks the domain slow;
	 * one cut short by the message's budget says less about the domain. */
	dns_gate_leave(d->domain, failed && now - start >= (int64_t)d->timeout_ms * 9 / 10);
	if (failed && d->budget_deadline_ms && now >= d->budget_deadline_ms)
		d->budget_spent = true;
	dns_cache_put(d->server, name, t, out);
}
