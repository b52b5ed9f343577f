/* test-mime-reply.c - reply text: quoted history and signature stripped,
 * one case per client style, each through mime_parse (so the text body
 * comes from a real message).  The result has LF line ends. */
#include <string.h>

#include "core/arena.h"
#include "core/spool.h"
#include "mime/mime.h"
#include "test.h"

static struct arena *A;

static const char *
reply_of(const char *body)
{
	char *msg = arena_printf(A, "From: a@b.example\r\nSubject: Re: x\r\n\r\n%s", body);
	struct spool *s = spool_from_bytes(A, NULL, msg, strlen(msg));
	struct mime_info m;
	struct pr_why why;
	if (mime_parse(s, A, &m, &why) != 0)
		return "(unreadable)";
	return m.reply_text;
}

static const struct {
	const char *style, *body, *want;
} cases[] = {
	{"gmail",
	 "Sounds good, see you then.\r\n\r\nOn Mon, Jan 1, 2024 at 10:00 AM Alice Example <alice@a.example> wrote:\r\n"
	 "> Shall we meet at 3?\r\n>\r\n> Alice\r\n",
	 "Sounds good, see you then."},
	{"gmail wrapped attribution",
	 "Yes.\r\n\r\nOn Mon, Jan 1, 2024 at 10:00 AM Alice Example with a long name <\r\n"
	 "alice@a.example> wrote:\r\n\r\n> question\r\n",
	 "Yes."},
	{"gmail forward",
	 "FYI\r\n\r\n---------- Forwarded message ---------\r\nFrom: X <x@x.example>\r\nDate: Mon\r\n",
	 "FYI"},
	{"outlook original message",
	 "Approved.\r\n\r\nRegards,\r\nBob\r\n\r\n-----Original Message-----\r\nFrom: Alice\r\n"
	 "Sent: Monday, January 1, 2024 10:00 AM\r\nTo: Bob\r\nSubject: budget\r\n\r\nPlease approve.\r\n",
	 "Approved.\n\nRegards,\nBob"},
	{"outlook header block",
	 "Thanks!\r\n\r\n________________________________\r\nFrom: Alice <alice@a.example>\r\n"
	 "Sent: Monday, January 1, 2024 10:00\r\nTo: Bob <bob@b.example>\r\nSubject: report\r\n\r\nold text\r\n",
	 "Thanks!"},
	{"outlook bold header block",
	 "Done.\r\n\r\n*From:* Alice <alice@a.example>\r\n*Sent:* Monday\r\n*To:* Bob\r\n*Subject:* x\r\n\r\nold\r\n",
	 "Done."},
	{"outlook german",
	 "Erledigt.\r\n\r\nVon: Alice\r\nGesendet: Montag, 1. Januar 2024\r\nAn: Bob\r\nBetreff: x\r\n\r\nalt\r\n",
	 "Erledigt."},
	{"apple mail",
	 "Works for me.\r\n\r\nSent from my iPhone\r\n\r\n> On Jan 1, 2024, at 10:00, Alice <alice@a.example> wrote:\r\n"
	 "> \r\n> Does 3 work?\r\n",
	 "Works for me.\n\nSent from my iPhone"},
	{"apple mail unquoted attribution",
	 "Fine.\r\n\r\nOn Jan 1, 2024, at 10:00, Alice <alice@a.example> wrote:\r\n\r\n> Does 3 work?\r\n",
	 "Fine."},
	{"apple forward",
	 "See below.\r\n\r\nBegin forwarded message:\r\n\r\nFrom: X\r\n",
	 "See below."},
	{"thunderbird",
	 "Agreed.\r\n\r\nOn 01/01/2024 10:00, Alice Example wrote:\r\n> Plan attached.\r\n",
	 "Agreed."},
	{"thunderbird old style",
	 "Agreed.\r\n\r\nAlice Example wrote:\r\n> Plan attached.\r\n",
	 "Agreed."},
	{"signature",
	 "Short answer: yes.\r\n\r\n-- \r\nBob Builder\r\nACME Corp\r\n",
	 "Short answer: yes."},
	{"quoted lines at the end",
	 "I agree.\r\n\r\n> earlier text\r\n> more\r\n",
	 "I agree."},
	{"interleaved answers",
	 "> Question one?\r\nAnswer one.\r\n> Question two?\r\nAnswer two.\r\n",
	 "Answer one.\nAnswer two."},
	{"no history",
	 "Just a new message.\r\nTwo lines.\r\n",
	 "Just a new message.\nTwo lines."},
	{"plain From: in text is kept",
	 "From: the team, with thanks.\r\nBye\r\n",
	 "From: the team, with thanks.\nBye"},
};

TEST(styles)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = reply_of(cases[i].body);
		if (got == NULL || strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "style: %s\n", cases[i].style);
		CHECK_STR(got, cases[i].want);
	}
}

static const char *
html_reply_of(const char *html)
{
	char *msg = arena_printf(A, "From: a@b.example\nContent-Type: text/html; charset=utf-8\n\n%s", html);
	struct mime_info m;
	struct pr_why why;
	if (mime_parse(spool_from_bytes(A, NULL, msg, strlen(msg)), A, &m, &why) != 0)
		return "(unreadable)";
	CHECK(m.text_body == NULL);
	return m.reply_text;
}

TEST(html_only)
{
	CHECK_STR(html_reply_of("<p>hi</p>\n"), "hi");
	CHECK_STR(html_reply_of("<html><head><style>p {color: red}</style></head><body>"
	                        "<div>Approved &amp; signed.</div>\n<div>Bob</div>"
	                        "<hr><div id=\"divRplyFwdMsg\"><b>From:</b> Alice<br><b>Sent:</b> Monday</div>"
	                        "<div>old text</div></body></html>"),
	          "Approved & signed.\nBob");
	CHECK_STR(html_reply_of("<div dir=\"ltr\">Sure,\nthanks</div><br><div class=\"gmail_quote\">"
	                        "<div class=\"gmail_attr\">On Mon, Alice wrote:<br></div>"
	                        "<blockquote>old</blockquote></div>"),
	          "Sure, thanks");
	CHECK_STR(html_reply_of("<p>Yes</p><blockquote type=\"cite\">On Jan 1 Alice wrote: old</blockquote>"), "Yes");
}

int
main(void)
{
	A = arena_new();
	RUN(styles);
	RUN(html_only);
	arena_free(&A);
	return test_summary("mime-reply");
}
