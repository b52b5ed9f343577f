/* fuzz-auth-trust.c - libFuzzer target for what auth reads out of a
 * collected message's own headers: the trusted Received stamp
 * (src/auth/auth_received.c) and the provider's Authentication-Results
 * (src/auth/auth_trust.c), and for the header we write from those results
 * (src/auth/auth_header.c).
 *
 * The input is a message.  Checks beyond "no crash": a client IP taken
 * from a Received stamp is a valid IP that occurs in the input, a HELO is
 * at most 255 bytes, "does not parse" always says why; the adopted results
 * rendered into our Authentication-Results header cannot inject a header
 * line (every CR LF is followed by a TAB, or ends the header), and
 * auth_clean output holds no ( ) " backslash CR LF, at most 200 bytes.
 * Removing Authentication-Results with our id (src/auth/auth_strip.c)
 * never grows the message and leaves none behind: a second pass over its
 * output removes nothing.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_private.h"
#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_injection(const char *h)
{
	for (const char *p = h; *p; p++)
		if ((*p == '\n' && (p == h || p[-1] != '\r')) ||
		    (*p == '\r' && (p[1] != '\n' || (p[2] != '\t' && p[2] != '\0'))))
			abort();
}

static void
received(struct arena *a, struct spool *raw, const uint8_t *data, size_t size, const char *host)
{
	const char *ip = NULL, *helo = NULL;
	struct pr_why why;
	pr_why_clear(&why);
	int rc = auth_received_peer(a, raw, host, &ip, &helo, &why);
	unsigned char bin[16];
	if (rc < 0 && why.code != PR_E_RECEIVED_UNPARSED)
		abort();
	if (rc != 0)
		return;
	if (strlen(helo) > 255)
		abort();
	if (*ip && ((inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1) ||
	            memmem(data, size, ip, strlen(ip)) == NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct spool *raw = spool_from_bytes(a, NULL, data, size);
	const char *vals[AUTH_MAX_FIELDS];
	received(a, raw, data, size, "mx.provider.example");
	received(a, raw, data, size, ".provider.example");
	size_t n = mime_header_values(a, raw, "Authentication-Results", vals, AUTH_MAX_FIELDS);
	for (size_t i = 0; i < n; i++) {
		const char *c = auth_clean(a, vals[i]);
		/* auth_private.h also promises no ';', but auth_clean keeps it
		 * (reported; harmless inside an RFC 8601 comment). */
		if (strlen(c) > 200 || strpbrk(c, "()\"\\\r\n") != NULL)
			abort();
	}
	struct auth_input in = {.client_ip = "", .helo = "", .mail_from = "", .from_domain = "example.com",
	                        .raw = raw, .trusted_authserv_id = "mx.provider.example"};
	struct auth_verdict v;
	memset(&v, 0, sizeof(v));
	if (auth_adopt_trusted(a, &in, &v)) {
		auth_render(a, "postroom.example", &v);
		no_injection(v.header);
	}
	size_t removed = 0, again = 0;
	struct pr_why why;
	struct spool *kept = auth_strip_own_results(a, raw, "postroom.example", NULL, &removed, &why);
	if (kept == NULL || spool_size(kept) > size || (removed == 0) != (kept == raw))
		abort();
	if (auth_strip_own_results(a, kept, "postroom.example", NULL, &again, &why) == NULL || again != 0)
		abort();
	arena_free(&a);
	return 0;
}
