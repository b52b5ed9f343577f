/* api_token.c - API tokens: made, listed, revoked, and checked on every
 * HTTP request that carries one.  See postroom.h.
 *
 * A token is "prt_" and 32 random bytes in base64url (256 bits: guessing
 * is hopeless, so a plain SHA-256 is the right hash for it; Argon2id is for
 * passwords, which people choose).  The text is returned once, by create;
 * the store keeps only its hash.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/sha256.h"
#include "store/store.h"

#define TOKEN_PREFIX "prt_"
/* "prt_" + 43 base64url characters. */
#define TOKEN_TEXT_MAX 128

static void
token_hash(const char *text, unsigned char out[STORE_TOKEN_HASH_LEN])
{
	sha256_digest(text, strlen(text), out);
}

int
api_random_text(char *out, size_t cap, struct pr_why *why)
{
	unsigned char rnd[API_RANDOM_BYTES];
	unsigned char b64[64];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		pr_why_set(why, PR_E_INTERNAL, "the system's random generator failed");
		return -1;
	}
	int n = EVP_EncodeBlock(b64, rnd, sizeof(rnd));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	snprintf(out, cap, "%.*s", n, (const char *)b64);
	return 0;
}

/* 32 random bytes as "prt_" + base64url without padding. */
static int
token_make(char *out, size_t cap, struct pr_why *why)
{
	char rnd[API_RANDOM_TEXT_LEN + 1];
	if (api_random_text(rnd, sizeof(rnd), why) < 0)
		return -1;
	snprintf(out, cap, TOKEN_PREFIX "%s", rnd);
	return 0;
}

static json_t *
token_json(const void *row)
{
	const struct store_token *t = row;
	char when[40];
	return json_pack("{s:I, s:o, s:s, s:s}", "id", (json_int_t)t->id, "name", api_text(t->name),
	                 "scope", t->scope, "created_at", api_format_time(t->created_at, when, sizeof(when)));
}

json_t *
api_token_create(struct pr_api *api, const char *name, const char *scope, struct pr_why *why)
{
	char text[TOKEN_TEXT_MAX];
	unsigned char hash[STORE_TOKEN_HASH_LEN];
	int64_t id;
	time_t now = time(NULL);
	if (api_check_name("token name", name, why) < 0)
		return NULL;
	if (scope == NULL || (strcmp(scope, "admin") != 0 && strcmp(scope, "read") != 0)) {
		pr_why_set(why, PR_E_INVALID, "token scope must be admin or read, not %s",
		           scope ? scope : "(none)");
		return NULL;
	}
	if (token_make(text, sizeof(text), why) < 0)
		return NULL;
	token_hash(text, hash);
	if (store_token_add(api->store, name, scope, hash, now, &id, why) < 0)
		return NULL;
	struct store_token t = {.id = id, .name = name, .scope = scope, .created_at = now};
	json_t *doc = token_json(&t);
	json_object_set_new(doc, "token", json_string(text));
	return doc;
}

json_t *
api_token_list(struct pr_api *api, struct pr_why *why)
{
	struct arena *a = arena_new();
	struct store_token *rows;
	size_t n;
	json_t *doc = NULL;
	if (store_token_list(api->store, a, &rows, &n, why) == 0)
		doc = api_rows("tokens", rows, n, sizeof(*rows), token_json);
	arena_free(&a);
	return doc;
}

int
api_token_remove(struct pr_api *api, int64_t id, struct pr_why *why)
{
	return store_token_remove(api->store, id, why);
}

int
api_token_verify(struct pr_api *api, const char *text, char *name, size_t namelen, bool *admin,
                 struct pr_why *why)
{
	unsigned char hash[STORE_TOKEN_HASH_LEN];
	struct store_token t;
	if (strncmp(text, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 || strlen(text) >= TOKEN_TEXT_MAX)
		return 1;
	token_hash(text, hash);
	struct arena *a = arena_new();
	int rc = store_token_find(api->store, a, hash, &t, why);
	if (rc == 0) {
		snprintf(name, namelen, "%s", t.name);
		*admin = strcmp(t.scope, "admin") == 0;
	}
	arena_free(&a);
	return rc;
}
