/* mime_walk.c - bodies and parts of a parsed message, depth-first.
 *
 * The first inline text/plain and text/html leaves of the top message are
 * its bodies (decoded, then converted to UTF-8).  Every other leaf is a
 * part: its decoded bytes are streamed through SHA-256 in 64 KiB chunks,
 * never held whole, so a 20 MiB attachment costs 64 KiB.  Attached
 * message/rfc822 parts are listed (their original bytes, found between the
 * inner header offset and the enclosing boundary; GMime would re-serialise
 * otherwise, which we never do) and then walked: g_mime_message_foreach
 * does not descend into them, so the walk is ours, with depth and object
 * count checked at every step.  multipart/report;report-type=
 * delivery-status or a message/delivery-status part marks a bounce.
 */
#include "mime/mime_private.h"

#include <openssl/evp.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/sha256.h"
#include "mime/mime_dsn.h"

#define CHUNK (64 * 1024)

/* Where decoded bytes go: a hash, the target file, a bounded buffer. */
struct sink {
	EVP_MD_CTX *md;
	uint64_t size;
	FILE *out;
	GByteArray *keep;
	size_t keep_max;
	bool cut;           /* keep reached keep_max: what follows is not kept */
	bool io_error;
};

static void
sink_put(struct sink *k, const void *p, size_t n)
{
	if (k->md)
		EVP_DigestUpdate(k->md, p, n);
	k->size += n;
	if (k->out && fwrite(p, 1, n, k->out) != n)
		k->io_error = true;
	if (k->keep && !k->cut) {
		/* Keep a prefix, never a prefix with holes in it. */
		size_t room = k->keep_max - k->keep->len, take = n < room ? n : room;
		g_byte_array_append(k->keep, p, (guint)take);
		k->cut = take < n;
	}
}

/* s to k; b64: s is base64, decoded here (mime_b64.c keeps a final
 * group that was cut short, GMime's filter drops it). */
static bool
pump(struct mime_walk *w, GMimeStream *s, struct sink *k, bool b64)
{
	char *buf = g_malloc(CHUNK);
	uint8_t *dec = b64 ? g_malloc(CHUNK * 3 / 4 + 3) : NULL;
	struct mime_b64 st = {0};
	ssize_t n;
	while ((n = g_mime_stream_read(s, buf, CHUNK)) > 0) {
		if (b64)
			sink_put(k, dec, mime_b64_decode(&st, buf, (size_t)n, dec));
		else
			sink_put(k, buf, (size_t)n);
		if (k->cut && k->md == NULL && k->out == NULL)
			break;     /* a body past what is kept: the rest is not read */
	}
	g_free(buf);
	g_free(dec);
	/* GMime's filter stream can answer -1 instead of 0 once at its end. */
	if (n < 0 && g_mime_stream_eos(s))
		n = 0;
	if (n < 0 || k->io_error) {
		pr_why_set(w->why, k->io_error ? PR_E_IO : PR_E_UNREADABLE,
		           k->io_error ? "cannot write the attachment" : "read error in a MIME part");
		w->failed = true;
		return false;
	}
	return true;
}

static void
sink_open(struct mime_walk *w, struct sink *k, struct mime_part *p)
{
	memset(k, 0, sizeof(*k));
	k->md = EVP_MD_CTX_new();
	if (k->md == NULL || EVP_DigestInit_ex(k->md, sha256_md(), NULL) != 1)
		pr_panic("cannot initialise SHA-256");
	if (w->target != 0 && p->index == w->target) {
		k->out = w->out;
		w->written = true;
	}
}

static void
sink_close(struct sink *k, struct mime_part *p)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_DigestFinal_ex(k->md, d, &dl);
	EVP_MD_CTX_free(k->md);
	for (unsigned int i = 0; i < dl && i < 32; i++)
		snprintf(p->sha256 + 2 * i, 3, "%02x", d[i]);
	p->size = k->size;
}

struct mime_part *
mime_part_add(struct mime_walk *w, const char *path, const char *type, const char *filename,
              const char *disposition)
{
	struct mime_info *m = w->info;
	if (m->nparts == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		struct mime_part *np = arena_alloc(w->a, w->cap * sizeof(*np));
		if (m->nparts)
			memcpy(np, m->parts, m->nparts * sizeof(*np));
		m->parts = np;
	}
	struct mime_part *p = &m->parts[m->nparts++];
	p->index = (int)m->nparts;
	p->path = arena_strdup(w->a, path);
	p->content_type = mime_to_utf8(w, NULL, type, strlen(type));   /* JSON needs UTF-8 */
	p->filename = filename ? mime_to_utf8(w, "utf-8", filename, strlen(filename)) : NULL;
	p->disposition = arena_strdup(w->a, disposition ? disposition : "");
	return p;
}

