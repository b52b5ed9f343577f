/* mime.h - what a message says, via GMime 3 (never hand-rolled MIME).
 *
 * mime_parse() reads the spooled bytes (from the spool's file when it has
 * one, so a 20 MiB message is not copied into memory again), decodes
 * headers to UTF-8 (RFC 2047, RFC 2231, legacy charsets), walks the part
 * tree within hard limits (PR_MIME_MAX_DEPTH / _PARTS / _HEADER_BYTES) and
 * returns a struct mime_info allocated in the caller's arena.  A message
 * it cannot read returns -1 (PR_E_UNREADABLE): the caller stores it raw in
 * the Fallback mailbox; nothing is lost.
 */
#ifndef PR_MIME_H
#define PR_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct arena;
struct mime_dsn;
struct spool;

struct mime_address {
	const char *name;            /* display name, UTF-8, may be "" */
	const char *address;         /* lowercase-domain addr-spec; if invalid,
	                              * the text as written (UTF-8) */
	bool invalid;                /* not readable as an address (kept, not
	                              * dropped: see mime_addr.c) */
};

struct mime_part {
	int index;                   /* 1-based attachment number for the CLI */
	const char *content_type;    /* "application/pdf" */
	const char *filename;        /* UTF-8, may be NULL */
	const char *disposition;     /* "attachment", "inline" or "" */
	uint64_t size;               /* decoded bytes */
	char sha256[65];             /* of the decoded bytes */
	const char *content_id;      /* Content-ID without <> (an HTML body's
	                              * cid: images), or NULL */
	const char *path;            /* IMAP-style part number ("2.1"); files
	                              * unpacked from winmail.dat add "/k" */
};

struct mime_info {
	const char *message_id;      /* without <> */
	const char *in_reply_to;     /* first id, without <> */
	const char **references;     /* ids without <>, oldest first */
	size_t nreferences;
	const char *subject;         /* decoded UTF-8; the first Subject field */
	const char *date;            /* as RFC 3339, or NULL; the first Date field */
	const char **duplicates;     /* "subject", "date", "content-type": fields
	                              * the message has more than once (the first
	                              * counts; README "Duplicated header fields") */
	size_t nduplicates;
	struct mime_address *from, *to, *cc, *reply_to;
	size_t nfrom, nto, ncc, nreply_to;
	size_t from_fields;          /* From header fields (RFC 5322: exactly 1) */
	bool from_malformed;         /* a From field is not a plain mailbox-list,
	                              * read strictly (mime_from.c): from[] may
	                              * be what a lenient parser guessed */
	const char **received;       /* raw Received: values, top first */
	size_t nreceived;
	bool auto_submitted;         /* Auto-Submitted != no, Precedence bulk/junk/list */
	bool is_bounce;              /* multipart/report delivery-status, DSN */
	struct mime_dsn *dsn;        /* its report's fields (mime_dsn.h), or NULL */
	const char *text_body;       /* UTF-8 */
	const char *html_body;       /* UTF-8 */
	bool body_truncated;         /* a body was cut at MIME_TEXT_MAX (raw is whole) */
	const char *reply_text;      /* text_body without quoted history/signature */
	struct mime_part *parts;     /* attachments and inline non-text parts */
	size_t nparts;
	const char *json;            /* the structure as one JSON object, stored with
	                              * the message: people, parts, flags; the text
	                              * and the header fields the store keeps as
	                              * columns are re-read from the stored bytes
	                              * when shown (mime_show_json, mime_json.c) */
};

/* Initialise GMime once per process (every entry point here does it;
 * code that builds messages with GMime itself, outbound/compose.c, calls
 * it first). */
void mime_init(void);

/* 0 ok; -1 with why (PR_E_UNREADABLE and the reason). */
int mime_parse(struct spool *raw, struct arena *a, struct mime_info *out, struct pr_why *why);
/* The same, keeping at most text_max decoded bytes of the text body (and
 * four times as many of the HTML one, mostly markup) instead of the 1 MiB
 * shown: for callers that only index and thread a message (intake reads
 * the first STORE_SEARCH_TEXT_MAX of it), so a 1 MiB text body is not
 * decoded, converted and copied whole.  The rest of the body is not read;
 * attachments are hashed whole all the same. */
int mime_parse_upto(struct spool *raw, struct arena *a, size_t text_max, struct mime_info *out,
                    struct pr_why *why);

/* The text a search should find m by: its text body, or for HTML-only
 * mail the HTML's text; NULL if it has neither. */
const char *mime_search_text(struct arena *a, const struct mime_info *m);
/* The search text of a stored message's bytes, at most max bytes (cut at
 * a character): what intake indexed when it stored them, recovered for an
 * import or for a message whose index entry was lost; NULL if the bytes
 * are unreadable or hold no text. */
const char *mime_search_text_of(struct arena *a, const uint8_t *raw, size_t len, size_t max);

/* An HTML body made safe to show (mime_html_safe.c): a new document
 * written from the parsed HTML by an allowlist -- no script, handlers,
 * forms, frames or style that fetches; links only http(s), mailto and
 * #fragments; images only data:image and cid: (pointing at cid_base + the
 * part's number; dropped without cid_base), https: too with
 * remote_images.  *out in the arena.  -1 with why (PR_E_TOO_BIG). */
struct mime_html_opts {
	bool remote_images;
	const char *cid_base;          /* "/api/v1/messages/7/attachments/" */
	const struct mime_part *parts;  /* the message's, for cid: */
	size_t nparts;
};
int mime_html_safe(struct arena *a, const char *html, const struct mime_html_opts *o,
                   const char **out, struct pr_why *why);

/* The JSON of m with its bodies, for `messages show`. */
const char *mime_show_json(struct arena *a, const struct mime_info *m);

/* mime_raw.c: every field called name (case-insensitive) in the first
 * MIME_RAW_HEADER_BYTES of the header block, topmost first, unfolded
 * (CR, LF, TAB become spaces; not trimmed), at most max.  No GMime: also
 * for messages mime_parse refuses.  Returns the count. */
#define MIME_RAW_HEADER_BYTES (256 * 1024)
size_t mime_header_values(struct arena *a, struct spool *raw, const char *name,
                          const char **out, size_t max);
/* The same for fields with any of the names, in order: which name each
 * field has, so the order of different fields can be judged. */
struct mime_hfield {
	unsigned name;               /* index into names */
	const char *value;
};
size_t mime_header_fields(struct arena *a, struct spool *raw, const char *const *names,
                          size_t nnames, struct mime_hfield *out, size_t max);

/* Value of the first header field called name (raw, unfolded), or NULL. */
const char *mime_header(struct spool *raw, struct arena *a, const char *name);

/* Write attachment number n (1-based, as in mime_info.parts) byte-exact,
 * decoded, to out.  0 ok, -1 with why (PR_E_NOT_FOUND, PR_E_UNREADABLE). */
int mime_write_attachment(const uint8_t *raw, size_t len, int n, FILE *out, struct pr_why *why);

#endif
