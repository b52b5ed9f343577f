/* mime.c - entry points: parse a spooled message with GMime 3.
 *
 * GMime is initialised once per process (g_mime_init is not re-entrant;
 * separate messages may then be parsed in separate threads).  The parser
 * reads a read-only map of the spool's file (over a dup of its descriptor;
 * a file stream if it cannot be mapped) when the message was spilled to
 * disk: GMime then keeps offsets, not bytes, so a 20 MiB message costs well
 * under a MiB of heap (DEPENDENCIES.md), and the size and bomb checks read
 * the same map.  Small messages come from memory.
 *
 * What we refuse (PR_E_UNREADABLE, the caller keeps the raw bytes): a header
 * block over PR_MIME_MAX_HEADER_BYTES, nesting past PR_MIME_MAX_DEPTH, more
 * than PR_MIME_MAX_PARTS objects (bombs are caught before GMime sees them,
 * mime_guard.c), input with no header field at all, and read errors.
 * We never re-serialise a parsed header (GMime 3.2.13 can loop forever
 * encoding parameters); byte ranges come from the original stream.
 */
#include "mime/mime_private.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/spool.h"
#include "core/text.h"

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static void
mime_init_real(void)
{
	g_mime_init();
}

void
mime_init_once(void)
{
	pthread_once(&mime_once, mime_init_real);
}

void
mime_init(void)
{
	mime_init_once();
}

GMimeParserOptions *
mime_options_new(void)
{
	/* 8-bit header bytes: UTF-8 if valid, else Windows-1252 (a superset of
	 * ISO-8859-1 that decodes every byte, the usual sender's charset). */
	static const char *fallback[] = {"UTF-8", "windows-1252", NULL};
	GMimeParserOptions *o = g_mime_parser_options_new();
	g_mime_parser_options_set_address_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_rfc2047_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_fallback_charsets(o, fallback);
	return o;
}

/* Length of the header block (through the blank line) in p[0..n), or n if
 * there is no blank line. */
static size_t
header_block_len(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')
			return i + 3;
	}
	return n;
}

/* The top-level header block must end within the limit; checked on the
 * raw bytes before GMime buffers it. */
static bool
top_headers_ok(const uint8_t *p, size_t n, uint64_t total, struct pr_why *why)
{
	size_t h = header_block_len(p, n);
	if (h <= PR_MIME_MAX_HEADER_BYTES && (h < n || total <= PR_MIME_MAX_HEADER_BYTES))
		return true;
	pr_why_set(why, PR_E_UNREADABLE, "message header block is larger than %d bytes",
	           PR_MIME_MAX_HEADER_BYTES);
	return false;
}

/* A stream over the spool: a read-only map of its file, else the file
 * itself (bounded), or a copy of the memory.  Mapped, GMime's reads are
 * copies from the page cache: read through the descriptor, its parser
 * made an lseek(2) and a read(2) for every 4 KiB of a large message. */
static GMimeStream *
spool_stream(struct spool *raw, struct pr_why *why)
{
	int fd = spool_fd(raw);
	if (fd < 0) {
		const uint8_t *m = spool_memory(raw);
		return g_mime_stream_mem_new_with_buffer((const char *)(m ? m : (const uint8_t *)""),
		                                         m ? (size_t)spool_size(raw) : 0);
	}
	int fd2 = dup(fd);
	if (fd2 < 0) {
		pr_why_set(why, PR_E_IO, "cannot duplicate the spool descriptor");
		return NULL;
	}
	gint64 size = (gint64)spool_size(raw);
	/* Only a file that holds every byte is mapped: touching a map past
	 * the end of its file is SIGBUS, where a read is only short. */
	struct stat st;
	bool whole = size > 0 && spool_error(raw) == PR_OK && fstat(fd2, &st) == 0 && st.st_size >= size;
	GMimeStream *s = whole ? g_mime_stream_mmap_new_with_bounds(fd2, PROT_READ, MAP_PRIVATE, 0, size)
	                       : NULL;
	return s ? s : g_mime_stream_fs_new_with_bounds(fd2, 0, size);
}

