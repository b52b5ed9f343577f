"""Issue #3 through the real SMTP listener: threading, who may send,
duplicates, auto-replies, loops, unreadable mail, and `postroom why`."""
import json
import smtplib
import unittest

from harness import PostroomCase, eventually, make_message


class PolicyCase(PostroomCase):
    def send(self, sender, rcpts, data, mail_from=None):
        with self.smtp() as s:
            s.ehlo("client.test.example")
            return s.sendmail(mail_from if mail_from is not None else sender, rcpts, data)

    def refused(self, sender, rcpts, data, mail_from=None):
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(sender, rcpts, data, mail_from)
        return cm.exception

    def messages(self, *filt):
        return self.pr.cli_json("messages", "list", *filt)

    def ids(self, *filt):
        doc = self.messages(*filt)
        rows = doc["messages"] if isinstance(doc, dict) else doc
        return [m["id"] for m in rows]

    def why(self, query):
        def ask():
            doc = json.loads(self.pr.cli("why", query, "--json", check=False).stdout)
            return doc if doc["attempts"] else None
        return eventually(ask) or {"attempts": []}


class TestSenderPolicy(PolicyCase):
    def test_member_into_project(self):
        self.send("alice@firm.example", ["a1234@firm.example"],
                  make_message("alice@firm.example", "a1234@firm.example"))
        self.assertEqual(len(self.ids("--project", "1234")), 1)

    def test_non_user_refused_with_reason_in_why(self):
        err = self.refused("mallory@outside.example", ["a1234@firm.example"],
                           make_message("mallory@outside.example", "a1234@firm.example"))
        self.assertEqual(err.smtp_code, 550)
        self.assertIn(b"5.7.1", err.smtp_error)
        self.assertIn(b"not a postroom user", err.smtp_error)
        doc = self.why("mallory@outside.example")
        self.assertEqual(doc["attempts"][0]["reason"], "not_a_user")
        self.assertEqual(doc["attempts"][0]["verdict"], "rejected")
        self.assertIn("fix", doc["attempts"][0])
        text = self.pr.cli("why", "mallory@outside.example").stdout.decode()
        self.assertIn("REFUSED", text)
        self.assertIn("not a postroom user", text)

    def test_user_not_member_refused(self):
        err = self.refused("carol@firm.example", ["a1234@firm.example"],
                           make_message("carol@firm.example", "a1234@firm.example"))
        self.assertIn(b"carol is not a member of project 1234", err.smtp_error)
        self.assertEqual(self.why("carol@firm.example")["attempts"][0]["reason"], "not_a_member")

    def test_from_must_match_envelope(self):
        err = self.refused("alice@firm.example", ["a1234@firm.example"],
                           make_message("alice@firm.example", "a1234@firm.example"),
                           mail_from="attacker@evil.example")
        self.assertIn(b"does not match the envelope sender", err.smtp_error)

    def test_unknown_sender_reject_default(self):
        err = self.refused("stranger@outside.example", ["alice@firm.example"],
                           make_message("stranger@outside.example", "alice@firm.example"))
        self.assertEqual(err.smtp_code, 550)
        self.assertEqual(self.why("stranger@outside.example")["attempts"][0]["reason"], "unknown_sender")


class TestInactiveUser(PolicyCase):
    def test_disabled_user_refused_then_enabled(self):
        self.pr.cli("user", "disable", "alice")
        err = self.refused("alice@firm.example", ["a1234@firm.example"],
                           make_message("alice@firm.example", "a1234@firm.example"))
        self.assertIn(b"is not active", err.smtp_error)
        self.assertEqual(self.why("alice@firm.example")["attempts"][0]["reason"], "user_inactive")
        self.pr.cli("user", "enable", "alice")
        self.send("alice@firm.example", ["a1234@firm.example"],
                  make_message("alice@firm.example", "a1234@firm.example"))
        self.assertEqual(len(self.ids("--project", "1234")), 1)


