"""The outbound transport against real servers on loopback (issue 13):
Postfix submission with STARTTLS and Dovecot SASL as the relay, a capture
server as the far end (relay.py), dnsmasq serving MX records for direct
mode.  Driven through `postroom check smtp`, which checks the relay or,
with --to, sends one message now through the same transport the queue
uses, and reports each recipient with the server's words.
"""
import json
import os
import shutil
import tempfile
import unittest

from harness import DnsServer, Postroom, free_port
from relay import RELAY_PASSWORD, Capture, RelayFixture, relay_or_skip, strip_received

PASSWORD = RELAY_PASSWORD


def attachment_message():
    """A message with lines that test the transport: a leading dot (must be
    dot-stuffed on the wire and unstuffed at the far end), a lone dot, a
    long base64 attachment, 8-bit text, and no final CRLF trouble."""
    import base64
    blob = bytes(range(256)) * 40
    b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n")
    return (b"From: Alice <a1234@firm.example>\r\nTo: Someone <someone@far.example>\r\n"
            b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <out.1@firm.example>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            b".a line that starts with a dot\r\n.\r\n..two dots\r\nGr\xc3\xbc\xc3\x9fe\r\n"
            b"--b1\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--b1--\r\n")


class RelayCase(RelayFixture):
    """One Postfix + Dovecot for the class; a fresh postroom per test."""
    refuse = ("nobody@far.example",)
    defer = ("busy@far.example",)

    def setUp(self):
        self.far.messages.clear()
        self.pr = Postroom(config=self.relay.settings("sender", PASSWORD))
        self.addCleanup(self.pr.cleanup)

    def check(self, *args):
        p = self.pr.cli("check", "smtp", "--json", *args, check=False)
        return p.returncode, json.loads(p.stdout), p.stderr.decode(errors="replace")

    def message_file(self, data):
        path = os.path.join(self.pr.dir, "msg.eml")
        with open(path, "wb") as f:
            f.write(data)
        self.pr.give_to_user()
        return path


class TestCheckSmtp(RelayCase):
    def test_green(self):
        rc, doc, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertTrue(doc["ok"])
        self.assertTrue(doc["tls"])
        self.assertTrue(doc["authenticated"])
        self.assertEqual(doc["size"], 41943040)
        self.assertIn("relay.test", doc["greeting"])
        self.assertTrue(any(k.startswith("AUTH") for k in doc["ehlo"]), doc["ehlo"])

    def test_text_output_never_shows_password(self):
        p = self.pr.cli("check", "smtp")
        out = p.stdout.decode() + p.stderr.decode()
        self.assertIn("ok, TLS, logged in, messages up to 41943040 bytes", out)
        self.assertNotIn(PASSWORD, out)

    def test_implicit_tls(self):
        self.pr.config.update(self.relay.settings("sender", PASSWORD, tls="implicit"))
        self.pr.write_config()
        rc, doc, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertTrue(doc["tls"] and doc["authenticated"])

    def test_auth_rejected_with_the_servers_words(self):
        self.pr.config["smtp_password"] = "wrong"
        self.pr.write_config()
        rc, doc, err = self.check()
        self.assertEqual(rc, 77, err)               # EX_NOPERM
        self.assertEqual(doc["code"], "relay_auth")
        self.assertIn("login refused for user 'sender'", doc["error"])
        self.assertIn("535 5.7.8", doc["error"])     # Postfix's own answer
        self.assertNotIn("wrong", err)

    def test_port_25_refused_before_connecting(self):
        self.pr.config["smtp_server"] = "127.0.0.1:25"
        self.pr.write_config()
        rc, doc, err = self.check()
        self.assertEqual(rc, 78, err)               # EX_CONFIG
        self.assertEqual(doc["code"], "relay_port_25")
        self.assertIn("587", err)
        rc, doc, err = self.check("--to", "someone@far.example")
        self.assertEqual(rc, 78, err)
        self.assertEqual(doc["code"], "relay_port_25")

    def test_untrusted_certificate_refused(self):
        self.pr.config["smtp_ca_file"] = ""
        self.pr.write_config()
        rc, doc, err = self.check()
        self.assertEqual(rc, 76, err)               # EX_PROTOCOL
        self.assertEqual(doc["code"], "tls_certificate")
        self.assertIn("smtp_ca_file", doc["error"])
        rc, doc, err = self.check("--to", "someone@far.example")
        self.assertEqual(rc, 75, err)               # deferred, not failed
        self.assertEqual(doc["code"], "tls_certificate")
        self.assertEqual(self.far.messages, [])

    def test_name_not_found(self):
        self.pr.config["smtp_server"] = "relay.invalid:587"
        self.pr.write_config()
        rc, doc, err = self.check()
        self.assertEqual(rc, 68, err)               # EX_NOHOST
        self.assertEqual(doc["code"], "not_found")
        self.assertIn("relay.invalid", doc["error"])


