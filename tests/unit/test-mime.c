/* test-mime.c - targeted MIME cases: charsets, RFC 2231, nesting, limits,
 * byte-exact attachments, TNEF, bounces and auto-replies.
 * The corpus and reply-stripping tests are in test-mime-corpus.c and
 * test-mime-reply.c. */
#include <glib.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "test.h"

static struct arena *A;

static int
parse(const char *msg, struct mime_info *m, struct pr_why *why)
{
	struct spool *s = spool_from_bytes(A, NULL, msg, strlen(msg));
	return mime_parse(s, A, m, why);
}

/* Through spool_write in pieces, so messages over 256 KiB use the fd path. */
static struct spool *
spool_of(const void *p, size_t n)
{
	struct spool *s = spool_new(A, NULL);
	for (size_t off = 0; off < n; off += 100000)
		spool_write(s, (const uint8_t *)p + off, n - off < 100000 ? n - off : 100000);
	spool_finish(s);
	return s;
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned int dl = 0;
	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static const char *
subject_of(const char *header)
{
	char *msg = arena_printf(A, "From: a@b.example\nSubject: %s\n\nbody\n", header);
	struct mime_info m;
	struct pr_why why;
	if (parse(msg, &m, &why) != 0)
		return "(unreadable)";
	return m.subject;
}

TEST(encoded_subjects)
{
	CHECK_STR(subject_of("=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?="), "Grüße aus Köln");
	CHECK_STR(subject_of("=?UTF-8?B?0J/RgNC40LLQtdGC?="), "Привет");
	CHECK_STR(subject_of("=?windows-1251?B?z/Do4uXy?="), "Привет");
	CHECK_STR(subject_of("=?KOI8-R?B?8NLJ18XU?="), "Привет");
	CHECK_STR(subject_of("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?="), "日本語");
	CHECK_STR(subject_of("=?GB2312?B?1tDOxA==?="), "中文");
	CHECK_STR(subject_of("=?iso-8859-15?q?Preis_100_=A4?="), "Preis 100 €");
	CHECK_STR(subject_of("=?windows-1252?Q?=93quoted=94?= and =?UTF-8?Q?more?="), "“quoted” and more");
	/* 8-bit headers: UTF-8 when valid, else Windows-1252. */
	CHECK_STR(subject_of("caf\xc3\xa9 cr\xc3\xa8me"), "café crème");
	CHECK_STR(subject_of("caf\xe9 \x80"), "café €");
}

TEST(rfc2231_filenames)
{
	const char *msg =
	    "From: a@b.example\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=XX\n\n"
	    "--XX\nContent-Type: text/plain\n\nhello\n"
	    "--XX\nContent-Type: application/pdf\n"
	    "Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf\n"
	    "Content-Transfer-Encoding: base64\n\naGVsbG8=\n"
	    "--XX\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment;\n filename*0*=iso-8859-1''Gr%FC%DFe;\n filename*1=\"-long.txt\"\n\n"
	    "data\n"
	    "--XX\nContent-Type: image/png; name=\"=?UTF-8?Q?b=C3=A4r.png?=\"\n\nPNG\n"
	    "--XX--\n";
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), 0);
	CHECK_STR(m.text_body, "hello");
	CHECK_INT(m.nparts, 3);
	if (m.nparts < 3)
		return;
	CHECK_STR(m.parts[0].filename, "€ rates.pdf");
	CHECK_STR(m.parts[0].content_type, "application/pdf");
	CHECK_STR(m.parts[0].disposition, "attachment");
	CHECK_INT(m.parts[0].size, 5);
	CHECK_STR(m.parts[0].sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	CHECK_STR(m.parts[0].path, "2");
	CHECK_STR(m.parts[1].filename, "Grüße-long.txt");
	CHECK_STR(m.parts[2].filename, "bär.png");
	CHECK_STR(m.parts[2].disposition, "");
}

