/* store_pg_log.c - the intake log: one row per attempt, accepted or
 * not, with the reason as its stable machine name (err.h), so `log` and
 * `why` can explain it later in plain words.  Mirrors store_sqlite_log.c.
 *
 * The filters (`log --since --verdict --sender --project`, and `why` by
 * address, Message-ID or log id) are one cached statement: each optional
 * filter is "($N IS NULL OR ...)".  Paging is a plain "id < $10" (never
 * "$10 = 0 OR ..."), so the id index is walked from there.
 *
 * Case: SQLite's lower() folds ASCII only; PostgreSQL's folds by the
 * database's locale (Ä to ä under C.UTF-8).  Every lower() here takes
 * COLLATE "C", which folds ASCII only, so the address index holds the
 * same keys and a filter matches the same rows as on SQLite.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"

/* ASCII-only lower() of a text expression (see above). */
#define LOW(x) "lower((" x ") COLLATE \"C\")"
/* The addresses of a log row, as SQLite's each_address walks them: the
 * sender whole, then each piece of the comma-joined recipients; empty
 * ones are skipped by the caller ("WHERE a <> ''").  m and r are the
 * sender and recipients expressions. */
#define ADDRS(m, r) "unnest(array_prepend((" m ")::text, string_to_array((" r ")::text, ',')))"

int
pg_log_insert(struct store *st, const struct store_log_entry *e, int64_t *id_r, struct pr_why *why)
{
	/* The row and its address index rows in one statement: one round
	 * trip per row inside the group commit. */
	static const char sql[] = "WITH l AS (INSERT INTO intake_log(at, source, peer_ip, helo, mail_from,"
		" rcpts, size, verdict, reason, detail, message_id_hdr, message_id)"
		" VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id),"
		" x AS (INSERT INTO intake_log_addr(address, log_id) SELECT DISTINCT " LOW("a") ", l.id"
		" FROM l, " ADDRS("$5", "$6") " a WHERE a <> '' ON CONFLICT DO NOTHING)"
		" SELECT id FROM l";
	struct arena *a = arena_new();
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)(e->at ? e->at : time(NULL)));
	pg_p_text(&p, e->source);
	pg_p_text(&p, e->peer_ip);
	pg_p_text(&p, e->helo);
	pg_p_text(&p, e->mail_from);
	pg_p_text(&p, e->rcpts);
	pg_p_int(&p, (int64_t)e->size);
	pg_p_text(&p, e->verdict ? e->verdict : "rejected");
	pg_p_text(&p, pr_err_name(e->reason));
	pg_p_text(&p, e->detail);
	pg_p_text(&p, store_msgid(a, e->message_id_hdr));
	if (e->message_id)
		pg_p_int(&p, e->message_id);
	else
		pg_p_text(&p, NULL);
	if (id_r)
		*id_r = 0;
	/* in the group commit, *id_r is written when the answer is read */
	int rc = pg_queue_int(st, sql, &p, id_r, "writing the intake log", why);
	arena_free(&a);
	return rc;
}

int
pg_store_log_append(struct store *st, const struct store_log_entry *e, int64_t *id_r,
                    struct pr_why *why)
{
	return pg_log_insert(st, e, id_r, why);
}

/* One batch of the oldest rows before `before`, with their address rows,
 * in one statement (one transaction); the number deleted or -1.  SKIP
 * LOCKED: nodes pruning at once take different rows, and each counts
 * only what it deleted.  The address rows are found one by one through
 * the (address, log_id) key and deleted by ctid: joined as a set, the
 * planner hashes the whole address table instead (a full scan per batch,
 * seconds once the log is large). */
static int64_t
prune_batch(struct store *st, time_t before, size_t batch, struct pr_why *why)
{
	static const char sql[] = "WITH old AS (SELECT id, mail_from, rcpts FROM intake_log WHERE at < $1"
		" ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED),"
		" unaddr AS (DELETE FROM intake_log_addr WHERE ctid = ANY(ARRAY(SELECT x.ctid"
		" FROM old, " ADDRS("old.mail_from", "old.rcpts") " a,"
		" LATERAL (SELECT ctid FROM intake_log_addr y WHERE y.address = " LOW("a") " COLLATE \"default\""
		" AND y.log_id = old.id LIMIT 1) x WHERE a <> '')))"
		" DELETE FROM intake_log l USING old WHERE l.id = old.id";
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)before);
	pg_p_int(&p, (int64_t)batch);
	return pg_do(st, sql, &p, "deleting old intake log rows", why);
}

int
pg_store_log_prune(struct store *st, time_t before, size_t batch, int64_t *deleted_r, struct pr_why *why)
{
	*deleted_r = 0;
	if (batch == 0)
		batch = 1000;
	for (;;) {
		int64_t n = prune_batch(st, before, batch, why);
		if (n < 0)
			return -1;
		*deleted_r += n;
		if ((size_t)n < batch)
			return 0;
	}
}

int
pg_store_log_prune_days(struct store *st, time_t now, long long days, int64_t *deleted_r,
                        struct pr_why *why)
{
	*deleted_r = 0;
	if (days <= 0)
		return 0;
	return store_log_prune(st, now - (time_t)(days * 86400), 1000, deleted_r, why);
}

