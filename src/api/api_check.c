/* api_check.c - `check smtp` and `check pop` as calls the CLI and the HTTP
 * API share: the server's answer as a document, or NULL with why saying
 * exactly what failed.  Neither document holds a password or token.
 * (`check domain`: api_check_domain.c.) */
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/postroom.h"
#include "core/settings.h"
#include "outbound/transport.h"
#include "pop3/pop3.h"

/* "AUTH PLAIN LOGIN\nSIZE 10240000" -> ["AUTH PLAIN LOGIN", "SIZE 10240000"] */
static json_t *
lines(const char *text)
{
	json_t *arr = json_array();
	while (*text) {
		size_t len = strcspn(text, "\n");
		json_array_append_new(arr, json_stringn(text, len));
		text += len + (text[len] == '\n');
	}
	return arr;
}

json_t *
api_check_smtp(const struct settings *set, struct pr_why *why)
{
	struct transport_check c;
	if (transport_check(set, &c, why) < 0)
		return NULL;
	json_t *j = json_pack("{s:b, s:s, s:b, s:b, s:s, s:o}", "ok", 1, "server", c.server,
	                      "tls", c.tls, "authenticated", c.authenticated, "greeting", c.greeting,
	                      "ehlo", lines(c.ehlo));
	json_object_set_new(j, "size", c.size < 0 ? json_null() : json_integer((json_int_t)c.size));
	return j;
}

json_t *
api_check_pop(const struct settings *set, struct pr_why *why)
{
	const char *server = settings_str(set, SET_POP_SERVER);
	size_t n = 0;
	pr_why_clear(why);
	if (*server == '\0') {
		pr_why_set(why, PR_E_CONFIG, "pop_server is not set: set it to ssl://host:995 or tcp://host:110");
		return NULL;
	}
	if (pop3_check(set, &n, why) < 0)
		return NULL;
	return json_pack("{s:b, s:s, s:s, s:I}", "ok", 1, "server", server, "user",
	                 settings_str(set, SET_POP_USERNAME), "messages", (json_int_t)n);
}

/* A short message naming where it came from, for a test without a file. */
static size_t
test_message(char *buf, size_t size, const struct settings *set, const char *from,
             const char *to)
{
	time_t now = time(NULL);
	struct tm tm;
	char date[64];
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	int n = snprintf(buf, size, "From: <%s>\r\nTo: <%s>\r\nSubject: postroom test message\r\n"
	                 "Date: %s\r\nMessage-ID: <test.%lld.%d@%s>\r\nMIME-Version: 1.0\r\n"
	                 "Content-Type: text/plain; charset=us-ascii\r\nAuto-Submitted: auto-generated\r\n\r\n"
	                 "This message was sent by `postroom check smtp` to test smtp_server.\r\n",
	                 from, to, date, (long long)now, (int)getpid(), settings_str(set, SET_HOSTNAME));
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

json_t *
api_send_test(const struct settings *set, const char *from, const char *const *rcpts, size_t n,
              int fd, struct pr_why *why)
{
	struct transport_config cfg;
	if (transport_config_from_settings(set, &cfg, why) < 0)
		return NULL;
	char text[2048];
	struct transport_msg msg = {.fd = fd};
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		msg.size = (uint64_t)st.st_size;
	else if (fd < 0)
		msg.data = (const uint8_t *)text, msg.len = test_message(text, sizeof(text), set, from, rcpts[0]);
	struct transport_result res;
	if (transport_send(&cfg, from, rcpts, n, &msg, &res) < 0) {
		*why = res.why;
		return NULL;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s}", "address", rcpts[i],
		    "status", transport_status_name(res.rcpt[i].status), "code", res.rcpt[i].code,
		    "reply", res.rcpt[i].reply));
	json_t *j = json_pack("{s:s, s:s, s:o}", "status", transport_status_name(res.status),
	                      "server", res.server, "recipients", arr);
	if (res.status != TRANSPORT_OK) {
		json_object_set_new(j, "code", json_string(pr_err_name(res.why.code)));
		json_object_set_new(j, "error", json_string(pr_why_text(&res.why)));
	}
	transport_result_free(&res);
	return j;
}
