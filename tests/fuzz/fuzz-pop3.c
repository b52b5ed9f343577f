/* fuzz-pop3.c - libFuzzer target for the POP3 collector's parsers
 * (src/pop3/pop3_parse.c): what a POP3 server and the messages it hands
 * over can make us read.
 *
 * The input is used as a UIDL listing, as a collected message (header
 * fields, Received trail, Return-Path), as an address-list value and, up
 * to its first line end, as a pop_server setting.  Checks beyond "no
 * crash": UIDLs are 1..70 printable bytes with a message number > 0, and
 * address lists never return more than asked for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "pop3/pop3_private.h"

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
	const char *to = pop3_header_first(a, data, size, "To", 4096), *ip, *helo, *out[4];
	(void)pop3_header_nth(a, data, size, "Delivered-To", 1, 64);
	(void)pop3_received_peer(a, data, size, "mx.provider.example", &ip, &helo);
	(void)pop3_return_path(a, data, size);
	if (to != NULL && pop3_addr_list(a, to, out, 4) > 4)
		abort();
	char *s = arena_strndup(a, (const char *)data, size);
	if (pop3_addr_list(a, s, out, 2) > 2)
		abort();
	struct pop3_server srv;
	char *nl = strchr(s, '\n');
	if (nl != NULL)
		*nl = '\0';
	(void)pop3_server_parse(s, &srv, &why);
	arena_free(&a);
	return 0;
}
