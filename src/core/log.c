/* log.c - see log.h.  One fprintf per line so concurrent threads do not
 * interleave inside a line (stdio locks the stream per call). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;

void
log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"debug", "info", "warning", "error"};
	if (lvl < min_level)
		return;
	char text[2048], stamp[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s postroom[%d] %s: %s\n", stamp, (int)getpid(), names[lvl], text);
}

char *
log_sanitize(char *out, size_t outsz, const char *s, size_t n)
{
	size_t o = 0;
	if (outsz == 0)
		return out;
	for (size_t i = 0; i < n && s[i] && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
	return out;
}
