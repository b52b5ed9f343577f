"""Mail that comes back about what we sent (issue 13): a DSN to the message's
bounce address (bounce+ID-MAC@, the envelope sender the worker gives it)
marks that message failed with the remote server's words and is filed in
its thread; the same report to a bounce address with a wrong MAC touches
nothing; an auto-reply to the bounce address lands in the thread; a copy
of our sent mail collected from the system mailbox (real Dovecot) is
recognised and not filed again.

Messages are sent with `postroom send` and stay queued (no smtp_server):
the bounce address is computed here from address_key exactly as
route/verp.c does (HMAC-SHA256 of "bounce:ID", first 8 bytes in hex)."""
import hashlib
import hmac
import json
import smtplib
import time
import unittest

from harness import PostroomCase, eventually, make_message

KEY = "test-address-key-0123456789abcdef"


def bounce_address(oid, domain="firm.example", key=KEY):
    mac = hmac.new(key.encode(), f"bounce:{oid}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"bounce+{oid}-{mac}@{domain}"


def dsn(to, rcpt="nobody@far.example", msgid="x", action="failed",
        diag="550 5.1.1 <nobody@far.example>: Recipient address rejected: User unknown"):
    return (f"From: MAILER-DAEMON@relay.far.example (Mail Delivery System)\r\n"
            f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Date: Thu, 3 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <dsn.{time.time_ns()}@relay.far.example>\r\n"
            f"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
            f"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; relay.far.example\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: {action}\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; {diag}\r\n\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{msgid}>\r\n\r\n"
            f"--B--\r\n").encode()


class BounceCase(PostroomCase):
    config = {"address_key": KEY}

    def send(self, to="nobody@far.example"):
        p = self.pr.cli("send", "--project", "1234", "--as", "alice", "--to", to, "--subject",
                        "Harbour plans", "--body-stdin", "--json", input=b"Hello.\n")
        return json.loads(p.stdout)

    def outbox(self, oid):
        return self.pr.cli_json("outbox", "show", str(oid))

    def settled_state(self, oid, timeout=20.0):
        """The row's state once no worker holds it.  serve's delivery thread
        claims a queued row within a second and, with no smtp_server set,
        puts it back "queued" (deferred, with the reason); a read in between
        sees "sending".  Wait that out with a deadline."""
        def unless_sending():
            state = self.outbox(oid)["state"]
            return None if state == "sending" else state
        state = eventually(unless_sending, timeout)
        self.assertIsNotNone(state, f"outbound {oid} still 'sending' after {timeout}s")
        return state

    def smtp_send(self, rcpt, data, sender=""):
        with self.smtp() as s:
            s.sendmail(sender, [rcpt], data)

    def thread_of(self, message_id):
        return self.pr.sql("SELECT thread_id FROM messages WHERE id = ?", message_id)[0][0]

    def messages_in_project(self):
        return self.pr.cli_json("messages", "list", "--project", "1234")["messages"]


class TestDsn(BounceCase):
    def test_dsn_marks_the_right_message_failed(self):
        first, second = self.send(), self.send("other@far.example")
        self.smtp_send(bounce_address(second["outbound_id"]), dsn(bounce_address(second["outbound_id"]),
                                                                   msgid=second["message_id"]))
        row = self.outbox(second["outbound_id"])
        self.assertEqual(row["state"], "failed")
        self.assertIn("550 5.1.1 <nobody@far.example>: Recipient address rejected: User unknown",
                      row["last_reply"])
        self.assertIn("relay.far.example", row["last_reply"])
        self.assertEqual(self.settled_state(first["outbound_id"]), "queued")
        # Filed in the thread of the message it is about, not as new mail.
        msgs = self.messages_in_project()
        report = [m for m in msgs if m["subject"] == "Undelivered Mail Returned to Sender"]
        self.assertEqual(len(report), 1, msgs)
        self.assertEqual(self.thread_of(report[0]["id"]), self.thread_of(second["id"]))
        self.assertEqual(self.pr.cli_json("messages", "list", "--unassigned")["messages"], [])
        log = self.pr.cli_json("log", "--limit", "1")["log"][0]
        self.assertEqual(log["reason"], "bounce")
        self.assertIn(f"about message {second['outbound_id']} we sent", log["detail"])
        self.assertIn("marked failed", log["detail"])

    def test_forged_mac_touches_nothing(self):
        sent = self.send()
        forged = bounce_address(sent["outbound_id"], key="not-our-key-0123456789")
        self.smtp_send(forged, dsn(forged, msgid=sent["message_id"]))
        self.assertEqual(self.settled_state(sent["outbound_id"]), "queued")
        # An ordinary unknown address: Unassigned (unknown_recipient default).
        unassigned = self.pr.cli_json("messages", "list", "--unassigned")["messages"]
        self.assertEqual(len(unassigned), 1)
        # Another message's id with this one's mac: the same.
        other = self.send()
        mine = bounce_address(sent["outbound_id"])
        swapped = mine.replace(f"bounce+{sent['outbound_id']}-", f"bounce+{other['outbound_id']}-")
        self.smtp_send(swapped, dsn(swapped))
        self.assertEqual(self.settled_state(other["outbound_id"]), "queued")

    def wait_unknown_refused(self, timeout=20.0):
        """serve applies a stored setting at its next poll (once a second):
        wait until an unknown address is refused, with a deadline."""
        def refused():
            with self.smtp() as s:
                s.ehlo("relay.far.example")
                s.docmd("MAIL FROM:<>")
                return s.docmd("RCPT TO:<nobody-at-all@firm.example>")[0] == 550
        self.assertTrue(eventually(refused, timeout), "unknown_recipient=reject never took effect")

    def test_forged_mac_refused_when_unknown_addresses_are(self):
        self.pr.cli("settings", "set", "unknown_recipient", "reject")
        self.wait_unknown_refused()
        sent = self.send()
        forged = bounce_address(sent["outbound_id"], key="not-our-key-0123456789")
        with self.smtp() as s:
            s.ehlo("relay.far.example")
            code, text = s.docmd("MAIL FROM:<>")
            self.assertEqual(code, 250)
            code, text = s.docmd(f"RCPT TO:<{forged}>")
            self.assertEqual(code, 550, text)
            self.assertIn(b"bounce form", text)
            # Our real bounce address is accepted even so.
            code, text = s.docmd(f"RCPT TO:<{bounce_address(sent['outbound_id'])}>")
            self.assertEqual(code, 250, text)

    def test_auto_reply_lands_in_the_thread(self):
        sent = self.send("bob@far.example")
        to = bounce_address(sent["outbound_id"])
        reply = make_message("bob@far.example", to, subject="Out of office: Harbour plans",
                             body="I am away until Monday.\r\n",
                             extra_headers=["Auto-Submitted: auto-replied",
                                            f"In-Reply-To: <{sent['message_id']}>"])
        self.smtp_send(to, reply)
        msgs = [m for m in self.messages_in_project() if m["subject"].startswith("Out of office")]
        self.assertEqual(len(msgs), 1)
        self.assertEqual(self.thread_of(msgs[0]["id"]), self.thread_of(sent["id"]))
        self.assertEqual(self.settled_state(sent["outbound_id"]), "queued")   # not a failure


if __name__ == "__main__":
    unittest.main()


class TestSentCopy(BounceCase):
    """The provider keeps a copy of what we send in the system mailbox; the
    collector must not file it again as inbound mail."""
    start = False

    def setUp(self):
        from test_pop3 import PASSWORD, dovecot_or_skip
        from dovecot import Dovecot
        dovecot_or_skip(self)
        super().setUp()
        self.dc = Dovecot(self.pr.dir)
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", PASSWORD)
        self.pr.config.update({"pop_server": self.dc.url_ssl(), "pop_username": "sys",
                               "pop_password": PASSWORD, "pop_ca_file": self.dc.cert,
                               "system_address": "a1234@firm.example", "dns_timeout_ms": "1000"})
        self.pr.write_config()

    def test_sent_copy_is_not_filed_again(self):
        sent = self.send()
        stored = self.pr.cli("messages", "show", str(sent["id"]), "--raw").stdout
        self.dc.deliver("sys", stored)
        # A stakeholder's message quoting our Message-ID is still mail.
        other = make_message("alice@firm.example", "a1234@firm.example", subject="not a copy",
                             msgid=f"<{sent['message_id']}>")
        before = len(self.messages_in_project())
        r = json.loads(self.pr.cli("collect", "--once", "--json").stdout)
        self.assertEqual(r["listed"], 1, r)
        self.assertEqual(self.dc.count("sys"), 0)          # deleted from the mailbox
        self.assertEqual(len(self.messages_in_project()), before)
        log = self.pr.cli_json("log", "--limit", "1")["log"][0]
        self.assertEqual(log["reason"], "sent_copy")
        self.assertIn(f"message {sent['outbound_id']} we sent", log["detail"])
        self.dc.deliver("sys", other)
        self.pr.cli("collect", "--once", "--json")
        self.assertEqual(len(self.messages_in_project()), before + 1)
