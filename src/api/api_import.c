/* api_import.c - `postroom import FILE` (the format is described in
 * api_export.c) and the schema report of `postroom migrate`.
 *
 * The file is untrusted input: every line is bounded, every value is
 * checked against its column's kind, only the tables of api_export.c's
 * list are written, a message's bytes must come in order without a gap,
 * and the end line's counts must match what was read (a file cut short
 * or spliced is refused).  Nothing is committed unless all of it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_private.h"
#include "api/postroom.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/spool.h"
#include "core/text.h"
#include "mime/mime.h"
#include "store/store.h"

/* Longest line read: a piece in base64, or a message row (parsed_json):
 * far above either, and still a bound. */
#define IMPORT_LINE_MAX (64 * 1024 * 1024)


struct importer {
	struct store *st;
	long line;
	int64_t rows, messages, complete;     /* rows read, messages rows, messages with all bytes */
	int64_t *ids;                         /* the messages, to index for search at the end */
	int64_t bytes_id, bytes_off;          /* the message whose bytes are coming, and where */
	bool ended;
	struct arena *row;                    /* decoded values of the current row */
};

static int
bad(struct importer *im, struct pr_why *why, const char *what)
{
	pr_why_set(why, PR_E_INVALID, "line %ld of the export file: %s", im->line, what);
	return -1;
}

/* A {"b64": "..."} value's bytes (kept until the row is written). */
static int
b64_value(struct importer *im, json_t *j, struct store_value *v, struct pr_why *why)
{
	json_t *s = json_object_get(j, "b64");
	if (!json_is_object(j) || json_object_size(j) != 1 || !json_is_string(s))
		return bad(im, why, "a value is neither a number, a string, {\"b64\": ...} nor null");
	v->p = api_base64_decode(im->row, json_string_value(s), json_string_length(s), &v->len);
	if (v->p == NULL)
		return bad(im, why, "a {\"b64\": ...} value is not base64");
	return 0;
}

static int
decode_value(struct importer *im, json_t *j, char kind, struct store_value *v, struct pr_why *why)
{
	memset(v, 0, sizeof(*v));
	if (j == NULL)
		return bad(im, why, "a row lacks one of its table's columns");
	if (json_is_null(j))
		return 0;
	if (kind == 'i') {
		if (!json_is_integer(j))
			return bad(im, why, "an integer column holds something else");
		v->kind = STORE_V_INT;
		v->i = json_integer_value(j);
		return 0;
	}
	v->kind = kind == 'b' ? STORE_V_BLOB : STORE_V_TEXT;
	if (kind == 't' && json_is_string(j)) {
		v->p = json_string_value(j);
		v->len = json_string_length(j);
		return 0;
	}
	return b64_value(im, j, v, why);
}

static int
import_table_row(struct importer *im, const struct store_table *t, json_t *r, struct pr_why *why)
{
	struct store_value v[API_EXPORT_MAX_COLS];
	if (json_object_size(r) != t->ncols)
		return bad(im, why, "a row has columns its table does not have");
	int rc = 0;
	im->row = arena_new();
	for (size_t i = 0; rc == 0 && i < t->ncols; i++)
		rc = decode_value(im, json_object_get(r, t->cols[i]), t->kinds[i], &v[i], why);
	if (rc == 0)
		rc = store_import_row(im->st, t, v, why);
	arena_free(&im->row);
	if (rc == 0 && !strcmp(t->name, "messages")) {
		if ((im->messages & (im->messages - 1)) == 0)       /* 0, 1, 2, 4...: grow */
			im->ids = xrealloc(im->ids, (size_t)(im->messages ? 2 * im->messages : 1) * sizeof(*im->ids));
		im->ids[im->messages++] = v[0].i;
	}
	return rc;
}

/* A piece of a message's bytes: they come in order, with no gap. */
static int
import_piece(struct importer *im, json_t *r, struct pr_why *why)
{
	json_int_t id, size, off;
	const char *data;
	size_t dlen, len;
	if (json_unpack(r, "{s:I, s:I, s:I, s:s%}", "message_id", &id, "size", &size, "off", &off, "data",
	                &data, &dlen) < 0 || json_object_size(r) != 4)
		return bad(im, why, "a message_bytes line is not {message_id, size, off, data}");
	if (off != (id == im->bytes_id ? im->bytes_off : 0))
		return bad(im, why, "a message's bytes are out of order or missing a piece");
	if (dlen > API_EXPORT_PIECE / 3 * 4 + 4)
		return bad(im, why, "a message_bytes piece is over 1 MiB");
	struct arena *a = arena_new();
	uint8_t *b = api_base64_decode(a, data, dlen, &len);
	int rc = b == NULL || len > API_EXPORT_PIECE ? bad(im, why, "a message_bytes piece is not base64 of "
	                                                    "at most 1 MiB")
	                                             : store_import_bytes(im->st, id, size, off, b, len, why);
	arena_free(&a);
	im->bytes_id = id;
	im->bytes_off = off + (json_int_t)len;
	if (rc == 0 && im->bytes_off == size)
		im->complete++;
	return rc;
}

static int
import_line(struct importer *im, json_t *line, struct pr_why *why)
{
	const char *t = json_string_value(json_object_get(line, "t"));
	json_t *r = json_object_get(line, "r");
	if (t == NULL || !json_is_object(r) || json_object_size(line) != 2)
		return bad(im, why, "a line is not {\"t\": TABLE, \"r\": {...}}");
	if (im->ended)
		return bad(im, why, "there are lines after the end line");
	if (!strcmp(t, "end")) {
		im->ended = true;
		if (json_integer_value(json_object_get(r, "rows")) != im->rows ||
		    json_integer_value(json_object_get(r, "messages")) != im->messages || im->complete != im->messages)
			return bad(im, why, "the end line's counts do not match what the file holds: it is damaged");
		return 0;
	}
	if (!strcmp(t, "message_bytes"))
		return import_piece(im, r, why);
	const struct store_table *tab = api_export_table(t);
	if (tab == NULL)
		return bad(im, why, "a row of a table this postroom does not know");
	im->rows++;
	return import_table_row(im, tab, r, why);
}

