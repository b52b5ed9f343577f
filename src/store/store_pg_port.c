/* store_pg_port.c - the PostgreSQL side of `postroom migrate`, `export`
 * and `import` (the format and the table list are api_export.c's).
 *
 * Rows are read in single-row mode (a large log or message table is never
 * one result in memory) and written one
 * INSERT at a time, by the logical columns of the caller's static table
 * list.  Those statements are built per table, so they run unprepared
 * (pg_run's cache is keyed by the address of a static string).  Ids are
 * written as given (the identities are BY DEFAULT); the order columns an
 * export leaves out (placements.id, thread_places.ord, domains.ord) are
 * generated in the order rows come, which is the order they were read in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

/* store_pg_schema.c: the store's schema version and the newest known. */
int pg_schema_version(struct store *st, int *current_r, int *known_r, struct pr_why *why);

int
pg_store_schema_version(struct store *st, int *current_r, int *known_r, struct pr_why *why)
{
	return pg_schema_version(st, current_r, known_r, why);
}

int
pg_schema_peek(const char *conninfo, int *current_r, int *known_r, struct pr_why *why)
{
	struct store tmp = {.head.ops = &pg_store_ops};
	int rc = -1;
	*current_r = 0;
	tmp.conn = PQconnectdb(conninfo);
	if (PQstatus(tmp.conn) != CONNECTION_OK) {
		pg_fail(&tmp, NULL, "connecting to the store", why);
		goto out;
	}
	/* A database postroom never opened has no schema_version table. */
	PGresult *r = PQexec(tmp.conn, "SELECT to_regclass('schema_version') IS NOT NULL");
	bool has = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		pg_fail(&tmp, r, "reading the schema version", why);
	else if (has)
		rc = pg_schema_version(&tmp, current_r, known_r, why);
	else {
		/* It sets *known_r before it reads the (missing) table. */
		struct pr_why ignored;
		int none = 0;
		pg_schema_version(&tmp, &none, known_r, &ignored);
		rc = 0;
	}
	PQclear(r);
out:
	PQfinish(tmp.conn);
	return rc;
}

static const char import_empty_sql[] =
	"SELECT (EXISTS(SELECT 1 FROM users) OR EXISTS(SELECT 1 FROM projects)"
	" OR EXISTS(SELECT 1 FROM domains) OR EXISTS(SELECT 1 FROM stakeholders)"
	" OR EXISTS(SELECT 1 FROM aliases) OR EXISTS(SELECT 1 FROM settings)"
	" OR EXISTS(SELECT 1 FROM messages) OR EXISTS(SELECT 1 FROM intake_log)"
	" OR EXISTS(SELECT 1 FROM api_tokens) OR EXISTS(SELECT 1 FROM webhooks))::int";
static const char snapshot_sql[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

int
pg_store_port_begin(struct store *st, bool import, struct pr_why *why)
{
	int64_t used = 0;
	if (pg_begin(st, why) < 0)
		return -1;
	/* An export reads one snapshot; an import is one transaction. */
	if (!import)
		return pg_do(st, snapshot_sql, NULL, "starting the export", why) < 0 ? (pg_rollback(st), -1) : 0;
	if (pg_int_of(st, import_empty_sql, NULL, &used, "checking the store is empty", why) < 0)
		goto fail;
	if (used) {
		pr_why_set(why, PR_E_EXISTS, "the store already holds data: import only into a new, empty "
		           "database (create one and pass it as --store)");
		goto fail;
	}
	return 0;
fail:
	pg_rollback(st);
	return -1;
}

/* After an import: every identity continues past the ids it wrote. */
static const char *const setval_sql[] = {
#define PG_SETVAL(t, c) "SELECT setval(pg_get_serial_sequence('" t "', '" c "'), coalesce((SELECT max(" c \
	") FROM " t "), 0) + 1, false)"
	PG_SETVAL("users", "id"), PG_SETVAL("stakeholders", "id"), PG_SETVAL("messages", "id"),
	PG_SETVAL("placements", "id"), PG_SETVAL("intake_log", "id"), PG_SETVAL("outbound", "id"),
	PG_SETVAL("thread_places", "ord"), PG_SETVAL("api_tokens", "id"), PG_SETVAL("webhooks", "id"),
	PG_SETVAL("webhook_deliveries", "id"), PG_SETVAL("domains", "ord"), PG_SETVAL("outbound_rcpts", "ord"),
#undef PG_SETVAL
};
static int
import_finish(struct store *st, struct pr_why *why)
{
	for (size_t i = 0; i < sizeof(setval_sql) / sizeof(setval_sql[0]); i++)
		if (pg_do(st, setval_sql[i], NULL, "advancing an id sequence", why) < 0)
			return -1;
	return 0;
}

int
pg_store_port_end(struct store *st, bool commit, struct pr_why *why)
{
	if (!commit) {
		pg_rollback(st);
		return 0;
	}
	PGresult *r = PQexec(st->conn, "SHOW transaction_read_only");
	bool import = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "off") == 0;
	PQclear(r);
	if (import && import_finish(st, why) < 0) {
		pg_rollback(st);
		return -1;
	}
	return pg_commit(st, why);
}

/* The column that keeps a table's row order (SQLite's rowid order);
 * people has none: its rows come as the server reads them. */
static const char *
order_of(const struct store_table *t)
{
	if (!t->ordered)
		return NULL;
	if (!strcmp(t->name, "placements"))
		return "id";
	return !strcmp(t->name, "thread_places") || !strcmp(t->name, "domains") ||
	       !strcmp(t->name, "outbound_rcpts") ? "ord" : NULL;
}

