/* jsonw.h - a small JSON object of fixed shape, written straight into a buf.
 *
 * jansson builds, renders and frees a tree: for the verdict of every
 * message's SPF/DKIM/DMARC checks (auth_header.c, about twenty values)
 * that was three quarters of rendering the verdict and 1% of serve's CPU
 * in bench/smtp-intake's checks mode, spent on mallocs and a hash table
 * per object for keys we already know.  This writes the text directly.
 * Everything else that makes or reads JSON uses jansson.
 *
 * Keys are the caller's literals.  Values come from peers and DNS: a
 * string that is not valid UTF-8 is written as "(not UTF-8)" (as jansson's
 * json_string refuses it), NULL as null; '"', '\' and control characters
 * are escaped (RFC 8259 7), so the output always parses.
 *
 *   struct jsonw w; jsonw_init(&w, &b);
 *   jsonw_open(&w, NULL, '{'); jsonw_str(&w, "result", "pass"); jsonw_close(&w);
 *
 * Nesting deeper than JSONW_DEPTH, or a close without an open, is a
 * programming error (pr_panic).
 */
#ifndef PR_JSONW_H
#define PR_JSONW_H

#include <stdbool.h>

struct buf;

#define JSONW_DEPTH 8

struct jsonw {
	struct buf *b;
	int depth;
	char close[JSONW_DEPTH];     /* '}' or ']' of each open container */
	bool any[JSONW_DEPTH];       /* a member written: the next needs a ',' */
};

void jsonw_init(struct jsonw *w, struct buf *b);
/* key is NULL at the top and inside an array; open is '{' or '['. */
void jsonw_open(struct jsonw *w, const char *key, char open);
void jsonw_close(struct jsonw *w);
void jsonw_str(struct jsonw *w, const char *key, const char *s);
void jsonw_bool(struct jsonw *w, const char *key, bool v);

#endif
