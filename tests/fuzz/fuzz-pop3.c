/* fuzz-pop3.c - libFuzzer target for what a POP3 server and the messages
 * it hands over can make us read: the protocol side (src/pop3/pop3_parse.c)
 * and the header fields intake's envelope normaliser reads out of a
 * collected message (mime_header_values, address_list).
 *
 * The input is used as a UIDL listing, as a collected message (To,
 * Delivered-To, Return-Path), as an address-list value and, up to its
 * first line end, as a pop_server setting.  Checks beyond "no crash":
 * UIDLs are 1..70 printable bytes with a message number > 0, header
 * values hold no CR or LF, and address lists never return more than asked
 * for.  The Received stamp is fuzz-auth-trust's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "pop3/pop3_private.h"
#include "route/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct pr_why why;
	struct pop3_item *it;
	size_t n;
	if (pop3_uidl_parse(a, (const char *)data, size, &it, &n, &why) == 0)
		for (size_t i = 0; i < n; i++)
			if (it[i].num == 0 || strlen(it[i].uidl) == 0 || strlen(it[i].uidl) > POP3_UIDL_MAX)
				abort();
	struct spool *raw = spool_from_bytes(a, NULL, data, size);
	const char *v[4], *out[4];
	static const char *const names[] = {"To", "Delivered-To", "Return-Path"};
	for (size_t k = 0; k < 3; k++) {
		size_t nv = mime_header_values(a, raw, names[k], v, 4);
		for (size_t i = 0; i < nv; i++) {
			if (strpbrk(v[i], "\r\n") != NULL)
				abort();
			if (address_list(a, v[i], out, 4) > 4)
				abort();
		}
	}
	char *s = arena_strndup(a, (const char *)data, size);
	if (address_list(a, s, out, 2) > 2)
		abort();
	struct pop3_server srv;
	char *nl = strchr(s, '\n');
	if (nl != NULL)
		*nl = '\0';
	(void)pop3_server_parse(s, &srv, &why);
	arena_free(&a);
	return 0;
}
