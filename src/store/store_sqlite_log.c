/* store_sqlite_log.c - the intake log: one row per attempt, accepted or
 * not, with the reason as its stable machine name (err.h), so `log` and
 * `why` can explain it later in plain words.
 *
 * The filters (`log --since --verdict --sender --project`, and `why` by
 * address, Message-ID or log id) are one cached statement: each optional
 * filter is "(?N IS NULL OR ...)".  Paging is a plain "id < ?10" (never
 * "?10 = 0 OR ..."), so SQLite walks the id index from there.
 */
#include <string.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* Step sql (?1 an address, lowercased by it; ?2 the log id) for the
 * sender and for each recipient of the comma-joined list. */
static int
each_address(struct store *st, const char *sql, int64_t id, const char *mail_from, const char *rcpts,
             struct pr_why *why)
{
	const char *p = rcpts ? rcpts : "";
	const char *one = mail_from ? mail_from : "";
	size_t n = strlen(one);
	for (;;) {
		if (n > 0) {
			sqlite3_stmt *s = sq_prep(st, sql, why);
			if (s == NULL)
				return -1;
			sqlite3_bind_text(s, 1, one, (int)n, SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 2, id);
			if (sq_step_done(st, s, "indexing the intake log by address", why) < 0)
				return -1;
		}
		if (*p == '\0')
			return 0;
		const char *comma = strchr(p, ',');
		one = p;
		n = comma ? (size_t)(comma - p) : strlen(p);
		p += n + (comma ? 1 : 0);
	}
}

int
sq_log_insert(struct store *st, const struct store_log_entry *e, int64_t *id_r, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO intake_log(at, source, peer_ip, helo, mail_from, rcpts, size,"
		" verdict, reason, detail, message_id_hdr, message_id) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	struct arena *a = arena_new();
	sqlite3_bind_int64(s, 1, (sqlite3_int64)(e->at ? e->at : time(NULL)));
	sq_bind_text(s, 2, e->source);
	sq_bind_text(s, 3, e->peer_ip);
	sq_bind_text(s, 4, e->helo);
	sq_bind_text(s, 5, e->mail_from);
	sq_bind_text(s, 6, e->rcpts);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)e->size);
	sq_bind_text(s, 8, e->verdict ? e->verdict : "rejected");
	sq_bind_text(s, 9, pr_err_name(e->reason));
	sq_bind_text(s, 10, e->detail);
	sq_bind_text(s, 11, store_msgid(a, e->message_id_hdr));
	if (e->message_id)
		sqlite3_bind_int64(s, 12, e->message_id);
	static const char addr[] = "INSERT OR IGNORE INTO intake_log_addr(address, log_id) VALUES(lower(?1), ?2)";
	int rc = sq_step_done(st, s, "writing the intake log", why);
	arena_free(&a);
	int64_t id = sqlite3_last_insert_rowid(st->db);
	if (rc == 0)
		rc = each_address(st, addr, id, e->mail_from, e->rcpts, why);
	if (rc == 0 && id_r)
		*id_r = id;
	return rc;
}

int
sqlite_store_log_append(struct store *st, const struct store_log_entry *e, int64_t *id_r,
                 struct pr_why *why)
{
	return sq_log_insert(st, e, id_r, why);
}

struct log_addrs {
	int64_t id;
	const char *mail_from, *rcpts;
};

static void
read_log_addrs(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct log_addrs *r = p;
	r->id = sqlite3_column_int64(s, 0);
	r->mail_from = sq_col_text(a, s, 1);
	r->rcpts = sq_col_text(a, s, 2);
}

/* One batch of the oldest rows before `before`, with their address rows,
 * in one transaction; the number deleted or -1. */
static int
prune_batch(struct store *st, time_t before, size_t batch, struct pr_why *why)
{
	static const char pick[] = "SELECT id, mail_from, rcpts FROM intake_log WHERE at < ?1 ORDER BY at LIMIT ?2";
	static const char unaddr[] = "DELETE FROM intake_log_addr WHERE address = lower(?1) AND log_id = ?2";
	static const char del[] = "DELETE FROM intake_log WHERE id = ?1";
	if (sq_begin(st, why) < 0)
		return -1;
	struct arena *a = arena_new();
	struct log_addrs *rows = NULL;
	size_t n = 0;
	sqlite3_stmt *s = sq_prep(st, pick, why);
	int rc = s == NULL ? -1 : 0;
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)before);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)batch);
		rc = sq_collect(st, a, s, sizeof(*rows), read_log_addrs, &rows, &n, "reading old intake log rows", why);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = each_address(st, unaddr, rows[i].id, rows[i].mail_from, rows[i].rcpts, why);
		if (rc == 0 && (s = sq_prep(st, del, why)) == NULL)
			rc = -1;
		if (rc == 0) {
			sqlite3_bind_int64(s, 1, rows[i].id);
			rc = sq_step_done(st, s, "deleting old intake log rows", why);
		}
	}
	arena_free(&a);
	if (rc == 0 && sq_commit(st, why) == 0)
		return (int)n;
	sq_rollback(st);
	return -1;
}

int
sqlite_store_log_prune(struct store *st, time_t before, size_t batch, int64_t *deleted_r, struct pr_why *why)
{
	*deleted_r = 0;
	if (batch == 0)
		batch = 1000;
	for (;;) {
		int n = prune_batch(st, before, batch, why);
		if (n < 0)
			return -1;
		*deleted_r += n;
		if ((size_t)n < batch)
			return 0;
	}
}

