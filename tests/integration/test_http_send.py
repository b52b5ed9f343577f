"""Sending and the outbound queue over the HTTP API (issue 14):
`POST /api/v1/send` from a project through a real loopback relay (Postfix
submission with STARTTLS and Dovecot SASL, relaying to a capture server:
relay.py), the message seen in `GET /api/v1/outbox` as sent and at the far
end byte for byte; a refused recipient fails the message and
`POST .../retry` queues it again; a deferred one is stopped by
`POST .../cancel`; every validation error is a 4xx with the error document.
"""
import base64
import email
import email.policy

from harness import Postroom, eventually
from relay import RELAY_PASSWORD, RelayFixture

BLOB = bytes(range(256)) * 64 + b"\r\n.\r\n..end"


class SendCase(RelayFixture):
    refuse = ("nobody@far.example",)
    defer = ("busy@far.example",)

    def setUp(self):
        self.far.messages.clear()
        self.pr = Postroom(config={**self.relay.settings("sender", RELAY_PASSWORD),
                                   "max_message_size": "256k"})
        self.addCleanup(self.pr.cleanup)
        self.pr.seed_basic()
        self.pr.start()
        self.admin = self.pr.token("admin")

    def api(self, method, path, body=None, token=None):
        status, _, doc = self.pr.http(method, path, body=body, token=token or self.admin)
        return status, doc

    def request(self, **over):
        doc = {"project": "1234", "user": "alice", "to": ["someone@far.example"],
               "subject": "Harbour plans", "text": "Hello,\nthe plans are attached.\n"}
        doc.update(over)
        return doc

    def send(self, **over):
        status, doc = self.api("POST", "/api/v1/send", self.request(**over))
        self.assertEqual(status, 201, doc)
        return doc

    def wait_state(self, oid, state, timeout=60):
        def now():
            st, doc = self.api("GET", f"/api/v1/outbox/{oid}")
            self.assertEqual(st, 200, doc)
            return doc if doc["state"] == state else None
        doc = eventually(now, timeout)
        self.assertTrue(doc, f"outbound {oid} never became {state}: {self.api('GET', f'/api/v1/outbox/{oid}')}")
        return doc

    def error(self, status, doc, code):
        self.assertEqual((status, doc["error"]["code"]), code, doc)
        self.assertTrue(doc["error"]["message"])


class TestSend(SendCase):
    def test_sent_through_the_relay_and_seen_in_the_outbox(self):
        att = {"filename": "plans.bin", "content_type": "application/octet-stream",
               "data": base64.b64encode(BLOB).decode()}
        doc = self.send(html="<p>Hello, the <b>plans</b>.</p>", cc="carl@far.example", attachments=[att])
        self.assertEqual((doc["queued"], doc["internal"]), (2, 0))
        self.assertEqual(doc["sender"], "a1234@firm.example")
        sent = self.wait_state(doc["outbound_id"], "sent")
        self.assertEqual(sent["message"], doc["id"])
        self.assertEqual(sent["sent_by"], "alice")
        self.assertEqual(sorted((r["address"], r["state"]) for r in sent["recipients"]),
                         [("carl@far.example", "sent"), ("someone@far.example", "sent")])
        self.assertIn("250", sent["last_reply"])
        # the outbox lists it, newest first, as the CLI does
        st, box = self.api("GET", "/api/v1/outbox")
        self.assertEqual(st, 200, box)
        self.assertEqual([o["id"] for o in box["outbox"]], [doc["outbound_id"]])
        self.assertIsNone(box["next"])
        self.assertEqual(box, self.pr.cli_json("outbox"))
        # the far end got it through Postfix, attachment byte for byte
        got = self.far.wait(1)[0]
        self.assertEqual(sorted(got["rcpts"]), ["carl@far.example", "someone@far.example"])
        msg = email.message_from_bytes(got["data"], policy=email.policy.default)
        self.assertEqual(msg["Subject"], "Harbour plans")
        parts = [p for p in msg.iter_attachments()]
        self.assertEqual([(p.get_filename(), p.get_content()) for p in parts], [("plans.bin", BLOB)])
        self.assertIn("<b>plans</b>", msg.get_body(("html",)).get_content())

    def test_read_token_and_no_token_are_refused(self):
        read = self.pr.token("read")
        st, doc = self.api("POST", "/api/v1/send", self.request(), token=read)
        self.error(st, doc, (403, "forbidden"))
        status, _, doc = self.pr.http("POST", "/api/v1/send", body=self.request())
        self.assertEqual(status, 401, doc)
        self.assertEqual(self.pr.cli_json("outbox")["outbox"], [])

    def test_validation_errors(self):
        cases = [
            (self.request(subject=None), (400, "invalid")),
            (self.request(attachements=[]), (400, "invalid")),           # misspelt: never sent without files
            (self.request(to=[]), (400, "invalid")),
            (self.request(to=["not an address"]), (400, "invalid")),
            (self.request(to=[7]), (400, "invalid")),
            (self.request(user=None), (400, "invalid")),                  # a token names the member
            (self.request(text=5), (400, "invalid")),
            (self.request(reply_to_message=-1), (400, "invalid")),
            (self.request(attachments=[{"filename": "x.bin", "data": "!!not base64!!"}]), (400, "invalid")),
            (self.request(attachments=["x"]), (400, "invalid")),
            (self.request(attachments=[{"data": "aGVsbG8="}]), (400, "invalid")),
            (self.request(project="9999"), (404, "not_found")),
            (self.request(user="nobody"), (404, "not_found")),
            (self.request(user="bob"), (403, "not_a_member")),             # bob is not in project 1234
        ]
        for body, want in cases:
            with self.subTest(body=body):
                st, doc = self.api("POST", "/api/v1/send", body)
                self.error(st, doc, want)
        # not JSON, and a JSON array
        status, _, doc = self.pr.http("POST", "/api/v1/send", body=b"{not json", token=self.admin)
        self.error(status, doc, (400, "invalid"))
        st, doc = self.api("POST", "/api/v1/send", [self.request()])
        self.error(st, doc, (400, "invalid"))
        self.assertEqual(self.pr.cli_json("outbox")["outbox"], [])

    def test_size_limit_is_max_message_size(self):
        big = base64.b64encode(b"x" * 300 * 1024).decode()                # max_message_size = 256k
        st, doc = self.api("POST", "/api/v1/send",
                           self.request(attachments=[{"filename": "big.bin", "data": big}]))
        self.error(st, doc, (413, "too_large"))
        self.assertIn("max_message_size", doc["error"]["message"])
        st, doc = self.api("POST", "/api/v1/send", self.request(text="y" * 300 * 1024))
        self.error(st, doc, (413, "too_large"))
        # just under: accepted
        ok = base64.b64encode(b"z" * 200 * 1024).decode()
        self.send(attachments=[{"filename": "ok.bin", "data": ok}])


