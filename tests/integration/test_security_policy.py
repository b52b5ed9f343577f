"""Issue #10, "Forgery paths" items 1, 2, 3, 7 and 8, through the real SMTP
listener with the hostile input written out.  dnsmasq on loopback serves
the SPF records: the attacker's own domain passes SPF for 127.0.0.1, as it
would for a real attacker sending from their own server.

Each test failed on main before the fix (2026-12-03, 01d58f1): the
forged or hostile message was accepted with 250 and filed."""
import json
import smtplib
import tempfile
import unittest

from harness import DnsServer, Postroom, eventually, make_message

RECORDS = [
    'txt-record=attacker.example,"v=spf1 ip4:127.0.0.1 -all"',
    'txt-record=outside.example,"v=spf1 ip4:127.0.0.1 -all"',
    'txt-record=firm.example,"v=spf1 ip4:127.0.0.1 -all"',
    'txt-record=partner.example,"v=spf1 ip4:127.0.0.1 -all"',
    # bob's second address: its domain does not allow our client's IP
    'txt-record=home.example,"v=spf1 ip4:192.0.2.1 -all"',
]

# A header block over PR_MIME_MAX_HEADER_BYTES (1 MiB): unreadable.
HUGE_HEADERS = "".join("X-Filler-%d: %s\r\n" % (i, "y" * 900) for i in range(1300))


class SecurityCase(unittest.TestCase):
    config = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-security-")
        cls.dns = DnsServer(cls.tmp.name, RECORDS)

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.tmp.cleanup()

    def setUp(self):
        cfg = {"dns_server": self.dns.address, "require_spf": "true", "require_dkim": "false"}
        cfg.update(self.config)
        self.pr = Postroom(config=cfg)
        self.addCleanup(self.pr.cleanup)
        self.pr.seed_basic()
        self.pr.start()

    def send(self, mail_from, rcpts, data, helo="client.test.example"):
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            s.ehlo(helo)
            return s.sendmail(mail_from, rcpts, data)

    def refused(self, mail_from, rcpts, data, helo="client.test.example"):
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(mail_from, rcpts, data, helo)
        return cm.exception

    def ids(self, *filt):
        return [m["id"] for m in self.pr.cli_json("messages", "list", *filt)["messages"]]

    def why(self, query):
        def ask():
            doc = json.loads(self.pr.cli("why", query, "--json", check=False).stdout)
            return doc if doc["attempts"] else None
        return eventually(ask) or {"attempts": []}

    def assert_reason(self, query, reason):
        attempt = self.why(query)["attempts"][0]
        self.assertEqual(attempt["reason"], reason)
        self.assertTrue(attempt.get("fix"), attempt)
        text = self.pr.cli("why", query).stdout.decode()
        self.assertIn("REFUSED", text)
        return attempt


class TestNullSender(SecurityCase):
    """Item 1: HELO attacker.example (SPF pass for 127.0.0.1), MAIL FROM:<>,
    From: alice@firm.example, require_dkim = false."""

    def test_null_sender_from_needs_its_own_authentication(self):
        forged = make_message("alice@firm.example", "a1234@firm.example", subject="Pay invoice 77",
                              msgid="<forged-null@attacker.example>")
        self.send("", ["a1234@firm.example"], forged, helo="attacker.example")
        # an outsider's bounce: never refused, never in alice's project
        self.assertEqual(self.ids("--project", "1234"), [])
        self.assertEqual(len(self.ids("--unassigned")), 1)
        self.assertEqual(self.why("<forged-null@attacker.example>")["attempts"][0]["reason"],
                         "auto_reply")
        # the same From, vouched for by SPF of a HELO domain aligned with it
        genuine = make_message("alice@firm.example", "a1234@firm.example", subject="Out of office",
                               extra_headers=["Auto-Submitted: auto-replied"])
        self.send("", ["a1234@firm.example"], genuine, helo="firm.example")
        self.assertEqual(len(self.ids("--project", "1234")), 1)


class TestAutomaticIsNoKey(SecurityCase):
    """Item 2: Auto-Submitted and In-Reply-To are the sender's own words."""

    def start_thread(self):
        root = make_message("alice@firm.example", "a1234@firm.example", subject="Harbour plans",
                            extra_headers=["Cc: Sam Stake <sam@partner.example>"],
                            msgid="<root-2@firm.example>")
        self.send("alice@firm.example", ["a1234@firm.example"], root)
        return "<root-2@firm.example>"

    def test_auto_submitted_outsider_does_not_join_the_thread(self):
        root = self.start_thread()
        hostile = make_message("mallory@outside.example", "a1234@firm.example", subject="Re: Harbour plans",
                               extra_headers=["Auto-Submitted: auto-replied", f"In-Reply-To: {root}",
                                              f"References: {root}"],
                               msgid="<auto-2@outside.example>")
        self.send("mallory@outside.example", ["a1234@firm.example"], hostile)
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        self.assertEqual(len(self.ids("--unassigned")), 1)
        # ... and it made mallory no participant: a plain reply is refused
        reply = make_message("mallory@outside.example", "a1234@firm.example", subject="Re: Harbour plans",
                             extra_headers=[f"In-Reply-To: {root}"])
        err = self.refused("mallory@outside.example", ["a1234@firm.example"], reply)
        self.assertEqual(err.smtp_code, 550)
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        # a bounce answers only mail we sent, and we send none yet
        dsn = make_message("MAILER-DAEMON@outside.example", "a1234@firm.example",
                           subject="Undelivered Mail Returned to Sender",
                           extra_headers=[f"In-Reply-To: {root}"])
        self.send("", ["a1234@firm.example"], dsn, helo="outside.example")
        self.assertEqual(len(self.ids("--project", "1234")), 1)
        # a participant's own auto-reply still joins the thread
        ooo = make_message("sam@partner.example", "alice@firm.example", subject="Out of office",
                           extra_headers=["Auto-Submitted: auto-replied", f"In-Reply-To: {root}"])
        self.send("sam@partner.example", ["alice@firm.example"], ooo)
        self.assertEqual(len(self.ids("--project", "1234")), 2)


