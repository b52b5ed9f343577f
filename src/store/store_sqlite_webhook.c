/* store_sqlite_webhook.c - webhooks and their delivery rows: the webhook
 * list, the delivery written with each new placement (inside the
 * placement's own transaction), and reading deliveries back.  Claims,
 * results and retries -- the state changes -- are in store_sqlite_whq.c;
 * the state machine is described in store.h.
 */
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_sqlite.h"

int
sqlite_store_webhook_add(struct store *st, const char *url, const char *project, const char *secret,
                  time_t now, int64_t *id_r, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO webhooks(url, project, secret, created_at, active)"
	                          " VALUES(?1, ?2, ?3, ?4, 1)";
	if (project && sq_project_exists(st, project, why) != 0)
		return -1;
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sq_bind_text(s, 1, url);
	sq_bind_text(s, 2, project);
	sq_bind_text(s, 3, secret);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now);
	if (sq_step_insert(st, s, why, "webhook %s exists already", url) < 0)
		return -1;
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
sqlite_store_webhook_remove(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM webhooks WHERE id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return sq_step_changed(st, s, "removing a webhook", why, "no webhook %lld", (long long)id);
}

static void
read_webhook(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_webhook *w = p;
	memset(w, 0, sizeof(*w));
	w->id = sqlite3_column_int64(s, 0);
	w->url = sq_col_str(a, s, 1);
	w->project = sq_col_text(a, s, 2);
	w->created_at = (time_t)sqlite3_column_int64(s, 3);
	w->active = sqlite3_column_int(s, 4) != 0;
}

int
sqlite_store_webhook_list(struct store *st, struct arena *a, struct store_webhook **out, size_t *n,
                   struct pr_why *why)
{
	static const char sql[] = "SELECT id, url, project, created_at, active FROM webhooks ORDER BY id";
	return sq_list(st, a, sql, sizeof(**out), read_webhook, out, n, "reading webhooks", why);
}

int
sqlite_store_webhooks_exist(struct store *st, bool *any_r, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM webhooks WHERE active = 1 LIMIT 1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	int rc = sq_exists(st, s, "looking for webhooks", why);
	*any_r = rc == 1;
	return rc < 0 ? -1 : 0;
}

/* One row per active webhook that wants this placement, each at the end
 * of its (webhook, project) queue: the head ("queued") when the queue has
 * nothing left to send, else "waiting" behind it.  The event is built
 * here from the stored message, so what is POSTed is what was placed
 * even if the message is refiled later. */
int
sq_webhook_placed(struct store *st, int64_t message_id, const char *kind, const char *target,
                  struct pr_why *why)
{
	static const char sql[] = "INSERT INTO webhook_deliveries(webhook_id, project, seq, event, state,"
		" next_attempt_at, created_at, retry_from)"
		" SELECT w.id, ?4, coalesce((SELECT max(seq) FROM webhook_deliveries d"
		"  WHERE d.webhook_id = w.id AND d.project = ?4), 0) + 1,"
		" json_object('event', 'message.placed', 'message', json_object('id', m.id,"
		"  'message_id', m.message_id, 'subject', m.subject, 'from', m.from_addr, 'date', m.date),"
		"  'placement', json_object('kind', ?2, 'target', ?3), 'project', nullif(?4, '')),"
		" CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id"
		"  AND d.project = ?4 AND d.state IN ('queued','delivering','waiting'))"
		"  THEN 'waiting' ELSE 'queued' END, ?5, ?5, ?5"
		" FROM webhooks w JOIN messages m ON m.id = ?1"
		" WHERE w.active = 1 AND (w.project IS NULL OR w.project = ?4)";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	bool in_project = kind && !strcmp(kind, "project");
	sqlite3_bind_int64(s, 1, message_id);
	sq_bind_text(s, 2, kind);
	sq_bind_text(s, 3, target ? target : "");
	sq_bind_text(s, 4, in_project && target ? target : "");
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	return sq_step_done(st, s, "queueing webhook deliveries", why);
}

void
sq_webhook_read(struct arena *a, sqlite3_stmt *s, void *p)
{
	struct store_webhook_delivery *d = p;
	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(s, 0);
	d->webhook_id = sqlite3_column_int64(s, 1);
	d->url = sq_col_str(a, s, 2);
	d->project = sq_col_str(a, s, 3);
	d->seq = sqlite3_column_int64(s, 4);
	d->event = sq_col_str(a, s, 5);
	d->state = store_webhook_state_of((const char *)sqlite3_column_text(s, 6));
	d->attempts = sqlite3_column_int(s, 7);
	d->created_at = (time_t)sqlite3_column_int64(s, 8);
	d->next_attempt_at = (time_t)sqlite3_column_int64(s, 9);
	d->delivered_at = (time_t)sqlite3_column_int64(s, 10);
	d->retry_from = (time_t)sqlite3_column_int64(s, 11);
	d->last_status = sqlite3_column_int(s, 12);
	d->last_error = sq_col_text(a, s, 13);
	d->lease_owner = sq_col_text(a, s, 14);
	d->lease_until = (time_t)sqlite3_column_int64(s, 15);
	d->lease = sqlite3_column_int64(s, 16);
	d->message_id = sqlite3_column_int64(s, 17);
}

int
sq_webhook_row(struct store *st, struct arena *a, int64_t id, struct store_webhook_delivery *out,
               struct pr_why *why)
{
	static const char sql[] = "SELECT " WH_COLS " WHERE d.id = ?1";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return sq_one(st, a, s, sq_webhook_read, out, "reading a webhook delivery", why);
}

int
sqlite_store_webhook_deliveries(struct store *st, struct arena *a, const struct store_webhook_filter *f,
                         struct store_webhook_delivery **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = "SELECT " WH_COLS " WHERE d.id < ?1 AND (?2 = 0 OR d.state = 'failed')"
		" AND (?3 = 0 OR d.webhook_id = ?3) ORDER BY d.id DESC LIMIT ?4";
	sqlite3_stmt *s = sq_prep(st, sql, why);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, store_before(f->before));
	sqlite3_bind_int(s, 2, f->failed_only);
	sqlite3_bind_int64(s, 3, f->webhook_id);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)(f->limit ? f->limit : 100));
	*out = NULL;
	*n = 0;
	return sq_collect(st, a, s, sizeof(**out), sq_webhook_read, out, n, "reading webhook deliveries",
	                  why);
}
