/* store_pg_pop3.c - what the POP3 collector has taken from each system
 * mailbox, so nothing is stored twice and nothing unstored is deleted.
 * Mirrors store_sqlite_pop3.c.
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
#include "store/store_pg.h"

/* The time in whole Unix seconds, as SQLite's strftime('%s','now')
 * (truncated, not rounded). */
#define PG_NOW "floor(extract(epoch from now()))::bigint"

int
pg_pop3_record(struct store *st, const char *mailbox, const struct store_pop3_mark *mk,
               struct pr_why *why)
{
	/* SQLite's INSERT OR REPLACE: the (mailbox, uidl) key is the only
	 * unique one, so replacing is updating every other column. */
	static const char sql[] = "INSERT INTO pop3_collected(mailbox, uidl, sha256, state, message_id, at)"
		" VALUES($1, $2, $3, $4, $5, " PG_NOW ") ON CONFLICT(mailbox, uidl) DO UPDATE SET"
		" sha256 = excluded.sha256, state = excluded.state, message_id = excluded.message_id,"
		" at = excluded.at";
	struct pg_params p = {0};
	pg_p_text(&p, mailbox);
	pg_p_text(&p, mk->uidl);
	pg_p_text(&p, mk->sha256);
	pg_p_text(&p, mk->state);
	pg_p_int(&p, mk->message_id);
	return pg_queue(st, sql, &p, "recording a collected POP3 message", why);
}

int
pg_pop3_stored_id(struct store *st, const char *mailbox, const char *sha256_hex, int64_t *id_r,
                  struct pr_why *why)
{
	static const char sql[] = "SELECT c.message_id FROM pop3_collected c JOIN messages m"
		" ON m.id = c.message_id WHERE c.mailbox IN ($1, '') AND c.sha256 = $2 LIMIT 1";
	struct pg_params p = {0};
	pg_p_text(&p, mailbox);
	pg_p_text(&p, sha256_hex);
	return pg_queue_int(st, sql, &p, id_r, "looking up a collected POP3 message", why);
}

static int
known(struct store *st, const char *sql, const char *mailbox, const char *key, struct pr_why *why)
{
	struct pg_params p = {0};
	pg_p_text(&p, mailbox);
	pg_p_text(&p, key);
	return pg_exists(st, sql, &p, "looking up a collected POP3 message", why);
}

int
pg_store_pop3_known_uidl(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM pop3_collected WHERE mailbox = $1 AND uidl = $2";
	return known(st, sql, mailbox, uidl, why);
}

int
pg_store_pop3_known_hash(struct store *st, const char *mailbox, const char *sha256_hex,
                         struct pr_why *why)
{
	/* mailbox '': records imported from a SQLite store older than its
	 * migration 2, mailbox unknown; the same bytes are the same message
	 * wherever they were seen */
	static const char sql[] = "SELECT 1 FROM pop3_collected WHERE mailbox IN ($1, '')"
	                          " AND sha256 = $2";
	return known(st, sql, mailbox, sha256_hex, why);
}

int
pg_store_pop3_mark(struct store *st, const char *mailbox, const struct store_pop3_mark *marks,
                   size_t n, struct pr_why *why)
{
	if (n == 0)
		return 0;
	pr_why_clear(why);
	if (pg_begin(st, why) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (pg_pop3_record(st, mailbox, &marks[i], why) < 0) {
			pg_rollback(st);
			return -1;
		}
	return pg_commit(st, why);
}

int
pg_store_pop3_touch(struct store *st, const char *mailbox, const char *uidl, struct pr_why *why)
{
	static const char sql[] = "UPDATE pop3_collected SET at = " PG_NOW
	                          " WHERE mailbox = $1 AND uidl = $2";
	struct pg_params p = {0};
	pg_p_text(&p, mailbox);
	pg_p_text(&p, uidl);
	return pg_do(st, sql, &p, "refreshing a POP3 record", why) < 0 ? -1 : 0;
}

int
pg_store_pop3_expire(struct store *st, time_t before, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM pop3_collected WHERE at < $1";
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)before);
	return pg_do(st, sql, &p, "forgetting old POP3 records", why) < 0 ? -1 : 0;
}
