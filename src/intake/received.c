/* received.c - our Received: header (RFC 5321 4.4) and loop detection.
 *
 * Loop detection counts Received headers that name us in their "by"
 * clause: a message that has passed through us more than
 * PR_MAX_OWN_RECEIVED times is circling between us and some forwarder. */
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/limits.h"
#include "intake/intake_private.h"

/* The id in our Received header: unique, not secret (nobody can use a
 * guessed one).  Each thread draws a random start once and counts from
 * it; splitmix64's finaliser is a bijection, so distinct counts give
 * distinct ids, and two threads' runs of counts meet with chance ~2^-40.
 * (RAND_bytes for every message was 3% of an intake worker's time.) */
const char *
intake_queue_id(struct arena *a)
{
	static _Thread_local uint64_t next;
	static _Thread_local bool seeded;
	if (!seeded) {
		if (RAND_bytes((unsigned char *)&next, sizeof(next)) != 1)
			pr_panic("RAND_bytes failed");
		seeded = true;
	}
	uint64_t z = next++;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return arena_printf(a, "%016" PRIX64, z);
}

/* Header text from the peer goes into our header: keep it printable and
 * short so nobody can inject header lines through HELO. */
static const char *
clean(struct arena *a, const char *s)
{
	size_t n = strnlen(s ? s : "", 255);
	char *out = arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c > 32 && c < 127 && c != '(' && c != ')') ? (char)c : '_';
	}
	return out;
}

const char *
intake_received_header(struct arena *a, const struct intake_msg *m, const char *hostname,
                       const char *queue_id)
{
	char date[64];
	struct tm tm;
	time_t t = m->received_at ? m->received_at : time(NULL);
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	const char *with = m->source == INTAKE_POP3 ? "POP3" : m->tls ? "ESMTPS" : "ESMTP";
	const char *rcpt = m->nrcpts == 1 ? arena_printf(a, "\r\n\tfor <%s>", clean(a, m->rcpts[0].address)) : "";
	return arena_printf(a,
	    "Received: from %s (%s [%s])\r\n\tby %s (postroom) with %s id %s%s;\r\n\t%s\r\n",
	    *m->helo ? clean(a, m->helo) : "unknown",
	    m->peer_name && *m->peer_name ? clean(a, m->peer_name) : "unknown",
	    *m->peer_ip ? clean(a, m->peer_ip) : "unknown",
	    hostname, with, queue_id, rcpt, date);
}

int
intake_count_own_received(const struct mime_info *mi, const char *hostname)
{
	size_t hl = strlen(hostname);
	int n = 0;
	for (size_t i = 0; i < mi->nreceived; i++) {
		const char *v = mi->received[i];
		for (const char *p = v; (p = strstr(p, "by ")) != NULL; p += 3) {
			const char *h = p + 3;
			while (*h == ' ' || *h == '\t' || *h == '\r' || *h == '\n')
				h++;
			if (strncasecmp(h, hostname, hl) == 0 && (h[hl] == ' ' || h[hl] == '\r' ||
			    h[hl] == '\n' || h[hl] == '\t' || h[hl] == ';' || h[hl] == '\0')) {
				n++;
				break;
			}
		}
	}
	return n;
}