int
sqlite_store_log_prune_days(struct store *st, time_t now, long long days, int64_t *deleted_r,
                     struct pr_why *why)
{
	*deleted_r = 0;
	if (days <= 0)
		return 0;
	return store_log_prune(st, now - (time_t)(days * 86400), 1000, deleted_r, why);
}

static void
read_entry(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_log_entry *e = p;
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(s, 0);
	e->at = (time_t)sqlite3_column_int64(s, 1);
	e->source = sq_col_str(a, s, 2);
	e->peer_ip = sq_col_str(a, s, 3);
	e->helo = sq_col_str(a, s, 4);
	e->mail_from = sq_col_str(a, s, 5);
	e->rcpts = sq_col_str(a, s, 6);
	e->size = (uint64_t)sqlite3_column_int64(s, 7);
	e->verdict = sq_col_str(a, s, 8);
	enum pr_err r = pr_err_from_name((const char *)sqlite3_column_text(s, 9));
	e->reason = r == PR_E_MAX ? PR_E_INTERNAL : r;
	e->detail = sq_col_str(a, s, 10);
	e->message_id_hdr = sq_col_text(a, s, 11);
	e->message_id = sqlite3_column_int64(s, 12);
}

/* ?5 project: the logged message was placed in it, or a recipient's local
 * part is ?6 (the project address, e.g. "a1234", for refusals that never
 * got placed).  ?7 address: the sender or any recipient -- looked up by
 * address_sql in the address index, never by walking the log; a sender
 * (?3) or recipient (?11) filter uses the same index and then checks the
 * address's role.  ?13 member: the same project rule for every project the
 * user belongs to (?14 the project prefix). */
#define LOG_COLS "SELECT l.id, l.at, l.source, l.peer_ip, l.helo, l.mail_from, l.rcpts," \
	" l.size, l.verdict, l.reason, l.detail, l.message_id_hdr, l.message_id FROM "
#define LOG_MEMBER "(SELECT id FROM users WHERE name = ?13)"
#define LOG_FILTERS " (?1 = 0 OR l.at >= ?1)" \
	" AND (?2 IS NULL OR l.verdict = ?2)" \
	" AND (?3 IS NULL OR lower(l.mail_from) = lower(?3))" \
	" AND (?4 = 0 OR l.id = ?4)" \
	" AND (?5 IS NULL OR EXISTS (SELECT 1 FROM placements p WHERE p.message_id = l.message_id" \
	"      AND p.kind = 'project' AND p.target = ?5)" \
	"      OR (?6 IS NOT NULL AND instr(',' || lower(l.rcpts), ',' || lower(?6) || '@') > 0))" \
	" AND (?8 IS NULL OR l.message_id_hdr = ?8)" \
	" AND (?11 IS NULL OR instr(',' || lower(l.rcpts) || ',', ',' || lower(?11) || ',') > 0)" \
	" AND (?12 = 0 OR l.at < ?12)" \
	" AND (?13 IS NULL OR EXISTS (SELECT 1 FROM placements p JOIN project_members m" \
	"      ON m.project_id = p.target WHERE p.message_id = l.message_id AND p.kind = 'project'" \
	"      AND m.user_id = " LOG_MEMBER ")" \
	"      OR EXISTS (SELECT 1 FROM project_members m WHERE m.user_id = " LOG_MEMBER \
	"      AND instr(',' || lower(l.rcpts), ',' || lower(?14 || m.project_id) || '@') > 0))"
static const char list_sql[] = LOG_COLS "intake_log l WHERE" LOG_FILTERS
	" AND ?7 IS NULL AND l.id < ?10 ORDER BY l.id DESC LIMIT ?9";
static const char address_sql[] = LOG_COLS "intake_log_addr a JOIN intake_log l ON l.id = a.log_id"
	" WHERE a.address = lower(?7) AND a.log_id < ?10 AND" LOG_FILTERS
	" ORDER BY a.log_id DESC LIMIT ?9";

int
sqlite_store_log_list(struct store *st, struct arena *a, const struct store_log_filter *f,
               struct store_log_entry **out, size_t *n, struct pr_why *why)
{
	static const struct store_log_filter none;
	if (f == NULL)
		f = &none;
	/* The address index serves every filter that names an address (it
	 * holds no empty one: a null sender is found by walking the log). */
	const char *key = f->address ? f->address : f->recipient && *f->recipient ? f->recipient
	                  : f->sender && *f->sender ? f->sender : NULL;
	sqlite3_stmt *s = sq_prep(st, key ? address_sql : list_sql, why);
	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)f->since);
	sq_bind_text(s, 2, f->verdict);
	sq_bind_text(s, 3, f->sender);
	sqlite3_bind_int64(s, 4, f->id);
	sq_bind_text(s, 5, f->project);
	sq_bind_text(s, 6, f->project ? f->project_local : NULL);
	sq_bind_text(s, 7, key);
	sq_bind_text(s, 8, store_msgid(a, f->message_id_hdr));
	sqlite3_bind_int64(s, 9, f->limit ? (sqlite3_int64)f->limit : 100);
	sqlite3_bind_int64(s, 10, store_before(f->before));
	sq_bind_text(s, 11, f->recipient);
	sqlite3_bind_int64(s, 12, (sqlite3_int64)f->until);
	sq_bind_text(s, 13, f->member);
	sq_bind_text(s, 14, f->member ? (f->member_prefix ? f->member_prefix : "") : NULL);
	return sq_collect(st, a, s, sizeof(**out), read_entry, out, n, "reading the intake log", why);
}