/* One line into b (without its newline): 1 read, 0 end of file, -1. */
static int
read_line(FILE *in, struct buf *b, struct pr_why *why)
{
	char chunk[65536];
	buf_reset(b);
	while (fgets(chunk, sizeof(chunk), in) != NULL) {
		size_t n = strlen(chunk);
		bool nl = n && chunk[n - 1] == '\n';
		buf_add(b, chunk, n - nl);
		if (b->err) {
			pr_why_set(why, PR_E_TOO_LONG, "a line of the export file is over %d bytes: it is not an "
			           "export", IMPORT_LINE_MAX);
			return -1;
		}
		if (nl)
			return 1;
	}
	if (ferror(in)) {
		pr_why_set(why, PR_E_IO, "reading the export file failed: %s", strerror(errno));
		return -1;
	}
	return b->len ? 1 : 0;
}

static int
check_header(struct importer *im, json_t *h, json_t **out, struct pr_why *why)
{
	const char *fmt = json_string_value(json_object_get(h, "format"));
	json_t *ver = json_object_get(h, "version");
	if (fmt == NULL || strcmp(fmt, API_EXPORT_FORMAT) != 0 || !json_is_integer(ver))
		return bad(im, why, "this is not a postroom export (no header line)");
	if (json_integer_value(ver) != API_EXPORT_VERSION) {
		pr_why_set(why, PR_E_INVALID, "the export is format version %lld, this postroom reads version %d: "
		           "import it with the postroom that wrote it", (long long)json_integer_value(ver),
		           API_EXPORT_VERSION);
		return -1;
	}
	*out = json_incref(h);
	return 0;
}

static int
import_all(struct importer *im, FILE *in, json_t **head, struct pr_why *why)
{
	struct buf b;
	json_error_t err;
	int rc = 0, got;
	buf_init(&b, IMPORT_LINE_MAX);
	while (rc == 0 && (got = read_line(in, &b, why)) == 1) {
		im->line++;
		json_t *line = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &err);
		if (line == NULL)
			rc = bad(im, why, "not a JSON line");
		else
			rc = im->line == 1 ? check_header(im, line, head, why) : import_line(im, line, why);
		json_decref(line);
	}
	buf_free(&b);
	if (rc == 0 && got < 0)
		rc = -1;
	if (rc == 0 && !im->ended)
		rc = bad(im, why, "the file ends before its end line: it was cut short");
	return rc;
}

/* The search index of every imported message, as intake indexes one it
 * stores: the words of its text are recovered from its stored bytes
 * (parsed again: text, or HTML made text), one message at a time. */
static int
index_all(struct pr_api *api, struct importer *im, struct pr_why *why)
{
	int rc = 0;
	for (int64_t i = 0; rc == 0 && i < im->messages; i++) {
		struct arena *a = arena_new();
		struct store_message m;
		const char *text = NULL;
		rc = api_message_read(api, a, im->ids[i], &m, why);
		if (rc == 0 && !m.s.unreadable)
			text = mime_search_text_of(a, m.raw, m.raw_len, STORE_SEARCH_TEXT_MAX);
		if (rc == 0)
			rc = store_import_search(im->st, im->ids[i], text, why);
		arena_free(&a);
	}
	return rc;
}

json_t *
api_import(struct pr_api *api, const char *path, struct pr_why *why)
{
	FILE *in = fopen(path, "re");
	if (in == NULL) {
		pr_why_set(why, errno == ENOENT ? PR_E_NOT_FOUND : PR_E_IO, "cannot open %s: %s", path,
		           strerror(errno));
		return NULL;
	}
	struct importer im = {.st = api->store, .bytes_id = -1};
	json_t *head = NULL;
	int rc = store_port_begin(im.st, true, why);
	if (rc == 0) {
		rc = import_all(&im, in, &head, why);
		if (rc == 0)
			rc = index_all(api, &im, why);
		if (rc < 0)
			store_port_end(im.st, false, &(struct pr_why){0});
		else
			rc = store_port_end(im.st, true, why);
	}
	fclose(in);
	free(im.ids);
	if (rc < 0) {
		json_decref(head);
		return NULL;
	}
	json_object_set_new(head, "rows", json_integer(im.rows));
	json_object_set_new(head, "messages", json_integer(im.messages));
	return head;
}

json_t *
api_schema(const char *store_uri, bool apply, struct pr_why *why)
{
	int before = 0, known = 0, after = 0;
	if (store_schema_peek(store_uri, &before, &known, why) < 0)
		return NULL;
	after = before;
	if (apply) {
		/* Opening the store migrates it (under the advisory lock on
		 * PostgreSQL), or refuses a schema newer than this binary. */
		struct store *st = store_open(store_uri, why);
		if (st == NULL)
			return NULL;
		int rc = store_schema_version(st, &after, &known, why);
		const char *backend = store_backend_name(st);
		store_close(&st);
		if (rc < 0)
			return NULL;
		return json_pack("{s:s, s:i, s:i, s:i}", "backend", backend, "before", before, "version", after,
		                 "known", known);
	}
	return json_pack("{s:s, s:i, s:i, s:i}", "backend", strncmp(store_uri, "sqlite:", 7) ? "postgres" : "sqlite",
	                 "before", before, "version", after, "known", known);
}
