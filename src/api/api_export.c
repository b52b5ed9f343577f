/* api_export.c - `postroom export FILE` / `import FILE`: an installation
 * moved between backends (SQLite <-> PostgreSQL), and the schema report
 * of `postroom migrate`.  See postroom.h; the format is in README.
 *
 * The file is JSON lines.  The first is the header: {"format":
 * "postroom-export", "version": 1, "backend", "schema", "exported_at"}.
 * Then every row of every logical table below, in this order (each
 * table's rows before the rows that refer to them): {"t": table, "r":
 * {column: value}} with integers as numbers, text as strings (text that
 * is not UTF-8, and bytes, as {"b64": "..."}), NULL as null.  After the
 * messages table, each message's stored bytes (byte-exact: what `messages
 * show --raw` prints) as {"t": "message_bytes", "r": {"message_id",
 * "size", "off", "data": base64}} pieces of at most 1 MiB, in order.  The
 * last line is {"t": "end", "r": {"rows": N, "messages": M}}: a file cut
 * short is refused.
 *
 * Ids are kept.  What a backend derives is not exported: the search
 * index (api_import.c rebuilds it from the rows and the bytes), SQLite's
 * body files and codecs, PostgreSQL's chunks and order columns (rows of
 * placements, thread_places, domains, people and outbound_rcpts come in
 * the order the source keeps them, and are written in that order).  The
 * settings version counter starts again (nothing is running on an empty
 * store).  Export reads one snapshot; import runs in one transaction into
 * a store that must hold nothing yet, so a failed import leaves it empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/private.h"
#include "store/store.h"


#define TABLE(name, kinds, ordered, ...) {name, (const char *const[]){__VA_ARGS__}, kinds, \
	sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *), ordered}

/* The logical tables, the same in both backends (store_sqlite.c's
 * migrations, store_pg_schema.c), in an order that satisfies every
 * foreign key.  The only names ever put into SQL. */
static const struct store_table tables[] = {
	TABLE("users", "itti", false, "id", "name", "display", "active"),
	TABLE("user_emails", "ti", false, "address", "user_id"),
	TABLE("user_console", "iti", false, "user_id", "password_hash", "admin"),
	TABLE("projects", "tt", false, "id", "name"),
	TABLE("project_members", "ti", false, "project_id", "user_id"),
	TABLE("stakeholders", "it", false, "id", "name"),
	TABLE("stakeholder_emails", "ti", false, "address", "stakeholder_id"),
	TABLE("project_stakeholders", "ti", false, "project_id", "stakeholder_id"),
	TABLE("aliases", "t", false, "address"),
	TABLE("alias_members", "ti", false, "alias", "user_id"),
	TABLE("domains", "t", true, "name"),
	TABLE("settings", "tt", false, "key", "value"),
	TABLE("messages", "iiittttttttttttittii", false, "id", "thread_id", "received_at", "source",
	      "peer_ip", "helo", "mail_from", "rcpts", "message_id", "in_reply_to", "refs", "subject",
	      "from_addr", "date", "sha256", "size", "parsed_json", "auth_json", "unreadable", "auto_reply"),
	TABLE("placements", "ittt", true, "message_id", "kind", "target", "via"),
	TABLE("people", "itttt", true, "message_id", "address", "role", "user_name", "stakeholder_name"),
	TABLE("intake_log", "iitttttitttti", false, "id", "at", "source", "peer_ip", "helo", "mail_from",
	      "rcpts", "size", "verdict", "reason", "detail", "message_id_hdr", "message_id"),
	TABLE("intake_log_addr", "ti", false, "address", "log_id"),
	TABLE("pop3_collected", "ttttii", false, "mailbox", "uidl", "sha256", "state", "message_id", "at"),
	TABLE("outbound", "iitttttiiiiittii", false, "id", "message_id", "msgid", "mail_from", "project",
	      "sent_by", "state", "attempts", "created_at", "next_attempt_at", "expires_at", "done_at",
	      "last_reply", "lease_owner", "lease_until", "lease"),
	TABLE("outbound_rcpts", "itttt", true, "outbound_id", "address", "kind", "state", "reply"),
	TABLE("thread_places", "ittii", true, "thread_id", "kind", "target", "uses", "last_id"),
	TABLE("thread_people", "it", false, "thread_id", "address"),
	TABLE("api_tokens", "ittbi", false, "id", "name", "scope", "hash", "created_at"),
	TABLE("webhooks", "itttii", false, "id", "url", "project", "secret", "created_at", "active"),
	TABLE("webhook_deliveries", "iitittiitiiitiii", false, "id", "webhook_id", "project", "seq", "event",
	      "state", "attempts", "next_attempt_at", "lease_owner", "lease_until", "lease", "last_status",
	      "last_error", "created_at", "retry_from", "delivered_at"),
	TABLE("http_sessions", "bitiii", false, "id_hash", "user_id", "csrf", "created_at", "expires_at",
	      "last_seen"),
	TABLE("login_failures", "tti", false, "kind", "key", "at"),
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

const struct store_table *
api_export_table(const char *name)
{
	for (size_t i = 0; i < NTABLES; i++)
		if (!strcmp(tables[i].name, name))
			return &tables[i];
	return NULL;
}

/* Bytes as base64 without line breaks. */
static json_t *
b64_json(const void *p, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, p, (int)len);
	json_t *s = json_stringn(out, (size_t)n);
	free(out);
	return s;
}

