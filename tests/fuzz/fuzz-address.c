/* fuzz-address.c - libFuzzer target for address_parse_path / address_parse.
 *
 * The input, cut at its first NUL, is a MAIL/RCPT argument.  Besides not
 * crashing, an accepted address must hold to what the header promises:
 * the domain is lowercase, the path ends at its '>', and the printed form
 * (`full`) parses back to the same local part and domain (what the store
 * keeps must mean the same mailbox when read again).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "route/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(struct arena *a, const struct address *ad)
{
	struct address back;
	struct pr_why why;
	for (const char *p = ad->domain; *p; p++)
		if (isupper((unsigned char)*p))
			abort();
	if (ad->full[0] == '\0' || strlen(ad->full) > 250)
		return;                     /* null path; or quoting made it too long */
	if (address_parse(a, ad->full, &back, &why) != 0 || strcmp(back.local, ad->local) != 0 ||
	    strcmp(back.domain, ad->domain) != 0 || strcmp(back.full, ad->full) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	char *s = arena_strndup(a, (const char *)data, size);
	struct address ad;
	struct pr_why why;
	const char *end = NULL;
	for (int allow_null = 0; allow_null < 2; allow_null++)
		if (address_parse_path(a, s, allow_null, &ad, &end, &why) == 0) {
			if (end <= s || end > s + strlen(s) || end[-1] != '>')
				abort();
			check(a, &ad);
		}
	if (address_parse(a, s, &ad, &why) == 0)
		check(a, &ad);
	(void)address_normalize(a, s);
	(void)address_domain(s);
	arena_free(&a);
	return 0;
}
