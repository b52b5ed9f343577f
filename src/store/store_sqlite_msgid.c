/* store_sqlite_msgid.c - the key messages are found by Message-ID with.
 *
 * A Message-ID is looked up for every message (its duplicate, the message
 * it answers), and every message adds one to the index.  Indexed as text,
 * a key is the whole identifier (30 to 250 bytes): at a million messages
 * that index alone outgrew the committer's page cache, and the intake
 * commit read back and rewrote a leaf of it per message (bench/README.md,
 * "growth").  So the index holds 8 bytes per message instead: the first
 * eight of the identifier's SHA-256, and each statement compares the
 * identifier itself on the rows the key finds.
 *
 * Why SHA-256 and not a faster hash: the identifiers are chosen by the
 * sender.  With a hash anyone can invert, a sender could write thousands of
 * identifiers with one key and make every lookup of that key walk them all.
 * Two identifiers sharing 64 bits of SHA-256 cost about 2^32 tries to find,
 * a third about 2^64: a key never holds more than a handful of rows.
 */
#include <string.h>

#include "core/sha256.h"
#include "store/store_sqlite.h"

int64_t
sq_msgid_key(const char *msgid)
{
	uint8_t d[32];
	sha256_digest(msgid, strlen(msgid), d);
	uint64_t k = 0;
	for (int i = 0; i < 8; i++)
		k = k << 8 | d[i];
	return (int64_t)k;
}

/* postroom_msgid_key(text): the same key in SQL, for the migration that
 * added the column and for rows an import wrote.  NULL stays NULL. */
static void
msgid_key_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const unsigned char *text = sqlite3_value_text(argv[0]);
	if (text == NULL)
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int64(ctx, sq_msgid_key((const char *)text));
}

int
sq_msgid_key_register(sqlite3 *db)
{
	return sqlite3_create_function(db, "postroom_msgid_key", 1,
	                               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	                               msgid_key_sql, NULL, NULL);
}
