"""`postroom send` to the far end through the queue, serve's delivery
worker and a real relay (issue 13): Postfix submission with STARTTLS and
Dovecot SASL, relaying to a capture server (relay.py).  The bytes that
arrive are the bytes stored; a 5xx fails the message with the answer,
shown in the outbox and in its thread; a relay that is down keeps the
message queued, and once it is up the message arrives once; a login the
relay refuses is shown in the outbox with the relay's words; kill -9 in
the middle of a queue flush delivers each message exactly once.
"""
import email
import json
import os
import shutil
import tempfile
import unittest

from harness import Postroom, eventually
from relay import RELAY_PASSWORD, Capture, RelayFixture, strip_received, wait_until

PASSWORD = RELAY_PASSWORD


class OutboundE2E(RelayFixture):
    refuse = ("nobody@far.example",)

    def setUp(self):
        self.far.messages.clear()
        self.pr = Postroom(config=self.relay.settings("sender", PASSWORD))
        self.addCleanup(self.pr.cleanup)
        self.pr.seed_basic()
        self.pr.start()

    def send(self, *to, attach=None):
        body = os.path.join(self.pr.dir, "body.txt")
        with open(body, "w") as f:
            f.write("Dear all,\n.a line with a leading dot\nthe report is attached.\n")
        args = ["send", "--project", "1234", "--as", "alice", "--subject", "Report", "--body-file",
                body, "--json", "--to"] + list(to)
        if attach:
            path = os.path.join(self.pr.dir, "report.bin")
            with open(path, "wb") as f:
                f.write(attach)
            args += ["--attach", path]
        self.pr.give_to_user()
        return json.loads(self.pr.cli(*args).stdout)

    def outbox(self, oid):
        return self.pr.cli_json("outbox", "show", str(oid))

    def wait_state(self, oid, states, timeout=60):
        return wait_until(lambda: (lambda o: o if o["state"] in states else None)(self.outbox(oid)),
                          timeout, f"outbound {oid} in {states}")

    def wait_deferred(self, oid):
        """The first attempt recorded, and the message queued again."""
        return wait_until(lambda: (lambda x: x if x["attempts"] >= 1 and x["state"] == "queued"
                                   and x["last_reply"] else None)(self.outbox(oid)),
                          30, f"outbound {oid} deferred")

    def test_sent_bytes_arrive_exactly_once(self):
        sent = self.send("someone@far.example", attach=bytes(range(256)) * 64)
        o = self.wait_state(sent["outbound_id"], ("sent",))
        self.assertIn("250", o["last_reply"])
        got = self.far.wait(1)
        self.assertEqual(len(got), 1)
        raw = self.pr.cli("messages", "show", sent["id"], "--raw").stdout
        self.assertEqual(strip_received(got[0]["data"]), raw)
        self.assertEqual(got[0]["mail_from"], sent["sender"])
        self.assertEqual(got[0]["rcpts"], ["someone@far.example"])

    def test_5xx_fails_with_the_answer_in_outbox_and_thread(self):
        sent = self.send("nobody@far.example")
        o = self.wait_state(sent["outbound_id"], ("failed",))
        self.assertIn("550 5.1.1 <nobody@far.example>", o["recipients"][0]["reply"])
        self.assertIn("550 5.1.1", o["last_reply"])
        failed = self.pr.cli_json("outbox", "--failed")["outbox"]
        self.assertEqual([x["id"] for x in failed], [sent["outbound_id"]])
        shown = self.pr.cli("messages", "show", sent["id"]).stdout.decode()
        self.assertIn("Sent by us: failed", shown)
        thread = self.pr.cli_json("messages", "show", str(sent["id"]))
        self.assertIn("550 5.1.1", thread["outbound"]["recipients"][0]["reply"])
        self.assertEqual(self.far.messages, [])

    def test_relay_down_then_up_delivered_once(self):
        self.relay.stop_postfix()
        try:
            sent = self.send("someone@far.example")
            oid = sent["outbound_id"]
            o = self.wait_deferred(oid)
            self.assertIn("refused", o["last_reply"])
        finally:
            self.relay.start()
        self.pr.cli("outbox", "retry", oid)
        self.wait_state(oid, ("sent",))
        self.assertEqual(len(self.far.wait(1)), 1)
        self.assertEqual(self.outbox(oid)["state"], "sent")
        # Nothing more arrives: the relay's queue is empty once it delivered.
        self.assertTrue(eventually(lambda: "status=sent" in self.relay.log(), 20))
        self.assertEqual(len(self.far.messages), 1)

    def test_login_refused_is_shown_in_the_outbox(self):
        self.pr.stop()
        self.pr.config["smtp_password"] = "wrong"
        self.pr.start()
        sent = self.send("someone@far.example")
        oid = sent["outbound_id"]
        o = self.wait_deferred(oid)
        self.assertIn("535 5.7.8", o["last_reply"])
        self.assertNotIn("wrong", self.pr.log_text())


class TestKillDuringFlush(unittest.TestCase):
    """kill -9 of serve while the worker waits for the far end's answer to
    a message in the middle of a flush: after a restart every message
    arrives exactly once (those recorded as sent are never sent again; the
    one in flight, never acknowledged, is sent again once its lease runs
    out)."""

    def test_each_message_delivered_exactly_once(self):
        work = tempfile.mkdtemp(prefix="postroom-kill-")
        self.addCleanup(shutil.rmtree, work, True)
        far = Capture(work, hold_nth=4)
        self.addCleanup(far.stop)
        pr = Postroom(config={"smtp_server": f"127.0.0.1:{far.port}", "smtp_tls": "none",
                              "outbound_lease_seconds": "5"})
        self.addCleanup(pr.cleanup)
        pr.seed_basic()
        body = os.path.join(pr.dir, "body.txt")
        with open(body, "w") as f:
            f.write("queued before serve starts\n")
        pr.give_to_user()
        ids = []
        for i in range(10):
            ids.append(json.loads(pr.cli("send", "--project", "1234", "--as", "alice", "--to",
                                         "someone@far.example", "--subject", f"flush {i}",
                                         "--body-file", body, "--json").stdout)["message_id"])
        pr.start()
        self.assertTrue(far.holding.wait(60), "the 4th message never reached the far end")
        pr.kill9()
        pr.start()
        states = lambda: [o["state"] for o in pr.cli_json("outbox", "--limit", "100")["outbox"]]
        wait_until(lambda: states() == ["sent"] * 10, 60, "every message sent")
        seen = [email.message_from_bytes(m["data"])["Message-ID"].strip().strip("<>")
                for m in far.messages]
        self.assertEqual(sorted(seen), sorted(ids))     # each once, none twice
