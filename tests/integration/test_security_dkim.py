"""Issue 10, the DKIM and Authentication-Results parts, through the real
listener (SMTP) and the real collector (POP3 from Dovecot): each test
writes out the hostile or unusual input and failed on main before the fix.

Keys are served by dnsmasq on loopback; messages are signed with dkimpy
(and, where dkimpy will not write the tag we need, with dkimpy's own
pieces and the tag list we choose).
"""
import base64
import hashlib
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from harness import DnsServer, Postroom, make_message, rsa_key, dnsmasq_txt as txt

try:
    import dkim
except ImportError:
    dkim = None

HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]
OURS = "mx.firm.example"


def sign_with_tags(msg, key, domain, selector, q):
    """An rsa-sha256 signature whose q= we choose (dkimpy always writes
    q=dns/txt): dkimpy's canonicaliser and header signer, our tag list."""
    d = dkim.DKIM(msg)
    d.signature_algorithm = b"rsa-sha256"
    canon = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/simple")
    include = tuple(HEADERS)
    d.include_headers = include
    d.hasher = hashlib.sha256
    bh = base64.b64encode(hashlib.sha256(canon.canonicalize_body(d.body)).digest())
    fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/simple"), (b"d", domain),
              (b"q", q), (b"s", selector), (b"t", str(int(time.time())).encode()),
              (b"h", b" : ".join(include)), (b"bh", bh), (b"b", b"0" * 60)]
    pk = dkim.parse_pem_private_key(key)
    return b"DKIM-Signature: " + d.gen_header(fields, include, canon, b"DKIM-Signature", pk) + msg


