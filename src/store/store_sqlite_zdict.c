/* store_sqlite_zdict.c - the preset dictionaries of the SQLite store's
 * deflated rows.
 *
 * Why: deflate learns a message's vocabulary from the message itself, and
 * a short message ends before it has learnt much.  Its headers (names,
 * the Received and Authentication-Results postroom writes, MIME
 * boilerplate) and the JSON postroom keeps beside it (the same keys and
 * phrases in every row) are what every row repeats.  A preset dictionary
 * lets the first occurrence already be a back-reference: on bench/growth's
 * 2.6 KB messages (20,000, dbstat) message_raw went 1,493 -> 1,263 bytes a
 * message and the messages row, with its two JSON columns, 1,025 -> 529.
 *
 * What is in them: only strings every store sees, nothing of one
 * deployment (no domain, no address, no year): header names and fixed
 * header values from the RFCs and common mailers, the templates of
 * postroom's own Received and Authentication-Results, and the keys and
 * fixed phrases of the JSON that mime_json.c and auth_header.c write.
 * deflate finds a nearer match cheaper, so what is commonest comes last.
 *
 * NEVER EDIT ONE: a row holds only its codec number, and inflating needs
 * the very bytes it was deflated with.  A better dictionary is a new one,
 * with a new codec number (SQ_RAW_*, SQ_TEXT_*), kept beside the old.
 */
#include <stddef.h>

#include "store/store_sqlite.h"

/* The message bytes (message_raw codec SQ_RAW_DICT1). */
static const char raw_dict1[] =
	"Content-Type: multipart/mixed; boundary=\"\r\n"
	"Content-Type: multipart/alternative; boundary=\"\r\n"
	"Content-Type: multipart/related; boundary=\"\r\n"
	"Content-Type: application/pdf; name=\"\r\n"
	"Content-Disposition: attachment; filename=\"\r\n"
	"Content-Disposition: inline\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"X-Mailer: Microsoft Outlook 16.0\r\n"
	"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/\r\n"
	"Thread-Topic: \r\nThread-Index: \r\n"
	"Accept-Language: en-US\r\nContent-Language: en-US\r\n"
	"X-MS-Has-Attach: \r\nX-MS-TNEF-Correlator: \r\n"
	"X-Originating-IP: \r\n"
	"Return-Path: <>\r\n"
	"Auto-Submitted: auto-replied\r\nPrecedence: bulk\r\n"
	"List-Unsubscribe: <mailto:>\r\n"
	"ARC-Seal: i=1; a=rsa-sha256; t=; cv=none; d=; s=; b=\r\n"
	"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=; s=; h=; bh=; b=\r\n"
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=; s=;\r\n"
	"\th=from:to:cc:subject:date:message-id:in-reply-to:references:mime-version:content-type;\r\n"
	"\tbh=; b=\r\n"
	"Content-Type: text/html; charset=\"utf-8\"\r\n"
	"Content-Type: text/plain; charset=\"utf-8\"\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"Received: from  ( [])\r\n\tby  (postroom) with ESMTPS id \r\n"
	"Received: from  (unknown [])\r\n\tby  (postroom) with ESMTP id \r\n\tfor <>;\r\n"
	"\tMon, Tue, Wed, Thu, Fri, Sat, Sun,  Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec  +0000\r\n"
	"Authentication-Results: ;\r\n"
	"\tspf=pass (SPF pass for :  is allowed to send for it) smtp.mailfrom=;\r\n"
	"\tspf=none (SPF none for : it publishes no SPF record - ) smtp.helo=;\r\n"
	"\tdkim=pass (signature verified) header.d= header.s= header.a=rsa-sha256;\r\n"
	"\tdkim=none (no signature);\r\n"
	"\tdmarc=pass (aligned DKIM passed for ) header.from=\r\n"
	"\tdmarc=none (the domain publishes no DMARC record) header.from=\r\n"
	"Reply-To: \r\nCc: \r\n"
	"From: \r\nTo: \r\nSubject: Re: \r\nDate: \r\n"
	"Message-ID: <\r\nIn-Reply-To: <\r\nReferences: <\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 7bit\r\n\r\n";

/* The JSON columns messages.parsed_json and auth_json (SQ_TEXT_DICT1). */
static const char json_dict1[] =
	"{\"content_type\":\"application/pdf\",\"disposition\":\"attachment\",\"filename\":\"\","
	"\"size\":,\"index\":,\"path\":\"\"}"
	"\"html_body\":\"\",\"body_truncated\":false,\"invalid\":[],\"received\":[],"
	"\"message_id\":\"\",\"in_reply_to\":\"\",\"references\":[],\"date\":\"\",\"subject\":\"\","
	"\"text_body\":\"\",\"reply_text\":\"\","
	"{\"domain\":\"\",\"selector\":\"\",\"algorithm\":\"rsa-sha256\",\"result\":\"pass\","
	"\"reason\":null,\"detail\":\"signature verified\",\"aligned\":true}"
	"{\"spf\":{\"result\":\"pass\",\"domain\":\"\",\"identity\":\"mailfrom\",\"reason\":null,"
	"\"detail\":\"SPF pass for :  is allowed to send for it\"},"
	"\"dmarc\":{\"result\":\"pass\",\"policy\":\"reject\",\"domain\":\"\","
	"\"detail\":\"aligned DKIM passed for \"},\"adopted_from\":null}"
	"{\"spf\":{\"result\":\"none\",\"domain\":\"\",\"identity\":\"mailfrom\",\"reason\":\"spf_none\","
	"\"detail\":\"SPF none for : it publishes no SPF record - "
	" publishes no SPF record\"},\"dkim\":[],"
	"\"dmarc\":{\"result\":\"none\",\"policy\":null,\"domain\":\"\","
	"\"detail\":\"the domain publishes no DMARC record\"},\"adopted_from\":null}"
	"{\"duplicates\":[],\"from\":[{\"name\":\"\",\"address\":\"\"}],"
	"\"to\":[{\"name\":\"\",\"address\":\"\"}],\"cc\":[{\"name\":\"\",\"address\":\"\"}],"
	"\"reply_to\":[],\"auto_submitted\":false,\"is_bounce\":false,\"parts\":[]}";

const void *
sq_zdict(enum sq_zdict_id id, size_t *len_r)
{
	switch (id) {
	case SQ_ZDICT_RAW1:
		*len_r = sizeof(raw_dict1) - 1;
		return raw_dict1;
	case SQ_ZDICT_JSON1:
		*len_r = sizeof(json_dict1) - 1;
		return json_dict1;
	}
	*len_r = 0;
	return NULL;
}