/* The message's bytes in memory, when they are (the spool's memory, or
 * the map s has made of its file), else NULL. */
static const uint8_t *
spool_bytes(struct spool *raw, GMimeStream *s)
{
	if (spool_fd(raw) < 0)
		return spool_memory(raw);
	return GMIME_IS_STREAM_MMAP(s) ? (const uint8_t *)GMIME_STREAM_MMAP(s)->map : NULL;
}

static bool
spool_headers_ok(struct spool *raw, struct pr_why *why)
{
	const uint8_t *m = spool_memory(raw);
	uint64_t total = spool_size(raw);
	if (m != NULL)
		return top_headers_ok(m, (size_t)total, total, why);
	/* Read in 64 KiB steps and stop at the blank line: a 20 MiB message
	 * with a 2 KiB header costs one read, not a MiB. */
	size_t cap = PR_MIME_MAX_HEADER_BYTES + 4, got = 0;
	uint8_t *buf = xmalloc(cap);
	ssize_t r = 0;
	while (got < cap && (r = spool_read_at(raw, got, buf + got, MIN(cap - got, 65536))) > 0) {
		got += (size_t)r;
		if (header_block_len(buf, got) < got)
			break;
	}
	bool ok = r >= 0 && top_headers_ok(buf, got, total, why);
	if (r < 0)   /* our disk, not the sender's message: intake answers 451 */
		pr_why_set(why, PR_E_IO, "reading the spooled message failed");
	free(buf);
	return ok;
}

static GMimeMessage *
parse_stream(GMimeStream *s, GMimeParserOptions *o, struct pr_why *why)
{
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	GMimeMessage *msg = g_mime_parser_construct_message(p, o);
	g_object_unref(p);
	if (msg == NULL) {
		pr_why_set(why, PR_E_UNREADABLE, "the MIME parser could not read a message");
		return NULL;
	}
	/* GMime moves Content-* fields to the body part: count both. */
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	int n = g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(msg)));
	if (body != NULL)
		n += g_mime_header_list_get_count(g_mime_object_get_header_list(body));
	if (n == 0) {
		pr_why_set(why, PR_E_UNREADABLE, "no header fields: this is not an email message");
		g_object_unref(msg);
		return NULL;
	}
	return msg;
}

/* Shared by mime_parse and mime_write_attachment: parse s and walk it. */
static int
walk_stream(struct mime_walk *w, GMimeStream *s)
{
	w->opts = mime_options_new();
	s = mime_fixup_stream(s, &w->fix);
	w->root = s;
	GMimeMessage *msg = parse_stream(s, w->opts, w->why);
	int rc = -1;
	if (msg != NULL) {
		if (w->target == 0)
			mime_headers_fill(w, msg);
		mime_walk_message(w, msg);
		rc = w->failed ? -1 : 0;
		g_object_unref(msg);
	}
	g_mime_parser_options_free(w->opts);
	g_object_unref(s);
	return rc;
}

/* At most MIME_REPLY_SCAN bytes of text, cut at a UTF-8 character start. */
static const char *
reply_scan(struct arena *a, const char *text)
{
	if (text == NULL || strlen(text) <= MIME_REPLY_SCAN)
		return text;
	size_t n = MIME_REPLY_SCAN;
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	return arena_strndup(a, text, n);
}

int
mime_parse(struct spool *raw, struct arena *a, struct mime_info *out, struct pr_why *why)
{
	return mime_parse_upto(raw, a, MIME_TEXT_MAX, out, why);
}

/* The size and bomb checks, on the bytes in memory when they are. */
static bool
raw_checks_ok(struct spool *raw, const uint8_t *m, struct pr_why *why)
{
	size_t n = (size_t)spool_size(raw);
	if (m != NULL)
		return top_headers_ok(m, n, n, why) && mime_guard_ok(NULL, m, n, why);
	return spool_headers_ok(raw, why) && mime_guard_ok(raw, NULL, 0, why);
}