TEST(envelope_fields)
{
	const char *msg =
	    "Received: from a.example by b.example;\r\n\tMon, 1 Jan 2024 10:00:00 +0000\r\n"
	    "Received: from c.example by a.example; Mon, 1 Jan 2024 09:59:00 +0000\r\n"
	    "From: =?UTF-8?Q?J=C3=BCrgen?= <Juergen@Example.COM>\r\n"
	    "To: Team: alice@X.example, \"Bob B.\" <bob@y.EXAMPLE>;, carol@z.example\r\n"
	    "Cc: <dave@w.example>\r\nReply-To: list@l.example\r\n"
	    "Subject: hi\r\nDate: Mon, 1 Jan 2024 11:00:00 +0100\r\n"
	    "Message-ID: <abc@x.example>\r\nIn-Reply-To: <p1@x.example> <p0@x.example>\r\n"
	    "References: <p0@x.example>\r\n <p1@x.example>\r\n\r\nbody\r\n";
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), 0);
	CHECK_INT(m.nfrom, 1);
	CHECK_STR(m.from[0].name, "Jürgen");
	CHECK_STR(m.from[0].address, "Juergen@example.com");
	CHECK_INT(m.nto, 3);
	if (m.nto == 3) {
		CHECK_STR(m.to[0].address, "alice@x.example");
		CHECK_STR(m.to[1].name, "Bob B.");
		CHECK_STR(m.to[2].address, "carol@z.example");
	}
	CHECK_INT(m.ncc, 1);
	CHECK_INT(m.nreply_to, 1);
	CHECK_STR(m.message_id, "abc@x.example");
	CHECK_STR(m.in_reply_to, "p1@x.example");
	CHECK_INT(m.nreferences, 2);
	if (m.nreferences == 2)
		CHECK_STR(m.references[1], "p1@x.example");
	CHECK_STR(m.date, "2024-01-01T11:00:00+01:00");
	CHECK_INT(m.nreceived, 2);
	if (m.nreceived == 2)
		CHECK_STR(m.received[0], "from a.example by b.example;\tMon, 1 Jan 2024 10:00:00 +0000");
	CHECK_STR(m.text_body, "body\r\n");
	CHECK(!m.auto_submitted);
	CHECK(!m.is_bounce);
	/* Stored JSON: structure only; the Message-ID is a column of its own
	 * and shown from the stored bytes (mime_json.c). */
	CHECK(m.json != NULL && strstr(m.json, "\"message_id\"") == NULL && strstr(m.json, "\"cc\":[") != NULL);
	CHECK(strstr(mime_show_json(A, &m), "\"message_id\":\"abc@x.example\"") != NULL);
	CHECK_STR(mime_header(spool_from_bytes(A, NULL, msg, strlen(msg)), A, "references"),
	          "<p0@x.example> <p1@x.example>");
	CHECK(mime_header(spool_from_bytes(A, NULL, msg, strlen(msg)), A, "X-None") == NULL);
}

/* mime_from.c: From fields counted, and a From read strictly (issue #10,
 * item 8): whatever a lenient reading would silently drop is malformed. */