class TestDirectoryChanges(PolicyCase):
    def test_each_change_reaches_the_next_message(self):
        # serve's workers keep the directory's answers while it is unchanged
        # (store_dircache.c): a change made by another process must decide
        # the next message, whichever worker takes it.  Several messages
        # each way, so every worker has answered from its cache first.
        def send():
            self.send("alice@firm.example", ["a1234@firm.example"],
                      make_message("alice@firm.example", "a1234@firm.example"))
        for _ in range(3):
            for _ in range(4):
                send()
            self.pr.cli("project", "revoke", "1234", "alice")
            for _ in range(4):
                err = self.refused("alice@firm.example", ["a1234@firm.example"],
                                   make_message("alice@firm.example", "a1234@firm.example"))
                self.assertIn(b"alice is not a member of project 1234", err.smtp_error)
            self.pr.cli("project", "grant", "1234", "alice")
        send()
        self.assertEqual(len(self.ids("--project", "1234")), 13)


class TestUnknownRecipientReject(PolicyCase):
    config = {"unknown_recipient": "reject"}

    def rcpt(self, addr):
        with self.smtp() as s:
            s.ehlo("client.test.example")
            s.mail("alice@firm.example")
            return s.rcpt(addr)

    def test_unknown_local_part_550_511(self):
        code, text = self.rcpt("nobody-here@firm.example")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"), text)
        self.assertEqual(self.why("nobody-here@firm.example")["attempts"][0]["reason"], "unknown_recipient")

    def test_unknown_project_550(self):
        code, text = self.rcpt("a9999@firm.example")
        self.assertEqual(code, 550)
        self.assertIn(b"9999", text)
        self.assertEqual(self.why("a9999@firm.example")["attempts"][0]["reason"], "no_project")

    def test_known_addresses_still_accepted(self):
        for addr in ("a1234@firm.example", "team@firm.example", "bob@firm.example"):
            self.assertEqual(self.rcpt(addr)[0], 250, addr)

    def test_each_directory_change_reaches_the_next_rcpt(self):
        # The RCPT lookup threads keep directory answers too (store_dircache.c):
        # several RCPTs each way, so both threads answered from their cache.
        for _ in range(3):
            for _ in range(4):
                self.assertEqual(self.rcpt("crew@firm.example")[0], 550)
                self.assertEqual(self.rcpt("carl@firm.example")[0], 550)
            self.pr.cli("alias", "add", "crew@firm.example", "alice", "bob")
            self.pr.cli("user", "add", "carl", "--email", "carl@firm.example")
            for _ in range(4):
                self.assertEqual(self.rcpt("crew@firm.example")[0], 250)
                self.assertEqual(self.rcpt("carl@firm.example")[0], 250)
            self.pr.cli("alias", "remove", "crew@firm.example")
            self.pr.cli("user", "remove", "carl")


class TestUnknownSenderUnassigned(PolicyCase):
    config = {"unknown_sender": "unassigned"}

    def test_unknown_sender_goes_to_unassigned(self):
        self.send("stranger@outside.example", ["alice@firm.example"],
                  make_message("stranger@outside.example", "alice@firm.example"))
        self.assertEqual(len(self.ids("--unassigned")), 1)
        self.assertEqual(len(self.ids("--user", "alice")), 0)


