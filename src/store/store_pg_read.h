/* store_pg_read.h - what listing (store_pg_read.c) and search
 * (store_pg_search.c) share in the PostgreSQL backend (private).
 *
 * The summary columns (read by pg_read_summary into a struct
 * store_message_summary), a filter on messages m by $1 project, $2 user,
 * $3 unassigned, $4 fallback and $6 stakeholder, and its parameters (with
 * $5 the limit and $7 before): store_sqlite.h's SQ_SUMMARY_COLS and
 * SQ_MESSAGE_FILTER in PostgreSQL's words.  Placements are joined in
 * the order they were made (placements.id: SQLite's rowid order).
 *
 * OFFSET 0 keeps each EXISTS a probe of placements_msg per message walked
 * (as SQLite does): without it PostgreSQL may hash every placement of the
 * project first, so a page of a 100,000-message project cost 400 ms
 * instead of 1 ms, the first page as much as the last.
 */
#ifndef PR_STORE_PG_READ_H
#define PR_STORE_PG_READ_H

#include "store/store_pg.h"

#define PG_SUMMARY_COLS "SELECT m.id, m.received_at, m.from_addr, m.subject, m.message_id, m.size," \
	" (SELECT string_agg(CASE WHEN target = '' THEN kind ELSE kind || ':' || target END, ','" \
	"  ORDER BY id) FROM placements WHERE message_id = m.id), m.unreadable "
#define PG_MESSAGE_FILTER \
	" ($1::text IS NULL OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id" \
	"  AND kind = 'project' AND target = $1 OFFSET 0))" \
	" AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id" \
	"  AND kind = 'user' AND target = $2 OFFSET 0))" \
	" AND ($3::integer = 0 OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id" \
	"  AND kind = 'unassigned'))" \
	" AND ($4::integer = 0 OR EXISTS (SELECT 1 FROM placements WHERE message_id = m.id" \
	"  AND kind = 'fallback'))" \
	" AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM people WHERE message_id = m.id" \
	"  AND stakeholder_name = $6))"

struct store_message_filter;
void pg_read_summary(struct arena *a, PGresult *r, int row, void *p);
/* false when a filter's text is not UTF-8: nothing can match it (and
 * PostgreSQL would refuse it as a parameter). */
bool pg_message_filter_ok(const struct store_message_filter *f);
/* $1..$7 of PG_MESSAGE_FILTER and the page, in order. */
void pg_message_filter_params(struct pg_params *p, const struct store_message_filter *f);

#endif