TEST(from_strict)
{
	static const struct { const char *from; size_t fields; bool malformed; } cases[] = {
		{"From: alice@firm.example\r\n", 1, false},
		{"From: \"Archer, Alice\" <alice@firm.example> (work)\r\n", 1, false},
		{"From: =?UTF-8?Q?J=C3=BCrgen?= <j@x.example>\r\n", 1, false},
		{"From: \"alice@firm.example\" <mallory@evil.example>\r\n", 1, false},
		{"From: a@x.example, b@y.example\r\n", 1, false},
		{"From: a@x.example\r\nFrom: b@y.example\r\n", 2, false},
		{"From: alice@firm.example@evil.example\r\n", 1, true},
		{"From: alice@firm.example;mallory@evil.example\r\n", 1, true},
		{"From: <alice@firm.example\r\n", 1, true},
		{"From: \"Alice <alice@firm.example>\r\n", 1, true},
		{"From: alice@firm.example (open comment\r\n", 1, true},
		{"From: alice\r\n", 1, true},
		{"From: undisclosed:;\r\n", 1, true},
		{"To: x@y.example\r\n", 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *msg = arena_printf(A, "%sSubject: s\r\n\r\nbody\r\n", cases[i].from);
		struct mime_info m;
		struct pr_why why;
		CHECK_INT(parse(msg, &m, &why), 0);
		CHECK_INT(m.from_fields, cases[i].fields);
		if (m.from_malformed != cases[i].malformed)
			fprintf(stderr, "from_strict: %s", cases[i].from);
		CHECK(m.from_malformed == cases[i].malformed);
	}
}

static bool
is_auto(const char *hdr)
{
	char *msg = arena_printf(A, "From: a@b.example\n%s\n\nx\n", hdr);
	struct mime_info m;
	struct pr_why why;
	return parse(msg, &m, &why) == 0 && m.auto_submitted;
}

TEST(auto_replies)
{
	CHECK(is_auto("Auto-Submitted: auto-replied"));
	CHECK(is_auto("Auto-Submitted: auto-generated; owner-email=x@y"));
	CHECK(!is_auto("Auto-Submitted: no"));
	CHECK(!is_auto("Auto-Submitted: No "));
	CHECK(is_auto("Precedence: bulk"));
	CHECK(is_auto("Precedence: JUNK"));
	CHECK(is_auto("Precedence: list"));
	CHECK(!is_auto("Precedence: first-class"));
	CHECK(is_auto("X-Autoreply: yes"));
	CHECK(is_auto("X-Autorespond: yes"));
	CHECK(!is_auto("X-Mailer: x"));
}

TEST(bounce)
{
	const char *msg =
	    "From: MAILER-DAEMON@mx.example\nTo: a@b.example\nSubject: Undelivered\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
	    "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
	    "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
	    "Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.1.1\n"
	    "--B\nContent-Type: message/rfc822\n\nFrom: a@b.example\nMessage-ID: <orig@b.example>\n\nhi\n"
	    "--B--\n";
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), 0);
	CHECK(m.is_bounce);
	CHECK_STR(m.text_body, "Your message could not be delivered.");
	/* A forwarded DSN inside an attachment does not make this a bounce. */
	char *fwd = arena_printf(A, "From: x@y.example\nContent-Type: multipart/mixed; boundary=O\n\n"
	                            "--O\nContent-Type: text/plain\n\nsee attached\n"
	                            "--O\nContent-Type: message/rfc822\n\n%s\n--O--\n", msg);
	CHECK_INT(parse(fwd, &m, &why), 0);
	CHECK(!m.is_bounce);
	CHECK_STR(m.text_body, "see attached");
}

static const char inner_msg[] =
    "From: inner@x.example\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=IN\r\n\r\n"
    "--IN\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
    "--IN\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAECAw==\r\n--IN--\r\n";

