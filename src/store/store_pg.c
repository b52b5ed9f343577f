/* store_pg.c - the PostgreSQL backend: connection, schema check,
 * settings.  Statement helpers are in store_pg_util.c, the schema in
 * store_pg_schema.c, and each area in the store_pg_<area>.c that mirrors
 * store_sqlite_<area>.c.
 *
 * Several postroom processes and nodes share one database: every change
 * is a transaction; the queues are claimed with FOR UPDATE SKIP LOCKED
 * and leases; commits are synchronous (synchronous_commit = on, and with
 * synchronous replication configured on the server, on the standby too)
 * before SMTP answers 250.  A connection that breaks is made again before
 * the next statement; with a multi-host URI and
 * target_session_attrs=read-write that follows a promoted standby.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/private.h"
#include "store/store_pg.h"

#define PG_LOCK_TIMEOUT_MS 5000

static void
pg_store_close(struct store *st)
{
	pg_pipe_free(st);
	PQfinish(st->conn);
	free(st->conninfo);
	free(st);
}

/* The URI without its password, for messages. */
static void
safe_uri(const char *uri, char *out, size_t cap)
{
	const char *at = strchr(uri, '@');
	const char *scheme = strstr(uri, "://");
	const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
	if (at && colon && colon < at)
		snprintf(out, cap, "%.*s:***%s", (int)(colon - uri), uri, at);
	else
		snprintf(out, cap, "%s", uri);
}

struct store *
pg_store_open(const char *conninfo, struct pr_why *why)
{
	struct store *st = xcalloc(1, sizeof(*st));
	st->head.ops = &pg_store_ops;
	st->conninfo = xstrdup(conninfo);
	st->lock_timeout_ms = PG_LOCK_TIMEOUT_MS;
	st->conn = PQconnectdb(conninfo);
	if (PQstatus(st->conn) != CONNECTION_OK) {
		char shown[512], msg[256];
		safe_uri(conninfo, shown, sizeof(shown));
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(st->conn));
		msg[strcspn(msg, "\n")] = '\0';
		/* A server that is down or restarting is temporary (4xx, retry);
		 * a database, role or password that is wrong will not get better
		 * by waiting. */
		bool config = strstr(msg, "does not exist") || strstr(msg, "authentication failed") ||
		              strstr(msg, "no pg_hba.conf entry") || strstr(msg, "invalid ");
		pr_why_set(why, config ? PR_E_CONFIG : PR_E_STORE_BUSY, "cannot connect to the store %s: %s",
		           shown, msg);
		pg_store_close(st);
		return NULL;
	}
	if (pg_connect_setup(st, why) < 0 || pg_migrate(st, why) < 0) {
		pg_store_close(st);
		return NULL;
	}
	return st;
}

void
pg_store_set_busy_timeout(struct store *st, int ms)
{
	char sql[64];
	st->lock_timeout_ms = ms;
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d", ms);
	PQclear(PQexec(st->conn, sql));
}

void
pg_store_set_cache(struct store *st, int kib)
{
	(void)st;
	(void)kib;                   /* shared_buffers, on the server */
}

void
pg_store_reads_begin(struct store *st)
{
	(void)st;
}

void
pg_store_reads_end(struct store *st)
{
	(void)st;
}

int
pg_store_is_empty(struct store *st, bool *empty_r, struct pr_why *why)
{
	static const char sql[] = "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM projects)"
	                          " + (SELECT count(*) FROM domains)";
	int64_t n = 0;
	if (pg_int_of(st, sql, NULL, &n, "counting the directory", why) < 0)
		return -1;
	*empty_r = n == 0;
	return 0;
}

static void
read_setting(struct arena *a, PGresult *r, int row, void *p)
{
	struct store_setting *kv = p;
	kv->key = pg_str(a, r, row, 0);
	kv->value = pg_str(a, r, row, 1);
}

int
pg_store_settings_load(struct store *st, struct arena *a, struct store_setting **out, size_t *n,
                       struct pr_why *why)
{
	static const char sql[] = "SELECT key, value FROM settings ORDER BY key";
	return pg_collect(st, a, sql, NULL, sizeof(**out), read_setting, out, n, "reading settings", why);
}

/* As in SQLite: the values and the version bump commit together, so a
 * node that sees the new version reads every new value. */
int
pg_store_settings_put(struct store *st, const struct store_setting *kv, size_t n, int64_t expect_version,
                      struct pr_why *why)
{
	static const char sql[] = "INSERT INTO settings(key, value) VALUES($1, $2)"
	                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
	/* The bump first, and only from the version expected: the row's lock
	 * holds every other change (on any node) until this one commits. */
	static const char bump[] = "UPDATE settings_version SET version = version + 1"
	                           " WHERE id = 1 AND ($1::bigint < 0 OR version = $1::bigint)";
	if (pg_begin(st, why) < 0)
		return -1;
	struct pg_params bp = {0};
	pg_p_int(&bp, expect_version);
	int64_t bumped = pg_do(st, bump, &bp, "counting a settings change", why);
	if (bumped < 0)
		goto fail;
	if (bumped == 0) {
		pg_rollback(st);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct pg_params p = {0};
		pg_p_text(&p, kv[i].key);
		pg_p_text(&p, kv[i].value);
		if (pg_do(st, sql, &p, "saving a setting", why) < 0)
			goto fail;
	}
	return pg_commit(st, why);
fail:
	pg_rollback(st);
	return -1;
}

int
pg_store_setting_put(struct store *st, const char *key, const char *value, struct pr_why *why)
{
	struct store_setting kv = {key, value};
	return pg_store_settings_put(st, &kv, 1, -1, why);
}

int
pg_store_directory_version(struct store *st, int64_t *version_r, struct pr_why *why)
{
	static const char sql[] = "SELECT version FROM directory_version WHERE id = 1";
	*version_r = 0;
	return pg_int_of(st, sql, NULL, version_r, "reading the directory version", why) < 0 ? -1 : 0;
}

int
pg_store_settings_version(struct store *st, int64_t *version_r, struct pr_why *why)
{
	static const char sql[] = "SELECT version FROM settings_version WHERE id = 1";
	*version_r = 0;
	return pg_int_of(st, sql, NULL, version_r, "reading the settings version", why) < 0 ? -1 : 0;
}

const struct store_ops pg_store_ops = {
	.name = "postgres",
	.close = pg_store_close,
#define PG_OP(ret, name, params, args) .name = pg_store_##name,
	STORE_CALLS(PG_OP)
#undef PG_OP
};
