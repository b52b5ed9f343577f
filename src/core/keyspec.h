/* keyspec.h - the text of the dkim_keys setting: "domain:selector:/path"
 * entries, comma and/or blank separated (like smtp_client_limit_exceptions).
 *
 * Only the syntax: the settings validator uses it so that a typo is refused
 * at `settings set`, and the DKIM signer (auth/dkim_signkey.c) uses it to
 * read the entries before it opens the files.  Refused: an entry without
 * two colons, a domain or selector that is not dot-separated LDH labels
 * (underscore allowed in a selector), a relative path, more than
 * KEYSPEC_MAX entries.
 */
#ifndef PR_KEYSPEC_H
#define PR_KEYSPEC_H

#include <stddef.h>

#include "core/err.h"

/* More keys than domains x algorithms x a rollover is a mistake. */
#define KEYSPEC_MAX 16

struct keyspec {
	char domain[254];
	char selector[64];
	char path[1024];
};
struct keyspec_list {
	size_t n;
	struct keyspec k[KEYSPEC_MAX];
};

/* 0, or -1 with why (PR_E_CONFIG, naming the entry). */
int keyspec_parse(const char *text, struct keyspec_list *out, struct pr_why *why);

#endif
