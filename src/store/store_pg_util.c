/* store_pg_util.c - the statement helpers every store_pg_*.c file uses:
 * parameters, prepared statements cached per connection, failures mapped
 * to pr_err, transactions, and reading text-format results into arenas.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/private.h"
#include "core/text.h"
#include "store/store.h"
#include "store/store_pg.h"

static void
add(struct pg_params *p, const char *v, int len, int fmt)
{
	if (p->n == PG_MAX_PARAMS)
		pr_panic("store: more than %d parameters in one statement", PG_MAX_PARAMS);
	p->v[p->n] = v;
	p->len[p->n] = len;
	p->fmt[p->n] = fmt;
	p->n++;
}

void
pg_p_text(struct pg_params *p, const char *s)
{
	add(p, s, 0, 0);
}

void
pg_p_int(struct pg_params *p, int64_t v)
{
	if (p->n == PG_MAX_PARAMS)
		pr_panic("store: more than %d parameters in one statement", PG_MAX_PARAMS);
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, v);
	add(p, p->num[p->n], 0, 0);
}

void
pg_p_bool(struct pg_params *p, bool v)
{
	pg_p_int(p, v ? 1 : 0);
}

void
pg_p_bytes(struct pg_params *p, const void *b, size_t len)
{
	if (len > INT32_MAX)
		pr_panic("store: a parameter of %zu bytes", len);
	add(p, b ? b : "", (int)len, 1);
}

/* SQLSTATE classes and codes that mean "try again": the connection, a
 * server going down or not yet up, a standby that cannot write, a lock
 * or serialization conflict, a lock_timeout. */
static bool
temporary(const char *state)
{
	static const char *const codes[] = {
		"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "25006", "53300", "53400",
	};
	if (state == NULL)
		return true;
	if (!strncmp(state, "08", 2) || !strncmp(state, "53", 2))
		return true;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(state, codes[i]))
			return true;
	return false;
}

/* The first line of libpq's message, without its trailing newline. */
static void
first_line(const char *msg, char *out, size_t cap)
{
	size_t n = strcspn(msg ? msg : "", "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
}

int
pg_fail(struct store *st, const PGresult *r, const char *what, struct pr_why *why)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(st->last_state, sizeof(st->last_state), "%s", state ? state : "");
	char msg[256];
	first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(st->conn), msg, sizeof(msg));
	if (PQstatus(st->conn) != CONNECTION_OK || (r && !*PQresultErrorMessage(r) && !state))
		pr_why_set(why, PR_E_STORE_BUSY, "%s: the store cannot be reached (%s)", what,
		           *msg ? msg : "connection lost");
	else if (temporary(state))
		pr_why_set(why, PR_E_STORE_BUSY, "%s: the store is busy (%s)", what, msg);
	else
		pr_why_set(why, PR_E_STORE_FAILED, "%s: %s", what, msg);
	/* A standby (25006) or a broken connection: reconnect next time, so a
	 * multi-host URI finds the primary again. */
	if (state && !strcmp(state, "25006"))
		st->depth = -1;
	return -1;
}

/* Settings every connection runs with: commits are durable before they
 * return (what lets SMTP say 250), a lock wait ends in a BUSY answer. */
