"""Issue #4 end to end: SPF, DKIM and DMARC through the real SMTP listener,
with dnsmasq on loopback serving the sender domains' records and dkimpy
signing the test messages.  Each failure class is refused at the end of
DATA with 550 5.7.x naming the check and the domain; DNS trouble is a 451
4.4.3; `require_dkim = false` lets an unsigned message in; a DMARC reject
policy is honoured under `auth_policy = dmarc`."""
import base64
import json
import os
import re
import smtplib
import socket
import subprocess
import tempfile
import unittest

from harness import DnsServer, Postroom, make_message, rsa_key, dnsmasq_txt as txt

try:
    import dkim
    import nacl.signing
except ImportError:
    dkim = None


HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


@unittest.skipIf(dkim is None, "dkimpy / PyNaCl not importable (run with /usr/bin/python3)")
class AuthThroughSmtp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-authsmtp-")
        w = cls.tmp.name
        cls.rsa, rsa_pub = rsa_key(w, "rsa", 2048)
        cls.short, short_pub = rsa_key(w, "short", 768)
        ed = nacl.signing.SigningKey.generate()
        cls.ed = base64.b64encode(bytes(ed))
        ed_pub = base64.b64encode(bytes(ed.verify_key)).decode()
        cls.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.silent.bind(("127.0.0.1", 0))     # a DNS server that never answers
        records = [
            txt("firm.example", "v=spf1 ip4:127.0.0.1 -all"),
            txt("_dmarc.firm.example", "v=DMARC1; p=reject"),
            txt("rsa._domainkey.firm.example", "v=DKIM1; k=rsa; p=" + rsa_pub),
            txt("ed._domainkey.firm.example", "v=DKIM1; k=ed25519; p=" + ed_pub),
            txt("short._domainkey.firm.example", "v=DKIM1; k=rsa; p=" + short_pub),
            txt("other.example", "v=spf1 ip4:127.0.0.1 -all"),
            txt("rsa._domainkey.other.example", "v=DKIM1; k=rsa; p=" + rsa_pub),
            txt("fail.example", "v=spf1 ip4:192.0.2.1 -all"),
            txt("soft.example", "v=spf1 ~all"),
            txt("many.example", "v=spf1 " + " ".join("include:fail.example" for _ in range(11)) + " -all"),
            txt("rej.example", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.rej.example", "v=DMARC1; p=reject"),
            f"server=/slow.example/127.0.0.1#{cls.silent.getsockname()[1]}",
        ]
        cls.dns = DnsServer(w, records)

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.silent.close()
        cls.tmp.cleanup()

    def start(self, **config):
        cfg = {"dns_server": self.dns.address, "dns_timeout_ms": "700", "require_spf": "true",
               "require_dkim": "true", "authserv_id": "mx.firm.example"}
        cfg.update(config)
        pr = Postroom(config=cfg)
        self.addCleanup(pr.cleanup)
        pr.seed_basic()
        pr.start()
        return pr

    def sign(self, msg, selector=b"rsa", domain=b"firm.example", key=None, alg=b"rsa-sha256"):
        sig = dkim.sign(msg, selector, domain, key or self.rsa, signature_algorithm=alg,
                        include_headers=HEADERS)
        return sig + msg

    def send(self, pr, mail_from, data, rcpt="a1234@firm.example"):
        with smtplib.SMTP("127.0.0.1", pr.smtp_port, timeout=30) as s:
            s.ehlo("client.test.example")
            return s.sendmail(mail_from, [rcpt], data)

    def refused(self, pr, mail_from, data):
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(pr, mail_from, data)
        return cm.exception.smtp_code, cm.exception.smtp_error.decode()

    def stored(self, pr):
        rows = pr.cli_json("messages", "list")
        rows = rows["messages"] if isinstance(rows, dict) else rows
        return rows

    def why_codes(self, pr, address):
        """Reason codes of the attempts `postroom why` lists for address."""
        doc = json.loads(pr.cli("why", address, "--json", check=False).stdout)
        return [a.get("reason", a.get("code")) for a in doc["attempts"]]

    def msg(self, sender="alice@firm.example", body="Hello.\r\n"):
        return make_message(sender, "a1234@firm.example", body=body)

    def test_pass_rsa_and_header_stored(self):
        pr = self.start()
        self.send(pr, "alice@firm.example", self.sign(self.msg()))
        rows = self.stored(pr)
        self.assertEqual(len(rows), 1)
        doc = pr.cli_json("messages", "show", rows[0]["id"])
        self.assertEqual(doc["auth"]["spf"]["result"], "pass")
        self.assertEqual(doc["auth"]["dkim"][0]["result"], "pass")
        self.assertTrue(doc["auth"]["dkim"][0]["aligned"])
        self.assertEqual(doc["auth"]["dmarc"]["result"], "pass")
        raw = pr.cli("messages", "show", rows[0]["id"], "--raw").stdout.decode()
        self.assertIn("Authentication-Results: mx.firm.example;", raw)
        self.assertIn("dkim=pass header.d=firm.example header.s=rsa", raw)

    def test_checks_cpu_counted(self):
        # serve counts the CPU its checks take (bench/smtp-intake's share
        # of the checks): an RSA verification and SPF/DMARC evaluations
        # are some, and no more than the worker's whole step.
        pr = self.start()
        self.send(pr, "alice@firm.example", self.sign(self.msg()))
        self.refused(pr, "bob@fail.example", self.msg("bob@fail.example"))
        pr.stop()
        line = [ln for ln in pr.log_text().splitlines() if "attempts through the workers" in ln]
        self.assertEqual(len(line), 1, pr.log_text())
        m = re.search(r"intake: (\d+) attempts through the workers; .* ([0-9.]+) ms in it, .* "
                      r"used (\d+) us of CPU an attempt", line[0])
        self.assertIsNotNone(m, line[0])
        attempts, worker_ms, checks_us = int(m.group(1)), float(m.group(2)), int(m.group(3))
        self.assertEqual(attempts, 2, line[0])
        self.assertGreater(checks_us, 0, line[0])
        self.assertLessEqual(checks_us, worker_ms * 1000 + 1, line[0])

    def test_pass_ed25519(self):
        pr = self.start()
        self.send(pr, "alice@firm.example", self.sign(self.msg(), b"ed", key=self.ed, alg=b"ed25519-sha256"))
        self.assertEqual(len(self.stored(pr)), 1)

    def test_spf_fail(self):
        pr = self.start()
        code, text = self.refused(pr, "bob@fail.example", self.msg("bob@fail.example"))
        self.assertEqual(code, 550)
        self.assertIn("5.7.23", text)
        self.assertIn("SPF fail for fail.example", text)
        self.assertEqual(self.why_codes(pr, "bob@fail.example"), ["spf_fail"])

    def test_spf_softfail_none_permerror(self):
        pr = self.start()
        for sender, word in [("bob@soft.example", "SPF softfail for soft.example"),
                             ("bob@none.example", "SPF none for none.example"),
                             ("bob@many.example", "more than 10 DNS lookups")]:
            code, text = self.refused(pr, sender, self.msg(sender))
            self.assertEqual(code, 550, sender)
            self.assertIn(word, text)

    def test_dns_timeout_is_451(self):
        pr = self.start()
        code, text = self.refused(pr, "bob@slow.example", self.msg("bob@slow.example"))
        self.assertEqual(code, 451)
        self.assertIn("4.4.3", text)

    def test_dkim_none(self):
        pr = self.start()
        code, text = self.refused(pr, "alice@firm.example", self.msg())
        self.assertEqual(code, 550)
        self.assertIn("DKIM none for firm.example", text)

    def test_dkim_body_changed(self):
        pr = self.start()
        signed = self.sign(self.msg()).replace(b"Hello.", b"Hullo.")
        code, text = self.refused(pr, "alice@firm.example", signed)
        self.assertEqual(code, 550)
        self.assertEqual(self.why_codes(pr, "alice@firm.example"), ["dkim_body_changed"])

    def test_dkim_misaligned(self):
        pr = self.start()
        code, text = self.refused(pr, "alice@firm.example", self.sign(self.msg(), domain=b"other.example"))
        self.assertEqual(code, 550)
        self.assertIn("misaligned", text)

    def test_dkim_key_missing_and_short(self):
        pr = self.start()
        self.refused(pr, "alice@firm.example", self.sign(self.msg(), selector=b"nokey"))
        self.refused(pr, "alice@firm.example", self.sign(self.msg(), selector=b"short", key=self.short))
        self.assertEqual(sorted(self.why_codes(pr, "alice@firm.example")),
                         ["dkim_key_missing", "dkim_key_short"])

    def test_require_dkim_off_lets_unsigned_in(self):
        pr = self.start(require_dkim="false")
        self.send(pr, "alice@firm.example", self.msg())
        self.assertEqual(len(self.stored(pr)), 1)

    def test_dmarc_policy(self):
        pr = self.start(auth_policy="dmarc")
        code, text = self.refused(pr, "bob@rej.example", self.msg("bob@rej.example"))
        self.assertEqual(code, 550)
        self.assertIn("DMARC fail for rej.example", text)
        # SPF passes aligned for firm.example: DMARC pass without DKIM
        self.send(pr, "alice@firm.example", self.msg())
        self.assertEqual(len(self.stored(pr)), 1)


if __name__ == "__main__":
    unittest.main()
