/* smtp_data.c - DATA stream machine; see smtp_data.h.
 *
 * States (position in the line being read):
 *   BOL     at the start of a line (after CR LF, or the first byte)
 *   DOT     a "." at the start of a line
 *   DOT_CR  "." CR at the start of a line: LF here ends DATA
 *   MID     inside a line
 *   CR      a CR inside a line: only LF may follow
 * A bare LF never returns to BOL: that is the whole defence against
 * smuggling, since "\n.\r\n" then cannot look like the end.  Output goes
 * through a small staging array so the spool sees few large writes.
 */
#include "smtp/smtp_data.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/spool.h"

enum dstate { D_BOL, D_DOT, D_DOT_CR, D_MID, D_CR };

/* Bytes gathered before a spool write: 64 KiB makes 16 writes of a 1 MiB
 * message (each a system call, costly on virtual machines). */
#define STAGE (64 * 1024)

struct smtp_data {
	enum dstate st;
	struct spool *out;
	uint64_t max_size, size;
	size_t max_line, line_len;
	enum pr_err err;
	size_t nstage;
	uint8_t stage[STAGE];
};

struct smtp_data *
smtp_data_new(struct arena *a, struct spool *out, const struct smtp_data_limits *lim)
{
	/* The 64 KiB stage is written before it is read: only the fields
	 * before it are cleared (zeroing it all was 1% of the SMTP thread). */
	struct smtp_data *d = arena_alloc_raw(a, sizeof(*d));
	memset(d, 0, offsetof(struct smtp_data, stage));
	d->out = out;
	d->max_size = lim && lim->max_size ? lim->max_size : PR_MAX_MESSAGE_SIZE;
	d->max_line = lim && lim->max_line ? lim->max_line : PR_SMTP_MAX_DATA_LINE;
	return d;
}

enum pr_err smtp_data_error(const struct smtp_data *d) { return d->err; }
uint64_t smtp_data_size(const struct smtp_data *d) { return d->size; }

static void
set_err(struct smtp_data *d, enum pr_err e)
{
	if (d->err == PR_OK)
		d->err = e;
}

void
smtp_data_flush(struct smtp_data *d)
{
	if (d->nstage > 0 && d->err == PR_OK && d->out != NULL) {
		spool_write(d->out, d->stage, d->nstage);
		if (spool_error(d->out) != PR_OK)
			set_err(d, spool_error(d->out));
	}
	d->nstage = 0;
}

/* One message byte.  Counting continues past the limit so the log can say
 * how big the refused message was. */
static void
emit(struct smtp_data *d, uint8_t c)
{
	d->size++;
	if (d->size > d->max_size)
		set_err(d, PR_E_TOO_BIG);
	if (c == '\n')
		d->line_len = 0;
	else if (++d->line_len > d->max_line)
		set_err(d, PR_E_LINE_TOO_LONG);
	if (d->err != PR_OK)
		return;
	if (d->nstage == STAGE)
		smtp_data_flush(d);
	d->stage[d->nstage++] = c;
}

/* Where the next CR and LF lie in the buffer being fed: each found with
 * memchr and kept until passed, so input that lacks one of them (bare LFs,
 * bare CRs) is still scanned once, never once per line. */
struct eol_scan {
	const uint8_t *end;
	const uint8_t *cr, *lf;       /* next one at or after p, or end; NULL: not looked for */
};

static const uint8_t *
next_of(const uint8_t **at, const uint8_t *p, const uint8_t *end, int c)
{
	if (*at == NULL || *at < p) {
		const uint8_t *f = memchr(p, c, (size_t)(end - p));
		*at = f ? f : end;
	}
	return *at;
}

/* Inside a line: copy the run up to the next CR or LF in one go. */
static size_t
mid_run(struct smtp_data *d, const uint8_t *p, struct eol_scan *sc)
{
	const uint8_t *cr = next_of(&sc->cr, p, sc->end, '\r'), *lf = next_of(&sc->lf, p, sc->end, '\n');
	size_t k = (size_t)((cr < lf ? cr : lf) - p);
	/* Which limit does the run cross first?  Answer as emit() would, byte
	 * by byte (size first on a tie), so the reply never depends on how
	 * the bytes were split into reads. */
	uint64_t to_size = d->size < d->max_size ? d->max_size - d->size : 0;
	size_t to_line = d->line_len < d->max_line ? d->max_line - d->line_len : 0;
	d->size += k;
	d->line_len += k;
	if (k > to_size && (k <= to_line || to_size <= to_line))
		set_err(d, PR_E_TOO_BIG);
	if (k > to_line)
		set_err(d, PR_E_LINE_TOO_LONG);
	if (d->err != PR_OK)
		return k;
	if (d->nstage + k > STAGE)
		smtp_data_flush(d);
	if (k > STAGE) {
		if (d->out != NULL) {
			spool_write(d->out, p, k);
			if (spool_error(d->out) != PR_OK)
				set_err(d, spool_error(d->out));
		}
	} else {
		memcpy(d->stage + d->nstage, p, k);
		d->nstage += k;
	}
	return k;
}

/* Byte c seen in state MID (also where other states fall back to). */
static void
in_mid(struct smtp_data *d, uint8_t c)
{
	if (c == '\r') {
		d->st = D_CR;
	} else if (c == '\n') {
		set_err(d, PR_E_BARE_LF);      /* and MID: never a line end */
		d->st = D_MID;
	} else {
		emit(d, c);
		d->st = D_MID;
	}
}

/* Returns true at the end of DATA. */
static bool
step(struct smtp_data *d, uint8_t c)
{
	switch (d->st) {
	case D_BOL:
		if (c == '.')
			d->st = D_DOT;
		else
			in_mid(d, c);
		return false;
	case D_DOT:
		if (c == '\r') {
			d->st = D_DOT_CR;
		} else if (c == '\n') {
			set_err(d, PR_E_BARE_LF);
			d->st = D_MID;
		} else {
			emit(d, c);          /* the leading dot is dropped (4.5.2) */
			d->st = D_MID;
		}
		return false;
	case D_DOT_CR:
		if (c == '\n')
			return true;
		set_err(d, PR_E_BARE_LF);    /* ".\r" then not LF */
		in_mid(d, c);
		return false;
	case D_CR:
		if (c == '\n') {
			emit(d, '\r');
			emit(d, '\n');
			d->st = D_BOL;
			return false;
		}
		set_err(d, PR_E_BARE_LF);
		in_mid(d, c);
		return false;
	case D_MID:
		in_mid(d, c);
		return false;
	}
	return false;
}

int
smtp_data_feed(struct smtp_data *d, const uint8_t *data, size_t len, size_t *used_r)
{
	size_t i = 0;
	struct eol_scan sc = {.end = data + len};
	while (i < len) {
		if (d->st == D_MID) {
			i += mid_run(d, data + i, &sc);
			if (i == len)
				break;
		}
		if (step(d, data[i++])) {
			smtp_data_flush(d);
			*used_r = i;
			return 1;
		}
	}
	/* The stage is kept across calls: written when full or at the end. */
	*used_r = len;
	return 0;
}
