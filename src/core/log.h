/* log.h - daemon logging to stderr, one line per event.
 *
 * Lines are "YYYY-mm-ddTHH:MM:SSZ postroom[pid] LEVEL: text".  Untrusted
 * bytes must go through log_sanitize() before they reach a log line, so a
 * peer cannot forge log lines with CR/LF or terminal escapes.
 */
#ifndef PR_LOG_H
#define PR_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Copy at most n bytes of s into out (size outsz), replacing control and
 * non-ASCII bytes with '?'.  Always NUL-terminates.  Returns out. */
char *log_sanitize(char *out, size_t outsz, const char *s, size_t n);

#endif
