/* smtp_parse.c - command line splitter; see smtp_parse.h.
 *
 * States: LINE (collecting bytes), CR (a CR was seen, only LF may follow),
 * SKIP (after an error, drop bytes up to and including the next LF).
 * Only CR LF ends a line.  A lone LF ends the *bad* line (we resync there,
 * which is what a broken client meant), a CR followed by anything but LF
 * makes the line bad and we resync at the next LF.
 */
#include "smtp/smtp_parse.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"

enum pstate { P_LINE, P_CR, P_SKIP };

struct smtp_parser {
	enum pstate st;
	size_t max_line;
	char *line;            /* max_line + 1 bytes */
	size_t len;
	bool has_nul;          /* a NUL in a command line is a syntax error */
};

struct smtp_parser *
smtp_parser_new(struct arena *a, const struct smtp_limits *lim)
{
	struct smtp_parser *p = arena_alloc(a, sizeof(*p));
	p->max_line = lim && lim->max_line ? lim->max_line : PR_SMTP_MAX_CMD_LINE;
	if (p->max_line > PR_SMTP_MAX_CMD_LINE)
		p->max_line = PR_SMTP_MAX_CMD_LINE;
	p->line = arena_alloc(a, p->max_line + 1);
	return p;
}

void
smtp_parser_reset(struct smtp_parser *p)
{
	p->st = P_LINE;
	p->len = 0;
	p->has_nul = false;
}

/* Split the finished line into verb and arguments.  A first word that is
 * not 1..SMTP_VERB_MAX letters yields verb "?", which matches no command. */
static void
split_line(struct smtp_parser *p, struct smtp_cmd *cmd)
{
	p->line[p->len] = '\0';
	size_t i = 0;
	while (i < p->len && p->line[i] != ' ')
		i++;
	memset(cmd->verb, 0, sizeof(cmd->verb));
	bool ok = i <= SMTP_VERB_MAX;
	for (size_t k = 0; ok && k < i; k++) {
		unsigned char c = (unsigned char)p->line[k];
		if (!isalpha(c))
			ok = false;
		else
			cmd->verb[k] = (char)toupper(c);
	}
	if (!ok)
		memcpy(cmd->verb, "?", 2);
	while (i < p->len && p->line[i] == ' ')
		i++;
	cmd->args = p->line + i;
	cmd->args_len = p->len - i;
}

static int
fail(struct smtp_parser *p, enum pr_err e, enum pstate next, enum pr_err *err_r)
{
	*err_r = e;
	p->st = next;
	p->len = 0;
	p->has_nul = false;
	return -1;
}

int
smtp_parse_feed(struct smtp_parser *p, const uint8_t *data, size_t len, size_t *used_r,
                struct smtp_cmd *cmd_r, enum pr_err *err_r)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = data[i++];
		*used_r = i;
		switch (p->st) {
		case P_SKIP:
			if (c == '\n')
				p->st = P_LINE;
			break;
		case P_CR:
			if (c != '\n')   /* bare CR: the rest of this line is suspect */
				return fail(p, PR_E_BARE_LF, P_SKIP, err_r);
			p->st = P_LINE;
			if (p->has_nul)
				return fail(p, PR_E_SYNTAX, P_LINE, err_r);
			split_line(p, cmd_r);
			p->len = 0;
			return 1;
		case P_LINE:
			if (c == '\r') {
				p->st = P_CR;
			} else if (c == '\n') {
				return fail(p, PR_E_BARE_LF, P_LINE, err_r);
			} else if (p->len >= p->max_line) {
				return fail(p, PR_E_LINE_TOO_LONG, P_SKIP, err_r);
			} else {
				p->has_nul |= c == '\0';
				p->line[p->len++] = (char)c;
			}
			break;
		}
	}
	*used_r = len;
	return 0;
}