TEST(nested_rfc822)
{
	char *msg = arena_printf(A,
	    "From: outer@x.example\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n"
	    "--OUT\r\nContent-Type: text/plain\r\n\r\nouter text\r\n"
	    "--OUT\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=fwd.eml\r\n\r\n"
	    "%s\r\n--OUT--\r\n", inner_msg);
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), 0);
	CHECK_STR(m.subject, "outer");
	CHECK_STR(m.text_body, "outer text");
	CHECK_INT(m.nparts, 3);
	if (m.nparts != 3)
		return;
	char want[65];
	sha256_hex(inner_msg, strlen(inner_msg), want);
	CHECK_STR(m.parts[0].content_type, "message/rfc822");
	CHECK_STR(m.parts[0].filename, "fwd.eml");
	CHECK_STR(m.parts[0].path, "2");
	CHECK_INT(m.parts[0].size, strlen(inner_msg));
	CHECK_STR(m.parts[0].sha256, want);
	CHECK_STR(m.parts[1].content_type, "text/plain");      /* the inner body, listed */
	CHECK_STR(m.parts[1].path, "2.1");
	CHECK_STR(m.parts[2].filename, "a.bin");
	CHECK_STR(m.parts[2].path, "2.2");
	CHECK_INT(m.parts[2].size, 4);
	/* The attached message comes back byte-exact. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK_INT(mime_write_attachment((const uint8_t *)msg, strlen(msg), 1, f, &why), 0);
	fclose(f);
	CHECK_INT(len, strlen(inner_msg));
	CHECK(len == strlen(inner_msg) && memcmp(buf, inner_msg, len) == 0);
	free(buf);
	f = open_memstream(&buf, &len);
	CHECK_INT(mime_write_attachment((const uint8_t *)msg, strlen(msg), 3, f, &why), 0);
	fclose(f);
	CHECK(len == 4 && memcmp(buf, "\0\1\2\3", 4) == 0);
	free(buf);
	f = open_memstream(&buf, &len);
	CHECK_INT(mime_write_attachment((const uint8_t *)msg, strlen(msg), 4, f, &why), -1);
	CHECK_INT(why.code, PR_E_NOT_FOUND);
	fclose(f);
	free(buf);
}

TEST(unreadable)
{
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse("", &m, &why), -1);
	CHECK_INT(why.code, PR_E_UNREADABLE);
	CHECK_INT(parse("\x01\x02 this is not mail\n\n\xff\xfe", &m, &why), -1);
	CHECK_INT(why.code, PR_E_UNREADABLE);
	CHECK(strlen(why.detail) > 0);
}

static void
check_limit(const char *msg, size_t len, const char *reason_word)
{
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(mime_parse(spool_of(msg, len), A, &m, &why), -1);
	CHECK_INT(why.code, PR_E_UNREADABLE);
	CHECK(strstr(why.detail, reason_word) != NULL);
	if (strstr(why.detail, reason_word) == NULL)
		fprintf(stderr, "  reason: %s\n", why.detail);
}

TEST(limits)
{
	GString *s = g_string_new("From: a@b.example\n");
	int depth = PR_MIME_MAX_DEPTH + 20;
	for (int i = 0; i < depth; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	g_string_append(s, "Content-Type: text/plain\n\nx\n");
	for (int i = depth - 1; i >= 0; i--)
		g_string_append_printf(s, "--b%d--\n", i);
	check_limit(s->str, s->len, "nested");
	g_string_assign(s, "From: a@b.example\nContent-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < PR_MIME_MAX_PARTS + 5; i++)
		g_string_append(s, "--p\nContent-Type: application/x-a\n\nx\n");
	g_string_append(s, "--p--\n");
	check_limit(s->str, s->len, "parts");
	g_string_assign(s, "From: a@b.example\n");
	while (s->len < PR_MIME_MAX_HEADER_BYTES + 100)
		g_string_append(s, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	g_string_append(s, "\nbody\n");
	check_limit(s->str, s->len, "header");
	/* Within the limits: the same shapes parse. */
	struct mime_info m;
	struct pr_why why;
	g_string_assign(s, "From: a@b.example\n");
	for (int i = 0; i < PR_MIME_MAX_DEPTH - 2; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	g_string_append(s, "Content-Type: text/plain\n\ndeep\n");
	CHECK_INT(mime_parse(spool_of(s->str, s->len), A, &m, &why), 0);
	CHECK_STR(m.text_body, "deep\n");
	g_string_free(s, TRUE);
}