void
mime_part_bytes(struct mime_walk *w, struct mime_part *p, const uint8_t *data, size_t n)
{
	struct sink k;
	sink_open(w, &k, p);
	sink_put(&k, data, n);
	sink_close(&k, p);
	if (k.io_error) {
		pr_why_set(w->why, PR_E_IO, "cannot write the attachment");
		w->failed = true;
	}
}

/* The decoded content of a leaf, as a stream (caller unrefs), or NULL;
 * base64 is left to pump() (*b64 set). */
static GMimeStream *
decoded_stream(GMimePart *part, bool *b64)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *src = dw ? g_mime_data_wrapper_get_stream(dw) : NULL;
	if (src == NULL)
		return NULL;
	g_mime_stream_reset(src);
	GMimeStream *f = g_mime_stream_filter_new(src);
	GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
	*b64 = enc == GMIME_CONTENT_ENCODING_BASE64;
	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE || enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *d = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), d);
		g_object_unref(d);
	}
	return f;
}

static char *
lower_type(GMimeObject *o)
{
	if (mime_type_invalid(o))
		return g_strdup("text/plain");     /* RFC 2045 5.2 */
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	char *t = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
	char *l = g_ascii_strdown(t, -1);
	g_free(t);
	return l;
}

static const char *
disposition_of(GMimeObject *o)
{
	const char *d = g_mime_object_get_disposition(o);
	if (d == NULL)
		return "";
	if (!g_ascii_strcasecmp(d, "attachment"))
		return "attachment";
	return !g_ascii_strcasecmp(d, "inline") ? "inline" : "";
}

/* A body: decoded bytes (at most max), then UTF-8.  False if read failed. */
static bool
take_body(struct mime_walk *w, GMimePart *part, size_t max, const char **slot)
{
	struct sink k = {.keep = g_byte_array_new(), .keep_max = max};
	bool b64 = false;
	GMimeStream *s = decoded_stream(part, &b64);
	bool ok = s == NULL || pump(w, s, &k, b64);
	if (s)
		g_object_unref(s);
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (mime_type_invalid(GMIME_OBJECT(part)) && cs == NULL)
		cs = "us-ascii";           /* RFC 2045 5.2 */
	if (ok)
		*slot = mime_to_utf8(w, cs, (const char *)k.keep->data, k.keep->len);
	w->info->body_truncated |= k.cut;
	g_byte_array_free(k.keep, TRUE);
	return ok;
}

static void
leaf(struct mime_walk *w, GMimePart *part, const char *path, bool nested)
{
	GMimeObject *o = GMIME_OBJECT(part);
	char *type = lower_type(o);
	const char *disp = disposition_of(o), *fn = mime_part_filename(w, part);
	bool plain = !strcmp(type, "text/plain"), html = !strcmp(type, "text/html");
	const char **slot = plain ? &w->info->text_body : html ? &w->info->html_body : NULL;
	if (!nested && slot && *slot == NULL && fn == NULL && strcmp(disp, "attachment") != 0) {
		take_body(w, part, plain ? w->text_max : w->html_max, slot);
		g_free(type);
		return;
	}
	/* The report of a bounce (not one quoted inside a forwarded message):
	 * its fields are kept for the outbound queue (intake/bounce.c). */
	bool dsn = !nested && w->info->dsn == NULL && (!strcmp(type, "message/delivery-status") ||
	           !strcmp(type, "message/global-delivery-status"));
	w->info->is_bounce |= dsn;
	struct mime_part *p = mime_part_add(w, path, type, fn, disp);
	const char *cid = g_mime_object_get_content_id(o);
	if (cid != NULL && strlen(cid) < 1000)
		p->content_id = mime_to_utf8(w, "utf-8", cid, strlen(cid));
	bool tnef = mime_is_tnef(type, fn);
	g_free(type);
	struct sink k;
	sink_open(w, &k, p);
	if (tnef || dsn) {
		k.keep = g_byte_array_new();
		k.keep_max = tnef ? MIME_TNEF_MAX : MIME_DSN_MAX_BYTES;
	}
	bool b64 = false;
	GMimeStream *s = decoded_stream(part, &b64);
	bool ok = s == NULL || pump(w, s, &k, b64);
	if (s)
		g_object_unref(s);
	sink_close(&k, p);
	if (ok && tnef && k.keep->len == k.size)
		mime_tnef_unpack(w, path, k.keep->data, k.keep->len);
	if (ok && dsn) {
		w->info->dsn = arena_alloc(w->a, sizeof(*w->info->dsn));
		mime_dsn_parse(w->a, (const char *)k.keep->data, k.keep->len, w->info->dsn);
	}
	if (k.keep)
		g_byte_array_free(k.keep, TRUE);
}

/* Offset of "\n--boundary" at a line start after from, or the stream end.
 * The line break before a boundary belongs to the boundary (RFC 2046
 * 5.1.1), so the content ends before it. */
