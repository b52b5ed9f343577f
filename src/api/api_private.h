/* api_private.h - what the api/ files share. */
#ifndef PR_API_PRIVATE_H
#define PR_API_PRIVATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

struct settings;
struct store;

struct api_health;
struct pr_api {
	struct store *store;
	char *store_uri;
	char *config_path;           /* NULL: none */
	struct settings *settings;   /* merged snapshot */
	struct api_health *health;   /* GET /healthz's prober, once asked (api_health.c) */
};
void api_health_free(struct api_health **h);

/* A JSON array of strings. */
json_t *api_strings(const char *const *v, size_t n);
/* One row of a store array as a JSON object. */
typedef json_t *(*api_row_fn)(const void *row);
/* {key: [row_json(row) for each of the n rows, elem bytes apart]}: the
 * shape of every list call (`user list --json`, `log --json`, ...). */
json_t *api_rows(const char *key, const void *rows, size_t n, size_t elem, api_row_fn row_json);

/* Text from the store as a JSON string (NULL: null).  Rows written before
 * intake cleaned its fields may hold bytes that are not UTF-8, which
 * jansson refuses (the whole row would vanish): those are cleaned here. */
json_t *api_text(const char *s);
json_t *api_textn(const char *s, size_t n);
/* t as ISO 8601 UTC text, or null for 0 (api_webhook.c). */
json_t *api_time(time_t t);

/* Keyset paging (api_page.c).  api_page_ask checks the page size asked
 * for (0: def) and returns what to ask the store for: one row more, which
 * tells whether there is a next page.  api_page_shown: how many of the n
 * rows the store gave to show.  api_page_set_next: doc["next"] = the id of
 * the last row shown when more follow (pass it as `before`), else null. */
int api_page_ask(size_t asked, size_t def, size_t *store_limit_r, struct pr_why *why);
size_t api_page_shown(size_t n, size_t store_limit);
void api_page_set_next(json_t *doc, int64_t next);

/* A domain name like firm.example (no address literal): 0, or -1 with
 * PR_E_INVALID. */
int api_check_domain_name(const char *domain, struct pr_why *why);

/* `check domain`'s outgoing half (api_check_signing.c): our DKIM keys for
 * domain with the record to publish and whether DNS has it, and the SPF
 * term for direct delivery; *bad set when a key is not published or
 * dkim_keys cannot be loaded. */
struct arena;
struct dns;
json_t *api_check_signing(const struct settings *set, struct dns *d, struct arena *a,
                          const char *domain, int *bad);

/* A search text fit for the store (api_mail.c): 0, or -1 with why. */
int api_search_check(const char *text, struct pr_why *why);
/* Stored message id read (bytes too) into *m: 0, or -1 with why
 * (PR_E_NOT_FOUND saying where the ids are). */
struct store_message;
int api_message_read(struct pr_api *api, struct arena *a, int64_t id, struct store_message *m,
                     struct pr_why *why);

/* API_RANDOM_BYTES from the system's generator as base64url without
 * padding (API_RANDOM_TEXT_LEN characters) into out: API tokens and
 * console session ids and CSRF tokens (api_token.c).  0 or -1 with why. */
#define API_RANDOM_BYTES 32
#define API_RANDOM_TEXT_LEN 43
int api_random_text(char *out, size_t cap, struct pr_why *why);

/* Argon2id (api_password.c).  rules: 0 or -1 with PR_E_INVALID saying
 * which rule the password breaks.  hash: the encoded hash into out (cap
 * >= API_PASSWORD_HASH_MAX).  verify: 1 the password matches the encoded
 * hash, 0 not (or the hash is not "$argon2id$..."). */
#define API_PASSWORD_HASH_MAX 128
/* A user name as typed at sign-in is kept to this many bytes (the rate
 * limit's key; names are at most 64). */
#define API_NAME_TYPED_MAX 64
int api_password_rules(const char *pw, struct pr_why *why);
int api_password_hash(const char *pw, char *out, size_t cap, struct pr_why *why);
int api_password_verify(const char *encoded, const char *pw);

/* Base64 text (line breaks allowed) to bytes in a (NUL-terminated);
 * NULL when it is not base64 (api_send_doc.c). */
uint8_t *api_base64_decode(struct arena *a, const char *in, size_t n, size_t *len);

/* The export file (api_export.c writes it, api_import.c reads it; the
 * format is described in api_export.c). */
#define API_EXPORT_FORMAT "postroom-export"
#define API_EXPORT_VERSION 1
#define API_EXPORT_PIECE (1024 * 1024)     /* bytes per message_bytes line at most */
#define API_EXPORT_MAX_COLS 24
/* The logical table of that name, or NULL (names only ever come from here). */
struct store_table;
const struct store_table *api_export_table(const char *name);

#endif
