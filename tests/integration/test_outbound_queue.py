"""`postroom send` and the outbound queue (issue 13), end to end: the
message is stored in the project's thread and queued; serve's delivery
thread hands it to a second postroom (its real SMTP listener on loopback)
as the far end; recipients at our own domains are placed without SMTP;
a 5xx fails the message with the far end's answer; a far end that is down
defers it and `outbox retry` delivers it once when it is back; a
stakeholder's answer threads back into the project by In-Reply-To even
when a relay rewrote From and Reply-To.
"""
import json
import os

from harness import Postroom, PostroomCase, eventually, make_message


def far_end():
    """A second postroom serving client.example: carl exists, anything
    else there is refused with 550 5.1.1; mail from strangers is filed
    (not refused) so our messages are accepted."""
    far = Postroom(config={"unknown_recipient": "reject", "unknown_sender": "unassigned",
                           "hostname": "mx.client.example"})
    far.cli("domain", "add", "client.example")
    far.cli("user", "add", "carl", "--email", "carl@client.example")
    return far


class OutboundCase(PostroomCase):
    start = False

    def setUp(self):
        self.far = far_end()
        self.addCleanup(self.far.cleanup)
        self.config = {"smtp_server": f"127.0.0.1:{self.far.smtp_port}", "smtp_tls": "none"}
        super().setUp()

    def write(self, name, data):
        path = os.path.join(self.pr.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        self.pr.give_to_user()
        return path

    def send(self, *args, body=b"Hello Carl,\r\nthe plans are attached.\r\n"):
        p = self.pr.cli("send", "--project", "1234", "--as", "alice", "--subject", "Harbour plans",
                        "--body-file", self.write("body.txt", body), "--json", *args)
        return json.loads(p.stdout)

    def outbox(self, oid):
        return self.pr.cli_json("outbox", "show", oid)

    def wait_state(self, oid, state, timeout=30):
        doc = eventually(lambda: (lambda d: d if d["state"] == state else None)(self.outbox(oid)), timeout)
        self.assertTrue(doc, f"outbound {oid} never became {state}: {self.outbox(oid)}")
        return doc

    def raw(self, pr, mid):
        return pr.cli("messages", "show", mid, "--raw").stdout


class TestSendAndDeliver(OutboundCase):
    def test_attachments_stored_in_thread_and_delivered_byte_exact(self):
        blob = bytes(range(256)) * 300
        doc = self.send("--to", "carl@client.example", "bob@firm.example",
                        "--attach", self.write("plans.bin", blob), self.write("notes.txt", b"dock 4\n"))
        self.assertEqual((doc["queued"], doc["internal"]), (1, 1))
        mid, oid = doc["id"], doc["outbound_id"]
        # stored in the project's thread before it leaves, and bob has it already
        shown = self.pr.cli_json("messages", "show", mid)
        self.assertEqual(shown["placements"], ["project:1234", "user:bob"])
        self.assertEqual(shown["outbound"]["state"], "queued")
        self.assertEqual([p["filename"] for p in shown["parsed"]["parts"]], ["plans.bin", "notes.txt"])
        out = os.path.join(self.pr.dir, "a1.bin")
        self.pr.cli("messages", "attachment", mid, "1", "-o", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), blob)
        listed = self.pr.cli_json("outbox")["outbox"]
        self.assertEqual([o["id"] for o in listed], [oid])
        # now the delivery thread hands it to the far end
        self.far.start()
        self.pr.start()
        done = self.wait_state(oid, "sent")
        self.assertEqual(done["attempts"], 1)
        self.assertIn(f"127.0.0.1:{self.far.smtp_port}: 250 ", done["last_reply"])
        self.assertEqual([(r["address"], r["state"]) for r in done["recipients"]],
                         [("carl@client.example", "sent"), ("bob@firm.example", "internal")])
        got = self.far.cli_json("messages", "list")["messages"]
        self.assertEqual(len(got), 1)
        far_msg = self.far.cli_json("messages", "show", got[0]["id"])
        self.assertEqual(far_msg["rcpts"], ["carl@client.example"])     # bob never went by SMTP
        self.assertEqual(far_msg["mail_from"], "a1234@firm.example")
        # the far end stored exactly our bytes (after its own trace headers)
        self.assertTrue(self.raw(self.far, got[0]["id"]).endswith(self.raw(self.pr, mid)))
        self.assertIn(b"From: Alice Archer <a1234@firm.example>", self.raw(self.pr, mid))

    def test_permanent_failure_visible_in_thread_and_outbox(self):
        self.far.start()
        self.pr.start()
        doc = self.send("--to", "carl@client.example", "--cc", "nobody@client.example")
        oid = doc["outbound_id"]
        failed = self.wait_state(oid, "failed")
        by = {r["address"]: r for r in failed["recipients"]}
        self.assertEqual(by["carl@client.example"]["state"], "sent")
        self.assertEqual(by["nobody@client.example"]["state"], "failed")
        self.assertIn("550", by["nobody@client.example"]["reply"])
        self.assertEqual([o["id"] for o in self.pr.cli_json("outbox", "--failed")["outbox"]], [oid])
        text = self.pr.cli("messages", "show", doc["id"]).stdout.decode()
        self.assertIn("Sent by us: failed", text)

    def test_far_end_down_then_up_delivered_once(self):
        self.pr.start()
        doc = self.send("--to", "carl@client.example")
        oid = doc["outbound_id"]
        waiting = eventually(lambda: (lambda d: d if d["attempts"] >= 1 and d["state"] == "queued"
                                      else None)(self.outbox(oid)), 30)
        self.assertTrue(waiting, self.outbox(oid))
        self.assertTrue(waiting["last_reply"], waiting)
        self.assertIsNotNone(waiting["next_attempt_at"])
        self.far.start()
        self.pr.cli("outbox", "retry", oid)
        done = self.wait_state(oid, "sent")
        self.assertEqual(done["attempts"], 2)
        self.assertEqual(len(self.far.cli_json("messages", "list")["messages"]), 1)
        # sent is final: a retry is refused and nothing goes out again
        p = self.pr.cli("outbox", "retry", oid, check=False)
        self.assertEqual(p.returncode, 65, p.stderr)
        self.pr.stop()
        self.pr.start()
        self.pr.wait_log("postroom ready")
        self.assertEqual(len(self.far.cli_json("messages", "list")["messages"]), 1)

    def test_cancel_stops_delivery(self):
        doc = self.send("--to", "carl@client.example")
        self.pr.cli("outbox", "cancel", doc["outbound_id"])
        self.far.start()
        self.pr.start()
        self.assertEqual(self.outbox(doc["outbound_id"])["state"], "cancelled")
        self.assertFalse(eventually(lambda: self.far.cli_json("messages", "list")["messages"], 2))


