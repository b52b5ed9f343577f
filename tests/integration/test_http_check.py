"""The three checks over HTTP (issue 14), as the console's Check buttons
use them: POP3 against a loopback Dovecot (green) and a closed port (red,
with the reason), SMTP against the loopback Postfix relay, and a domain's
records from a loopback dnsmasq.  A check that ran answers 200 with
{"ok": true|false, ...}; settings in the body are tried for that check
only, never stored; the HTTP answer states the same facts as the CLI."""
import json
import os
import tempfile
import unittest

from dovecot import Dovecot
from harness import DnsServer, Postroom, dnsmasq_txt as txt, free_port, make_message
from relay import RELAY_PASSWORD, RelayFixture
from test_pop3 import PASSWORD, dovecot_or_skip


class CheckBase(unittest.TestCase):
    def start(self, config=None):
        self.pr = Postroom(config=config)
        self.addCleanup(self.pr.cleanup)
        self.pr.start()
        self.admin = self.pr.token("admin")

    def check(self, what, body=None, token=None):
        status, _, doc = self.pr.http("POST", f"/api/v1/check/{what}", body,
                                      token=token or self.admin, timeout=120)
        return status, doc

    def stored_settings(self):
        return dict(self.pr.sql("SELECT key, value FROM settings"))


class CheckPop(CheckBase):
    def setUp(self):
        dovecot_or_skip(self)
        self.start()
        self.dc = Dovecot(self.pr.dir)
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", PASSWORD)
        for i in range(3):
            self.dc.deliver("sys", make_message("alice@firm.example", "a1234@firm.example", subject=f"m{i}"))
        self.form = {"pop_server": self.dc.url_ssl(), "pop_username": "sys", "pop_password": PASSWORD,
                     "pop_ca_file": self.dc.cert}

    def test_green_with_stored_settings_as_the_cli_says(self):
        status, doc = self.pr.http("PATCH", "/api/v1/settings", self.form, token=self.admin)[::2]
        self.assertEqual(status, 200, doc)
        status, doc = self.check("pop")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc, {"ok": True, "server": self.dc.url_ssl(), "user": "sys", "messages": 3})
        self.assertEqual(doc, self.pr.cli_json("check", "pop"))
        self.assertEqual(self.dc.count("sys"), 3)          # a check collects nothing

    def test_form_tried_before_saving(self):
        status, doc = self.check("pop", {"settings": self.form})
        self.assertEqual((status, doc["ok"], doc["messages"]), (200, True, 3), doc)
        self.assertEqual(self.stored_settings(), {})        # tried, not saved
        # the saved password, sent back as its mask, is used
        self.pr.http("PATCH", "/api/v1/settings", {"pop_password": PASSWORD}, token=self.admin)
        form = dict(self.form, pop_password="********")
        status, doc = self.check("pop", {"settings": form})
        self.assertEqual((status, doc["ok"]), (200, True), doc)

    def test_red_closed_port_with_the_reason(self):
        port = free_port()                 # nothing listens there
        form = dict(self.form, pop_server=f"tcp://127.0.0.1:{port}")
        status, doc = self.check("pop", {"settings": form})
        self.assertEqual(status, 200, doc)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["error"]["code"], "unreachable")
        self.assertIn("refused", doc["error"]["message"])
        self.assertIn(str(port), doc["error"]["message"])
        self.assertTrue(doc["error"]["fix"])
        self.assertEqual(doc["server"], f"tcp://127.0.0.1:{port}")

    def test_red_wrong_password_never_echoed(self):
        status, doc = self.check("pop", {"settings": dict(self.form, pop_password="wrong-Pa55word")})
        self.assertEqual((status, doc["ok"]), (200, False), doc)
        self.assertIn("login refused for user 'sys'", doc["error"]["message"])
        self.assertNotIn("wrong-Pa55word", json.dumps(doc))
        self.assertNotIn(PASSWORD, json.dumps(doc))

    def test_unset_server_is_red_and_bad_input_400(self):
        status, doc = self.check("pop")
        self.assertEqual((status, doc["ok"], doc["error"]["code"]), (200, False, "config"), doc)
        self.assertIn("pop_server is not set", doc["error"]["message"])
        for body in ({"settings": {"pop_server": "imap://x.example"}}, {"settings": {"nope": "1"}},
                     {"settings": ["pop_server"]}, b"{not json"):
            status, doc = self.check("pop", body)
            self.assertEqual((status, doc["error"]["code"]), (400, "invalid"), body)

    def test_read_token_refused(self):
        read = self.pr.token("read")
        status, doc = self.check("pop", {"settings": self.form}, token=read)
        self.assertEqual((status, doc["error"]["code"]), (403, "forbidden"))
        self.assertEqual(self.pr.http("POST", "/api/v1/check/pop", {})[0], 401)