static gint64
boundary_at(struct mime_walk *w, gint64 from, const char *boundary)
{
	gint64 end = g_mime_stream_length(w->root);
	if (boundary == NULL || end < 0)
		return end;
	char *needle = g_strconcat("\n--", boundary, NULL);
	size_t nl = strlen(needle), keep = nl - 1;
	char *buf = g_malloc(CHUNK + nl);
	size_t have = 0;
	gint64 base = from, found = -1;
	GMimeStream *s = g_mime_stream_substream(w->root, from, end);
	ssize_t n;
	while (found < 0 && (n = g_mime_stream_read(s, buf + have, CHUNK)) > 0) {
		have += (size_t)n;
		char *hit = memmem(buf, have, needle, nl);
		if (hit != NULL) {
			found = base + (hit - buf);
			if (hit > buf && hit[-1] == '\r')
				found--;
		} else if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			base += (gint64)(have - keep);
			have = keep;
		}
	}
	g_object_unref(s);
	g_free(buf);
	g_free(needle);
	return found >= 0 ? found : end;
}

static void walk_object(struct mime_walk *w, GMimeObject *o, const char *path, int depth,
                        bool nested, const char *boundary);

static void
walk_body(struct mime_walk *w, GMimeMessage *msg, const char *path, int depth, bool nested,
          const char *boundary)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	if (body == NULL || !mime_headers_within_limit(w, GMIME_OBJECT(msg)))
		return;
	if (GMIME_IS_MULTIPART(body)) {
		walk_object(w, body, path, depth, nested, boundary);
	} else {
		char *p = *path ? g_strconcat(path, ".1", NULL) : g_strdup("1");
		walk_object(w, body, p, depth, nested, boundary);
		g_free(p);
	}
}

static void
embedded(struct mime_walk *w, GMimeMessagePart *mp, const char *path, int depth,
         const char *boundary)
{
	GMimeObject *o = GMIME_OBJECT(mp);
	char *type = lower_type(o);
	struct mime_part *p = mime_part_add(w, path, type, g_mime_object_get_content_disposition_parameter(o, "filename"),
	                                    disposition_of(o));
	g_free(type);
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GMimeHeaderList *hl = inner ? g_mime_object_get_header_list(GMIME_OBJECT(inner)) : NULL;
	struct sink k;
	sink_open(w, &k, p);
	if (hl && g_mime_header_list_get_count(hl) > 0) {
		gint64 start = g_mime_header_get_offset(g_mime_header_list_get_header_at(hl, 0));
		gint64 end = boundary_at(w, start, boundary);
		if (start >= 0 && end > start) {
			GMimeStream *s = g_mime_stream_substream(w->root, start, end);
			pump(w, s, &k, false);
			g_object_unref(s);
		}
	}
	sink_close(&k, p);
	if (inner != NULL && !w->failed)
		walk_body(w, inner, path, depth + 1, true, boundary);
}

static bool
is_dsn_report(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	const char *rt = ct ? g_mime_content_type_get_parameter(ct, "report-type") : NULL;
	return ct && g_mime_content_type_is_type(ct, "multipart", "report") && rt &&
	       (!g_ascii_strcasecmp(rt, "delivery-status") || !g_ascii_strcasecmp(rt, "global-delivery-status"));
}

bool
mime_walk_count(struct mime_walk *w)
{
	if (!w->failed && ++w->nobjects > PR_MIME_MAX_PARTS) {
		pr_why_set(w->why, PR_E_UNREADABLE, "more than %d MIME parts (files inside winmail.dat "
		           "count too)", PR_MIME_MAX_PARTS);
		w->failed = true;
	}
	return !w->failed;
}

static bool
within_limits(struct mime_walk *w, GMimeObject *o, int depth)
{
	if (!mime_walk_count(w))
		return false;
	if (depth > PR_MIME_MAX_DEPTH) {
		pr_why_set(w->why, PR_E_UNREADABLE, "MIME parts nested deeper than %d", PR_MIME_MAX_DEPTH);
		w->failed = true;
	} else {
		mime_headers_within_limit(w, o);
	}
	return !w->failed;
}

static void
walk_object(struct mime_walk *w, GMimeObject *o, const char *path, int depth, bool nested,
            const char *boundary)
{
	if (!within_limits(w, o, depth))
		return;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		w->info->is_bounce |= !nested && is_dsn_report(o);
		const char *b = g_mime_multipart_get_boundary(mp);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && !w->failed; i++) {
			char *cp = *path ? g_strdup_printf("%s.%d", path, i + 1) : g_strdup_printf("%d", i + 1);
			walk_object(w, g_mime_multipart_get_part(mp, i), cp, depth + 1, nested, b);
			g_free(cp);
		}
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		embedded(w, GMIME_MESSAGE_PART(o), path, depth, boundary);
	} else if (GMIME_IS_PART(o)) {
		leaf(w, GMIME_PART(o), path, nested);
	}
}

void
mime_walk_message(struct mime_walk *w, GMimeMessage *msg)
{
	walk_body(w, msg, "", 1, false, NULL);
}
