""""Why didn't my email come through?" over the HTTP API (issue 14):
a message refused by the real SMTP listener is found with `GET /api/v1/why`
by its sender, its recipient, its Message-ID and its log id, and with
`GET /api/v1/log` by sender, recipient, verdict and time range; each
attempt carries its verdict, the reason in plain words, the SMTP reply
and the fix.  The documents are the CLI's --json ones.
"""
import datetime
import smtplib
import urllib.parse

from harness import PostroomCase, eventually, make_message

STRANGER = "stranger@nowhere.example"
NEEDLE = "<needle.4711@nowhere.example>"


class WhyCase(PostroomCase):
    def setUp(self):
        super().setUp()
        self.token = self.pr.token("read")
        # one accepted message from a member, then the refused one
        with self.smtp() as s:
            s.sendmail("alice@firm.example", ["a1234@firm.example"],
                       make_message("alice@firm.example", "a1234@firm.example", "Minutes"))
            with self.assertRaises(smtplib.SMTPDataError) as cm:
                s.sendmail(STRANGER, ["a1234@firm.example"],
                           make_message(STRANGER, "a1234@firm.example", "Offer", msgid=NEEDLE))
            self.assertEqual(cm.exception.smtp_code, 550)
        self.assertTrue(eventually(lambda: len(self.pr.cli_json("log")["log"]) == 2, 10))

    def get(self, path, **query):
        q = urllib.parse.urlencode(query)
        status, _, doc = self.pr.http("GET", path + ("?" + q if q else ""), token=self.token)
        return status, doc

    def ok(self, path, **query):
        status, doc = self.get(path, **query)
        self.assertEqual(status, 200, doc)
        return doc

    def refused(self, attempts):
        got = [a for a in attempts if a["verdict"] == "rejected"]
        self.assertEqual(len(got), 1, attempts)
        return got[0]


class TestWhy(WhyCase):
    def check_attempt(self, a):
        self.assertEqual(a["verdict"], "rejected")
        self.assertEqual(a["mail_from"], STRANGER)
        self.assertEqual(a["rcpts"], ["a1234@firm.example"])
        self.assertEqual(a["message_id_hdr"], NEEDLE.strip("<>"))
        self.assertEqual(a["smtp"], 550)
        self.assertTrue(a["reason"] and a["summary"] and a["detail"] and a["fix"], a)
        self.assertIsNone(a["filed_in"])

    def test_found_by_sender_recipient_message_id_and_log_id(self):
        by_sender = self.ok("/api/v1/why", q=STRANGER)
        self.assertEqual(len(by_sender["attempts"]), 1)
        a = by_sender["attempts"][0]
        self.check_attempt(a)
        # the same document the CLI prints
        self.assertEqual(by_sender, self.pr.cli_json("why", STRANGER))
        by_rcpt = self.ok("/api/v1/why", q="A1234@firm.example")    # any case
        self.assertEqual(len(by_rcpt["attempts"]), 2)
        self.check_attempt(self.refused(by_rcpt["attempts"]))
        for q in (NEEDLE, NEEDLE.strip("<>"), str(a["id"])):
            with self.subTest(q=q):
                doc = self.ok("/api/v1/why", q=q)
                self.assertEqual([x["id"] for x in doc["attempts"]], [a["id"]])
        self.assertEqual(self.ok("/api/v1/why", q="nobody@nowhere.example")["attempts"], [])

    def test_log_filters(self):
        log = self.ok("/api/v1/log")["log"]
        self.assertEqual(len(log), 2)
        a = self.refused(log)
        self.assertEqual([x["id"] for x in self.ok("/api/v1/log", sender=STRANGER)["log"]], [a["id"]])
        self.assertEqual([x["id"] for x in self.ok("/api/v1/log", recipient="a1234@firm.example",
                                                   verdict="rejected")["log"]], [a["id"]])
        self.assertEqual(self.ok("/api/v1/log", recipient=STRANGER)["log"], [])   # a sender, not a recipient
        self.assertEqual(len(self.ok("/api/v1/log", verdict="accepted")["log"]), 1)
        self.assertEqual(len(self.ok("/api/v1/log", project="1234")["log"]), 2)

    def test_log_by_time_range(self):
        a = self.refused(self.ok("/api/v1/log")["log"])
        at = datetime.datetime.strptime(a["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")   # noqa: E731
        one = datetime.timedelta(seconds=1)
        hour = datetime.timedelta(hours=1)
        inside = self.ok("/api/v1/log", since=iso(at), until=iso(at + one), verdict="rejected")["log"]
        self.assertEqual([x["id"] for x in inside], [a["id"]])
        self.assertEqual(self.ok("/api/v1/log", until=iso(at - hour))["log"], [])
        self.assertEqual(self.ok("/api/v1/log", since=iso(at + hour))["log"], [])
        self.assertEqual(len(self.ok("/api/v1/log", since="1h")["log"]), 2)     # an age
        self.assertEqual(len(self.ok("/api/v1/log", since=str(int(at.timestamp()) - 5))["log"]), 2)

    def test_paging(self):
        first = self.ok("/api/v1/log", limit=1)
        self.assertEqual(len(first["log"]), 1)
        self.assertIsNotNone(first["next"])
        second = self.ok("/api/v1/log", limit=1, before=first["next"])
        self.assertEqual(len(second["log"]), 1)
        self.assertIsNone(second["next"])
        self.assertLess(second["log"][0]["id"], first["log"][0]["id"])
        w = self.ok("/api/v1/why", q="a1234@firm.example", limit=1)
        self.assertEqual(len(w["attempts"]), 1)
        self.assertIsNotNone(w["next"])

    def test_validation_errors(self):
        for path, query in (("/api/v1/log", {"verdict": "maybe"}), ("/api/v1/log", {"since": "yesterday-ish"}),
                            ("/api/v1/log", {"until": "x"}), ("/api/v1/log", {"limit": "0"}),
                            ("/api/v1/log", {"limit": "10001"}), ("/api/v1/log", {"before": "abc"}),
                            ("/api/v1/why", {}), ("/api/v1/why", {"q": ""}),
                            ("/api/v1/why", {"q": "x" * 2000}), ("/api/v1/why", {"q": STRANGER, "limit": "-1"})):
            with self.subTest(path=path, query=query):
                status, doc = self.get(path, **query)
                self.assertEqual((status, doc["error"]["code"]), (400, "invalid"), doc)
                self.assertTrue(doc["error"]["message"])

    def test_needs_a_token(self):
        for path in ("/api/v1/log", "/api/v1/why?q=" + STRANGER, "/api/v1/reasons"):
            status, _, doc = self.pr.http("GET", path)
            self.assertEqual(status, 401, doc)

    def test_reasons(self):
        doc = self.ok("/api/v1/reasons")
        self.assertEqual(doc, self.pr.cli_json("why", "--reasons"))
        codes = {r["code"] for r in doc["reasons"]}
        self.assertTrue({"unknown_sender", "spf_fail", "not_a_member"} <= codes)


if __name__ == "__main__":
    import unittest
    unittest.main()