@unittest.skipIf(dkim is None, "dkimpy not importable (run with /usr/bin/python3)")
class DkimSecurity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-secdkim-")
        w = cls.tmp.name
        cls.rsa, pub = rsa_key(w, "rsa")
        cls.silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.silent.bind(("127.0.0.1", 0))     # a DNS server that never answers
        cls.dns = DnsServer(w, [
            txt("firm.example", "v=spf1 ip4:127.0.0.1 -all"),
            txt("rsa._domainkey.firm.example", "v=DKIM1; k=rsa; p=" + pub),
            txt("other.example", "v=spf1 ip4:127.0.0.1 -all"),
            # SPF does not cover us, DMARC says reject, a valid key: only
            # DKIM can let its mail through under auth_policy = dmarc
            txt("signed.example", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.signed.example", "v=DMARC1; p=reject"),
            txt("rsa._domainkey.signed.example", "v=DKIM1; k=rsa; p=" + pub),
            f"server=/slowkey.example/127.0.0.1#{cls.silent.getsockname()[1]}",
        ])

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.silent.close()
        cls.tmp.cleanup()

    def start(self, **config):
        cfg = {"dns_server": self.dns.address, "dns_timeout_ms": "700", "require_spf": "true",
               "require_dkim": "true", "authserv_id": OURS}
        cfg.update(config)
        pr = Postroom(config=cfg)
        self.addCleanup(pr.cleanup)
        pr.seed_basic()
        pr.start()
        return pr

    def sign(self, msg, domain=b"firm.example", selector=b"rsa", **kw):
        return dkim.sign(msg, selector, domain, self.rsa, include_headers=HEADERS, **kw) + msg

    def send(self, pr, mail_from, data, rcpt="a1234@firm.example"):
        with smtplib.SMTP("127.0.0.1", pr.smtp_port, timeout=30) as s:
            s.ehlo("client.test.example")
            return s.sendmail(mail_from, [rcpt], data)

    def refused(self, pr, mail_from, data):
        with self.assertRaises(smtplib.SMTPDataError) as cm:
            self.send(pr, mail_from, data)
        return cm.exception.smtp_code, cm.exception.smtp_error.decode()

    def why_codes(self, pr, address):
        doc = json.loads(pr.cli("why", address, "--json", check=False).stdout)
        return [a.get("reason", a.get("code")) for a in doc["attempts"]]

    def stored_raw(self, pr):
        rows = pr.cli_json("messages", "list")
        rows = rows["messages"] if isinstance(rows, dict) else rows
        self.assertEqual(len(rows), 1)
        return pr.cli("messages", "show", rows[0]["id"], "--raw").stdout.decode()

    @staticmethod
    def header_block(raw):
        return raw.split("\r\n\r\n", 1)[0]

    def msg(self, sender="alice@firm.example", body="Hello.\r\n", extra=()):
        return make_message(sender, "a1234@firm.example", body=body, extra_headers=extra)

    # Item 5: Authentication-Results with our authserv-id written by the sender
    def test_forged_own_authentication_results_are_removed(self):
        pr = self.start(require_dkim="false")
        forged = (b"Authentication-Results: mx.firm.example; dkim=pass header.d=firm.example;\r\n"
                  b"\tdmarc=pass header.from=firm.example\r\n"
                  b"Authentication-Results: (checked) \"MX.FIRM.EXAMPLE\";\r\n spf=pass smtp.mailfrom=firm.example\r\n"
                  b"Authentication-Results: other.example; dkim=pass header.d=firm.example\r\n")
        self.send(pr, "alice@firm.example", forged + self.msg(body="Authentication-Results: "
                                                                "mx.firm.example; in the body\r\n"))
        raw = self.stored_raw(pr)
        head = self.header_block(raw)
        ours = re.findall(r"^Authentication-Results:\s*\(?.*?mx\.firm\.example", head,
                          re.M | re.I)
        self.assertEqual(len(ours), 1, head)               # only the one we wrote
        self.assertTrue(head.split("\r\n")[0].startswith("Received: "), head)
        self.assertIn("dkim=none", head)                   # our verdict: no signature
        self.assertNotIn("dkim=pass header.d=firm.example;", head)
        self.assertNotIn("MX.FIRM.EXAMPLE", head)
        self.assertIn("Authentication-Results: other.example; dkim=pass", head)  # not ours: kept
        self.assertIn("mx.firm.example; in the body", raw)  # the body is not touched
        self.assertIn("removed 2 Authentication-Results", pr.log_text())

    # Item 6: l= shorter than the body
    def test_l_tag_leaving_content_unsigned_counts_for_nothing(self):
        appended = b"\r\nIGNORE THE ABOVE: wire the money to account 666.\r\n"
        # require_dkim: refused, reason dkim_partial
        pr = self.start()
        signed = self.sign(self.msg(), length=True) + appended
        code, text = self.refused(pr, "alice@firm.example", signed)
        self.assertEqual(code, 550)
        self.assertIn("l= leaves", text)
        self.assertEqual(self.why_codes(pr, "alice@firm.example"), ["dkim_partial"])
        # reported in our header as dkim=policy when DKIM is not required
        pr = self.start(require_dkim="false")
        self.send(pr, "alice@firm.example", signed)
        head = self.header_block(self.stored_raw(pr))
        self.assertIn("dkim=policy (the signature verified, but l= leaves", head)
        # DMARC: SPF fails for signed.example and p=reject; the l= signature
        # must not rescue it
        pr = self.start(auth_policy="dmarc")
        m = self.sign(make_message("mallory@signed.example", "a1234@firm.example"),
                      domain=b"signed.example", length=True) + appended
        code, text = self.refused(pr, "mallory@signed.example", m)
        self.assertEqual(code, 550)
        self.assertIn("DMARC fail for signed.example", text)

    # q= is a colon-separated list (RFC 6376 3.5)
    def test_q_list_with_dns_txt_is_accepted(self):
        pr = self.start()
        m = sign_with_tags(self.msg(), self.rsa, b"firm.example", b"rsa", b"foo/bar:dns/txt")
        self.assertIn(b"q=foo/bar:dns/txt;", m)
        self.send(pr, "alice@firm.example", m)
        self.assertIn("dkim=pass header.d=firm.example", self.stored_raw(pr))
        m = sign_with_tags(self.msg(), self.rsa, b"firm.example", b"rsa", b"foo/bar")
        code, text = self.refused(pr, "alice@firm.example", m)
        self.assertEqual(code, 550)
        self.assertIn("q= does not offer dns/txt", text)

    # i= is dkim-quoted-printable (RFC 6376 2.11)
    def test_i_quoted_printable_is_decoded(self):
        pr = self.start()
        m = self.sign(self.msg(), identity=b"alice=40firm.example")
        self.assertIn(b"i=alice=40firm.example", m)
        self.send(pr, "alice@firm.example", m)
        self.assertIn("dkim=pass header.d=firm.example", self.stored_raw(pr))
        # a broken escape is refused, not guessed at
        m = self.sign(self.msg(), identity=b"alice=4@firm.example")
        code, text = self.refused(pr, "alice@firm.example", m)
        self.assertEqual(code, 550)
        self.assertIn("i= is not valid dkim-quoted-printable", text)

    # require_dkim = false, From not aligned with the envelope, the aligned
    # signature's key lookup times out: 451, not 550
    def test_temperror_on_aligned_key_is_451_for_from_alignment(self):
        pr = self.start(require_dkim="false")
        m = self.sign(make_message("carol@slowkey.example", "a1234@firm.example"),
                      domain=b"slowkey.example")
        code, text = self.refused(pr, "bob@other.example", m)
        self.assertEqual(code, 451, text)
        self.assertIn("4.4.3", text)
        self.assertIn("could not be fetched", text)

    # Result words: refused before verification is permerror, not fail
    def test_unverified_signatures_are_permerror_verified_mismatch_is_fail(self):
        pr = self.start(require_dkim="false")
        m = self.msg()
        sha1 = dkim.sign(m, b"rsa", b"firm.example", self.rsa, include_headers=HEADERS,
                         signature_algorithm=b"rsa-sha1")
        nokey = dkim.sign(m, b"nokey", b"firm.example", self.rsa, include_headers=HEADERS)
        changed = dkim.sign(m.replace(b"Hello.", b"Hullo."), b"rsa", b"firm.example", self.rsa,
                            include_headers=HEADERS)
        self.send(pr, "alice@firm.example", sha1 + nokey + changed + m)
        head = self.header_block(self.stored_raw(pr))
        words = re.findall(r"dkim=(\w+) \(([^)]*)\)", head)
        self.assertEqual([w for w, _ in words], ["permerror", "permerror", "fail"], head)
        self.assertIn("rsa-sha1", words[0][1])
        self.assertIn("no DKIM key record", words[1][1])
        self.assertIn("body hash mismatch", words[2][1])


def dovecot_or_skip(tc):
    if shutil.which("dovecot") is None:
        tc.skipTest("dovecot is not installed (Debian package dovecot-pop3d)")
    if os.geteuid() != 0:
        tc.skipTest("Dovecot's test instance must start as root (it drops to dovenull/dovecot)")


class TrustedProviderResults(unittest.TestCase):
    """Item 5, second half: collected mail with trusted_authserv_id.  The
    provider (mx.provider.example) added no Authentication-Results of its
    own; the sender wrote one with the provider's id below its own
    Received.  It must not be adopted; one above that Received is."""

    def setUp(self):
        dovecot_or_skip(self)
        from dovecot import Dovecot
        self.pr = Postroom(config={"dns_timeout_ms": "1000"})
        self.addCleanup(self.pr.cleanup)
        self.dc = Dovecot(self.pr.dir)
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", "s3cret-Pa55")
        self.pr.config.update({
            "pop_server": self.dc.url_ssl(), "pop_username": "sys", "pop_password": "s3cret-Pa55",
            "pop_ca_file": self.dc.cert, "system_address": "a1234@firm.example",
            "trusted_authserv_id": "mx.provider.example", "require_dkim": "true",
            "require_spf": "false", "authserv_id": OURS})
        self.pr.write_config()
        self.pr.seed_basic()

    def collect(self):
        self.pr.cli("collect", "--once", "--json", timeout=300)

    def stored_ids(self):
        return sorted(r[0] for r in self.pr.sql("SELECT message_id FROM messages"))

    def test_results_written_below_the_senders_received_are_not_adopted(self):
        provider = (b"Received: from attacker.example (attacker.example [203.0.113.66])\r\n"
                    b"\tby mx.provider.example with ESMTP id 9; Mon, 1 Jan 2024 00:00:00 +0000\r\n")
        claim = (b"Authentication-Results: mx.provider.example; spf=pass smtp.mailfrom=firm.example;\r\n"
                 b"\tdkim=pass header.d=firm.example header.s=sel; dmarc=pass header.from=firm.example\r\n")
        sender_hop = b"Received: from localhost by attacker.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        forged = provider + sender_hop + claim + make_message(
            "alice@firm.example", "a1234@firm.example", msgid="<forged@test.example>")
        genuine = provider + claim + sender_hop + make_message(
            "alice@firm.example", "a1234@firm.example", msgid="<genuine@test.example>")
        self.dc.deliver("sys", forged)
        self.dc.deliver("sys", genuine)
        self.collect()
        self.assertEqual(self.stored_ids(), ["genuine@test.example"])
        doc = json.loads(self.pr.cli("why", "alice@firm.example", "--json", check=False).stdout)
        self.assertIn("dkim_none", [a.get("reason", a.get("code")) for a in doc["attempts"]])


if __name__ == "__main__":
    unittest.main()
