/* store_pg_webhook.c - webhooks and their delivery rows on PostgreSQL
 * (mirrors store_sqlite_webhook.c): the webhook list, the delivery
 * written with each new placement (inside the placement's own
 * transaction), and reading deliveries back.  Claims, results and
 * retries -- the state changes -- are in store_pg_whq.c; the state
 * machine is described in store.h.
 */
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_pg_queue.h"

int
pg_store_webhook_add(struct store *st, const char *url, const char *project, const char *secret,
                     time_t now, int64_t *id_r, struct pr_why *why)
{
	static const char sql[] = "INSERT INTO webhooks(url, project, secret, created_at, active)"
	                          " VALUES($1, $2, $3, $4, 1) RETURNING id";
	if (project && pg_project_exists(st, project, why) != 0)
		return -1;
	struct pg_params p = {0};
	pg_p_text(&p, url);
	pg_p_text(&p, project);
	pg_p_text(&p, secret);
	pg_p_int(&p, (int64_t)now);
	return pg_insert_id(st, sql, &p, id_r, why, "webhook %s exists already", url);
}

int
pg_store_webhook_remove(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "DELETE FROM webhooks WHERE id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_changed(st, sql, &p, "removing a webhook", why, "no webhook %lld", (long long)id);
}

static void
read_webhook(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_webhook *w = p;
	memset(w, 0, sizeof(*w));
	w->id = pg_int(r, row, 0);
	w->url = pg_str(a, r, row, 1);
	w->project = pg_text(a, r, row, 2);
	w->created_at = (time_t)pg_int(r, row, 3);
	w->active = pg_int(r, row, 4) != 0;
}

int
pg_store_webhook_list(struct store *st, struct arena *a, struct store_webhook **out, size_t *n,
                      struct pr_why *why)
{
	static const char sql[] = "SELECT id, url, project, created_at, active FROM webhooks ORDER BY id";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_webhook, out, n, "reading webhooks", why);
}

int
pg_store_webhooks_exist(struct store *st, bool *any_r, struct pr_why *why)
{
	static const char sql[] = "SELECT 1 FROM webhooks WHERE active = 1 LIMIT 1";
	int rc = pg_exists(st, sql, NULL, "looking for webhooks", why);
	*any_r = rc == 1;
	return rc < 0 ? -1 : 0;
}

/* The queues a placement in project (or "") joins, locked in webhook
 * order (see pg_webhook_queue_lock) before their ends are read. */
static int
lock_queues(struct store *st, const char *project, struct pr_why *why)
{
	static const char sql[] = "SELECT pg_advisory_xact_lock((w.id & 2147483647)::int4, hashtext($1)) FROM webhooks w"
	                          " WHERE w.active = 1 AND (w.project IS NULL OR w.project = $1) ORDER BY w.id";
	struct pg_params p = {0};
	pg_p_text(&p, project);
	return pg_queue(st, sql, &p, "waiting for a webhook queue", why);
}

/* One row per active webhook that wants this placement, each at the end
 * of its (webhook, project) queue: the head ("queued") when the queue has
 * nothing left to send, else "waiting" behind it.  The event is built
 * here from the stored message, so what is POSTed is what was placed
 * even if the message is refiled later.  The queues are locked first:
 * two nodes placing into one queue at once would otherwise both read the
 * same end (the same seq, or two heads). */
int
pg_webhook_placed(struct store *st, int64_t message_id, const char *kind, const char *target,
                  struct pr_why *why)
{
	static const char sql[] = "INSERT INTO webhook_deliveries(webhook_id, project, seq, event, state,"
		" next_attempt_at, created_at, retry_from)"
		" SELECT w.id, $4, coalesce((SELECT max(seq) FROM webhook_deliveries d"
		"  WHERE d.webhook_id = w.id AND d.project = $4), 0) + 1,"
		" json_build_object('event', 'message.placed', 'message', json_build_object('id', m.id,"
		"  'message_id', m.message_id, 'subject', m.subject, 'from', m.from_addr, 'date', m.date),"
		"  'placement', json_build_object('kind', $2::text, 'target', $3::text),"
		"  'project', nullif($4::text, ''))::text,"
		" CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id"
		"  AND d.project = $4 AND d.state IN ('queued','delivering','waiting'))"
		"  THEN 'waiting' ELSE 'queued' END, $5, $5, $5"
		" FROM webhooks w JOIN messages m ON m.id = $1"
		" WHERE w.active = 1 AND (w.project IS NULL OR w.project = $4)";
	bool in_project = kind && !strcmp(kind, "project");
	const char *project = in_project && target ? target : "";
	if (lock_queues(st, project, why) < 0)
		return -1;
	struct pg_params p = {0};
	pg_p_int(&p, message_id);
	pg_p_text(&p, kind);
	pg_p_text(&p, target ? target : "");
	pg_p_text(&p, project);
	pg_p_int(&p, (int64_t)time(NULL));
	return pg_queue(st, sql, &p, "queueing webhook deliveries", why);
}