TEST(deep_nesting_bomb)
{
	/* Far past our limit: GMime's recursive parser must survive it (or we
	 * must refuse it before GMime sees it); either way, no crash. */
	GString *s = g_string_new("From: a@b.example\n");
	for (int i = 0; i < 5000; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(mime_parse(spool_of(s->str, s->len), A, &m, &why), -1);
	CHECK_INT(why.code, PR_E_UNREADABLE);
	g_string_free(s, TRUE);
}

/* What GMime would otherwise build: a million empty parts (1.3 GB of heap
 * in GMime) and 100,000 nesting levels (seconds, quadratic).  Refused by
 * the pre-pass, quickly. */
TEST(bombs_refused_early)
{
	GString *s = g_string_new("From: a@b.example\nContent-Type: multipart/mixed; boundary=p\n\n");
	for (int i = 0; i < 1000000; i++)
		g_string_append(s, "--p\n\n");
	gint64 t0 = g_get_monotonic_time();
	check_limit(s->str, s->len, "parts");
	struct pr_why why;
	CHECK_INT(mime_write_attachment((const uint8_t *)s->str, s->len, 1, stdout, &why), -1);
	CHECK_INT(why.code, PR_E_UNREADABLE);
	g_string_assign(s, "From: a@b.example\n");
	for (int i = 0; i < 100000; i++)
		g_string_append_printf(s, "Content-Type:\n multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	check_limit(s->str, s->len, "multipart");
	/* Separator lines in a plain (non-multipart) text are not parts. */
	g_string_assign(s, "From: a@b.example\nSubject: log\n\n");
	for (int i = 0; i < 3000; i++)
		g_string_append(s, "----------\nline\n");
	struct mime_info m;
	CHECK_INT(mime_parse(spool_of(s->str, s->len), A, &m, &why), 0);
	double secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	CHECK(secs < 10);
	if (secs >= 10)
		fprintf(stderr, "  bombs took %.1f s\n", secs);
	g_string_free(s, TRUE);
}

/* The word "boundary" (any case) is looked for 8 bytes at a time: found
 * at every offset, in memory and through a spool file (mapped). */
TEST(guard_finds_boundary_at_any_offset)
{
	int refused = 0, cases = 0;
	for (int shift = 0; shift < 17; shift++) {
		for (int on_file = 0; on_file < 2; on_file++) {
			GString *s = g_string_new("From: a@b.example\nSubject: x\n\n");
			for (int i = 0; i < shift; i++)
				g_string_append_c(s, 'y');
			g_string_append(s, "xBoUnDaRyx\n");
			for (int i = 0; i < PR_MIME_MAX_PARTS + 100; i++)
				g_string_append(s, "--p\n");
			if (on_file)       /* past the spool's memory: a file */
				for (int i = 0; i < 3000; i++)
					g_string_append(s, "filler line .............................................................................................\n");
			struct mime_info m;
			struct pr_why why;
			struct spool *sp = on_file ? spool_of(s->str, s->len) : spool_from_bytes(A, NULL, s->str, s->len);
			CHECK(on_file == (spool_fd(sp) >= 0));
			refused += mime_parse(sp, A, &m, &why) == -1 && strstr(why.detail, "boundary repeats") != NULL;
			cases++;
			g_string_free(s, TRUE);
		}
	}
	CHECK_INT(cases, 34);
	CHECK_INT(refused, 34);
	/* "boundar" then a line break: not the word, the lines are text. */
	GString *s = g_string_new("From: a@b.example\n\nboundar\ny\n");
	for (int i = 0; i < PR_MIME_MAX_PARTS + 100; i++)
		g_string_append(s, "--p\n");
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(mime_parse(spool_of(s->str, s->len), A, &m, &why), 0);
	g_string_free(s, TRUE);
}

TEST(binary_5mb_roundtrip)
{
	size_t n = 5 * 1024 * 1024 + 17;
	uint8_t *bin = xmalloc(n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		bin[i] = (uint8_t)(x >> 16);
	}
	gchar *b64 = g_base64_encode(bin, n);
	GString *s = g_string_new("From: a@b.example\r\nSubject: big\r\n"
	                          "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\n"
	                          "Content-Type: text/plain\r\n\r\nsee file\r\n--Z\r\n"
	                          "Content-Type: application/octet-stream\r\n"
	                          "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
	                          "Content-Transfer-Encoding: base64\r\n\r\n");
	for (size_t off = 0, len = strlen(b64); off < len; off += 76) {
		g_string_append_len(s, b64 + off, (gssize)(len - off < 76 ? len - off : 76));
		g_string_append(s, "\r\n");
	}
	g_string_append(s, "--Z--\r\n");
	char want[65];
	sha256_hex(bin, n, want);
	struct spool *sp = spool_of(s->str, s->len);
	CHECK(spool_fd(sp) >= 0);
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(mime_parse(sp, A, &m, &why), 0);
	CHECK_INT(m.nparts, 1);
	if (m.nparts == 1) {
		CHECK_INT(m.parts[0].size, n);
		CHECK_STR(m.parts[0].sha256, want);
		CHECK_STR(m.parts[0].filename, "big.bin");
	}
	FILE *f = tmpfile();
	CHECK_INT(mime_write_attachment((const uint8_t *)s->str, s->len, 1, f, &why), 0);
	CHECK_INT(ftell(f), n);
	rewind(f);
	uint8_t *back = xmalloc(n + 1);
	CHECK_INT(fread(back, 1, n + 1, f), n);
	CHECK(memcmp(back, bin, n) == 0);
	fclose(f);
	free(back);
	free(bin);
	g_free(b64);
	g_string_free(s, TRUE);
}

#ifdef HAVE_YTNEF
/* A minimal TNEF stream: signature, key, then per attachment the
 * RendData / Title / Data attributes, each with its checksum. */
static void
tnef_attr(GByteArray *b, uint8_t level, uint32_t id, const void *data, uint32_t len)
{
	uint8_t hdr[9] = {level, (uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24),
	                  (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
	g_byte_array_append(b, hdr, 9);
	g_byte_array_append(b, data, len);
	uint16_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint16_t)(sum + ((const uint8_t *)data)[i]);
	uint8_t cs[2] = {(uint8_t)sum, (uint8_t)(sum >> 8)};
	g_byte_array_append(b, cs, 2);
}
#endif

TEST(tnef)
{
#ifndef HAVE_YTNEF
	SKIP("built without libytnef");
#else
	GByteArray *t = g_byte_array_new();
	uint8_t sig[6] = {0x78, 0x9f, 0x3e, 0x22, 0x01, 0x00};
	g_byte_array_append(t, sig, 6);
	uint8_t ver[4] = {0x00, 0x00, 0x01, 0x00};
	tnef_attr(t, 1, 0x00089006, ver, 4);
	uint8_t rend[14] = {1, 0, 0xff, 0xff, 0xff, 0xff};
	tnef_attr(t, 2, 0x00069002, rend, 14);
	tnef_attr(t, 2, 0x00018010, "report.pdf", 11);
	tnef_attr(t, 2, 0x0006800f, "%PDF-1.4 fake", 13);
	tnef_attr(t, 2, 0x00069002, rend, 14);
	tnef_attr(t, 2, 0x00018010, "notes.txt", 10);
	tnef_attr(t, 2, 0x0006800f, "hello tnef", 10);
	gchar *b64 = g_base64_encode(t->data, t->len);
	char *msg = arena_printf(A,
	    "From: a@b.example\nContent-Type: multipart/mixed; boundary=T\n\n"
	    "--T\nContent-Type: text/plain\n\nsee attachment\n"
	    "--T\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n"
	    "Content-Transfer-Encoding: base64\n\n%s\n--T--\n", b64);
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), 0);
	CHECK_INT(m.nparts, 3);
	if (m.nparts == 3) {
		CHECK_STR(m.parts[0].filename, "winmail.dat");
		CHECK_STR(m.parts[1].filename, "report.pdf");
		CHECK_STR(m.parts[1].path, "2/1");
		CHECK_INT(m.parts[1].size, 13);
		CHECK_STR(m.parts[2].filename, "notes.txt");
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		CHECK_INT(mime_write_attachment((const uint8_t *)msg, strlen(msg), 3, f, &why), 0);
		fclose(f);
		CHECK(len == 10 && memcmp(buf, "hello tnef", 10) == 0);
		free(buf);
	}
	g_free(b64);
	g_byte_array_free(t, TRUE);
#endif
}

/* Files unpacked from winmail.dat count towards PR_MIME_MAX_PARTS: one
 * MIME part holding 1,100 tiny files is over the limit. */
TEST(tnef_files_count_as_parts)
{
#ifndef HAVE_YTNEF
	SKIP("built without libytnef");
#else
	GByteArray *t = g_byte_array_new();
	uint8_t sig[6] = {0x78, 0x9f, 0x3e, 0x22, 0x01, 0x00};
	g_byte_array_append(t, sig, 6);
	uint8_t ver[4] = {0x00, 0x00, 0x01, 0x00};
	tnef_attr(t, 1, 0x00089006, ver, 4);
	uint8_t rend[14] = {1, 0, 0xff, 0xff, 0xff, 0xff};
	for (int i = 0; i < PR_MIME_MAX_PARTS + 100; i++) {
		tnef_attr(t, 2, 0x00069002, rend, 14);
		tnef_attr(t, 2, 0x00018010, "f.txt", 6);
		tnef_attr(t, 2, 0x0006800f, "x", 1);
	}
	gchar *b64 = g_base64_encode(t->data, t->len);
	char *msg = arena_printf(A,
	    "From: a@b.example\nContent-Type: multipart/mixed; boundary=T\n\n"
	    "--T\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n"
	    "Content-Transfer-Encoding: base64\n\n%s\n--T--\n", b64);
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), -1);
	CHECK_INT(why.code, PR_E_UNREADABLE);
	g_free(b64);
	g_byte_array_free(t, TRUE);
