/* fuzz-dkim.c - libFuzzer target for DKIM verification (dkim_verify and
 * the streaming form) over an in-memory DNS zone.
 *
 * The zone holds the RFC 6376 Appendix C and RFC 8463 A.3 example keys, so
 * seeds signed with those keys reach the signature check.  An input that
 * starts with "KEY:" puts the rest of its first line in the zone as the
 * record of sel._domainkey.example.org (key-record parsing via DNS).  An
 * input with no CR at all gets LF -> CRLF, as the suites' .eml files need.
 * Check beyond "no crash": the message verified from a spool and fed to
 * the stream in 1..7-byte pieces gives the same verdict per signature.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim.h"
#include "auth/dns.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const zone[][2] = {
	{"brisbane._domainkey.example.com", "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3S"
	 "BsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT94"
	 "7qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"},
	{"brisbane._domainkey.football.example.com",
	 "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
	{"test._domainkey.football.example.com", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB"
	 "iQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/"
	 "BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"},
};

static void
same_or_abort(const struct dkim_result *x, const struct dkim_result *y)
{
	if (x->n != y->n || x->ignored != y->ignored || x->from_count != y->from_count)
		abort();
	for (size_t i = 0; i < x->n; i++)
		if (x->sig[i].result != y->sig[i].result || x->sig[i].reason != y->sig[i].reason ||
		    x->sig[i].unsigned_bytes != y->sig[i].unsigned_bytes || x->sig[i].detail == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct dns *d = dns_new_memory();
	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		dns_zone_add(d, zone[i][0], DNS_T_TXT, zone[i][1], strlen(zone[i][1]));
	const uint8_t *nl = size >= 4 && memcmp(data, "KEY:", 4) == 0 ? memchr(data, '\n', size) : NULL;
	if (nl != NULL) {
		dns_zone_add(d, "sel._domainkey.example.org", DNS_T_TXT, (const char *)data + 4,
		             (size_t)(nl - data) - 4);
		size -= (size_t)(nl + 1 - data);
		data = nl + 1;
	}
	struct buf m;
	buf_init(&m, 1 << 25);
	bool lf_only = memchr(data, '\r', size) == NULL;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' && lf_only)
			buf_addch(&m, '\r');
		buf_addch(&m, (char)data[i]);
	}
	struct dkim_result whole, trickled;
	dkim_verify(NULL, d, a, spool_from_bytes(a, NULL, m.data, m.len), 1700000000, &whole);
	struct dkim_stream *st = dkim_stream_new(a);
	for (size_t off = 0, n; off < m.len; off += n) {
		n = 1 + (size_t)m.data[off] % 7;
		dkim_stream_feed(st, m.data + off, n > m.len - off ? m.len - off : n);
	}
	dkim_stream_finish(st, NULL, d, 1700000000, &trickled);
	same_or_abort(&whole, &trickled);
	buf_free(&m);
	dns_free(&d);
	arena_free(&a);
	return 0;
}