static int
session_setup(struct store *st, struct pr_why *why)
{
	/* jit off: the store's statements are short index lookups, for
	 * which compiling a plan costs far more than running it (measured:
	 * +190 ms on a `log` page once the generic plan was chosen). */
	char sql[200];
	snprintf(sql, sizeof(sql), "SET synchronous_commit = on; SET client_min_messages = warning;"
	         " SET lock_timeout = %d; SET TIME ZONE 'UTC'; SET jit = off", st->lock_timeout_ms);
	PGresult *r = PQexec(st->conn, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(st, r, "setting up the store connection", why);
	PQclear(r);
	return rc;
}

/* Before each statement outside a transaction: a connection that broke
 * (or found itself on a standby) is made again; prepared statements went
 * with it. */
static int
ensure_connected(struct store *st, struct pr_why *why)
{
	if (PQstatus(st->conn) == CONNECTION_OK && st->depth >= 0)
		return 0;
	if (st->depth > 0) {
		pr_why_set(why, PR_E_STORE_BUSY, "the store connection was lost inside a transaction");
		return -1;
	}
	PQreset(st->conn);
	pg_pipe_free(st);
	st->depth = 0;
	memset(st->prepared, 0, sizeof(st->prepared));
	if (PQstatus(st->conn) != CONNECTION_OK) {
		char msg[256];
		first_line(PQerrorMessage(st->conn), msg, sizeof(msg));
		pr_why_set(why, PR_E_STORE_BUSY, "the store cannot be reached (%s)", msg);
		return -1;
	}
	return session_setup(st, why);
}

int
pg_connect_setup(struct store *st, struct pr_why *why)
{
	return session_setup(st, why);
}

static int
slot_of(struct store *st, const char *sql)
{
	for (int i = 0; i < st->ncache; i++)
		if (st->cache[i] == sql)
			return i;
	if (st->ncache == PG_MAX_STMTS)
		pr_panic("store: more than %d distinct statements; raise PG_MAX_STMTS", PG_MAX_STMTS);
	st->cache[st->ncache] = sql;
	return st->ncache++;
}

int
pg_slot(struct store *st, const char *sql, char name[16])
{
	int slot = slot_of(st, sql);
	snprintf(name, 16, "s%d", slot);
	return slot;
}

/* The text parameters as PostgreSQL will take them.  A text column holds
 * only UTF-8, and a value that is not would fail the whole statement --
 * inside the group commit, the whole batch, again at every retry.  What
 * intake hands the store is clean already (text_clean); anything that
 * slipped through (an envelope recipient's raw bytes) is stored with its
 * invalid sequences as U+FFFD rather than refused.  Lookups by such bytes
 * are answered before they get here (pg_text_ok). */
const char *const *
pg_values(const struct pg_params *p, struct arena **tmp)
{
	const char **copy = NULL;
	for (int i = 0; i < p->n; i++) {
		if (p->fmt[i] != 0 || p->v[i] == NULL || text_is_utf8(p->v[i], strlen(p->v[i])))
			continue;
		if (copy == NULL) {
			*tmp = arena_new();
			copy = arena_alloc(*tmp, sizeof(*copy) * (size_t)p->n);
			memcpy(copy, p->v, sizeof(*copy) * (size_t)p->n);
		}
		copy[i] = text_clean(*tmp, p->v[i]);
	}
	return copy ? copy : p->v;
}

PGresult *
pg_run(struct store *st, const char *sql, const struct pg_params *p, const char *what,
       struct pr_why *why)
{
	if (st->depth <= 0 && ensure_connected(st, why) < 0)
		return NULL;
	/* what was queued before runs first (and a failure in it is this one's) */
	if (pg_pipe_sync(st, why) < 0)
		return NULL;
	char name[16];
	int slot = pg_slot(st, sql, name);
	if (!st->prepared[slot]) {
		PGresult *r = PQprepare(st->conn, name, sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_fail(st, r, what, why);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		st->prepared[slot] = true;
	}
	struct arena *tmp = NULL;
	const char *const *values = p ? pg_values(p, &tmp) : NULL;
	PGresult *r = PQexecPrepared(st->conn, name, p ? p->n : 0, values, p ? p->len : NULL,
	                             p ? p->fmt : NULL, 0);
	arena_free(&tmp);
	ExecStatusType s = PQresultStatus(r);
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return r;
	pg_fail(st, r, what, why);
	PQclear(r);
	return NULL;
}

int64_t
pg_do(struct store *st, const char *sql, const struct pg_params *p, const char *what,
      struct pr_why *why)
{
	PGresult *r = pg_run(st, sql, p, what, why);
	if (r == NULL)
		return -1;
	const char *n = PQcmdTuples(r);
	int64_t changed = *n ? strtoll(n, NULL, 10) : 0;
	PQclear(r);
	return changed;
}

/* pr_why_set with a va_list (err.h has no such variant). */
static void
why_vset(struct pr_why *why, enum pr_err code, const char *fmt, va_list ap)
{
	char text[PR_WHY_DETAIL_MAX];
	vsnprintf(text, sizeof(text), fmt, ap);
	pr_why_set(why, code, "%s", text);
}

/* Run an INSERT (with RETURNING id when id_r is not NULL); a failure as
 * pg_insert reports it. */
static int
insert_v(struct store *st, const char *sql, const struct pg_params *p, int64_t *id_r,
         struct pr_why *why, const char *exists_fmt, va_list ap)
{
	/* a queued statement's failure is not this INSERT's (no EXISTS for it) */
	if (pg_pipe_sync(st, why) < 0)
		return -1;
	struct pr_why w;
	PGresult *r = pg_run(st, sql, p, "storing", &w);
	if (r != NULL) {
		if (id_r != NULL)
			*id_r = PQntuples(r) > 0 ? pg_int(r, 0, 0) : 0;
		PQclear(r);
		return 0;
	}
	/* By SQLSTATE, not by the server's words (lc_messages may translate
	 * them): 23505 unique_violation, 23503 foreign_key_violation. */
	if (!strcmp(st->last_state, "23505"))
		why_vset(why, PR_E_EXISTS, exists_fmt, ap);
	else if (!strcmp(st->last_state, "23503"))
		/* SQLite's words (sq_step_insert): callers and tests see one text */
		pr_why_set(why, PR_E_NOT_FOUND, "a referenced item does not exist");
	else
		*why = w;
	return -1;
}

int
pg_insert(struct store *st, const char *sql, const struct pg_params *p, struct pr_why *why,
          const char *exists_fmt, ...)
{
	va_list ap;
	va_start(ap, exists_fmt);
	int rc = insert_v(st, sql, p, NULL, why, exists_fmt, ap);
	va_end(ap);
	return rc;
}

int
pg_insert_id(struct store *st, const char *sql, const struct pg_params *p, int64_t *id_r,
             struct pr_why *why, const char *exists_fmt, ...)
{
	va_list ap;
	va_start(ap, exists_fmt);
	int rc = insert_v(st, sql, p, id_r, why, exists_fmt, ap);
	va_end(ap);
	return rc;
}

/* PostgreSQL text holds valid UTF-8 only (a UTF8 database refuses other
 * bytes with an error); SQLite keeps any bytes. */
bool
pg_text_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t n = strlen((const char *)p);
	while (n > 0) {
		uint32_t cp;
		size_t len = text_utf8_next(p, n, &cp);
		if (cp == TEXT_INVALID)
			return false;
		p += len;
		n -= len;
	}
	return true;
}

int
pg_changed(struct store *st, const char *sql, const struct pg_params *p, const char *what,
           struct pr_why *why, const char *missing_fmt, ...)
{
	int64_t n = pg_do(st, sql, p, what, why);
	if (n < 0)
		return -1;
	if (n > 0)
		return 0;
	va_list ap;
	va_start(ap, missing_fmt);
	why_vset(why, PR_E_NOT_FOUND, missing_fmt, ap);
	va_end(ap);
	return -1;
}

int
pg_int_of(struct store *st, const char *sql, const struct pg_params *p, int64_t *v,
          const char *what, struct pr_why *why)
{
	PGresult *r = pg_run(st, sql, p, what, why);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) > 0;
	if (found)
		*v = pg_int(r, 0, 0);
	PQclear(r);
	return found ? 0 : 1;
}

