/* api_password.c - console passwords: Argon2id hashes (libargon2, the
 * reference implementation of RFC 9106), the password rules, and the
 * directory calls that set a password or the admin flag.  See postroom.h.
 *
 * Parameters: t=3 passes over m=64 MiB with p=1 lane, 16-byte salt,
 * 32-byte tag -- RFC 9106 section 4's second recommended option (t=3,
 * 64 MiB) with one lane instead of four: libargon2 would run four lanes on
 * four threads, and serve's HTTP workers on a small machine have no cores
 * to spare, so one lane keeps a hash on the worker that asked for it.
 * OWASP's floor is 19 MiB with t=2; 64 MiB with t=3 costs an attacker
 * with a GPU about ten times that per guess.  Measured on the 2-core
 * development machine with Debian's libargon2 (its portable build, no
 * SIMD): about 0.4 s of CPU per hash (tests/unit/test-password.c prints
 * it), which a person signing in barely notices and a guesser who stole
 * the store pays for every guess.
 *
 * Memory is the cost for us too: 64 MiB per hash in flight.  At most
 * PW_CONCURRENT hashes run at once in a process (a sign-in flood waits for
 * a slot instead of taking 64 MiB per HTTP worker), and failed sign-ins
 * are rate-limited (api_session.c).
 *
 * The encoded form ("$argon2id$v=19$m=65536,t=3,p=1$salt$tag") carries its
 * own parameters, so hashes made with other parameters still verify.
 */
#include <argon2.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "store/store.h"

#define PW_T_COST 3
#define PW_M_COST_KIB (64 * 1024)
#define PW_LANES 1
#define PW_SALT_LEN 16
#define PW_TAG_LEN 32
#define PW_CONCURRENT 2

static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cv = PTHREAD_COND_INITIALIZER;
static int slots_busy;

static void
slot_take(void)
{
	pthread_mutex_lock(&slots_mu);
	while (slots_busy >= PW_CONCURRENT)
		pthread_cond_wait(&slots_cv, &slots_mu);
	slots_busy++;
	pthread_mutex_unlock(&slots_mu);
}

static void
slot_give(void)
{
	pthread_mutex_lock(&slots_mu);
	slots_busy--;
	pthread_cond_signal(&slots_cv);
	pthread_mutex_unlock(&slots_mu);
}

int
api_password_rules(const char *pw, struct pr_why *why)
{
	size_t bytes = strlen(pw), chars = 0;
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
		chars += (*p & 0xC0) != 0x80;   /* count UTF-8 lead bytes: characters */
	if (chars < API_PASSWORD_MIN) {
		pr_why_set(why, PR_E_INVALID, "the password is %s: use at least %d characters (a few "
		           "words make a long one that is easy to remember)",
		           bytes == 0 ? "empty" : "too short", API_PASSWORD_MIN);
		return -1;
	}
	if (bytes > API_PASSWORD_MAX) {
		pr_why_set(why, PR_E_INVALID, "the password is longer than %d bytes", API_PASSWORD_MAX);
		return -1;
	}
	return 0;
}

int
api_password_hash(const char *pw, char *out, size_t cap, struct pr_why *why)
{
	unsigned char salt[PW_SALT_LEN];
	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		pr_why_set(why, PR_E_INTERNAL, "the system's random generator failed");
		return -1;
	}
	slot_take();
	int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST_KIB, PW_LANES, pw, strlen(pw), salt,
	                               sizeof(salt), PW_TAG_LEN, out, cap);
	slot_give();
	if (rc != ARGON2_OK) {
		pr_why_set(why, PR_E_INTERNAL, "hashing the password failed: %s", argon2_error_message(rc));
		return -1;
	}
	return 0;
}

int
api_password_verify(const char *encoded, const char *pw)
{
	if (strncmp(encoded, "$argon2id$", 10) != 0)
		return 0;
	slot_take();
	int rc = argon2id_verify(encoded, pw, strlen(pw));
	slot_give();
	return rc == ARGON2_OK;
}

/* ---- the directory calls ---- */

int
api_user_set_password(struct pr_api *api, const char *name, const char *password, struct pr_why *why)
{
	char hash[API_PASSWORD_HASH_MAX];
	pr_why_clear(why);
	if (api_password_rules(password, why) < 0 || api_password_hash(password, hash, sizeof(hash), why) < 0)
		return -1;
	return store_user_set_password(api->store, name, hash, why);
}

int
api_user_set_admin(struct pr_api *api, const char *name, bool admin, struct pr_why *why)
{
	return store_user_set_admin(api->store, name, admin, why);
}