#endif
}

/* A huge text body is kept as a bounded, contiguous prefix and flagged. */
TEST(long_text_body_cut_cleanly)
{
	const char *head = "From: a@b.example\r\nSubject: long\r\n\r\n";
	size_t lines = 40000, hl = strlen(head);
	char *msg = malloc(hl + lines * 80 + 1);   /* + the last snprintf NUL */
	memcpy(msg, head, hl);
	for (size_t i = 0; i < lines; i++)
		snprintf(msg + hl + i * 80, 81, "%07zu%071zu\r\n", i, (size_t)0);
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(mime_parse(spool_of(msg, hl + lines * 80), A, &m, &why), 0);
	CHECK(m.body_truncated);
	size_t n = strlen(m.text_body);
	CHECK(n > 1000000 && n <= 1024 * 1024);
	/* line k starts at k*80: no chunk was skipped */
	CHECK(strncmp(m.text_body + 12000 * 80, "0012000", 7) == 0);
	const char *shown = mime_show_json(A, &m);
	CHECK(strstr(shown, "\"body_truncated\":true") != NULL);
	CHECK(strstr(m.json, "text_body") == NULL);    /* stored form: bodies re-read */
	CHECK(strlen(m.reply_text) <= 16 * 1024);
	/* What intake asks for (mime_parse_upto): the same message, its text
	 * body only the first 128 KiB, a prefix of the shown one. */
	struct mime_info u;
	CHECK_INT(mime_parse_upto(spool_of(msg, hl + lines * 80), A, 128 * 1024, &u, &why), 0);
	CHECK_INT(strlen(u.text_body), 128 * 1024);
	CHECK(strncmp(u.text_body, m.text_body, 128 * 1024) == 0);
	CHECK(u.body_truncated);
	CHECK_STR(u.json, m.json);
	CHECK_STR(u.reply_text, m.reply_text);
	free(msg);
}

