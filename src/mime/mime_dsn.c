/* mime_dsn.c - the fields of a message/delivery-status part; see
 * mime_dsn.h.
 *
 * A line-at-a-time reader: a line starting with SP/HT continues the field
 * before it (unfolded to one space), an empty line ends a block, any other
 * line without a colon is skipped (a broken report is still read as far as
 * it goes).  CRLF and bare LF both end a line: the part was decoded.
 */
#include "mime/mime_dsn.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/text.h"

struct reader {
	struct arena *a;
	struct mime_dsn *out;
	size_t block;                 /* 0: per-message fields; k: recipient k-1 */
	bool in_block;                /* a field was seen since the last blank line */
	struct buf name, value;
	bool have;                    /* a field is pending in name/value */
};

/* "rfc822; joe@x" -> "joe@x"; "smtp; 550 ..." -> "550 ...". */
static const char *
typed_value(struct arena *a, const char *v)
{
	const char *semi = strchr(v, ';');
	if (semi != NULL && semi - v < 32) {
		v = semi + 1;
		while (*v == ' ')
			v++;
	}
	return text_clean(a, v);
}

static struct mime_dsn_rcpt *
current_rcpt(struct reader *r)
{
	struct mime_dsn *d = r->out;
	if (r->block == 0 || r->block > MIME_DSN_MAX_RCPTS)
		return NULL;
	while (d->nrcpt < r->block)
		d->nrcpt++;
	return &d->rcpt[r->block - 1];
}

static void
finish_field(struct reader *r)
{
	if (!r->have)
		return;
	r->have = false;
	/* buf keeps its bytes NUL-terminated. */
	const char *n = r->name.data ? (const char *)r->name.data : "";
	const char *v = r->value.data ? (const char *)r->value.data : "";
	while (*v == ' ' || *v == '\t')
		v++;
	struct mime_dsn_rcpt *rc = current_rcpt(r);
	if (r->block == 0 && !strcasecmp(n, "reporting-mta"))
		r->out->reporting_mta = typed_value(r->a, v);
	else if (rc && !strcasecmp(n, "final-recipient"))
		rc->final_recipient = typed_value(r->a, v);
	else if (rc && !strcasecmp(n, "action"))
		rc->action = text_clean(r->a, arena_strndup(r->a, v, strcspn(v, " \t(")));
	else if (rc && !strcasecmp(n, "status"))
		rc->status = text_clean(r->a, arena_strndup(r->a, v, strcspn(v, " \t(")));
	else if (rc && !strcasecmp(n, "diagnostic-code"))
		rc->diagnostic = typed_value(r->a, v);
	else if (rc && !strcasecmp(n, "remote-mta"))
		rc->remote_mta = typed_value(r->a, v);
	if (rc && rc->action)
		for (char *p = (char *)rc->action; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
}

/* Append what fits: a value past MIME_DSN_MAX_VALUE is cut, not lost. */
static void
add_cut(struct buf *b, const char *p, size_t n)
{
	size_t room = b->max - b->len;
	buf_add(b, p, n < room ? n : room);
}

static void
line(struct reader *r, const char *p, size_t n)
{
	if (n == 0) {                         /* a blank line ends the block */
		finish_field(r);
		if (r->in_block)
			r->block++;
		r->in_block = false;
		return;
	}
	if (p[0] == ' ' || p[0] == '\t') {    /* continuation */
		size_t w = 0;
		while (w < n && (p[w] == ' ' || p[w] == '\t'))
			w++;
		if (r->have) {
			add_cut(&r->value, " ", 1);
			add_cut(&r->value, p + w, n - w);
		}
		return;
	}
	finish_field(r);
	const char *colon = memchr(p, ':', n);
	if (colon == NULL || colon == p)
		return;
	buf_reset(&r->name);
	buf_reset(&r->value);
	buf_add(&r->name, p, (size_t)(colon - p));
	add_cut(&r->value, colon + 1, n - (size_t)(colon + 1 - p));
	r->have = r->name.err == PR_OK;
	r->in_block = true;
}

void
mime_dsn_parse(struct arena *a, const char *p, size_t n, struct mime_dsn *out)
{
	struct reader r = {.a = a, .out = out};
	memset(out, 0, sizeof(*out));
	out->rcpt = arena_alloc(a, MIME_DSN_MAX_RCPTS * sizeof(*out->rcpt));
	buf_init(&r.name, 80);
	/* A value past the bound is cut (buf keeps what fit). */
	buf_init(&r.value, MIME_DSN_MAX_VALUE);
	if (n > MIME_DSN_MAX_BYTES)
		n = MIME_DSN_MAX_BYTES;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - p) : n, len = end - i;
		if (len > 0 && p[i + len - 1] == '\r')
			len--;
		line(&r, p + i, len);
		i = end + 1;
	}
	finish_field(&r);
	buf_free(&r.name);
	buf_free(&r.value);
}

const struct mime_dsn_rcpt *
mime_dsn_failed(const struct mime_dsn *d)
{
	for (size_t i = 0; d && i < d->nrcpt; i++)
		if (d->rcpt[i].action && !strcmp(d->rcpt[i].action, "failed"))
			return &d->rcpt[i];
	return NULL;
}