class CheckSmtp(RelayFixture, CheckBase):
    def setUp(self):
        self.start()

    def test_green_and_red(self):
        form = self.relay.settings("sender", RELAY_PASSWORD)
        status, doc = self.check("smtp", {"settings": form})
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["ok"], doc["tls"], doc["authenticated"], doc["size"]),
                         (True, True, True, 41943040), doc)
        self.assertEqual(doc["server"], form["smtp_server"])
        self.assertEqual(self.stored_settings(), {})
        # the same facts as `check smtp --json` with those settings saved
        self.pr.http("PATCH", "/api/v1/settings", form, token=self.admin)
        status, saved = self.check("smtp")
        cli = self.pr.cli_json("check", "smtp")
        for k in ("ok", "server", "tls", "authenticated", "size", "ehlo"):
            self.assertEqual(saved[k], cli[k], k)
        status, doc = self.check("smtp", {"settings": {"smtp_password": "wrong-relay-pass"}})
        self.assertEqual((status, doc["ok"], doc["error"]["code"]), (200, False, "relay_auth"), doc)
        self.assertNotIn("wrong-relay-pass", json.dumps(doc))
        port = free_port()
        status, doc = self.check("smtp", {"settings": {"smtp_server": f"127.0.0.1:{port}"}})
        self.assertEqual((status, doc["ok"], doc["error"]["code"]), (200, False, "unreachable"), doc)
        self.assertIn(str(port), doc["error"]["message"])


class CheckDomain(CheckBase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-httpcheck-")
        cls.dns = DnsServer(cls.tmp.name, [
            txt("good.example", "v=spf1 ip4:192.0.2.0/24 include:inc.example -all"),
            txt("inc.example", "v=spf1 ip4:198.51.100.0/24 -all"),
            txt("_dmarc.good.example", "v=DMARC1; p=reject"),
        ])

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.start({"dns_server": self.dns.address})

    def test_records_explained_as_the_cli_does(self):
        status, doc = self.check("domain", {"domain": "good.example", "ip": "198.51.100.7"})
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["spf"]["status"], doc["dmarc"]["policy"]), ("ok", "reject"), doc)
        self.assertEqual(doc["spf"]["includes"], ["inc.example"])
        self.assertEqual(doc["evaluation"]["result"], "pass")
        self.assertTrue(doc["ok"], doc)
        cli = json.loads(self.pr.cli("check", "domain", "good.example", "--ip", "198.51.100.7",
                                     "--json").stdout)
        self.assertEqual(doc, cli)
        status, doc = self.check("domain", {"domain": "bare.example", "selector": "s1"})
        self.assertEqual((status, doc["ok"], doc["spf"]["status"], doc["dkim"]["status"]),
                         (200, False, "missing", "missing"), doc)
        self.assertIn("v=spf1", doc["spf"]["suggest"])
        self.assertIn("s1._domainkey.bare.example", doc["dkim"]["suggest"])

    def test_dns_server_from_the_form(self):
        silent = free_port()
        status, doc = self.check("domain", {"domain": "good.example",
                                            "settings": {"dns_server": f"127.0.0.1:{silent}",
                                                         "dns_timeout_ms": 300}})
        self.assertEqual((status, doc["ok"], doc["spf"]["status"]), (200, False, "dns_error"), doc)

    def test_bad_input_is_400(self):
        for body in ({}, {"domain": "no-dot"}, {"domain": "good.example", "ip": "999.1.1.1"},
                     {"domain": "good.example", "selector": "a b"}, {"domain": 5},
                     {"domain": "good.example", "settings": {"dns_timeout_ms": "soon"}}):
            status, doc = self.check("domain", body)
            self.assertEqual((status, doc["error"]["code"]), (400, "invalid"), body)


if __name__ == "__main__":
    unittest.main()
