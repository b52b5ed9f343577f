"""Issue 13, "the domain test, built in": mail to check_address is answered
with a report of that very message, through the real listener, with DNS
from dnsmasq on loopback and the message signed by dkimpy.

- a DKIM-signed message whose SPF passes gets a report naming its SPF,
  DKIM and DMARC results (the attempt is logged check_answered; nothing is
  filed);
- a second one past check_address_hourly gets no report (check_unanswered);
- a message failing SPF, or with a null sender, gets none (no backscatter).
On main the check address was an unknown local part: filed in Unassigned.
"""
import json
import smtplib
import tempfile
import unittest

from harness import DnsServer, Postroom, eventually, make_message, rsa_key, dnsmasq_txt as txt

try:
    import dkim
except ImportError:
    dkim = None

HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]
CHECK = "check@firm.example"


@unittest.skipIf(dkim is None, "dkimpy not importable (run with /usr/bin/python3)")
class CheckAddress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-check-")
        cls.key, pub = rsa_key(cls.tmp.name, "rsa")
        cls.dns = DnsServer(cls.tmp.name, [
            txt("client.example", "v=spf1 ip4:127.0.0.1 include:esp.example ?all"),
            txt("esp.example", "v=spf1 ip4:192.0.2.0/24 -all"),
            txt("sel._domainkey.client.example", "v=DKIM1; k=rsa; p=" + pub),
            txt("_dmarc.client.example", "v=DMARC1; p=reject"),
            txt("forged.example", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.forged.example", "v=DMARC1; p=reject"),
        ])

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.pr = Postroom(config={"dns_server": self.dns.address, "require_spf": "true",
                                   "require_dkim": "true", "check_address": CHECK,
                                   "check_address_hourly": "1", "unknown_recipient": "reject"})
        self.addCleanup(self.pr.cleanup)
        self.pr.seed_basic()
        self.pr.start()

    def send(self, mail_from, data):
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            s.ehlo("out.client.example")
            code, msg = s.mail(mail_from)
            self.assertEqual(code, 250, msg)
            code, msg = s.rcpt(CHECK)
            self.assertEqual(code, 250, msg)
            code, msg = s.data(data)
            return code, msg.decode()

    def signed(self, sender="ann@client.example", subject="does my domain work?"):
        m = make_message(sender, CHECK, subject=subject)
        return dkim.sign(m, b"sel", b"client.example", self.key, include_headers=HEADERS) + m

    def log_rows(self, n):
        rows = eventually(lambda: (lambda r: r if len(r) >= n else None)(self.pr.cli_json("log")["log"]),
                          timeout=10)
        self.assertIsNotNone(rows, self.pr.cli_json("log"))
        return rows

    def test_signed_message_is_answered_once_per_hour(self):
        code, msg = self.send("ann@client.example", self.signed())
        self.assertEqual(code, 250, msg)
        row = self.log_rows(1)[0]
        self.assertEqual((row["verdict"], row["reason"]), ("accepted", "check_answered"), row)
        self.assertIn("SPF pass, DKIM pass (aligned), DMARC pass: postroom would accept it",
                      row["detail"])
        self.assertIn("to <ann@client.example>", row["detail"])
        # The answer is in the outbound queue, to the envelope sender, from <>.
        out = self.pr.cli_json("outbox")["outbox"]
        self.assertEqual(len(out), 1, out)
        self.assertEqual(out[0]["sender"], "")
        self.assertIn("SPF pass, DKIM pass (aligned), DMARC pass", out[0]["subject"])
        shown = self.pr.cli_json("outbox", "show", out[0]["id"])
        self.assertEqual([r["address"] for r in shown["recipients"]], ["ann@client.example"])
        text = self.pr.cli("messages", "show", out[0]["message"], "--raw").stdout.decode()
        for part in ("Auto-Submitted: auto-replied", "To: <ann@client.example>",
                     "SPF: pass for client.example (the envelope sender's domain)",
                     "1 of 10 DNS lookups in the worst case",
                     "the record ends in ?all: servers it does not list are neither allowed nor refused",
                     "DKIM: 1 signature",
                     "1. d=client.example s=sel a=rsa-sha256: pass, aligned with the From domain",
                     "DMARC: pass for client.example (policy reject)",
                     "SPF identity client.example aligns with the From domain client.example",
                     "accept it", "ann@client.example is not a postroom user",
                     "end the SPF record of client.example in -all"):
            self.assertIn(part, text)
        self.assertRegex(text, r"In-Reply-To: <[^>]+@test\.example>")
        # The check message itself is filed nowhere: the one stored message
        # is our answer, which has no placement.
        msgs = self.pr.cli_json("messages", "list")["messages"]
        self.assertEqual([m["id"] for m in msgs], [out[0]["message"]], msgs)
        # The second within the hour is logged, not answered.
        code, msg = self.send("ann@client.example", self.signed(subject="again"))
        self.assertEqual(code, 250, msg)
        row = self.log_rows(2)[0]
        self.assertEqual((row["verdict"], row["reason"]), ("accepted", "check_unanswered"), row)
        self.assertIn("1 reports sent to it in the last hour", row["detail"])
        self.assertEqual(len(self.pr.cli_json("outbox")["outbox"]), 1)
        # `why` explains both with the reason table's words.
        why = json.loads(self.pr.cli("why", "ann@client.example", "--json").stdout)
        self.assertEqual([a.get("reason", a.get("code")) for a in why["attempts"]],
                         ["check_unanswered", "check_answered"])

    def test_spf_failure_is_never_answered(self):
        m = make_message("mallory@forged.example", CHECK)
        code, msg = self.send("mallory@forged.example", m)
        self.assertEqual(code, 250, msg)
        row = self.log_rows(1)[0]
        self.assertEqual(row["reason"], "check_unanswered", row)
        self.assertIn("SPF fail, not pass", row["detail"])
        self.assertEqual(self.pr.cli_json("outbox")["outbox"], [])

    def test_null_sender_is_never_answered(self):
        code, msg = self.send("", self.signed(sender="MAILER-DAEMON@client.example"))
        self.assertEqual(code, 250, msg)
        row = self.log_rows(1)[0]
        self.assertEqual(row["reason"], "check_unanswered", row)
        self.assertIn("null envelope sender", row["detail"])
        self.assertEqual(self.pr.cli_json("outbox")["outbox"], [])


if __name__ == "__main__":
    unittest.main()