static void
read_value(struct arena *a, PGresult *r, int row, int col, char kind, struct store_value *v)
{
	memset(v, 0, sizeof(*v));
	if (PQgetisnull(r, row, col))
		return;
	const char *s = PQgetvalue(r, row, col);
	if (kind == 'i') {
		v->kind = STORE_V_INT;
		v->i = strtoll(s, NULL, 10);
	} else if (kind == 'b') {
		v->kind = STORE_V_BLOB;
		v->p = pg_bytes(a, r, row, col, &v->len);
	} else {
		v->kind = STORE_V_TEXT;
		v->p = s;
		v->len = (size_t)PQgetlength(r, row, col);
	}
}

/* Hand each row of a result to fn; 0, or fn's -1. */
static int
batch_rows(PGresult *r, const struct store_table *t, store_row_fn fn, void *ctx, struct pr_why *why)
{
	struct store_value v[64];
	int ret = 0;
	for (int row = 0; ret == 0 && row < PQntuples(r); row++) {
		struct arena *a = arena_new();
		for (size_t i = 0; i < t->ncols; i++)
			read_value(a, r, row, (int)i, t->kinds[i], &v[i]);
		ret = fn(ctx, v, why);
		arena_free(&a);
	}
	return ret;
}

int
pg_store_table_rows(struct store *st, const struct store_table *t, store_row_fn fn, void *ctx,
                    struct pr_why *why)
{
	char sql[STORE_TABLE_SQL_MAX], what[96];
	if (t->ncols > 64 || store_table_sql(t, false, '$', order_of(t), sql, sizeof(sql), why) < 0)
		return -1;
	snprintf(what, sizeof(what), "reading table %s to export", t->name);
	/* Single-row mode: the rows stream in, never one result in memory. */
	if (!PQsendQuery(st->conn, sql) || !PQsetSingleRowMode(st->conn))
		return pg_fail(st, NULL, what, why);
	int ret = 0;
	PGresult *r;
	/* Every result is read, even after a failure, so the connection is
	 * free for the next statement. */
	while ((r = PQgetResult(st->conn)) != NULL) {
		ExecStatusType s = PQresultStatus(r);
		if (s == PGRES_SINGLE_TUPLE && ret == 0)
			ret = batch_rows(r, t, fn, ctx, why);
		else if (s != PGRES_SINGLE_TUPLE && s != PGRES_TUPLES_OK && ret == 0)
			ret = pg_fail(st, r, what, why);
		PQclear(r);
	}
	return ret;
}

int
pg_store_import_row(struct store *st, const struct store_table *t, const struct store_value *v,
                    struct pr_why *why)
{
	char sql[STORE_TABLE_SQL_MAX];
	struct pg_params p = {0};
	if (t->ncols > PG_MAX_PARAMS || store_table_sql(t, true, '$', NULL, sql, sizeof(sql), why) < 0)
		return -1;
	for (size_t i = 0; i < t->ncols; i++) {
		if (v[i].kind == STORE_V_INT)
			pg_p_int(&p, v[i].i);
		else if (v[i].kind == STORE_V_BLOB)
			pg_p_bytes(&p, v[i].p, v[i].len);
		else
			pg_p_text(&p, v[i].kind == STORE_V_TEXT ? v[i].p : NULL);   /* NUL-terminated */
	}
	PGresult *r = PQexecParams(st->conn, sql, p.n, NULL, p.v, p.len, p.fmt, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc < 0) {
		char what[96];
		snprintf(what, sizeof(what), "importing a row of %s", t->name);
		pg_fail(st, r, what, why);
	}
	PQclear(r);
	return rc;
}

/* Pieces come in order, so each is the next chunk (PG_CHUNK at most). */
int
pg_store_import_bytes(struct store *st, int64_t message_id, int64_t total, int64_t off,
                      const void *data, size_t len, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO message_chunks(message_id, seq, data) VALUES($1,"
	                          " (SELECT count(*)::int FROM message_chunks WHERE message_id = $1), $2)";
	if (total < 0 || off < 0 || len > PG_CHUNK || (uint64_t)off + len > (uint64_t)total) {
		pr_why_set(why, PR_E_INVALID, "message %lld: bytes at %lld..+%zu do not fit its %lld",
		           (long long)message_id, (long long)off, len, (long long)total);
		return -1;
	}
	if (len == 0 && total > 0)
		return 0;
	struct pg_params p = {0};
	pg_p_int(&p, message_id);
	pg_p_bytes(&p, data, len);
	return pg_insert(st, sql, &p, why, "message %lld has its bytes twice", (long long)message_id);
}

/* As pg_search_add indexes a message it stores: the words of its subject,
 * From, every address of people and the text, cut as store_pg_search.c
 * cuts them (every ASCII byte but letters and digits is a blank). */
#define PG_WORDS(x) "regexp_replace(" x ", '[\\x01-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]', ' ', 'g')"
int
pg_store_import_search(struct store *st, int64_t message_id, const char *text, struct pr_why *why)
{
	static const char sql[] =
		"INSERT INTO message_search(message_id, doc) SELECT m.id, to_tsvector('simple', " PG_WORDS(
		"coalesce(m.subject, '') || ' ' || coalesce(m.from_addr, '') || ' ' ||"
		" coalesce((SELECT string_agg(address, ' ') FROM people WHERE message_id = m.id), '') || ' ' || $2")
		") FROM messages m WHERE m.id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, message_id);
	pg_p_text(&p, text ? text : "");
	return pg_do(st, sql, &p, "indexing an imported message for search", why) < 0 ? -1 : 0;
}
