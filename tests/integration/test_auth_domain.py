"""`postroom check domain` against a real DNS server (dnsmasq on loopback),
and a DNS server that never answers (the lookup must end in time and be
reported as a DNS problem, not as a missing record)."""
import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

from harness import DnsServer, Postroom, dnsmasq_txt as txt


def dkim_public_key(workdir, bits=2048):
    key = os.path.join(workdir, f"dkim{bits}.key")
    subprocess.run(["openssl", "genrsa", "-out", key, str(bits)], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "der"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


class CheckDomain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-auth-")
        key = dkim_public_key(cls.tmp.name)
        many = "v=spf1 " + " ".join(f"a:h{i}.many.example" for i in range(11)) + " -all"
        records = [
            txt("good.example", "v=spf1 ip4:127.0.0.1 include:inc.example -all"),
            txt("inc.example", "v=spf1 ip4:192.0.2.128/25 -all"),
            txt("_dmarc.good.example", "v=DMARC1; p=reject; rua=mailto:d@good.example"),
            txt("sel._domainkey.good.example", "v=DKIM1; k=rsa; p=" + key),
            txt("broken.example", "v=spf1 ip4:1.2.3.4 frob -all"),
            txt("many.example", many),
            txt("open.example", "v=spf1 +all"),
        ] + [f"host-record=h{i}.many.example,198.51.100.{i + 1}" for i in range(11)]
        cls.dns = DnsServer(cls.tmp.name, records)

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.pr = Postroom(config={"dns_server": self.dns.address, "dns_timeout_ms": "2000"})
        self.addCleanup(self.pr.cleanup)

    def check(self, *args):
        p = self.pr.cli("check", "domain", *args, "--json", check=False)
        return p.returncode, json.loads(p.stdout)

    def test_good_domain(self):
        rc, out = self.check("good.example", "--selector", "sel")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out["spf"]["status"], "ok")
        self.assertEqual(out["spf"]["includes"], ["inc.example"])
        self.assertEqual(out["spf"]["dns_lookups"], 1)
        self.assertEqual(out["dmarc"]["status"], "ok")
        self.assertEqual(out["dmarc"]["policy"], "reject")
        self.assertEqual(out["dkim"]["status"], "ok")
        self.assertIn("2048 bits", out["dkim"]["detail"])
        self.assertTrue(out["ok"])

    def test_text_output(self):
        p = self.pr.cli("check", "domain", "good.example", "--selector", "sel")
        text = p.stdout.decode()
        self.assertIn("SPF: ok", text)
        self.assertIn("includes inc.example", text)
        self.assertIn("1 of 10 DNS lookups", text)

    def test_missing_everything_suggests_records(self):
        rc, out = self.check("bare.example", "--selector", "s1")
        self.assertEqual(rc, 1)
        self.assertEqual(out["spf"]["status"], "missing")
        self.assertIn("v=spf1", out["spf"]["suggest"])
        self.assertEqual(out["dmarc"]["status"], "missing")
        self.assertIn("_dmarc.bare.example TXT \"v=DMARC1; p=none", out["dmarc"]["suggest"])
        self.assertEqual(out["dkim"]["status"], "missing")
        self.assertIn("s1._domainkey.bare.example", out["dkim"]["suggest"])

    def test_broken_spf_syntax(self):
        rc, out = self.check("broken.example")
        self.assertEqual(rc, 1)
        self.assertEqual(out["spf"]["status"], "broken")
        self.assertIn("frob", out["spf"]["detail"])
        self.assertEqual(out["dkim"]["status"], "skipped")

    def test_too_many_lookups(self):
        rc, out = self.check("many.example")
        self.assertEqual(rc, 1)
        self.assertEqual(out["spf"]["status"], "broken")
        self.assertIn("more than 10 DNS lookups", out["spf"]["detail"])

    def test_plus_all_is_warned(self):
        p = self.pr.cli("check", "domain", "open.example", check=False)
        self.assertIn("WARNING", p.stdout.decode())

    def test_dns_timeout_is_temporary(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))            # bound, never read: no answer
        self.addCleanup(silent.close)
        pr = Postroom(config={"dns_server": f"127.0.0.1:{silent.getsockname()[1]}",
                              "dns_timeout_ms": "300"})
        self.addCleanup(pr.cleanup)
        t0 = time.time()
        p = pr.cli("check", "domain", "good.example", "--json", check=False)
        self.assertLess(time.time() - t0, 10)
        self.assertEqual(p.returncode, 75)
        out = json.loads(p.stdout)
        self.assertEqual(out["spf"]["status"], "dns_error")


if __name__ == "__main__":
    unittest.main()