class TestInternalAndThreading(PostroomCase):
    def send(self, *args):
        path = os.path.join(self.pr.dir, "body.txt")
        with open(path, "wb") as f:
            f.write(b"Hello,\r\nsee below.\r\n")
        self.pr.give_to_user()
        p = self.pr.cli("send", "--project", "1234", "--as", "alice", "--subject", "Harbour plans",
                        "--body-file", path, "--json", *args)
        return json.loads(p.stdout)

    def test_internal_recipients_placed_without_smtp(self):
        self.pr.cli("project", "add", "5678", "--name", "Quay")
        doc = self.send("--to", "bob@firm.example", "--cc", "a5678@firm.example", "--bcc", "team@firm.example")
        self.assertEqual((doc["queued"], doc["internal"]), (0, 3))
        shown = self.pr.cli_json("messages", "show", doc["id"])
        self.assertEqual(sorted(shown["placements"]),
                         ["project:1234", "project:5678", "user:alice", "user:bob"])
        self.assertEqual(shown["outbound"]["state"], "sent")
        self.assertEqual(shown["outbound"]["last_reply"], "delivered internally (no SMTP)")
        # no SMTP was spoken: nothing in the intake log, nothing to deliver
        self.assertEqual(self.pr.cli_json("log")["log"], [])
        self.assertNotIn("Bcc", self.pr.cli("messages", "show", doc["id"], "--raw").stdout.decode())

    def test_stakeholder_reply_threads_back_despite_rewritten_from(self):
        doc = self.send("--to", "carl@client.example")
        msgid = doc["message_id"]
        # The relay rewrote From and Reply-To to its own address, so carl
        # answers noreply@firm.example; only In-Reply-To leads home.
        reply = make_message("Carl <carl@client.example>", "noreply@firm.example",
                             subject="Re: Harbour plans", body="Agreed.\r\n",
                             extra_headers=[f"In-Reply-To: <{msgid}>", f"References: <{msgid}>"])
        with self.smtp() as s:
            s.sendmail("carl@client.example", ["noreply@firm.example"], reply)
        msgs = self.pr.cli_json("messages", "list", "--project", "1234")["messages"]
        self.assertEqual([m["subject"] for m in msgs], ["Re: Harbour plans", "Harbour plans"])
        answer = self.pr.cli_json("messages", "show", msgs[0]["id"])
        self.assertEqual(answer["thread_id"], self.pr.cli_json("messages", "show", doc["id"])["thread_id"])
        self.assertNotIn("outbound", answer)

    def test_reply_to_message_sets_threading_headers(self):
        first = self.send("--to", "carl@client.example")
        second = self.send("--to", "carl@client.example", "--reply-to-message", str(first["id"]))
        raw = self.pr.cli("messages", "show", second["id"], "--raw").stdout.decode()
        self.assertIn(f"In-Reply-To: <{first['message_id']}>", raw)
        self.assertIn(f"References: <{first['message_id']}>", raw)
        a = self.pr.cli_json("messages", "show", first["id"])
        b = self.pr.cli_json("messages", "show", second["id"])
        self.assertEqual(a["thread_id"], b["thread_id"])

    def test_refusals(self):
        cases = [
            (["--as", "bob", "--to", "x@client.example"], 77, "not a member"),
            (["--as", "alice", "--to", "not-an-address"], 65, "not an address"),
            (["--as", "alice", "--to", "x@client.example", "--attach", "/nonexistent/file"], 66, "cannot read"),
        ]
        path = os.path.join(self.pr.dir, "b.txt")
        with open(path, "wb") as f:
            f.write(b"hi\n")
        self.pr.give_to_user()
        for args, rc, text in cases:
            p = self.pr.cli("send", "--project", "1234", "--subject", "s", "--body-file", path, *args, check=False)
            self.assertEqual(p.returncode, rc, (args, p.stderr))
            self.assertIn(text, p.stderr.decode())

    def test_large_message_warns_and_is_sent(self):
        big = os.path.join(self.pr.dir, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(11 * 1024 * 1024))
        html = os.path.join(self.pr.dir, "b.html")
        with open(html, "wb") as f:
            f.write(b"<p>Hello</p>\n")
        self.pr.give_to_user()
        p = self.pr.cli("send", "--project", "1234", "--as", "alice", "--subject", "Big", "--to",
                        "bob@firm.example", "--body-stdin", "--html-file", html, "--attach", big,
                        input=b"Hello from stdin\n")
        self.assertIn("warning: the message is", p.stderr.decode())
        self.assertIn("over 10 MB", p.stderr.decode())
        mid = int(p.stdout)
        shown = self.pr.cli_json("messages", "show", mid)
        self.assertIn("Hello from stdin", shown["parsed"]["text_body"])
        self.assertIn("<p>Hello</p>", shown["parsed"]["html_body"])
        self.assertEqual(shown["outbound"]["state"], "sent")
