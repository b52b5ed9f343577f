/* transport_check.c - `postroom check smtp`: the relay as the sender will
 * meet it -- connect, TLS, login, EHLO keywords -- then NOOP and QUIT.
 * No mail is sent.  The EHLO keywords are those of the last EHLO (after
 * STARTTLS), which is where a relay announces AUTH and its SIZE.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "core/settings.h"
#include "outbound/transport_private.h"

int
transport_check(const struct settings *set, struct transport_check *out, struct pr_why *why)
{
	memset(out, 0, sizeof(*out));
	out->size = -1;
	struct transport_config cfg;
	if (transport_config_from_settings(set, &cfg, why) < 0)
		return -1;
	if (cfg.direct) {
		pr_why_set(why, PR_E_CONFIG, "smtp_server is direct: there is no relay to check; postroom "
		           "delivers to each recipient domain's MX hosts on port %d", cfg.port);
		return -1;
	}
	snprintf(out->server, sizeof(out->server), "%s:%d", cfg.host, cfg.port);
	struct tsess_in in = {.mail_from = NULL};
	if (transport_relay_in(&cfg, &in, why) < 0)
		return -1;
	struct tsess_reply none;
	struct tsess_out o = {.rcpt = &none};
	tsess_run(&cfg, &in, &o);
	out->tls = o.tls;
	out->authenticated = o.auth.code / 100 == 2;
	out->size = o.size;
	snprintf(out->greeting, sizeof(out->greeting), "%s", o.greeting.text);
	snprintf(out->ehlo, sizeof(out->ehlo), "%s", o.ehlo);
	if (o.curl_code != CURLE_OK || (cfg.auth != SMTP_AUTH_NONE && !out->authenticated)) {
		if (o.curl_code == CURLE_OK)
			o.curl_code = CURLE_LOGIN_DENIED;
		transport_explain(&cfg, cfg.host, cfg.port, &o, why);
		return -1;
	}
	return 0;
}
