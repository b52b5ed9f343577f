/* verp.c - bounce+<id>-<mac> addresses; see verp.h. */
#include "route/verp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/sha256.h"
#include "core/text.h"

/* The first 8 bytes of HMAC-SHA256(key, "bounce:" id), as 16 hex digits.
 * The label keeps these macs apart from any other use of the key. */
static void
mac_of(const char *key, int64_t id, uint8_t out[VERP_MAC_HEX / 2])
{
	char msg[64];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdl = 0;
	int n = snprintf(msg, sizeof(msg), "bounce:%lld", (long long)id);
	if (HMAC(sha256_md(), key, (int)strlen(key), (const uint8_t *)msg, (size_t)n, md, &mdl) == NULL)
		pr_panic("HMAC-SHA256 failed");
	memcpy(out, md, VERP_MAC_HEX / 2);
}

char *
verp_bounce_address(struct arena *a, const char *key, int64_t id, const char *domain)
{
	if (key == NULL || *key == '\0' || id <= 0)
		return NULL;
	uint8_t mac[VERP_MAC_HEX / 2];
	char hex[VERP_MAC_HEX + 1];
	mac_of(key, id, mac);
	text_hex(mac, sizeof(mac), hex);
	return arena_printf(a, VERP_PREFIX "%lld-%s@%s", (long long)id, hex, domain);
}

/* "<digits>-<16 hex>": the id (1..18 digits, no leading zero) and mac. */
static bool
split(const char *p, size_t n, int64_t *id, uint8_t mac[VERP_MAC_HEX / 2])
{
	size_t d = 0;
	int64_t v = 0;
	while (d < n && d < 18 && p[d] >= '0' && p[d] <= '9')
		v = v * 10 + (p[d++] - '0');
	if (d == 0 || p[0] == '0' || d + 1 + VERP_MAC_HEX != n || p[d] != '-')
		return false;
	for (size_t i = 0; i < VERP_MAC_HEX / 2; i++) {
		int hi = text_hex_digit(p[d + 1 + 2 * i]), lo = text_hex_digit(p[d + 2 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	*id = v;
	return true;
}

enum verp_match
verp_bounce_parse(const char *key, const char *local, size_t len, int64_t *id_r)
{
	size_t pl = strlen(VERP_PREFIX);
	if (len < pl || strncasecmp(local, VERP_PREFIX, pl) != 0)
		return VERP_NONE;
	int64_t id;
	uint8_t got[VERP_MAC_HEX / 2], want[VERP_MAC_HEX / 2];
	if (key == NULL || *key == '\0' || !split(local + pl, len - pl, &id, got))
		return VERP_FORGED;
	mac_of(key, id, want);
	if (CRYPTO_memcmp(got, want, sizeof(want)) != 0)
		return VERP_FORGED;
	*id_r = id;
	return VERP_OK;
}