/* ---- export ---- */

struct exporter {
	struct store *st;
	FILE *out;
	const struct store_table *t;
	int64_t rows;
	int64_t *ids;            /* the messages, whose bytes follow their table */
	size_t nids, capids;
};

static int
put_line(struct exporter *x, json_t *line, struct pr_why *why)
{
	int rc = json_dumpf(line, x->out, JSON_COMPACT | JSON_ENSURE_ASCII) == 0 && fputc('\n', x->out) != EOF;
	json_decref(line);
	if (!rc)
		pr_why_set(why, PR_E_IO, "writing the export file failed: %s", strerror(errno));
	return rc ? 0 : -1;
}

static json_t *
value_json(const struct store_value *v)
{
	json_t *s;
	switch (v->kind) {
	case STORE_V_INT:
		return json_integer(v->i);
	case STORE_V_TEXT:
		if ((s = json_stringn(v->p, v->len)) != NULL)
			return s;
		/* text that is not UTF-8 keeps its bytes */
		return json_pack("{s:o}", "b64", b64_json(v->p, v->len));
	case STORE_V_BLOB:
		return json_pack("{s:o}", "b64", b64_json(v->p, v->len));
	default:
		return json_null();
	}
}

static int
export_row(void *ctx, const struct store_value *v, struct pr_why *why)
{
	struct exporter *x = ctx;
	json_t *r = json_object();
	for (size_t i = 0; i < x->t->ncols; i++)
		json_object_set_new(r, x->t->cols[i], value_json(&v[i]));
	if (!strcmp(x->t->name, "messages")) {
		if (x->nids == x->capids) {
			x->capids = x->capids ? 2 * x->capids : 1024;
			x->ids = xrealloc(x->ids, x->capids * sizeof(*x->ids));
		}
		x->ids[x->nids++] = v[0].i;
	}
	x->rows++;
	return put_line(x, json_pack("{s:s, s:o}", "t", x->t->name, "r", r), why);
}

/* One message's stored bytes, through a temporary file (never whole in
 * memory), as pieces. */
