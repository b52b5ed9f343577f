/* compose.c - build a message we send with GMime (never by hand).
 *
 * GMime does what is easy to get wrong: RFC 2047 encoded words for a
 * non-ASCII display name or subject, RFC 2231 for a non-ASCII file name,
 * folding of long header fields, and a transfer encoding chosen from the
 * content so no body line exceeds the RFC 5322 limit of 998 octets (the
 * best 7-bit encoding: 7bit, quoted-printable or base64).  Attachments are
 * base64, byte-exact.  The shape:
 *
 *   text only            text/plain
 *   text + html          multipart/alternative (plain first, RFC 2046 5.1.4:
 *                        the last part is the preferred one)
 *   with attachments     multipart/mixed [body, attachment...]
 *
 * Lines end in CRLF: the bytes are stored as they will travel.
 */
#include "outbound/outbound_private.h"

#include <gmime/gmime.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "mime/mime.h"

/* Text is UTF-8 as given (g_mime_text_part_set_text would pick a legacy
 * charset such as ISO-8859-1 when the text fits it). */
static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
	GMimePart *p = GMIME_PART(tp);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(p, w);
	g_object_unref(w);
	g_object_unref(s);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(p), "charset", "utf-8");
	g_mime_part_set_content_encoding(p, g_mime_part_get_best_content_encoding(
	                                        p, GMIME_ENCODING_CONSTRAINT_7BIT));
	return GMIME_OBJECT(tp);
}

/* A few common types by file name; anything else is octet-stream (the
 * receiver's client judges by the name anyway). */
static const char *
guess_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{".pdf", "application/pdf"}, {".txt", "text/plain"}, {".csv", "text/csv"},
		{".html", "text/html"}, {".png", "image/png"}, {".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"}, {".gif", "image/gif"}, {".zip", "application/zip"},
		{".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{".doc", "application/msword"}, {".xls", "application/vnd.ms-excel"},
		{".eml", "message/rfc822"}, {".ics", "text/calendar"},
	};
	const char *dot = name ? strrchr(name, '.') : NULL;
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static GMimeObject *
attachment_part(const struct outbound_attachment *at)
{
	GMimeContentType *ct = g_mime_content_type_parse(NULL, at->content_type ? at->content_type
	                                                                        : guess_type(at->filename));
	GMimePart *p = g_mime_part_new_with_type(g_mime_content_type_get_media_type(ct),
	                                         g_mime_content_type_get_media_subtype(ct));
	g_object_unref(ct);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)at->data, at->len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(p, w);
	g_object_unref(w);
	g_object_unref(s);
	g_mime_part_set_filename(p, at->filename);   /* Content-Disposition: attachment */
	g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_BASE64);
	return GMIME_OBJECT(p);
}

static GMimeObject *
body(const struct compose_in *in)
{
	GMimeObject *text = text_part("plain", in->text ? in->text : "");
	GMimeObject *top = text;
	if (in->html != NULL) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		g_mime_multipart_add(alt, text);
		g_object_unref(text);
		GMimeObject *html = text_part("html", in->html);
		g_mime_multipart_add(alt, html);
		g_object_unref(html);
		top = GMIME_OBJECT(alt);
	}
	if (in->nattach == 0)
		return top;
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	g_mime_multipart_add(mixed, top);
	g_object_unref(top);
	for (size_t i = 0; i < in->nattach; i++) {
		GMimeObject *p = attachment_part(&in->attach[i]);
		g_mime_multipart_add(mixed, p);
		g_object_unref(p);
	}
	return GMIME_OBJECT(mixed);
}

static void
add_addresses(GMimeMessage *msg, GMimeAddressType type, const char *const *v, size_t n)
{
	InternetAddressList *l = g_mime_message_get_addresses(msg, type);
	for (size_t i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_mailbox_new(NULL, v[i]);
		internet_address_list_add(l, ia);
		g_object_unref(ia);
	}
}

static void
headers(GMimeMessage *msg, const struct compose_in *in)
{
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, in->from_name, in->from_addr);
	add_addresses(msg, GMIME_ADDRESS_TYPE_TO, in->to, in->nto);
	add_addresses(msg, GMIME_ADDRESS_TYPE_CC, in->cc, in->ncc);
	g_mime_message_set_subject(msg, in->subject, "utf-8");
	GDateTime *dt = g_date_time_new_from_unix_utc((gint64)in->date);
	g_mime_message_set_date(msg, dt);
	g_date_time_unref(dt);
	g_mime_message_set_message_id(msg, in->msgid);
	GMimeObject *o = GMIME_OBJECT(msg);
	if (in->in_reply_to != NULL)
		g_mime_object_set_header(o, "In-Reply-To", in->in_reply_to, NULL);
	if (in->references != NULL)
		g_mime_object_set_header(o, "References", in->references, NULL);
	if (in->auto_submitted != NULL)
		g_mime_object_set_header(o, "Auto-Submitted", in->auto_submitted, NULL);
}

int
outbound_compose(struct arena *a, const struct compose_in *in, const uint8_t **out, size_t *len,
                 struct pr_why *why)
{
	mime_init();
	GMimeMessage *msg = g_mime_message_new(TRUE);
	headers(msg, in);
	GMimeObject *b = body(in);
	g_mime_message_set_mime_part(msg, b);
	g_object_unref(b);
	GMimeFormatOptions *fo = g_mime_format_options_clone(g_mime_format_options_get_default());
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *mem = g_mime_stream_mem_new();
	ssize_t w = g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, mem);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	int rc = 0;
	if (w < 0 || ba == NULL) {
		pr_why_set(why, PR_E_INTERNAL, "the message could not be composed");
		rc = -1;
	} else {
		uint8_t *copy = arena_alloc(a, ba->len + 1);
		memcpy(copy, ba->data, ba->len);
		copy[ba->len] = '\0';
		*out = copy;
		*len = ba->len;
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	return rc;
}