int
pg_exists(struct store *st, const char *sql, const struct pg_params *p, const char *what,
          struct pr_why *why)
{
	PGresult *r = pg_run(st, sql, p, what, why);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) > 0;
	PQclear(r);
	return found;
}

int
pg_collect(struct store *st, struct arena *a, const char *sql, const struct pg_params *p,
           size_t elem, pg_read_fn read, void *out, size_t *n, const char *what,
           struct pr_why *why)
{
	PGresult *r = pg_run(st, sql, p, what, why);
	*(void **)out = NULL;
	*n = 0;
	if (r == NULL)
		return -1;
	int rows = PQntuples(r);
	if (rows > 0) {
		char *arr = arena_alloc(a, elem * (size_t)rows);
		memset(arr, 0, elem * (size_t)rows);
		for (int i = 0; i < rows; i++)
			read(a, r, i, arr + elem * (size_t)i);
		*(void **)out = arr;
		*n = (size_t)rows;
	}
	PQclear(r);
	return 0;
}

int
pg_one(struct store *st, struct arena *a, const char *sql, const struct pg_params *p,
       pg_read_fn read, void *out, const char *what, struct pr_why *why)
{
	PGresult *r = pg_run(st, sql, p, what, why);
	if (r == NULL)
		return -1;
	int found = PQntuples(r) > 0;
	if (found)
		read(a, r, 0, out);
	PQclear(r);
	return found ? 0 : 1;
}

static int
exec_plain(struct store *st, const char *sql, const char *what, struct pr_why *why)
{
	PGresult *r = PQexec(st->conn, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(st, r, what, why);
	PQclear(r);
	return rc;
}

int
pg_begin(struct store *st, struct pr_why *why)
{
	if (ensure_connected(st, why) < 0 || exec_plain(st, "BEGIN", "starting a transaction", why) < 0)
		return -1;
	st->depth = 1;
	return 0;
}

int
pg_commit(struct store *st, struct pr_why *why)
{
	int rc = pg_pipe_sync(st, why);
	if (rc == 0)
		rc = exec_plain(st, "COMMIT", "committing", why);
	if (st->depth > 0)
		st->depth = 0;
	/* A COMMIT whose answer was lost may or may not have happened: it is
	 * reported as a failure (4xx), and what was sent again is judged a
	 * duplicate by the next commit. */
	return rc;
}

void
pg_rollback(struct store *st)
{
	struct pr_why ignored;
	pg_pipe_sync(st, &ignored);   /* what was queued is undone with the rest */
	if (PQstatus(st->conn) == CONNECTION_OK && PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(st->conn, "ROLLBACK");
		PQclear(r);
	}
	if (st->depth > 0)
		st->depth = 0;
}

const char *
pg_text(struct arena *a, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strdup(a, PQgetvalue(r, row, col));
}

const char *
pg_str(struct arena *a, const PGresult *r, int row, int col)
{
	const char *s = pg_text(a, r, row, col);
	return s ? s : "";
}

int64_t
pg_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const uint8_t *
pg_bytes(struct arena *a, const PGresult *r, int row, int col, size_t *len_r)
{
	*len_r = 0;
	if (PQgetisnull(r, row, col))
		return NULL;
	size_t len = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &len);
	if (b == NULL)
		pr_panic("store: out of memory reading bytes");
	uint8_t *out = arena_alloc(a, len + 1);
	memcpy(out, b, len);
	out[len] = 0;
	PQfreemem(b);
	*len_r = len;
	return out;
}

int
pg_not_text(const char *what, struct pr_why *why)
{
	pr_why_set(why, PR_E_INVALID, "the %s is not valid UTF-8 (the PostgreSQL store keeps text only)",
	           what);
	return -1;
}
