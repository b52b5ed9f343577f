"""The web console's mail pages and "why" page in a real browser (issue 14).

Each test starts `serve` with its HTTP server, seeds mail through the real
SMTP listener, and runs one scenario in Debian's chromium
(tests/browser/scenarios/*.mjs; see browser.py); the scenario's JSON result
is checked here, and the store is asked (CLI) whether the click did what it
said.  Screenshots of every page: the directory each test prints.
"""
import hashlib
import http.server
import json
import os
import smtplib
import threading
import unittest
from email.message import EmailMessage

from browser import ConsoleCase
from harness import eventually
from relay import Capture


def mail(sender, to, subject, text="Hello.\n", html=None, attach=None, msgid=None):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    if msgid:
        m["Message-ID"] = msgid
    m.set_content(text)
    if html:
        m.add_alternative(html, subtype="html")
    for name, data in attach or ():
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return m


class CountingServer:
    """A loopback HTTP server that counts every request made to it: the
    'remote' host of a message's image and of what its script would fetch."""

    def __init__(self):
        self.paths = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                owner.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ConsoleMailTest(ConsoleCase):
    def send(self, *messages):
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            for m in messages:
                s.send_message(m)

    def stored(self, *filters):
        return self.pr.cli_json("messages", "list", *filters)["messages"]

    def one(self, subject, *filters):
        found = [m for m in self.stored(*filters) if m["subject"] == subject]
        self.assertEqual(len(found), 1, f"{subject!r} in {filters}: {found}")
        return found[0]

    def test_file_unassigned_into_project(self):
        self.send(mail("bob@firm.example", "nobody@firm.example", "Lost invoice"))
        msg = self.one("Lost invoice", "--unassigned")
        doc = self.scenario("file_unassigned", {"subject": "Lost invoice", "project": "1234"})["result"]
        self.assertEqual(doc["focused"].strip(), "File", "Tab from the project list must reach File")
        self.assertEqual(self.one("Lost invoice", "--project", "1234")["id"], msg["id"])
        self.assertEqual([m for m in self.stored("--unassigned") if m["id"] == msg["id"]], [])

    def test_attachment_download_is_byte_exact(self):
        data = os.urandom(70000) + b"\x00\r\n\x00end"
        self.send(mail("alice@firm.example", "a1234@firm.example", "Drawings", attach=[("plan.bin", data)]))
        doc = self.scenario("attachment", {"project": "1234", "subject": "Drawings",
                                           "filename": "plan.bin"})["result"]
        self.assertEqual(doc["suggested"], "plan.bin")
        with open(doc["file"], "rb") as f:
            got = f.read()
        self.assertEqual(len(got), len(data))
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_why_finds_refused_message(self):
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                s.sendmail("eve@evil.example", ["a1234@firm.example"],
                           b"From: eve@evil.example\r\nTo: a1234@firm.example\r\nSubject: hi\r\n\r\nx\r\n")
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertTrue(eventually(lambda: self.pr.cli_json("why", "eve@evil.example")["attempts"], 10))
        doc = self.scenario("why_refused", {"address": "eve@evil.example"})["result"]
        text = doc["text"]
        self.assertIn("Refused", text)
        self.assertIn("eve@evil.example", text)
        self.assertIn("the sender is not a postroom user", text)
        self.assertIn("send from the address registered in postroom", text)   # the fix
        self.assertIn("550 5.7.1", text)
        self.assertIn("q=eve%40evil.example", doc["hash"])

    def test_html_script_and_remote_image_blocked(self):
        far = CountingServer()
        self.addCleanup(far.stop)
        base = f"http://127.0.0.1:{far.port}"
        html = (f"<html><head><title>t</title></head><body><p>Visible words of the letter</p>"
                f"<script>document.title='SCRIPT RAN';parent.postMessage('ran','*');"
                f"fetch('{base}/script-fetch');new Image().src='{base}/script-img';</script>"
                f"<img src=\"{base}/remote.png\" alt=\"remote\">"
                f"<img src=\"x\" onerror=\"fetch('{base}/onerror')\">"
                f"<div style=\"background:url({base}/bg.png)\">styled</div></body></html>")
        self.send(mail("alice@firm.example", "a1234@firm.example", "Newsletter", text="text part\n", html=html))
        msg = self.one("Newsletter", "--project", "1234")
        doc = self.scenario("html_safety", {"id": msg["id"], "visible": "Visible words of the letter"})["result"]
        self.assertEqual(far.paths, [], "the message's remote content was loaded, or its script ran")
        self.assertNotIn("SCRIPT RAN", doc["title"])
        self.assertEqual(doc["posted"], [], "the message's script ran")
        self.assertEqual(doc["sandbox"], "", "the frame must be sandboxed with no permissions")
        self.assertEqual(doc["src"], f"/api/v1/messages/{msg['id']}/html")

    def test_outbox_failure_and_retry(self):
        far = Capture(self.pr.dir, rcpt_reply=lambda a: "550 5.1.1 no such user here")
        self.addCleanup(far.stop)
        self.pr.cli("settings", "set", "smtp_server", f"127.0.0.1:{far.port}")
        self.pr.cli("settings", "set", "smtp_tls", "none")
        # Sent before serve's poll saw the relay, the first attempt would go
        # the built-in way (no DNS here: deferred for a minute).
        self.pr.wait_applied("smtp_server", "smtp_tls")
        self.pr.cli("send", "--project", "1234", "--as", "alice", "--to", "someone@far.example",
                    "--subject", "Quote for works", "--body-stdin", input=b"Our quote.\n")

        def failed():
            return [o for o in self.pr.cli_json("outbox", "--failed")["outbox"] if o["subject"] == "Quote for works"]
        self.assertTrue(eventually(failed, 30), "the far end's 550 did not fail the message")
        doc = self.scenario("outbox_retry", {"subject": "Quote for works"})["result"]
        self.assertIn("Failed", doc["before"])
        self.assertIn("no such user here", doc["before"])
        row = failed() or [o for o in self.pr.cli_json("outbox")["outbox"] if o["subject"] == "Quote for works"]
        self.assertTrue(eventually(lambda: self.pr.cli_json("outbox", "show", str(row[0]["id"]))["attempts"] >= 2, 30),
                        "Retry did not make the worker try again")

    def test_reply_from_project(self):
        self.send(mail("alice@firm.example", "a1234@firm.example", "Site visit", msgid="<visit@test.example>"))
        msg = self.one("Site visit", "--project", "1234")
        doc = self.scenario("compose_reply", {"id": msg["id"], "body": "See you on Monday."})["result"]
        self.assertEqual(doc["subject"], "Re: Site visit")
        self.assertEqual(doc["to"], "alice@firm.example")
        reply_id = int(doc["href"].rsplit("/", 1)[1])
        shown = self.pr.cli_json("messages", "show", str(reply_id))
        self.assertEqual(shown["parsed"]["in_reply_to"], "visit@test.example")
        self.assertIn("See you on Monday.", shown["parsed"]["text_body"])
        self.assertIn("project:1234", shown["placements"])

    def test_every_mail_page_accessible_with_screenshots(self):
        self.send(mail("alice@firm.example", "a1234@firm.example", "Drawings", html="<p>Plans attached</p>",
                       attach=[("plan.bin", b"\x00\x01")]),
                  mail("bob@firm.example", "nobody@firm.example", "Lost invoice"),
                  mail("alice@firm.example", "alice@firm.example", "Note to self"))
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            with self.assertRaises(smtplib.SMTPDataError):
                s.sendmail("eve@evil.example", ["a1234@firm.example"], b"From: eve@evil.example\r\n\r\nx\r\n")
        self.pr.cli("send", "--project", "1234", "--as", "alice", "--to", "someone@far.example",
                    "--subject", "Waiting to go", "--body-stdin", input=b"Queued.\n")
        msg = self.one("Drawings", "--project", "1234")
        pages = [
            {"name": "mailboxes", "hash": "#/mail", "expect": "Harbour consultation"},
            {"name": "project", "hash": "#/mail/project/1234", "expect": "Drawings"},
            {"name": "project-search", "hash": "#/mail/project/1234?q=Drawings", "expect": "Drawings"},
            {"name": "my-mailbox", "hash": "#/mail/user/alice", "expect": "Note to self"},
            {"name": "unassigned", "hash": "#/mail/unassigned", "expect": "Lost invoice"},
            {"name": "fallback", "hash": "#/mail/fallback", "expect": "No messages"},
            {"name": "message", "hash": f"#/mail/message/{msg['id']}", "expect": "plan.bin"},
            {"name": "compose", "hash": "#/mail/compose/1234", "expect": "Write from project 1234"},
            {"name": "reply", "hash": f"#/mail/compose/1234?reply={msg['id']}", "expect": "answering"},
            {"name": "outbox", "hash": "#/mail/outbox", "expect": "Waiting to go"},
            {"name": "why", "hash": "#/why?q=eve%40evil.example", "expect": "not a postroom user"},
        ]
        doc = self.scenario("mail_pages", {"pages": pages})
        shots = [p for p in doc["result"]["pages"]]
        self.assertEqual(len(shots), 2 * len(pages))
        for p in shots:
            self.assertTrue(os.path.getsize(p["shot"]) > 1000, p)


if __name__ == "__main__":
    unittest.main()