class TestThreads(PolicyCase):
    def start_thread(self):
        """alice writes into project 1234 and Cc's an outside person."""
        msg = make_message("alice@firm.example", "a1234@firm.example", subject="Harbour plans",
                           extra_headers=["Cc: Sam Stake <sam@partner.example>"],
                           msgid="<thread-root@firm.example>")
        self.send("alice@firm.example", ["a1234@firm.example"], msg)
        return "<thread-root@firm.example>"

    def test_stakeholder_reply_by_in_reply_to(self):
        root = self.start_thread()
        reply = make_message("sam@partner.example", "alice@firm.example", subject="Re: Harbour plans",
                             extra_headers=[f"In-Reply-To: {root}", f"References: {root}"])
        self.send("sam@partner.example", ["alice@firm.example"], reply)
        self.assertEqual(len(self.ids("--project", "1234")), 2)
        stake = self.pr.cli_json("stakeholder", "list")
        self.assertIn("sam@partner.example", json.dumps(stake))

    def test_correspondence_with_a_stakeholder(self):
        root = self.start_thread()
        reply = make_message("sam@partner.example", "alice@firm.example", subject="Re: Harbour plans",
                             extra_headers=[f"In-Reply-To: {root}"])
        self.send("sam@partner.example", ["alice@firm.example"], reply)
        other = make_message("alice@firm.example", "a1234@firm.example", subject="Internal note")
        self.send("alice@firm.example", ["a1234@firm.example"], other)
        self.assertEqual(len(self.ids("--project", "1234")), 3)
        with_sam = self.messages("--project", "1234", "--stakeholder", "sam@partner.example")["messages"]
        self.assertEqual(sorted(m["subject"] for m in with_sam), ["Harbour plans", "Re: Harbour plans"])

    def test_reply_by_references_only(self):
        root = self.start_thread()
        reply = make_message("sam@partner.example", "unknown-box@firm.example", subject="Re: x",
                             extra_headers=[f"References: <other@nowhere.example> {root}"])
        self.send("sam@partner.example", ["unknown-box@firm.example"], reply)
        self.assertEqual(len(self.ids("--project", "1234")), 2)

    def test_outsider_not_in_thread_refused(self):
        root = self.start_thread()
        reply = make_message("eve@elsewhere.example", "a1234@firm.example", subject="Re: x",
                             extra_headers=[f"In-Reply-To: {root}"])
        err = self.refused("eve@elsewhere.example", ["a1234@firm.example"], reply)
        self.assertIn(b"not a postroom user", err.smtp_error)

    def test_duplicate_filed_once(self):
        msg = make_message("alice@firm.example", "a1234@firm.example", msgid="<dup-1@firm.example>")
        self.send("alice@firm.example", ["a1234@firm.example"], msg)
        self.send("alice@firm.example", ["a1234@firm.example"], msg)
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        codes = [a["reason"] for a in self.why("<dup-1@firm.example>")["attempts"]]
        self.assertIn("duplicate", codes)

    def test_concurrent_duplicates_filed_once(self):
        """Copies in the pipeline at the same moment: the committer, the
        single writer, still files only one."""
        import threading
        msg = make_message("alice@firm.example", "a1234@firm.example", msgid="<dup-many@firm.example>")
        errors = []

        def go():
            try:
                self.send("alice@firm.example", ["a1234@firm.example"], msg)
            except Exception as e:      # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=go) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        codes = [a["reason"] for a in self.why("<dup-many@firm.example>")["attempts"]]
        self.assertEqual(sorted(codes), ["accepted"] + ["duplicate"] * 7)

    def test_resend_to_new_recipient_reaches_them(self):
        """A copy sent again to someone else (a 452 for too many
        recipients, a forgotten Cc) is stored once but reaches them too."""
        msg = make_message("alice@firm.example", "a1234@firm.example", msgid="<resend-1@firm.example>")
        self.send("alice@firm.example", ["a1234@firm.example"], msg)
        self.send("alice@firm.example", ["alice@firm.example"], msg)
        in_project = self.ids("--project", "1234")
        self.assertEqual(len(in_project), 1)
        self.assertEqual(self.ids("--user", "alice"), in_project)
        attempts = self.why("<resend-1@firm.example>")["attempts"]
        self.assertEqual(sorted(a["reason"] for a in attempts), ["accepted", "duplicate"])

    def test_duplicate_not_acknowledged_before_original_is_stored(self):
        """While the store cannot be written, neither a message nor its
        copies in the same commit batch may get 250."""
        import threading
        import time
        db = self.pr.hold_writes()          # hold the write lock
        msg = make_message("alice@firm.example", "a1234@firm.example", msgid="<held-1@firm.example>")
        codes = []

        def go():
            try:
                self.send("alice@firm.example", ["a1234@firm.example"], msg)
                codes.append(250)
            except smtplib.SMTPDataError as e:
                codes.append(e.smtp_code)
        # the first copy keeps the writer waiting; the next two queue up
        # meanwhile and are committed together as one batch
        threads = [threading.Thread(target=go)]
        threads[0].start()
        time.sleep(1.5)
        threads += [threading.Thread(target=go) for _ in range(2)]
        for t in threads[1:]:
            t.start()
        deadline = time.time() + 60         # each commit waits 5 s for the lock
        while len(codes) < 3 and time.time() < deadline:
            time.sleep(0.2)
        db.execute("ROLLBACK")
        db.close()
        for t in threads:
            t.join(60)
        self.assertEqual(codes, [451, 451, 451])
        self.assertEqual(self.ids("--project", "1234"), [])
        self.send("alice@firm.example", ["a1234@firm.example"], msg)
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        # the deferrals were logged once the store could be written again
        attempts = self.why("<held-1@firm.example>")["attempts"]
        self.assertEqual(sorted(a["reason"] for a in attempts), ["accepted"] + ["store_busy"] * 3)

    def test_auto_reply_filed_not_refused(self):
        msg = make_message("MAILER-DAEMON@outside.example", "alice@firm.example",
                           subject="Automatic reply: out of office",
                           extra_headers=["Auto-Submitted: auto-replied"])
        self.send("", ["alice@firm.example"], msg, mail_from="")
        self.assertEqual(len(self.ids("--unassigned")), 1)


