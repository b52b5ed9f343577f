/* store_pg_body.c - a message's bytes in PostgreSQL: rows of
 * message_chunks(message_id, seq 0.., data), at most PG_CHUNK bytes each,
 * written by the group commit one chunk at a time.
 *
 * The stored message is prepend (our Received:, Authentication-Results:)
 * followed by the spool, byte-exact; the chunks cut that stream in
 * PG_CHUNK pieces without regard to where the prepend ends, so a reader
 * only concatenates them in seq order.  One PG_CHUNK buffer is all the
 * memory a message takes: a 20 MiB message is read from its spool file
 * and sent chunk by chunk, never held whole.
 *
 * store_body_put does nothing here (m->body stays NULL), on purpose.  The
 * SQLite backend writes a large body apart to keep its one writer's
 * transaction short and to write the bytes once (not WAL + database).
 * Neither reason holds here: PostgreSQL has no single writer (the other
 * committers of this node and of the other nodes go on while one
 * transaction streams 20 MiB), and chunks written early would need a row
 * to hang from before the message has one (message_chunks references
 * messages), i.e. a staging table, a second transaction per message and a
 * sweep of what a crash left in it.  Writing the chunks in the commit
 * keeps "the message and its bytes exist together or not at all" true by
 * construction, and store_body_sweep has nothing to remove.
 */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/private.h"
#include "core/spool.h"
#include "store/store.h"
#include "store/store_pg.h"

int
pg_store_body_put(struct store *st, struct arena *a, struct store_msg *m, struct pr_why *why)
{
	(void)st, (void)a, (void)why;
	m->body = NULL;
	return 0;
}

int
pg_store_body_sweep(struct store *st, time_t live_since, int64_t *removed_r, struct pr_why *why)
{
	(void)st, (void)live_since, (void)why;
	*removed_r = 0;
	return 0;
}

/* Fill dst with len bytes of the stream prepend + spool from off. */
static int
read_stream(const struct store_msg *m, size_t plen, uint64_t off, uint8_t *dst, size_t len,
            struct pr_why *why)
{
	if (off < plen) {
		size_t n = plen - off < len ? plen - (size_t)off : len;
		memcpy(dst, m->prepend + off, n);
		off += n;
		dst += n;
		len -= n;
	}
	return len > 0 ? spool_read_exact(m->raw, off - plen, dst, len, why) : 0;
}

int
pg_body_insert(struct store *st, const struct store_msg *m, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO message_chunks(message_id, seq, data) VALUES($1, $2, $3)";
	size_t plen = m->prepend ? strlen(m->prepend) : 0;
	uint64_t total = plen + (m->raw ? spool_size(m->raw) : 0);
	if (total == 0)
		return 0;
	uint8_t *buf = xmalloc(total < PG_CHUNK ? (size_t)total : PG_CHUNK);
	int rc = 0;
	for (uint64_t off = 0, seq = 0; rc == 0 && off < total; seq++) {
		size_t n = total - off < PG_CHUNK ? (size_t)(total - off) : PG_CHUNK;
		rc = read_stream(m, plen, off, buf, n, why);
		if (rc < 0)
			break;
		struct pg_params p = {0};
		pg_p_int(&p, m->id_r);
		pg_p_int(&p, (int64_t)seq);
		pg_p_bytes(&p, buf, n);
		rc = pg_queue(st, sql, &p, "storing message bytes", why);
		off += n;
	}
	free(buf);
	return rc;
}