int
pg_webhook_queue_lock(struct store *st, int64_t id, struct pr_why *why)
{
	static const char sql[] = "SELECT pg_advisory_xact_lock((webhook_id & 2147483647)::int4, hashtext(project))"
	                          " FROM webhook_deliveries WHERE id = $1";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_do(st, sql, &p, "waiting for a webhook queue", why) < 0 ? -1 : 0;
}

#define WH_COLS "d.id, d.webhook_id, w.url, d.project, d.seq, d.event, d.state, d.attempts," \
	" d.created_at, d.next_attempt_at, coalesce(d.delivered_at, 0), d.retry_from," \
	" coalesce(d.last_status, 0), d.last_error, d.lease_owner, d.lease_until, d.lease," \
	" coalesce((d.event::jsonb #>> '{message,id}')::bigint, 0)" \
	" FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"

static void
read_delivery(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_webhook_delivery *d = p;
	memset(d, 0, sizeof(*d));
	d->id = pg_int(r, row, 0);
	d->webhook_id = pg_int(r, row, 1);
	d->url = pg_str(a, r, row, 2);
	d->project = pg_str(a, r, row, 3);
	d->seq = pg_int(r, row, 4);
	d->event = pg_str(a, r, row, 5);
	d->state = store_webhook_state_of(PQgetvalue(r, row, 6));
	d->attempts = (int)pg_int(r, row, 7);
	d->created_at = (time_t)pg_int(r, row, 8);
	d->next_attempt_at = (time_t)pg_int(r, row, 9);
	d->delivered_at = (time_t)pg_int(r, row, 10);
	d->retry_from = (time_t)pg_int(r, row, 11);
	d->last_status = (int)pg_int(r, row, 12);
	d->last_error = pg_text(a, r, row, 13);
	d->lease_owner = pg_text(a, r, row, 14);
	d->lease_until = (time_t)pg_int(r, row, 15);
	d->lease = pg_int(r, row, 16);
	d->message_id = pg_int(r, row, 17);
}

int
pg_webhook_row(struct store *st, struct arena *a, int64_t id, bool lock,
               struct store_webhook_delivery *out, struct pr_why *why)
{
	static const char sql[] = "SELECT " WH_COLS " WHERE d.id = $1";
	static const char locked[] = "SELECT " WH_COLS " WHERE d.id = $1 FOR UPDATE OF d";
	struct pg_params p = {0};
	pg_p_int(&p, id);
	return pg_one(st, a, lock ? locked : sql, &p, read_delivery, out, "reading a webhook delivery", why);
}

int
pg_store_webhook_deliveries(struct store *st, struct arena *a, const struct store_webhook_filter *f,
                            struct store_webhook_delivery **out, size_t *n, struct pr_why *why)
{
	static const char sql[] = "SELECT " WH_COLS " WHERE d.id < $1 AND ($2::int = 0 OR d.state = 'failed')"
		" AND ($3::bigint = 0 OR d.webhook_id = $3) ORDER BY d.id DESC LIMIT $4";
	struct pg_params p = {0};
	pg_p_int(&p, store_before(f->before));
	pg_p_bool(&p, f->failed_only);
	pg_p_int(&p, f->webhook_id);
	pg_p_int(&p, (int64_t)(f->limit ? f->limit : 100));
	return pg_collect(st, a, sql, &p, sizeof(**out), read_delivery, out, n, "reading webhook deliveries",
	                  why);
}
