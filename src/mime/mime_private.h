/* mime_private.h - what the files of src/mime share (not for other stages).
 *
 * One struct mime_walk carries a parse: the GMime objects, the caller's
 * arena and result, the limits counters and, when mime_write_attachment()
 * asks for part n, the target and its output file.  The same walk numbers
 * the parts for both uses, so "attachment 3" means the same bytes in
 * `messages show` and in `messages attachment MSG 3`.
 */
#ifndef PR_MIME_PRIVATE_H
#define PR_MIME_PRIVATE_H

#include <gmime/gmime.h>

#include "mime/mime.h"

/* A text body is decoded into memory for UTF-8 conversion; past this many
 * decoded bytes it is cut (the full bytes stay in the stored raw message,
 * and `messages show --raw` has them).  The body is copied several times
 * on its way to the stored JSON (UTF-8, reply text, JSON escaping, the
 * dump), so this cap is what keeps a 20 MiB text message from costing
 * 50 MiB of heap: at 1 MiB it costs about 6. */
#define MIME_TEXT_MAX (1024 * 1024)
/* mime_parse_upto keeps this many bytes of HTML for each byte of text
 * asked for: its text (search, reply text) is what is left of the markup. */
#define MIME_HTML_PER_TEXT 4
/* winmail.dat is unpacked in memory (libytnef needs the whole buffer). */
#define MIME_TNEF_MAX (32 * 1024 * 1024)
/* The new text of a reply is at the top: the reply-text heuristics look at
 * this much of the body, not at a whole 1 MiB quoted history. */
#define MIME_REPLY_SCAN (16 * 1024)

/* What mime_fixup_stream() found (mime_fixup.c). */
struct mime_fixup {
	bool duplicate_content_type;   /* in the message's own header block */
};

struct mime_walk {
	struct arena *a;
	struct mime_info *info;
	struct pr_why *why;
	GMimeParserOptions *opts;
	GMimeStream *root;         /* the whole message, for byte ranges */
	int nobjects;              /* every MIME object seen, for the limit */
	size_t cap;                /* allocated length of info->parts */
	bool failed;               /* limit hit or I/O error: why is set */
	size_t text_max, html_max; /* decoded body bytes kept (mime_parse_upto) */
	int target;                /* 0: collect; n: write part n to out */
	FILE *out;
	bool written;
	struct mime_fixup fix;
};

/* mime_b64.c: base64 that keeps a cut-short final group.  out has room
 * for n * 3 / 4 + 3 bytes; returns the bytes written. */
struct mime_b64 {
	unsigned int acc;
	int bits;
};
size_t mime_b64_decode(struct mime_b64 *st, const char *in, size_t n, uint8_t *out);

/* mime_rfc2047.c: our RFC 2047 decoding (GMime 3.2.13 loses all but the
 * first of several padded base64 words).  Text: a raw unstructured value
 * (Subject) unfolded, decoded, UTF-8.  Phrases: a raw address-list value
 * with its encoded words decoded and quoted so that GMime's address parser
 * reads each as one phrase; raw itself when it has no encoded word. */
const char *mime_decode_text(struct mime_walk *w, const char *raw);
const char *mime_decode_phrases(struct mime_walk *w, const char *raw);

/* mime_fixup.c: the stream GMime should read (a new reference): s with a
 * missing blank line after part headers inserted and later duplicate
 * Content-Type fields renamed (first wins).  What it found goes to out. */
GMimeStream *mime_fixup_stream(GMimeStream *s, struct mime_fixup *out);

/* mime_addr.c: the mailboxes of every field called name in o's headers,
 * in order; what cannot be read as an address is kept, marked invalid. */
void mime_addresses_fill(struct mime_walk *w, GMimeObject *o, const char *name,
                         struct mime_address **v, size_t *n);

/* mime_ctype.c: a Content-Type that is not type/subtype (RFC 2045 5.2:
 * read as text/plain; charset=us-ascii); a part's file name, also from a
 * Content-Type GMime could not read (result in the arena or GMime's). */
bool mime_type_invalid(GMimeObject *o);
const char *mime_part_filename(struct mime_walk *w, GMimePart *part);

/* mime.c */
void mime_init_once(void);
GMimeParserOptions *mime_options_new(void);

/* mime_headers.c: envelope fields of the top-level message. */
void mime_headers_fill(struct mime_walk *w, GMimeMessage *msg);
/* Header block sizes within PR_MIME_MAX_HEADER_BYTES; else why is set. */
bool mime_headers_within_limit(struct mime_walk *w, GMimeObject *obj);
/* mime_from.c: from_fields and from_malformed of m, read strictly. */
void mime_from_check(struct mime_info *m, GMimeObject *msg);
/* Bytes to UTF-8 from charset (NULL: guess); never NULL, never invalid. */
char *mime_to_utf8(struct mime_walk *w, const char *charset, const char *p, size_t n);

/* mime_guard.c: a linear pre-pass that refuses part/nesting bombs before
 * GMime allocates them.  raw, or else mem/len.  False with why set. */
bool mime_guard_ok(struct spool *raw, const uint8_t *mem, size_t len, struct pr_why *why);

/* mime_walk.c: bodies and parts, depth-first, within the limits. */
void mime_walk_message(struct mime_walk *w, GMimeMessage *msg);
/* Append a part entry (index assigned); returns it. */
struct mime_part *mime_part_add(struct mime_walk *w, const char *path, const char *type,
                                const char *filename, const char *disposition);
/* Finish a part from a whole buffer: size, SHA-256, and write if targeted. */
void mime_part_bytes(struct mime_walk *w, struct mime_part *p, const uint8_t *data, size_t n);

/* mime_tnef.c: list (and write, if targeted) the files inside winmail.dat. */
/* One more object (MIME part or file unpacked from TNEF) towards
 * PR_MIME_MAX_PARTS; false (w->failed, why set) once past it. */
bool mime_walk_count(struct mime_walk *w);
void mime_tnef_unpack(struct mime_walk *w, const char *path, const uint8_t *data, size_t n);
bool mime_is_tnef(const char *type, const char *filename);

/* mime_reply.c: the new text of a reply; result in the arena. */
const char *mime_reply_text(struct arena *a, const char *text);

/* mime_html.c: text of an HTML body up to its quoted history. */
const char *mime_html_to_text(struct arena *a, const char *html);

/* mime_json.c */
/* full: the whole object, for showing; else the stored form, its
 * structure without text or the fields kept as columns (see the file). */
const char *mime_json(struct arena *a, const struct mime_info *m, bool full);

#endif
