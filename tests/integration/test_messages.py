"""Issue #3 through the real SMTP listener: what a stored message says.
Attachments come back byte-exact (a 5 MB binary file), encoded-word
subjects in several charsets are decoded, and `messages show --json`
carries bodies, parts and the authentication results."""
import email.policy
import hashlib
import os
import random
from email.message import EmailMessage

from harness import PostroomCase


class TestMessageContent(PostroomCase):
    def send_bytes(self, data, sender="alice@firm.example", rcpt="a1234@firm.example"):
        with self.smtp() as s:
            s.ehlo("client.test.example")
            s.sendmail(sender, [rcpt], data)

    def only_message(self):
        msgs = self.pr.cli_json("messages", "list", "--project", "1234")["messages"]
        self.assertEqual(len(msgs), 1)
        return self.pr.cli_json("messages", "show", str(msgs[0]["id"])), msgs[0]["id"]

    def test_binary_attachment_round_trip_5mb(self):
        rnd = random.Random(1234)
        blob = bytes(rnd.getrandbits(8) for _ in range(5 * 1024 * 1024))
        msg = EmailMessage()
        msg["From"] = "alice@firm.example"
        msg["To"] = "a1234@firm.example"
        msg["Subject"] = "Survey data"
        msg["Message-ID"] = "<att-5mb@firm.example>"
        msg.set_content("The survey data is attached.\n")
        msg.add_attachment(blob, maintype="application", subtype="octet-stream", filename="survey.bin")
        self.send_bytes(msg.as_bytes(policy=email.policy.SMTP))
        shown, mid = self.only_message()
        parts = shown["parsed"]["parts"]
        att = [p for p in parts if p.get("filename") == "survey.bin"]
        self.assertEqual(len(att), 1, parts)
        self.assertEqual(att[0]["size"], len(blob))
        self.assertEqual(att[0]["sha256"], hashlib.sha256(blob).hexdigest())
        out = os.path.join(self.pr.dir, "out.bin")
        self.pr.cli("messages", "attachment", str(mid), str(att[0]["index"]), "-o", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), blob)
        bad = self.pr.cli("messages", "attachment", str(mid), "99", "-o", out, check=False)
        self.assertNotEqual(bad.returncode, 0)

    def test_encoded_word_subjects(self):
        cases = [
            ("=?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=", "Grüße aus München"),
            ("=?UTF-8?B?0J/RgNC40LLQtdGCLCDQvNC40YA=?=", "Привет, мир"),
            ("=?windows-1251?B?z/Do4uXy?=", "Привет"),
            ("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"),
            ("=?GB2312?B?xOO6ww==?=", "你好"),
        ]
        for i, (encoded, want) in enumerate(cases):
            data = (f"From: alice@firm.example\r\nTo: a1234@firm.example\r\nSubject: {encoded}\r\n"
                    f"Message-ID: <subj-{i}@firm.example>\r\n\r\nBody {i}\r\n").encode()
            self.send_bytes(data)
        msgs = self.pr.cli_json("messages", "list", "--project", "1234")["messages"]
        got = sorted(m["subject"] for m in msgs)
        self.assertEqual(got, sorted(w for _, w in cases))

    def test_show_json_has_bodies_and_auth(self):
        msg = EmailMessage()
        msg["From"] = "Alice Archer <alice@firm.example>"
        msg["To"] = "a1234@firm.example"
        msg["Subject"] = "Plans"
        msg.set_content("New text.\n\nOn Mon, 1 Jan 2026, Sam wrote:\n> old text\n")
        msg.add_alternative("<p>New text.</p>", subtype="html")
        self.send_bytes(msg.as_bytes(policy=email.policy.SMTP))
        shown, mid = self.only_message()
        parsed = shown["parsed"]
        self.assertIn("New text.", parsed["text_body"])
        self.assertIn("<p>New text.</p>", parsed["html_body"])
        self.assertNotIn("old text", parsed["reply_text"])
        self.assertIn("spf", shown["auth"])
        raw = self.pr.cli("messages", "show", str(mid), "--raw").stdout
        self.assertIn(b"Authentication-Results: mx.firm.example;", raw)
