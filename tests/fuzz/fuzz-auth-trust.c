/* fuzz-auth-trust.c - libFuzzer target for what auth reads out of a
 * collected message's own headers (src/auth/auth_trust.c): the trusted
 * Received trail and the provider's Authentication-Results, and for the
 * header we write from those results (src/auth/auth_header.c).
 *
 * The input is a message.  Checks beyond "no crash": the adopted results
 * rendered into our Authentication-Results header cannot inject a header
 * line (every CR LF is followed by a TAB, or ends the header), and
 * auth_clean output holds no ( ) " backslash CR LF, at most 200 bytes.
 * Removing Authentication-Results with our id (src/auth/auth_strip.c)
 * never grows the message and leaves none behind: a second pass over its
 * output removes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_private.h"
#include "core/arena.h"
#include "core/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_injection(const char *h)
{
	for (const char *p = h; *p; p++)
		if ((*p == '\n' && (p == h || p[-1] != '\r')) ||
		    (*p == '\r' && (p[1] != '\n' || (p[2] != '\t' && p[2] != '\0'))))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct spool *raw = spool_from_bytes(a, NULL, data, size);
	const char *ip, *helo, *vals[AUTH_MAX_FIELDS];
	(void)auth_received_peer(a, raw, "mx.provider.example", &ip, &helo);
	size_t n = auth_header_values(a, raw, "Authentication-Results", vals, AUTH_MAX_FIELDS);
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