class TestTransport(RelayCase):
    def test_bytes_arrive_exactly(self):
        data = attachment_message()
        path = self.message_file(data)
        rc, doc, err = self.check("--from", "bounce+1@firm.example", "--to", "someone@far.example",
                                  "--message", path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["status"], "sent")
        self.assertEqual(doc["recipients"][0]["code"], 250)
        got = self.far.wait(1)[0]
        self.assertEqual(got["mail_from"], "bounce+1@firm.example")
        self.assertEqual(got["rcpts"], ["someone@far.example"])
        self.assertEqual(strip_received(got["data"]), data)

    def test_5xx_is_permanent_with_the_answer(self):
        path = self.message_file(attachment_message())
        rc, doc, err = self.check("--from", "a@firm.example", "--to", "nobody@far.example",
                                  "--to", "someone@far.example", "--message", path)
        self.assertEqual(rc, 69, err)
        self.assertEqual(doc["status"], "failed")
        bad, good = doc["recipients"]
        self.assertEqual((bad["status"], bad["code"]), ("failed", 550))
        self.assertIn("550 5.1.1 <nobody@far.example>: Recipient address rejected", bad["reply"])
        self.assertIn("no such user here", bad["reply"])
        self.assertEqual(good["status"], "sent")
        self.assertEqual(doc["code"], "send_refused")
        got = self.far.wait(1)
        self.assertEqual([m["rcpts"] for m in got], [["someone@far.example"]])

    def test_4xx_is_temporary_with_the_answer(self):
        rc, doc, err = self.check("--from", "a@firm.example", "--to", "busy@far.example")
        self.assertEqual(rc, 75, err)               # EX_TEMPFAIL
        self.assertEqual(doc["status"], "deferred")
        self.assertEqual(doc["recipients"][0]["code"], 450)
        self.assertIn("450 4.2.0 <busy@far.example>: Recipient address rejected", doc["recipients"][0]["reply"])
        self.assertIn("mailbox busy, try later", doc["recipients"][0]["reply"])
        self.assertEqual(doc["code"], "send_deferred")

    def test_auth_failure_defers_the_message(self):
        self.pr.config["smtp_password"] = "wrong"
        self.pr.write_config()
        rc, doc, err = self.check("--to", "someone@far.example")
        self.assertEqual(rc, 75, err)
        self.assertEqual(doc["code"], "relay_auth")
        self.assertIn("535 5.7.8", doc["recipients"][0]["reply"])


class TestRelayDown(unittest.TestCase):
    def test_relay_down_is_temporary(self):
        relay_or_skip(self)
        port = free_port()            # nothing listens there
        pr = Postroom(config={"smtp_server": f"127.0.0.1:{port}", "smtp_tls": "starttls"})
        self.addCleanup(pr.cleanup)
        p = pr.cli("check", "smtp", "--json", "--to", "someone@far.example", check=False)
        doc = json.loads(p.stdout)
        self.assertEqual(p.returncode, 75, p.stderr)
        self.assertEqual(doc["status"], "deferred")
        self.assertEqual(doc["code"], "unreachable")
        self.assertIn(f"port {port} refused", doc["recipients"][0]["reply"])