class TestOutbox(SendCase):
    def test_refused_recipient_fails_then_retry_queues_it_again(self):
        doc = self.send(to=["nobody@far.example"])
        oid = doc["outbound_id"]
        failed = self.wait_state(oid, "failed")
        self.assertIn("550", failed["last_reply"])
        st, box = self.api("GET", "/api/v1/outbox?failed=1")
        self.assertEqual([o["id"] for o in box["outbox"]], [oid])
        before = failed["attempts"]
        st, again = self.api("POST", f"/api/v1/outbox/{oid}/retry")
        self.assertEqual(st, 200, again)
        self.assertEqual(again["id"], oid)
        self.assertIn(again["state"], ("queued", "sending", "failed"))
        # tried once more, and refused once more
        done = eventually(lambda: (lambda d: d if d["attempts"] > before and d["state"] == "failed" else None)(
            self.api("GET", f"/api/v1/outbox/{oid}")[1]), 60)
        self.assertTrue(done, self.api("GET", f"/api/v1/outbox/{oid}"))

    def test_deferred_message_is_cancelled(self):
        doc = self.send(to=["busy@far.example"])
        oid = doc["outbound_id"]
        waiting = eventually(lambda: (lambda d: d if d["attempts"] >= 1 and d["state"] == "queued" else None)(
            self.api("GET", f"/api/v1/outbox/{oid}")[1]), 60)
        self.assertTrue(waiting, self.api("GET", f"/api/v1/outbox/{oid}"))
        self.assertIn("450", waiting["last_reply"])
        st, gone = self.api("POST", f"/api/v1/outbox/{oid}/cancel")
        self.assertEqual((st, gone["state"]), (200, "cancelled"), gone)
        self.assertEqual(self.pr.cli_json("outbox", "show", oid)["state"], "cancelled")
        # cancelling twice is refused with the reason; a read token may not cancel
        st, doc = self.api("POST", f"/api/v1/outbox/{oid}/cancel")
        self.error(st, doc, (400, "invalid"))
        st, doc = self.api("POST", f"/api/v1/outbox/{oid}/retry", token=self.pr.token("read"))
        self.error(st, doc, (403, "forbidden"))

    def test_unknown_and_malformed_ids(self):
        for path, want in (("/api/v1/outbox/999", (404, "not_found")), ("/api/v1/outbox/abc", (400, "invalid")),
                           ("/api/v1/outbox/0", (400, "invalid")),
                           ("/api/v1/outbox?limit=0", (400, "invalid")),
                           ("/api/v1/outbox?failed=2", (400, "invalid")),
                           ("/api/v1/outbox?before=x", (400, "invalid"))):
            with self.subTest(path=path):
                st, doc = self.api("GET", path)
                self.error(st, doc, want)
        st, doc = self.api("POST", "/api/v1/outbox/999/retry")
        self.error(st, doc, (404, "not_found"))

    def test_paging(self):
        ids = [self.send(subject=f"page {i}")["outbound_id"] for i in range(5)]
        seen, before = [], None
        for _ in range(10):
            st, page = self.api("GET", "/api/v1/outbox?limit=2" + (f"&before={before}" if before else ""))
            self.assertEqual(st, 200, page)
            self.assertLessEqual(len(page["outbox"]), 2)
            seen += [o["id"] for o in page["outbox"]]
            before = page["next"]
            if before is None:
                break
        self.assertEqual(seen, sorted(ids, reverse=True))


if __name__ == "__main__":
    import unittest
    unittest.main()