/* HTML-only mail keeps four times as much HTML as text asked for: its
 * text (search, reply text) is what the markup leaves. */
TEST(parse_upto_keeps_more_html)
{
	GString *s = g_string_new("From: a@b.example\r\nContent-Type: text/html\r\n\r\n<html><body>");
	for (int i = 0; i < 20000; i++)
		g_string_append_printf(s, "<p class=\"x\">word%05d</p>\r\n", i);
	g_string_append(s, "</body></html>\r\n");
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(mime_parse_upto(spool_of(s->str, s->len), A, 64 * 1024, &m, &why), 0);
	CHECK_INT(strlen(m.html_body), 4 * 64 * 1024);
	CHECK(m.text_body == NULL && m.body_truncated);
	const char *text = mime_search_text(A, &m);
	CHECK(text != NULL && strstr(text, "word00000") != NULL && strstr(text, "word19999") == NULL);
	g_string_free(s, TRUE);
}

TEST(bodies_and_charsets)
{
	const char *msg =
	    "From: a@b.example\nContent-Type: multipart/alternative; boundary=A\n\n"
	    "--A\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "Gr=FC=DFe,=\n Welt\n"
	    "--A\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
	    "PHA+R3LDvMOfZTwvcD4=\n--A--\n";
	struct mime_info m;
	struct pr_why why;
	CHECK_INT(parse(msg, &m, &why), 0);
	CHECK_STR(m.text_body, "Grüße, Welt");
	CHECK_STR(m.html_body, "<p>Grüße</p>");
	CHECK_INT(m.nparts, 0);
	/* Invalid bytes in a part labelled UTF-8 become U+FFFD, not nothing. */
	CHECK_INT(parse("From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\nab\xff" "cd", &m, &why), 0);
	CHECK_STR(m.text_body, "ab\xef\xbf\xbd" "cd");
	CHECK_INT(parse("From: a@b.example\nContent-Type: text/plain; charset=iso-2022-jp\n\n"
	                "\x1b$BF|K\\8l\x1b(B\n", &m, &why), 0);
	CHECK_STR(m.text_body, "日本語\n");
}

