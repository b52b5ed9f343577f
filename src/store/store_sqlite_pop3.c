/* store_sqlite_pop3.c - what the POP3 collector has taken from each system
 * mailbox, so nothing is stored twice and nothing unstored is deleted.
 *
 * A row says: in this mailbox (server and user), the message with this
 * UIDL and these bytes was stored (as message N) or refused for good.  The
 * "stored" row is written by store_commit_batch in the same transaction
 * as the message itself, so there is no moment at which a message is
 * stored but not known to be collected: a crash before QUIT costs a DELE
 * that the next round sends again, never a second copy.  Keying by
 * mailbox keeps a UIDL of one server or user from deleting an unseen
 * message of another (UIDLs are only unique within one maildrop).
 */
#include <string.h>

#include "store/store.h"
#include "store/store_sqlite.h"

int
sq_pop3_record(struct store *st, const char *mailbox, const struct store_pop3_mark *mk,
               struct pr_why *why)
{
	static const char sql[] = "INSERT OR REPLACE INTO pop3_collected(mailbox, uidl, sha256, state,"
		" message_id, at) VALUES(?1, ?2, ?3, ?4, ?5, strftime('%s','now'))";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, mailbox);
	sq_bind_text(s, 2, mk->uidl);
	sq_bind_text(s, 3, mk->sha256);
	sq_bind_text(s, 4, mk->state);
	sqlite3_bind_int64(s, 5, mk->message_id);
	return sq_step_done(st, s, "recording a collected POP3 message", why);
}

int
sq_pop3_stored_id(struct store *st, const char *mailbox, const char *sha256_hex, int64_t *id_r,
                  struct pr_why *why)
{
	static const char sql[] = "SELECT c.message_id FROM pop3_collected c JOIN messages m"
		" ON m.id = c.message_id WHERE c.mailbox IN (?1, '') AND c.sha256 = ?2 LIMIT 1";
	sqlite3_stmt *s = sq_prep_keys(st, sql, mailbox, sha256_hex, why);
	return s == NULL ? -1 : sq_one(st, NULL, s, sq_read_int64, id_r, "looking up a collected POP3 message", why);
}

static int
known(struct store *st, const char *sql, const char *mailbox, const char *key, struct pr_why *why)
{
	sqlite3_stmt *s = sq_prep_keys(st, sql, mailbox, key, why);
	return s == NULL ? -1 : sq_exists(st, s, "looking up a collected POP3 message", why);
}

int
sqlite_store_pop3_known_uidl(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM pop3_collected WHERE mailbox = ?1 AND uidl = ?2";
	return known(st, sql, mailbox, uidl, why);
}

int
sqlite_store_pop3_known_hash(struct store *st, const char *mailbox, const char *sha256_hex,
                      struct pr_why *why)
{
	/* mailbox '': records from before migration 2, mailbox unknown; the
	 * same bytes are the same message wherever they were seen */
	static const char sql[] = "SELECT 1 FROM pop3_collected WHERE mailbox IN (?1, '')"
	                          " AND sha256 = ?2";
	return known(st, sql, mailbox, sha256_hex, why);
}

int
sqlite_store_pop3_mark(struct store *st, const char *mailbox, const struct store_pop3_mark *marks,
                size_t n, struct pr_why *why)
{
	if (n == 0)
		return 0;
	pr_why_clear(why);
	if (sq_begin(st, why) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sq_pop3_record(st, mailbox, &marks[i], why) < 0) {
			sq_rollback(st);
			return -1;
		}
	return sq_commit(st, why);
}

int
sqlite_store_pop3_touch(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why)
{
	static const char sql[] = "UPDATE pop3_collected SET at = strftime('%s','now')"
	                          " WHERE mailbox = ?1 AND uidl = ?2";
	sqlite3_stmt *s = sq_prep_keys(st, sql, mailbox, uidl, why);
	return s == NULL ? -1 : sq_step_done(st, s, "refreshing a POP3 record", why);
}

int
sqlite_store_pop3_expire(struct store *st, time_t before, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM pop3_collected WHERE at < ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)before);
	return sq_step_done(st, s, "forgetting old POP3 records", why);
}
