"""Issue 13, "unreadable inbound mail kept in Fallback is forwarded, as an
attachment, to fallback_address", through the real SMTP listener: a
message whose header block is over the limit, from an allowed sender, is
kept in Fallback (250) and one automatic message is queued to
fallback_address -- From postmaster@ the first served domain (no
default_sender), null envelope sender, Auto-Submitted: auto-generated --
with the original bytes attached as application/octet-stream.  With
fallback_address empty nothing is queued.
"""
import email
import email.policy
import unittest

from harness import PostroomCase, eventually, make_message

FALLBACK = "admin@elsewhere.example"


def unreadable_message():
    body = ("From: alice@firm.example\r\nTo: a1234@firm.example\r\nSubject: broken\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n" + "--x\r\n" * 3)
    filler = "\r\n".join("X-Filler-%d: %s" % (i, "y" * 900) for i in range(1300))
    return (filler + "\r\n" + body).encode()


class FallbackCase(PostroomCase):
    def send_unreadable(self):
        """The unreadable message, then a readable one once it was answered.
        The forward is queued by the intake committer after it answered the
        first (intake.c, job_finish), and that thread commits the second
        only after: once the second is listed, the forward was made or
        skipped, so what the outbox holds then is the answer (an empty
        outbox is not merely "not yet")."""
        raw = unreadable_message()
        with self.smtp() as s:
            s.ehlo("client.test.example")
            self.assertEqual(s.sendmail("alice@firm.example", ["a1234@firm.example"], raw), {})
            after = make_message("alice@firm.example", "a1234@firm.example", "After the broken one")
            self.assertEqual(s.sendmail("alice@firm.example", ["a1234@firm.example"], after), {})
        self.assertTrue(eventually(lambda: any(m["subject"] == "After the broken one" for m in self.pr.cli_json(
            "messages", "list", "--project", "1234")["messages"])), "the readable message was never listed")
        ids = [m["id"] for m in self.pr.cli_json("messages", "list", "--fallback")["messages"]]
        self.assertEqual(len(ids), 1)
        return raw, ids[0]


class TestForwarded(FallbackCase):
    config = {"fallback_address": FALLBACK}

    def test_unreadable_message_is_forwarded_as_attachment(self):
        raw, mid = self.send_unreadable()
        out = self.pr.cli_json("outbox")["outbox"]
        self.assertEqual(len(out), 1, out)
        self.assertEqual(out[0]["sender"], "")
        self.assertEqual(out[0]["subject"], "Unreadable message kept by postroom (#%s)" % mid)
        shown = self.pr.cli_json("outbox", "show", out[0]["id"])
        self.assertEqual([r["address"] for r in shown["recipients"]], [FALLBACK])
        sent = self.pr.cli("messages", "show", out[0]["message"], "--raw").stdout
        msg = email.message_from_bytes(sent, policy=email.policy.default)
        self.assertEqual(msg["Auto-Submitted"], "auto-generated")
        self.assertEqual(msg["From"].addresses[0].addr_spec, "postmaster@firm.example")
        self.assertEqual(msg["To"].addresses[0].addr_spec, FALLBACK)
        text = msg.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("Why:", text)
        atts = list(msg.iter_attachments())
        self.assertEqual(len(atts), 1)
        self.assertEqual(atts[0].get_content_type(), "application/octet-stream")
        self.assertEqual(atts[0].get_filename(), "message-%s.eml" % mid)
        self.assertEqual(atts[0].get_payload(decode=True), raw)


class TestNotForwardedWhenUnset(FallbackCase):
    def test_empty_fallback_address_queues_nothing(self):
        self.send_unreadable()
        self.assertEqual(self.pr.cli_json("outbox")["outbox"], [])


if __name__ == "__main__":
    unittest.main()