class TestUnreadableMailIsJudgedByEnvelope(SecurityCase):
    """Item 3: a header block over 1 MiB cannot be parsed, but its envelope
    can still be judged."""

    def unreadable(self, sender, to):
        return (HUGE_HEADERS + f"From: {sender}\r\nTo: {to}\r\nSubject: big\r\n\r\nhello\r\n").encode()

    def test_stranger_refused_forger_refused_member_kept(self):
        err = self.refused("stranger@outside.example", ["a1234@firm.example"],
                           self.unreadable("stranger@outside.example", "a1234@firm.example"))
        self.assertEqual(err.smtp_code, 550)
        self.assertIn(b"not a postroom user", err.smtp_error)
        self.assert_reason("stranger@outside.example", "not_a_user")
        # bob's address, but from a server home.example's SPF does not allow
        err = self.refused("bob@home.example", ["bob@firm.example"],
                           self.unreadable("bob@home.example", "bob@firm.example"))
        self.assertIn(b"5.7.23", err.smtp_error)
        self.assert_reason("bob@home.example", "spf_fail")
        # a user may write to a project only as a member, readable or not
        err = self.refused("carol@firm.example", ["a1234@firm.example"],
                           self.unreadable("carol@firm.example", "a1234@firm.example"))
        self.assertIn(b"carol is not a member of project 1234", err.smtp_error)
        # a null sender proves nothing about an unreadable message
        self.refused("", ["alice@firm.example"], self.unreadable("x@outside.example", "alice@firm.example"),
                     helo="outside.example")
        self.assertEqual(self.ids("--fallback"), [])
        self.send("alice@firm.example", ["a1234@firm.example"],
                  self.unreadable("alice@firm.example", "a1234@firm.example"))
        self.assertEqual(len(self.ids("--fallback")), 1)
        self.assertEqual(self.ids("--project", "1234"), [])


class TestIndentedFirstLine(SecurityCase):
    """Item 7: a first line starting with whitespace would continue our
    Authentication-Results header in the stored bytes."""

    def test_refused_and_never_stored(self):
        for lead in (b"\t", b" "):
            hostile = (lead + b"dkim=pass header.d=client.example\r\n" +
                       make_message("alice@firm.example", "a1234@firm.example"))
            err = self.refused("alice@firm.example", ["a1234@firm.example"], hostile)
            self.assertEqual(err.smtp_code, 550)
            self.assertIn(b"5.6.0", err.smtp_error)
            self.assertIn(b"continue our Authentication-Results", err.smtp_error)
        self.assertEqual(self.ids(), [])
        self.assert_reason("alice@firm.example", "indented_first_line")
        # a folded line later in the header block continues the sender's own
        # header, never ours: the stored bytes keep the two apart
        folded = (b"Subject: plans\r\n\tdkim=pass header.d=client.example\r\n" +
                  make_message("alice@firm.example", "a1234@firm.example").replace(b"Subject: Test\r\n", b""))
        self.send("alice@firm.example", ["a1234@firm.example"], folded)
        [mid] = self.ids("--project", "1234")
        raw = self.pr.cli("messages", "show", str(mid), "--raw").stdout
        ours, theirs = raw.split(b"\r\nSubject: plans\r\n", 1)
        self.assertIn(b"Authentication-Results: mx.firm.example;", ours)
        self.assertNotIn(b"client.example", ours)
        self.assertTrue(theirs.startswith(b"\tdkim=pass header.d=client.example\r\n"))


class TestFromMustBeUnambiguous(SecurityCase):
    """Item 8: RFC 7489 6.6.1 -- one From field, one address, readable."""

    def test_several_or_unreadable_from_refused(self):
        cases = [
            ("from_multiple", ["From: alice@firm.example", "From: mallory@outside.example"]),
            ("from_multiple", ["From: alice@firm.example, mallory@outside.example"]),
            ("from_invalid", ["From: alice@firm.example@outside.example"]),
            ("from_invalid", ["From: <alice@firm.example"]),
            ("from_invalid", ["From: alice@firm.example;mallory@outside.example"]),
            ("from_invalid", ['From: "Alice <alice@firm.example>']),
            ("from_invalid", ["From: alice"]),
        ]
        for n, (reason, from_lines) in enumerate(cases):
            with self.subTest(from_lines=from_lines):
                msgid = f"<from-{n}@firm.example>"
                lines = from_lines + ["To: a1234@firm.example", "Subject: x", f"Message-ID: {msgid}"]
                data = ("\r\n".join(lines) + "\r\n\r\nhello\r\n").encode()
                err = self.refused("alice@firm.example", ["a1234@firm.example"], data)
                self.assertEqual(err.smtp_code, 550)
                attempt = self.assert_reason(msgid, reason)
                self.assertEqual(attempt["verdict"], "rejected")
        self.assertEqual(self.ids(), [])
        # one plain From, display name and all, is still fine
        self.send("alice@firm.example", ["a1234@firm.example"],
                  make_message('"Archer, Alice" <alice@firm.example>', "a1234@firm.example"))
        self.assertEqual(len(self.ids("--project", "1234")), 1)


if __name__ == "__main__":
    unittest.main()
