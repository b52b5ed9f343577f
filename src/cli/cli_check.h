/* cli_check.h - pieces of `check domain` kept in their own files. */
#ifndef PR_CLI_CHECK_H
#define PR_CLI_CHECK_H

#include <jansson.h>
#include <stdbool.h>

struct arena;
struct dns;
struct settings;

/* The DKIM keys in dkim_keys for domain: each one's TXT record to publish
 * and whether DNS has it (printed when text); *bad set when a key is not
 * published or dkim_keys cannot be loaded.  Returns the JSON object. */
json_t *cli_check_signing(const struct settings *set, struct dns *d, struct arena *a,
                          const char *domain, bool text, int *bad);

#endif