class TestSubjectTags(PolicyCase):
    """A single-address mailbox cannot see a1234@: subject tags route."""

    def test_bracket_tag_routes_to_project(self):
        self.send("alice@firm.example", ["inbox@firm.example"],
                  make_message("alice@firm.example", "inbox@firm.example", subject="Re: plans [#a1234]"))
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        self.assertEqual(self.ids("--unassigned"), [])

    def test_product_id_tag_routes_to_project(self):
        self.send("alice@firm.example", ["inbox@firm.example"],
                  make_message("alice@firm.example", "inbox@firm.example", subject="Report id=1234"))
        self.assertEqual(len(self.ids("--project", "1234")), 1)

    def test_tag_still_needs_membership(self):
        err = self.refused("carol@firm.example", ["inbox@firm.example"],
                           make_message("carol@firm.example", "inbox@firm.example", subject="x [#a1234]"))
        self.assertIn(b"carol is not a member of project 1234", err.smtp_error)

    def test_unknown_project_tag_ignored(self):
        self.send("alice@firm.example", ["inbox@firm.example"],
                  make_message("alice@firm.example", "inbox@firm.example", subject="x [#a9999] grid=7"))
        self.assertEqual(len(self.ids("--unassigned")), 1)


class TestLoopsAndUnreadable(PolicyCase):
    def test_loop_refused(self):
        hops = [f"Received: from relay{i}.example by mx.firm.example (postroom) with ESMTP id X{i};"
                f" Sun, 22 Nov 2026 10:00:0{i} +0000" for i in range(5)]
        msg = make_message("alice@firm.example", "a1234@firm.example", extra_headers=hops)
        err = self.refused("alice@firm.example", ["a1234@firm.example"], msg)
        self.assertIn(b"5.4.6", err.smtp_error)

    def test_malformed_mime_goes_to_fallback(self):
        body = ("From: alice@firm.example\r\nTo: a1234@firm.example\r\nSubject: broken\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n" + "--x\r\n" * 3)
        raw = ("\r\n".join("X-Filler-%d: %s" % (i, "y" * 900) for i in range(1300)) + "\r\n" + body).encode()
        self.send("alice@firm.example", ["a1234@firm.example"], raw)
        self.assertEqual(len(self.ids("--fallback")), 1)


if __name__ == "__main__":
    unittest.main()