static int
export_bytes(struct exporter *x, int64_t id, struct pr_why *why)
{
	FILE *tmp = tmpfile();
	if (tmp == NULL) {
		pr_why_set(why, PR_E_IO, "cannot make a temporary file: %s", strerror(errno));
		return -1;
	}
	int rc = store_message_write_raw(x->st, id, tmp, why);
	long size = rc == 0 && fflush(tmp) == 0 ? ftell(tmp) : -1;
	if (rc == 0 && size < 0)
		rc = -1, pr_why_set(why, PR_E_IO, "writing message %lld to a temporary file failed", (long long)id);
	uint8_t *piece = xmalloc(API_EXPORT_PIECE);
	rewind(tmp);
	for (long off = 0; rc == 0 && (off < size || off == 0);) {
		size_t n = fread(piece, 1, API_EXPORT_PIECE, tmp);
		if (n == 0 && off < size) {
			pr_why_set(why, PR_E_IO, "reading message %lld back failed", (long long)id);
			rc = -1;
			break;
		}
		json_t *line = json_pack("{s:s, s:{s:I, s:I, s:I, s:o}}", "t", "message_bytes", "r", "message_id",
		                         (json_int_t)id, "size", (json_int_t)size, "off", (json_int_t)off, "data",
		                         b64_json(piece, n));
		rc = put_line(x, line, why);
		off += (long)n;
		if (n == 0)
			break;
	}
	free(piece);
	fclose(tmp);
	return rc;
}

static int
export_all(struct exporter *x, struct pr_why *why)
{
	for (size_t i = 0; i < NTABLES; i++) {
		x->t = &tables[i];
		if (strlen(x->t->kinds) != x->t->ncols || x->t->ncols > API_EXPORT_MAX_COLS) {
			pr_why_set(why, PR_E_INTERNAL, "table %s: %zu columns, %zu kinds", x->t->name, x->t->ncols,
			           strlen(x->t->kinds));
			return -1;
		}
		if (store_table_rows(x->st, x->t, export_row, x, why) < 0)
			return -1;
		if (strcmp(x->t->name, "messages") != 0)
			continue;
		for (size_t k = 0; k < x->nids; k++)
			if (export_bytes(x, x->ids[k], why) < 0)
				return -1;
	}
	return put_line(x, json_pack("{s:s, s:{s:I, s:I}}", "t", "end", "r", "rows", (json_int_t)x->rows,
	                             "messages", (json_int_t)x->nids), why);
}

static json_t *
header(struct store *st, struct pr_why *why)
{
	int cur = 0, known = 0;
	if (store_schema_version(st, &cur, &known, why) < 0)
		return NULL;
	return json_pack("{s:s, s:i, s:s, s:i, s:I}", "format", API_EXPORT_FORMAT, "version", API_EXPORT_VERSION,
	                 "backend", store_backend_name(st), "schema", cur, "exported_at",
	                 (json_int_t)time(NULL));
}

json_t *
api_export(struct pr_api *api, const char *path, struct pr_why *why)
{
	/* Never over an existing file: an export holds every message. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_why_set(why, errno == EEXIST ? PR_E_EXISTS : PR_E_IO, "cannot create %s: %s", path,
		           strerror(errno));
		return NULL;
	}
	struct exporter x = {.st = api->store, .out = fdopen(fd, "w")};
	json_t *head = NULL;
	int rc = -1;
	if (store_port_begin(x.st, false, why) == 0) {
		if ((head = header(x.st, why)) != NULL && put_line(&x, json_incref(head), why) == 0)
			rc = export_all(&x, why);
		store_port_end(x.st, rc == 0, rc == 0 ? why : &(struct pr_why){0});
	}
	if (fflush(x.out) != 0 || fsync(fileno(x.out)) != 0)
		rc = rc < 0 ? rc : (pr_why_set(why, PR_E_IO, "writing %s failed: %s", path, strerror(errno)), -1);
	fclose(x.out);
	free(x.ids);
	if (rc < 0) {
		unlink(path);
		json_decref(head);
		return NULL;
	}
	json_object_set_new(head, "rows", json_integer(x.rows));
	json_object_set_new(head, "messages", json_integer((json_int_t)x.nids));
	return head;
}