class TestDirect(unittest.TestCase):
    """smtp_server = direct: MX records from a loopback dnsmasq point at a
    capture server with STARTTLS on a loopback port (smtp_direct_port)."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="postroom-direct-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.far = Capture(self.work, starttls=True, name="mx.far.example",
                           rcpt_reply=lambda a: "550 5.1.1 unknown user" if a.startswith("nobody@") else None)
        self.addCleanup(self.far.stop)
        self.dns = DnsServer(self.work, [
            "mx-host=far.example,mx-dead.far.example,5",     # preferred, but down
            "mx-host=far.example,mx.far.example,10",
            "host-record=mx-dead.far.example,127.0.0.2",
            "host-record=mx.far.example,127.0.0.1",
            "host-record=plain.example,127.0.0.1",           # no MX: implicit MX
            "mx-host=nomail.example,.,0",                    # null MX (RFC 7505)
        ])
        self.addCleanup(self.dns.stop)
        self.pr = Postroom(config={"smtp_server": "direct", "smtp_direct_port": str(self.far.port),
                                   "dns_server": self.dns.address})
        self.addCleanup(self.pr.cleanup)

    def send(self, *rcpts, data=None):
        args = ["check", "smtp", "--json", "--from", "bounce+7@firm.example"]
        for r in rcpts:
            args += ["--to", r]
        if data is not None:
            path = os.path.join(self.pr.dir, "msg.eml")
            with open(path, "wb") as f:
                f.write(data)
            self.pr.give_to_user()
            args += ["--message", path]
        p = self.pr.cli(*args, check=False)
        return p.returncode, json.loads(p.stdout), p.stderr.decode(errors="replace")

    def test_mx_in_preference_order_with_starttls(self):
        data = attachment_message()
        rc, doc, err = self.send("someone@far.example", "other@FAR.example", data=data)
        self.assertEqual(rc, 0, err)
        self.assertEqual([r["status"] for r in doc["recipients"]], ["sent", "sent"])
        got = self.far.wait(1)
        self.assertEqual(len(got), 1)                 # one session for the domain
        self.assertEqual(got[0]["rcpts"], ["someone@far.example", "other@FAR.example"])
        self.assertTrue(got[0]["tls"], "STARTTLS was offered and not used")
        self.assertEqual(got[0]["data"], data)

    def test_implicit_mx_null_mx_and_unknown_domain(self):
        rc, doc, err = self.send("a@plain.example", "b@nomail.example", "c@nxdomain.example",
                                 "nobody@far.example")
        self.assertEqual(rc, 69, err)
        st = {r["address"]: r for r in doc["recipients"]}
        self.assertEqual(st["a@plain.example"]["status"], "sent")
        self.assertEqual(st["b@nomail.example"]["status"], "failed")
        self.assertIn("5.1.10", st["b@nomail.example"]["reply"])
        self.assertEqual(st["c@nxdomain.example"]["status"], "failed")
        self.assertIn("does not exist", st["c@nxdomain.example"]["reply"])
        self.assertEqual(st["nobody@far.example"]["status"], "failed")
        self.assertIn("550 5.1.1 unknown user", st["nobody@far.example"]["reply"])
        self.assertEqual([m["rcpts"] for m in self.far.wait(1)], [["a@plain.example"]])

    def test_all_mx_down_is_temporary(self):
        self.far.stop()
        rc, doc, err = self.send("someone@far.example")
        self.assertEqual(rc, 75, err)
        self.assertEqual(doc["status"], "deferred")
        self.assertIn("refused", doc["recipients"][0]["reply"])
