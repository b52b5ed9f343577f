/* cli_secret.c - reading a secret (a setting's value, a password) from
 * stdin or a file, so it never appears in argv, `ps` or shell history;
 * typed without echo when stdin is a terminal. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_util.h"

int
cli_read_line(FILE *f, char *out, size_t size, const char **err)
{
	size_t n = 0;
	int c;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (n + 1 >= size) {
			*err = "the value is longer than the limit";
			return -1;
		}
		if (c == '\0' || c == '\r') {
			*err = "the value holds a NUL or CR byte";
			return -1;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (ferror(f)) {
		*err = strerror(errno);
		return -1;
	}
	if (c == '\n' && getc(f) != EOF) {
		*err = "more than one line: give the value alone on one line";
		return -1;
	}
	return 0;
}

int
cli_read_secret(const char *prompt, char *out, size_t size, const char **err)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "%s: ", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	int rc = tty ? (fgets(out, (int)size, stdin) ? 0 : -1) : cli_read_line(stdin, out, size, err);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
		out[strcspn(out, "\r\n")] = '\0';
		if (rc < 0)
			*err = "no value typed";
	}
	return rc;
}