static void
read_entry(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_log_entry *e = p;
	memset(e, 0, sizeof(*e));
	e->id = pg_int(r, row, 0);
	e->at = (time_t)pg_int(r, row, 1);
	e->source = pg_str(a, r, row, 2);
	e->peer_ip = pg_str(a, r, row, 3);
	e->helo = pg_str(a, r, row, 4);
	e->mail_from = pg_str(a, r, row, 5);
	e->rcpts = pg_str(a, r, row, 6);
	e->size = (uint64_t)pg_int(r, row, 7);
	e->verdict = pg_str(a, r, row, 8);
	enum pr_err reason = pr_err_from_name(PQgetvalue(r, row, 9));
	e->reason = reason == PR_E_MAX ? PR_E_INTERNAL : reason;
	e->detail = pg_str(a, r, row, 10);
	e->message_id_hdr = pg_text(a, r, row, 11);
	e->message_id = pg_int(r, row, 12);
}

/* $5 project: the logged message was placed in it, or a recipient's local
 * part is $6 (the project address, e.g. "a1234", for refusals that never
 * got placed).  $7 address: the sender or any recipient -- looked up by
 * address_sql in the address index, never by walking the log; a sender
 * ($3) or recipient ($11) filter uses the same index and then checks the
 * address's role.  $13 member: the same project rule for every project the
 * user belongs to ($14 the project prefix).  Every parameter is typed
 * where it first appears (PostgreSQL cannot infer "$2 IS NULL"). */
#define LOG_COLS "SELECT l.id, l.at, l.source, l.peer_ip, l.helo, l.mail_from, l.rcpts," \
	" l.size, l.verdict, l.reason, l.detail, l.message_id_hdr, l.message_id FROM "
#define LOG_MEMBER "(SELECT id FROM users WHERE name = $13::text)"
#define LOG_FILTERS " ($1::bigint = 0 OR l.at >= $1::bigint)" \
	" AND ($2::text IS NULL OR l.verdict = $2::text)" \
	" AND ($3::text IS NULL OR " LOW("l.mail_from") " = " LOW("$3::text") ")" \
	" AND ($4::bigint = 0 OR l.id = $4::bigint)" \
	" AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM placements p WHERE p.message_id = l.message_id" \
	"      AND p.kind = 'project' AND p.target = $5::text)" \
	"      OR ($6::text IS NOT NULL" \
	"      AND strpos(',' || " LOW("l.rcpts") ", ',' || " LOW("$6::text") " || '@') > 0))" \
	" AND ($8::text IS NULL OR l.message_id_hdr = $8::text)" \
	" AND ($11::text IS NULL" \
	"      OR strpos(',' || " LOW("l.rcpts") " || ',', ',' || " LOW("$11::text") " || ',') > 0)" \
	" AND ($12::bigint = 0 OR l.at < $12::bigint)" \
	" AND ($13::text IS NULL OR EXISTS (SELECT 1 FROM placements p JOIN project_members m" \
	"      ON m.project_id = p.target WHERE p.message_id = l.message_id AND p.kind = 'project'" \
	"      AND m.user_id = " LOG_MEMBER ")" \
	"      OR EXISTS (SELECT 1 FROM project_members m WHERE m.user_id = " LOG_MEMBER \
	"      AND strpos(',' || " LOW("l.rcpts") ", ',' || " LOW("$14::text || m.project_id") " || '@') > 0))"
static const char list_sql[] = LOG_COLS "intake_log l WHERE" LOG_FILTERS
	" AND $7::text IS NULL AND l.id < $10::bigint ORDER BY l.id DESC LIMIT $9::bigint";
/* $7 comes lowered (ASCII, as the index's keys: see pg_log_insert). */
static const char address_sql[] = LOG_COLS "intake_log_addr a JOIN intake_log l ON l.id = a.log_id"
	" WHERE a.address = $7::text AND a.log_id < $10::bigint AND" LOG_FILTERS
	" ORDER BY a.log_id DESC LIMIT $9::bigint";

/* Every row is UTF-8 (intake cleans what it logs, and the database
 * holds nothing else): a filter text that is not matches no row. */
static bool
log_filter_ok(const struct store_log_filter *f)
{
	const char *const texts[] = {f->verdict, f->sender, f->project, f->project_local, f->address,
	                             f->message_id_hdr, f->recipient, f->member, f->member_prefix};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (!pg_text_ok(texts[i]))
			return false;
	return true;
}

int
pg_store_log_list(struct store *st, struct arena *a, const struct store_log_filter *f,
                  struct store_log_entry **out, size_t *n, struct pr_why *why)
{
	static const struct store_log_filter none;
	if (f == NULL)
		f = &none;
	/* The address index serves every filter that names an address (it
	 * holds no empty one: a null sender is found by walking the log). */
	const char *key = f->address ? f->address : f->recipient && *f->recipient ? f->recipient
	                  : f->sender && *f->sender ? f->sender : NULL;
	*out = NULL;
	*n = 0;
	if (!log_filter_ok(f))
		return 0;
	struct pg_params p = {0};
	pg_p_int(&p, (int64_t)f->since);
	pg_p_text(&p, f->verdict);
	pg_p_text(&p, f->sender);
	pg_p_int(&p, f->id);
	pg_p_text(&p, f->project);
	pg_p_text(&p, f->project ? f->project_local : NULL);
	pg_p_text(&p, key ? store_lower(a, key) : NULL);
	pg_p_text(&p, store_msgid(a, f->message_id_hdr));
	pg_p_int(&p, f->limit ? (int64_t)f->limit : 100);
	pg_p_int(&p, store_before(f->before));
	pg_p_text(&p, f->recipient);
	pg_p_int(&p, (int64_t)f->until);
	pg_p_text(&p, f->member);
	pg_p_text(&p, f->member ? (f->member_prefix ? f->member_prefix : "") : NULL);
	return pg_collect(st, a, key ? address_sql : list_sql, &p, sizeof(**out), read_entry, out, n,
	                  "reading the intake log", why);
}