int
mime_parse_upto(struct spool *raw, struct arena *a, size_t text_max, struct mime_info *out,
                struct pr_why *why)
{
	mime_init_once();
	memset(out, 0, sizeof(*out));
	pr_why_clear(why);
	GMimeStream *s = spool_stream(raw, why);
	if (s == NULL)
		return -1;
	if (!raw_checks_ok(raw, spool_bytes(raw, s), why)) {
		g_object_unref(s);
		return -1;
	}
	text_max = MIN(text_max, MIME_TEXT_MAX);
	struct mime_walk w = {.a = a, .info = out, .why = why, .text_max = text_max,
	                      .html_max = MIN(MIME_TEXT_MAX, MIME_HTML_PER_TEXT * text_max)};
	int rc = walk_stream(&w, s);
	g_object_unref(s);
	if (rc == 0) {
		/* HTML-only mail (common from Outlook) still gets a reply text. */
		out->reply_text = mime_reply_text(a, reply_scan(a, out->text_body ? out->text_body
		                                  : mime_html_to_text(a, out->html_body)));
		out->json = mime_json(a, out, false);
	}
	return rc;
}

const char *
mime_search_text(struct arena *a, const struct mime_info *m)
{
	if (m->text_body != NULL || m->html_body == NULL)
		return m->text_body;
	return mime_html_to_text(a, m->html_body);
}

const char *
mime_search_text_of(struct arena *a, const uint8_t *raw, size_t len, size_t max)
{
	struct mime_info mi;
	struct pr_why why;
	if (mime_parse_upto(spool_from_bytes(a, NULL, raw, len), a, max, &mi, &why) < 0)
		return NULL;
	const char *text = mime_search_text(a, &mi);
	return text ? arena_strndup(a, text, text_fit(text, max)) : NULL;
}

int
mime_write_attachment(const uint8_t *raw, size_t len, int n, FILE *out, struct pr_why *why)
{
	mime_init_once();
	pr_why_clear(why);
	if (!top_headers_ok(raw, len, len, why) || !mime_guard_ok(NULL, raw, len, why))
		return -1;
	struct arena *a = arena_new();
	struct mime_info info;
	memset(&info, 0, sizeof(info));
	struct mime_walk w = {.a = a, .info = &info, .why = why, .target = n, .out = out};
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)raw, len);
	int rc = walk_stream(&w, s);
	g_object_unref(s);
	arena_free(&a);
	if (rc == 0 && !w.written) {
		pr_why_set(why, PR_E_NOT_FOUND, "the message has no attachment %d (it has %zu)", n,
		           info.nparts);
		return -1;
	}
	if (rc == 0 && fflush(out) != 0) {
		pr_why_set(why, PR_E_IO, "cannot write attachment %d", n);
		return -1;
	}
	return rc;
}

/* Raw value, unfolded (CR/LF removed, leading blanks trimmed). */
static char *
unfold(struct arena *a, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v), j = 0;
	char *r = arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			r[j++] = v[i];
	while (j > 0 && (r[j - 1] == ' ' || r[j - 1] == '\t'))
		j--;
	r[j] = '\0';
	return r;
}

const char *
mime_header(struct spool *raw, struct arena *a, const char *name)
{
	mime_init_once();
	struct pr_why why;
	if (!spool_headers_ok(raw, &why))
		return NULL;
	GMimeStream *s = spool_stream(raw, &why);
	if (s == NULL)
		return NULL;
	GMimeParserOptions *o = mime_options_new();
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	/* Headers only: a bare part is enough and parses no body. */
	GMimeObject *obj = g_mime_parser_construct_part(p, o);
	const char *r = NULL;
	if (obj != NULL) {
		GMimeHeader *h = g_mime_header_list_get_header(g_mime_object_get_header_list(obj), name);
		if (h != NULL && g_mime_header_get_raw_value(h) != NULL)
			r = unfold(a, g_mime_header_get_raw_value(h));
		g_object_unref(obj);
	}
	g_object_unref(p);
	g_mime_parser_options_free(o);
	g_object_unref(s);
	return r;
}
