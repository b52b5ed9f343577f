/* store_pg_copy.c - finding the earlier copy of a message the group
 * commit stores (store_pg_msg.c), on PostgreSQL.
 *
 * Duplicates across nodes.  Several nodes commit at once, each on its
 * own connection, in READ COMMITTED: two copies of one message reaching
 * two nodes at the same moment would each look for the other, find
 * nothing (neither has committed) and both be stored.  No unique
 * constraint can say it (two different messages may share a Message-ID:
 * only Message-ID AND bytes make a duplicate).  So before judging, the
 * commit takes a transaction-scoped advisory lock on a hash of each
 * Message-ID it will judge (pg_advisory_xact_lock(hashtextextended(id,
 * 0))): the second committer waits until the first's transaction ends,
 * and its duplicate check -- a new statement, so a new snapshot in READ
 * COMMITTED -- then sees the first's committed row.  A hash collision
 * only makes two unrelated commits wait for each other.  The locks of a
 * batch are taken in one statement, in key order, so two batches never
 * wait for each other crosswise (a deadlock); lock_timeout bounds any
 * wait (then PR_E_STORE_BUSY: 4xx, the client comes back).
 */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_pg.h"

/* Whether m's Message-ID judges it (see pg_copy_find). */
static bool
judged_by_msgid(const struct store_msg *m)
{
	return m->outbound == NULL && m->raw != NULL && m->message_id != NULL && !m->unreadable;
}

/* Append s to an array literal as a quoted element ("\" and "\\" escaped). */
static void
array_add(struct buf *b, const char *s)
{
	buf_addstr(b, b->len > 1 ? ",\"" : "\"");
	for (const char *c = s; *c; c++) {
		if (*c == '"' || *c == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *c);
	}
	buf_addch(b, '"');
}

/* The advisory locks of the batch (see the header): one per Message-ID
 * judged, and one per POP3 copy judged by its bytes, in key order. */
int
pg_copy_lock(struct store *st, struct arena *a, struct store_msg **msgs, size_t n,
             struct pr_why *why)
{
	static const char sql[] = "SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended(x, 0) AS k"
		" FROM unnest($1::text[]) AS x ORDER BY 1) AS keys";
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_addch(&b, '{');
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m = msgs[i];
		const char *key = judged_by_msgid(m) ? store_msgid(a, m->message_id) : NULL;
		if (key != NULL)
			array_add(&b, key);
		if (m->outbound == NULL && m->raw != NULL && m->pop3_mailbox != NULL)
			array_add(&b, arena_printf(a, "pop3 %s %s", m->pop3_mailbox, spool_sha256_hex(m->raw)));
	}
	buf_addch(&b, '}');
	int rc = 0;
	if (b.len > 2) {
		struct pg_params p = {0};
		pg_p_text(&p, buf_cstr(&b));
		rc = pg_queue(st, sql, &p, "waiting for another copy of a message", why);
	}
	buf_free(&b);
	return rc;
}

/* Queue the lookups that tell whether m is a copy of a message stored
 * already: the same bytes collected again from the same POP3 mailbox
 * (two rounds at once) are one; otherwise an unreadable message or one
 * without a Message-ID never is (nothing tells two such copies from two
 * different messages), and a message we send is new by construction (a
 * Message-ID we just made).  Read at the next sync (pg_copy_of). */
int
pg_copy_find(struct store *st, struct arena *a, const struct store_msg *m, struct pg_look *l,
             struct pr_why *why)
{
	static const char sql[] = "SELECT id FROM messages WHERE message_id = $1 AND sha256 = $2"
	                          " ORDER BY id LIMIT 1";
	l->pop3 = l->msgid = 0;
	if (m->outbound != NULL || m->raw == NULL)
		return 0;
	if (m->pop3_mailbox != NULL &&
	    pg_pop3_stored_id(st, m->pop3_mailbox, spool_sha256_hex(m->raw), &l->pop3, why) < 0)
		return -1;
	const char *key = judged_by_msgid(m) ? store_msgid(a, m->message_id) : NULL;
	if (key == NULL)
		return 0;
	struct pg_params p = {0};
	pg_p_text(&p, key);
	pg_p_text(&p, spool_sha256_hex(m->raw));
	return pg_queue_int(st, sql, &p, &l->msgid, "checking duplicates", why);
}

/* The earlier copy's id (the POP3 record first), or 0: m is new. */
int64_t
pg_copy_of(const struct pg_look *l)
{
	return l->pop3 ? l->pop3 : l->msgid;
}

/* Whether m's POP3 lookup reads the record e writes (m's mailbox, or
 * the shared one ""). */
static bool
reads_record_of(const struct store_msg *m, const struct store_msg *e)
{
	return m->pop3_mailbox && e->pop3_mailbox &&
	       (!*e->pop3_mailbox || !strcmp(e->pop3_mailbox, m->pop3_mailbox));
}

/* Whether e, written before m in the batch, may be what m's lookups
 * find: the same bytes, and either that POP3 record or the same
 * Message-ID (m judged by it). */
static bool
may_be_copy(struct arena *a, const struct store_msg *e, const struct store_msg *m)
{
	if (e->raw == NULL || strcmp(spool_sha256_hex(e->raw), spool_sha256_hex(m->raw)))
		return false;
	if (reads_record_of(m, e))
		return true;
	const char *key = judged_by_msgid(m) ? store_msgid(a, m->message_id) : NULL;
	const char *e_key = e->message_id ? store_msgid(a, e->message_id) : NULL;
	return key && e_key && !strcmp(key, e_key);
}

/* Whether msgs[i] must be looked up again once the messages before it are
 * written, because one of them may change the answer: it may be the
 * earlier copy (two copies in one batch), or, for a POP3 copy found by its
 * record, a record of the same mailbox may be rewritten (the same UIDL
 * again).  Rare; everything else was answered by the first lookup. */
bool
pg_copy_look_again(struct arena *a, struct store_msg **msgs, const struct pg_look *look, size_t i)
{
	const struct store_msg *m = msgs[i];
	if (m->outbound != NULL || m->raw == NULL)
		return false;
	for (size_t j = 0; j < i; j++) {
		const struct store_msg *e = msgs[j];
		if (may_be_copy(a, e, m) || (look[i].pop3 && reads_record_of(m, e)))
			return true;
	}
	return false;
}
