"""Issue #11 through the real SMTP listener: every message of
tests/mime-corpus (Outlook's padded base64 words, a malformed recipient,
invalid Content-Types, a damaged winmail.dat that made libytnef print on
stdout, duplicated fields, truncated base64...) is sent, and `messages
show --json` must be JSON (nothing else on stdout) and carry the expected
fields of NN-what.expect.json.  The From line is replaced by a known user's
(the sender rules are not what is tested here), so From expectations are
left to the unit test (test-mime-cases.c)."""
import json
import os
import re

from harness import PostroomCase

CORPUS = os.path.join(os.path.dirname(__file__), "..", "mime-corpus")


def subset(want, got, where=""):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return where
        for k, v in want.items():
            bad = subset(v, got.get(k), where + "." + k)
            if bad is not None:
                return bad
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return where
        for i, (w, g) in enumerate(zip(want, got)):
            bad = subset(w, g, "%s[%d]" % (where, i))
            if bad is not None:
                return bad
        return None
    return None if want == got else where


class TestMimeCorpus(PostroomCase):
    def test_corpus_through_listener(self):
        names = sorted(n for n in os.listdir(CORPUS) if n.endswith(".eml"))
        self.assertGreaterEqual(len(names), 10)
        for i, name in enumerate(names):
            with open(os.path.join(CORPUS, name), "rb") as f:
                data = f.read()
            data = re.sub(rb"(?m)^From:.*\r\n(?:[ \t].*\r\n)*", b"From: alice@firm.example\r\n", data, count=1)
            data = re.sub(rb"(?mi)^Message-ID:.*\r\n", b"", data)
            data = b"Message-ID: <corpus-%d@firm.example>\r\n" % i + data
            with self.smtp() as s:
                s.ehlo("client.test.example")
                s.sendmail("alice@firm.example", ["a1234@firm.example"], data)
            msgs = self.pr.cli_json("messages", "list", "--project", "1234")["messages"]
            mid = [m["id"] for m in msgs if m.get("message_id") in ("corpus-%d@firm.example" % i,
                                                                    "<corpus-%d@firm.example>" % i)]
            self.assertEqual(len(mid), 1, (name, msgs))
            out = self.pr.cli("messages", "show", str(mid[0]), "--json").stdout
            shown = json.loads(out)          # nothing but JSON on stdout
            with open(os.path.join(CORPUS, name[:-4] + ".expect.json"), encoding="utf-8") as f:
                want = json.load(f)
            want.pop("from", None)
            self.assertIsNone(subset(want, shown["parsed"]), (name, shown["parsed"]))

    def test_why_shows_a_recipient_that_is_not_an_address(self):
        with open(os.path.join(CORPUS, "03-bad-recipient.eml"), "rb") as f:
            data = f.read()
        data = re.sub(rb"(?m)^From:.*\r\n", b"From: alice@firm.example\r\n", data, count=1)
        with self.smtp() as s:
            s.ehlo("client.test.example")
            s.sendmail("alice@firm.example", ["a1234@firm.example"], data)
        doc = self.pr.cli_json("why", "<bad-rcpt@example.com>")
        self.assertEqual(len(doc["attempts"]), 1, doc)
        self.assertEqual(doc["attempts"][0]["invalid_recipients"],
                         ["s..palmer@example.org", "<broken@@example.org>"])
        text = self.pr.cli("why", "<bad-rcpt@example.com>").stdout.decode()
        self.assertIn("not addresses", text)
        self.assertIn("s..palmer@example.org", text)
        shown = self.pr.cli_json("messages", "list", "--project", "1234")["messages"]
        self.assertEqual(len(shown), 1)
