"""Issue 14, the mail routes, through the real HTTP and SMTP listeners:
paging through 1,000 messages, full-text search (and hostile search text),
a message, its stored bytes and attachments byte-exact, its HTML made safe,
filing from Unassigned, and a project's threads."""
import email.policy
import hashlib
import random
import threading
import urllib.parse
from email.message import EmailMessage

from harness import PostroomCase, make_message

PROJECT = "a1234@firm.example"


class HttpMessages(PostroomCase):
    def setUp(self):
        super().setUp()
        self.admin = self.pr.token("admin")
        self.read = self.pr.token("read")

    def get(self, path, token=None, raw=False):
        return self.pr.http("GET", path, token=token or self.admin, raw=raw)

    def send(self, data, sender="alice@firm.example", rcpts=(PROJECT,)):
        with self.smtp() as s:
            s.ehlo("client.test.example")
            s.sendmail(sender, list(rcpts), data)

    def send_many(self, messages, sessions=8):
        """(sender, rcpts, bytes) in parallel SMTP sessions, several messages each."""
        chunks = [messages[i::sessions] for i in range(sessions)]
        errors = []

        def run(chunk):
            try:
                with self.smtp() as s:
                    s.ehlo("client.test.example")
                    for sender, rcpts, data in chunk:
                        s.sendmail(sender, rcpts, data)
            except Exception as e:  # reported below, with the others
                errors.append(e)
        threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])

    def page_all(self, query):
        """Every message of a listing, page by page of 100: (ids, pages)."""
        ids, before, pages = [], None, 0
        while pages < 100:
            path = "/api/v1/messages?" + query + "&limit=100" + (f"&before={before}" if before else "")
            status, _, doc = self.get(path)
            self.assertEqual(status, 200, doc)
            pages += 1
            ids += [m["id"] for m in doc["messages"]]
            before = doc["next"]
            if before is None:
                return ids, pages
        self.fail("paging did not end")

    def search(self, text, extra=""):
        status, _, doc = self.get("/api/v1/messages?q=" + urllib.parse.quote(text) + extra)
        self.assertEqual(status, 200, doc)
        return {m["subject"] for m in doc["messages"]}

    # ---- lists and search ----

    def test_paging_through_1000_messages_and_searching_them(self):
        msgs = [("alice@firm.example", [PROJECT],
                 make_message("alice@firm.example", PROJECT, subject=f"Report {i}",
                              body=f"Weekly figures number w{i} attached.\r\n",
                              msgid=f"<page-{i}@firm.example>")) for i in range(1000)]
        self.send_many(msgs)
        want = [m["id"] for m in self.pr.cli_json("messages", "list", "--project", "1234",
                                                   "--limit", "5000")["messages"]]
        self.assertEqual(len(want), 1000)
        ids, pages = self.page_all("project=1234")
        self.assertEqual(pages, 10)
        self.assertEqual(ids, want)                        # every id once, newest first, no gap
        self.assertEqual(ids, sorted(set(ids), reverse=True))
        # The same walk through the search index: a word every message has.
        found, pages = self.page_all("project=1234&q=figures")
        self.assertEqual(found, want)
        status, _, doc = self.get("/api/v1/messages?q=w617")
        self.assertEqual([m["subject"] for m in doc["messages"]], ["Report 617"])
        cli = self.pr.cli_json("messages", "list", "--search", "w617")
        self.assertEqual([m["id"] for m in cli["messages"]], [m["id"] for m in doc["messages"]])
        self.assertEqual(self.get("/api/v1/messages?limit=10001")[0], 400)
        self.assertEqual(self.get("/api/v1/messages?before=x")[0], 400)
        self.assertEqual(self.get("/api/v1/messages?mailbox=spam")[0], 400)
        self.assertEqual(self.get("/api/v1/messages?project=1234&mailbox=unassigned")[0], 400)

    def test_search_finds_subject_address_and_body_words_and_nothing_else(self):
        html_only = ("From: bob@firm.example\r\nTo: alice@firm.example\r\nSubject: Styled note\r\n"
                     "Message-ID: <html-only@firm.example>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/html; charset=utf-8\r\n\r\n"
                     "<html><body><p>The <b>xylophone</b> arrived.</p></body></html>\r\n").encode()
        self.send(make_message("alice@firm.example", PROJECT, subject="Harbour zebra plans",
                               body="Nothing special.\r\n"))
        self.send(make_message("alice@firm.example", PROJECT, subject="Misc",
                               body="The word kumquat appears here, by e-mail.\r\n"))
        self.send(make_message("bob@firm.example", "alice@firm.example", subject="For Carol",
                               body="See the Cc.\r\n", extra_headers=["Cc: carol@firm.example"]),
                  sender="bob@firm.example", rcpts=["alice@firm.example"])
        self.send(html_only, sender="bob@firm.example", rcpts=["alice@firm.example"])
        self.assertEqual(self.search("zebra"), {"Harbour zebra plans"})
        self.assertEqual(self.search("ZEBRA harbour"), {"Harbour zebra plans"})
        self.assertEqual(self.search("zeb*"), {"Harbour zebra plans"})
        self.assertEqual(self.search("kumquat"), {"Misc"})
        self.assertEqual(self.search("carol@firm.example"), {"For Carol"})
        self.assertEqual(self.search("xylophone"), {"Styled note"})
        self.assertEqual(self.search("zebra kumquat"), set())        # every word must match
        self.assertEqual(self.search("special", "&project=1234"), {"Harbour zebra plans"})
        self.assertEqual(self.search("special", "&user=alice"), set())
        self.assertEqual(self.search("kumquat", "&user=alice"), set())
        self.assertEqual(self.search("xylophone", "&user=alice"), {"Styled note"})
        self.assertEqual(self.search("bob@firm.example"), {"For Carol", "Styled note"})
        # A word that punctuation joins is found where it stands joined.
        self.assertEqual(self.search("e-mail"), {"Misc"})
        self.assertEqual(self.search("E-Mail kumquat"), {"Misc"})
        self.assertEqual(self.search("mail-e"), set())
        self.assertEqual(self.search("firm.example"), {"Harbour zebra plans", "Misc", "For Carol", "Styled note"})
        self.assertEqual(self.search("carol@firm.ex*"), {"For Carol"})

    def test_hostile_search_text_is_400_or_results_never_500(self):
        self.send(make_message("alice@firm.example", PROJECT, subject="Harbour zebra plans"))
        hostile = ['"', '""', '"zebra', 'zebra"', 'NEAR(', 'NEAR(zebra harbour, 2)', '*', '**',
                   'zebra OR kumquat', 'zebra AND', 'NOT zebra', '^zebra', 'subject:zebra',
                   '{subject}: zebra', '-zebra', '(((', ')', 'zebra*"', "'; DROP TABLE messages; --",
                   "x" * 5000, " ".join(["w"] * 40), "\u00e9t\u00e9 zebra", "\U0001F600"]
        for q in hostile:
            status, _, doc = self.get("/api/v1/messages?q=" + urllib.parse.quote(q))
            self.assertIn(status, (200, 400), (q, doc))
            if status == 400:
                self.assertEqual(doc["error"]["code"], "invalid", q)
        for escaped in ("%FF", "%C3%28", "%0Azebra", "%ED%A0%80", "zebra%00x"):
            status, _, doc = self.get("/api/v1/messages?q=" + escaped)
            self.assertEqual(status, 400, (escaped, doc))
        # Query syntax is only words: these find the message by "zebra" ...
        for q in ('"zebra', 'zebra"', "(zebra)", "-zebra", "^zebra", "harbour* zebra"):
            self.assertEqual(self.search(q), {"Harbour zebra plans"}, q)
        # ... and these are words it does not hold (OR, NEAR, a column name).
        for q in ("zebra OR kumquat", "NEAR(zebra harbour)", "subject:zebra", "zebra NOT harbour"):
            self.assertEqual(self.search(q), set(), q)
        status, _, doc = self.get("/api/v1/messages?q=" + urllib.parse.quote("* ( )"))
        self.assertEqual(status, 400)
        self.assertIn("no word", doc["error"]["message"])
        # the store is intact after all of it
        self.assertEqual(self.search("zebra"), {"Harbour zebra plans"})

    def test_a_text_shaped_like_a_term_list_is_indexed_as_text(self):
        # The intake worker hands the commit each message's terms as a list
        # (\x01, then "term\n" ...; SQLite's store).  A sender's text shaped
        # like one must be indexed as words all the same: were it taken for
        # a list, "Walrus" would be kept unfolded, and "walrus" not found.
        body = "\x01\x01Walrus\r\nnot a term\r\nOstrich\r\n"
        self.send(make_message("alice@firm.example", PROJECT, subject="\x01Penguin", body=body))
        self.send(make_message("alice@firm.example", PROJECT, subject="Plain", body="walrus ostrich\r\n"))
        found = self.search("walrus")
        self.assertEqual(len(found), 2, found)
        self.assertEqual(len(self.search("ostrich")), 2)
        self.assertEqual(len(self.search("ostrich term")), 1)
        self.assertEqual(len(self.search("penguin")), 1)

    def test_a_text_of_one_long_joined_word_is_indexed_and_found_by_its_pairs(self):
        # 117 KiB of "k1.k2.k3..." on 70-odd-byte lines: 18,000 words joined by dots (each
        # pair a term), the lines' ends are blanks.  The commit takes it (250), and a
        # search finds it by a pair, by a run of pairs and by a prefix, not by a
        # pair that is not in it.  (Words early in the text: PostgreSQL keeps no
        # position past 16,383, so it finds no phrase beyond.)
        words = [f"k{i}" for i in range(18000)]
        lines, line = [], ""
        for w in words:
            line = f"{line}.{w}" if line else w
            if len(line) > 70:
                lines.append(line)
                line = ""
        lines.append(line)
        body = "\r\n".join(lines) + "\r\n"
        self.assertGreater(len(body), 100_000)
        self.send(make_message("alice@firm.example", PROJECT, subject="Dotted", body=body))
        self.send(make_message("alice@firm.example", PROJECT, subject="Other", body="k5 zz k6\r\n"))
        self.assertEqual(self.search("k5.k6"), {"Dotted"})
        self.assertEqual(self.search("k100.k101.k102.k103"), {"Dotted"})
        self.assertEqual(self.search("k998.k99*"), {"Dotted"})
        self.assertEqual(self.search("k6.k5"), set())
        self.assertEqual(self.search("k5 k6"), {"Dotted", "Other"})

    # ---- one message, its bytes, its attachments ----

    def test_show_raw_and_attachments_byte_exact(self):
        all_bytes = bytes(range(256)) * 8
        big = random.Random(14).randbytes(5 * 1024 * 1024)
        msg = EmailMessage()
        msg["From"] = "alice@firm.example"
        msg["To"] = PROJECT
        msg["Subject"] = "Binary files"
        msg["Message-ID"] = "<att-http@firm.example>"
        msg.set_content("Two files.\n")
        msg.add_attachment(all_bytes, maintype="application", subtype="octet-stream",
                           filename="all-bytes.bin")
        msg.add_attachment(big, maintype="application", subtype="pdf", filename='evil"; x=.pdf')
        self.send(msg.as_bytes(policy=email.policy.SMTP))
        mid = self.pr.cli_json("messages", "list", "--project", "1234")["messages"][0]["id"]
        status, _, shown = self.get(f"/api/v1/messages/{mid}")
        self.assertEqual(status, 200)
        self.assertEqual(shown, self.pr.cli_json("messages", "show", str(mid)))
        parts = {p["filename"]: p["index"] for p in shown["parsed"]["parts"]}

        status, hdrs, body = self.get(f"/api/v1/messages/{mid}/attachments/{parts['all-bytes.bin']}")
        self.assertEqual(status, 200)
        self.assertEqual(body, all_bytes)
        self.assertEqual(hdrs["Content-Type"], "application/octet-stream")
        self.assertEqual(hdrs["Content-Disposition"], 'attachment; filename="all-bytes.bin"')
        evil = parts['evil"; x=.pdf']
        status, hdrs, body = self.get(f"/api/v1/messages/{mid}/attachments/{evil}", token=self.read)
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(big).hexdigest())
        self.assertEqual(hdrs["Content-Type"], "application/pdf")
        self.assertEqual(hdrs["Content-Disposition"], 'attachment; filename="evil x=.pdf"')

        status, hdrs, raw = self.get(f"/api/v1/messages/{mid}/raw")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["Content-Type"], "message/rfc822")
        self.assertEqual(raw, self.pr.cli("messages", "show", str(mid), "--raw").stdout)
        self.assertTrue(raw.endswith(msg.as_bytes(policy=email.policy.SMTP)))

        self.assertEqual(self.get(f"/api/v1/messages/{mid}/attachments/3")[0], 404)
        self.assertEqual(self.get(f"/api/v1/messages/{mid}/attachments/0")[0], 400)
        self.assertEqual(self.get(f"/api/v1/messages/{mid}/attachments/x")[0], 400)
        self.assertEqual(self.get("/api/v1/messages/999999")[0], 404)
        self.assertEqual(self.get("/api/v1/messages/999999/raw")[0], 404)
        self.assertEqual(self.get("/api/v1/messages/abc")[0], 400)
        self.assertEqual(self.pr.http("GET", f"/api/v1/messages/{mid}/raw")[0], 401)

    # ---- filing ----

    def test_move_from_unassigned_into_a_project(self):
        self.send(make_message("alice@firm.example", "nobody@firm.example", subject="Lost letter"),
                  rcpts=["nobody@firm.example"])
        status, _, doc = self.get("/api/v1/messages?mailbox=unassigned")
        self.assertEqual(status, 200)
        self.assertEqual([m["subject"] for m in doc["messages"]], ["Lost letter"])
        mid = doc["messages"][0]["id"]
        path = f"/api/v1/messages/{mid}/move"
        status, _, doc = self.pr.http("POST", path, {"project": "1234"}, token=self.read)
        self.assertEqual(status, 403)
        self.assertEqual(self.pr.http("POST", path, {}, token=self.admin)[0], 400)
        self.assertEqual(self.pr.http("POST", path, {"project": "9999"}, token=self.admin)[0], 404)
        status, _, doc = self.pr.http("POST", path, {"project": "1234"}, token=self.admin)
        self.assertEqual((status, doc), (200, {"id": mid, "project": "1234"}))
        self.assertEqual(self.get("/api/v1/messages?mailbox=unassigned")[2]["messages"], [])
        listed = self.get("/api/v1/messages?project=1234")[2]["messages"]
        self.assertEqual([(m["id"], m["placements"]) for m in listed], [(mid, ["project:1234"])])
        self.assertEqual(self.pr.http("POST", "/api/v1/messages/999999/move", {"project": "1234"},
                                      token=self.admin)[0], 404)

    # ---- HTML ----

    def test_html_is_served_without_script_handlers_or_remote_images(self):
        logo = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
        msg = EmailMessage()
        msg["From"] = "alice@firm.example"
        msg["To"] = PROJECT
        msg["Subject"] = "Newsletter"
        msg.set_content("Plain version.\n")
        msg.add_alternative(
            '<html><head><script>alert("head")</script><style>p{color:red}</style>'
            '<style>body{background:url(https://tracker.example/bg.png)}</style></head><body>'
            '<p style="color:blue" onclick="alert(1)">Kept text &amp; more</p>'
            '<img src="x.png" onerror="alert(2)" alt="broken">'
            '<a href="javascript:alert(3)">bad link</a> <a href="java&#x09;script:alert(4)">tab link</a>'
            '<a href="https://firm.example/doc">good link</a>'
            '<img src="https://tracker.example/pixel.gif" alt="pixel">'
            '<img src="cid:logo@firm.example" alt="logo">'
            '<iframe src="https://evil.example/"></iframe><form action="https://evil.example/">'
            '<input name="password"></form><svg onload="alert(5)"></svg>'
            '<object data="https://evil.example/x.swf"></object>'
            '<script>alert("body")</script></body></html>', subtype="html")
        msg.get_payload()[1].add_related(logo, maintype="image", subtype="png", cid="<logo@firm.example>")
        self.send(msg.as_bytes(policy=email.policy.SMTP))
        mid = self.pr.cli_json("messages", "list", "--project", "1234")["messages"][0]["id"]
        status, hdrs, html = self.get(f"/api/v1/messages/{mid}/html", raw=True)
        self.assertEqual(status, 200, html)
        self.assertEqual(hdrs["Content-Type"], "text/html; charset=utf-8")
        csp = hdrs["Content-Security-Policy"]
        for directive in ("sandbox", "default-src 'none'", "style-src 'unsafe-inline'", "img-src data: 'self'"):
            self.assertIn(directive, csp)
        self.assertNotIn("https:", csp)
        self.assertNotIn("script-src", csp)
        text = html.decode()
        low = text.lower()
        for banned in ("<script", "alert(", "onerror", "onclick", "onload", "javascript:", "script:",
                       "tracker.example", "evil.example", "<iframe", "<form", "<input", "<svg", "<object",
                       "url("):
            self.assertNotIn(banned, low)
        self.assertIn('<p style="color:blue">Kept text &amp; more</p>', text)
        self.assertIn("<style>p{color:red}</style>", text)
        self.assertIn('href="https://firm.example/doc"', text)
        logo_path = f"/api/v1/messages/{mid}/attachments/"
        self.assertIn(f'src="{logo_path}', text)
        n = text.split(f'src="{logo_path}')[1].split('"')[0]
        status, hdrs, body = self.get(logo_path + n)
        self.assertEqual((status, hdrs["Content-Type"], body), (200, "image/png", logo))

        status, hdrs, html = self.get(f"/api/v1/messages/{mid}/html?remote_images=1", raw=True)
        self.assertEqual(status, 200)
        self.assertIn("img-src data: 'self' https:", hdrs["Content-Security-Policy"])
        self.assertIn(b'src="https://tracker.example/pixel.gif"', html)
        self.assertNotIn(b"<script", html)

        self.send(make_message("alice@firm.example", PROJECT, subject="Just text"))
        plain = self.pr.cli_json("messages", "list", "--project", "1234")["messages"][0]["id"]
        status, _, doc = self.get(f"/api/v1/messages/{plain}/html")
        self.assertEqual(status, 404)
        self.assertIn("no HTML part", doc["error"]["message"])

    def test_html_nested_deep_is_bounded(self):
        deep = "<div>" * 5000 + "deep text" + "</div>" * 5000
        data = ("From: alice@firm.example\r\nTo: a1234@firm.example\r\nSubject: Deep\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                f"<p>top</p>{deep}\r\n").encode()
        self.send(data)
        mid = self.pr.cli_json("messages", "list", "--project", "1234")["messages"][0]["id"]
        status, _, html = self.get(f"/api/v1/messages/{mid}/html", raw=True)
        self.assertEqual(status, 200)
        self.assertIn(b"<p>top", html)
        self.assertLessEqual(html.count(b"<div>"), 64)

    # ---- threads ----

    def test_project_threads_newest_activity_first(self):
        self.send(make_message("alice@firm.example", PROJECT, subject="First matter",
                               msgid="<t1@firm.example>"))
        self.send(make_message("alice@firm.example", PROJECT, subject="Second matter",
                               msgid="<t2@firm.example>", extra_headers=["Cc: sam@partner.example"]))
        self.send(make_message("alice@firm.example", PROJECT, subject="Re: First matter",
                               msgid="<t1r@firm.example>", extra_headers=["In-Reply-To: <t1@firm.example>"]))
        status, _, doc = self.get("/api/v1/projects/1234/threads", token=self.read)
        self.assertEqual(status, 200, doc)
        got = [(t["subject"], t["messages"]) for t in doc["threads"]]
        self.assertEqual(got, [("First matter", 2), ("Second matter", 1)])
        self.assertIsNone(doc["next"])
        second = doc["threads"][1]
        self.assertEqual(sorted(second["participants"]), ["a1234@firm.example", "alice@firm.example",
                                                          "sam@partner.example"])
        first = doc["threads"][0]
        listed = self.get("/api/v1/messages?project=1234")[2]["messages"]
        self.assertEqual(first["last_message"], listed[0]["id"])
        self.assertEqual(first["last_at"], listed[0]["received_at"])
        status, _, page = self.get("/api/v1/projects/1234/threads?limit=1")
        self.assertEqual([t["subject"] for t in page["threads"]], ["First matter"])
        status, _, page = self.get(f"/api/v1/projects/1234/threads?limit=1&before={page['next']}")
        self.assertEqual(([t["subject"] for t in page["threads"]], page["next"]), (["Second matter"], None))
        self.assertEqual(self.get("/api/v1/projects/nope/threads")[0], 404)