/* Separate messages in separate threads: GMime is initialised once
 * (pthread_once) and each parse has its own objects. */
static void *
parse_many(void *arg)
{
	const char *msg = arg;
	int ok = 0;
	for (int i = 0; i < 40; i++) {
		struct arena *a = arena_new();
		struct mime_info m;
		struct pr_why why;
		if (mime_parse(spool_from_bytes(a, NULL, msg, strlen(msg)), a, &m, &why) == 0 &&
		    m.nparts == 3 && !strcmp(m.parts[2].filename, "a.bin"))
			ok++;
		arena_free(&a);
	}
	return (void *)(intptr_t)ok;
}

TEST(threads)
{
	char *msg = arena_printf(A,
	    "From: outer@x.example\r\nContent-Type: multipart/mixed; boundary=OUT\r\n\r\n"
	    "--OUT\r\nContent-Type: text/plain\r\n\r\nouter text\r\n"
	    "--OUT\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n--OUT--\r\n", inner_msg);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, parse_many, msg), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK_INT((intptr_t)r, 40);
	}
}

int
main(void)
{
	A = arena_new();
	RUN(encoded_subjects);
	RUN(rfc2231_filenames);
	RUN(envelope_fields);
	RUN(from_strict);
	RUN(auto_replies);
	RUN(bounce);
	RUN(nested_rfc822);
	RUN(unreadable);
	RUN(limits);
	RUN(deep_nesting_bomb);
	RUN(bombs_refused_early);
	RUN(guard_finds_boundary_at_any_offset);
	RUN(binary_5mb_roundtrip);
	RUN(tnef);
	RUN(tnef_files_count_as_parts);
	RUN(long_text_body_cut_cleanly);
	RUN(parse_upto_keeps_more_html);
	RUN(bodies_and_charsets);
	RUN(threads);
	arena_free(&A);
	return test_summary("mime");
}
