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


# Issue 13, as reported: a.example includes three records (a2 nests one
# more), b.example has four a terms; a server matched only by mx needs the
# 11th lookup.  main said "valid; 2 of 10 DNS lookups used" and warned that
# any server may send (its probe, 192.0.2.1, is in a1.example's network).
ISSUE13 = [
    txt("client.example", "v=spf1 include:a.example include:b.example mx ?all"),
    txt("a.example", "v=spf1 include:a1.example include:a2.example include:a3.example -all"),
    txt("a1.example", "v=spf1 ip4:192.0.2.0/24 -all"),
    txt("a2.example", "v=spf1 include:a2x.example -all"),
    txt("a2x.example", "v=spf1 ip4:198.51.100.0/28 -all"),
    txt("a3.example", "v=spf1 ip4:198.51.100.64/28 -all"),
    txt("b.example", "v=spf1 a:b1.example a:b2.example a:b3.example a:b4.example -all"),
    "mx-host=client.example,mx.client.example,10",
    "host-record=mx.client.example,203.0.113.200",
] + [f"host-record=b{i}.example,203.0.113.{i}" for i in range(1, 5)]


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
        ] + [f"host-record=h{i}.many.example,198.51.100.{i + 1}" for i in range(11)] + ISSUE13
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

    def test_issue13_worst_case_counted_through_includes(self):
        rc, out = self.check("client.example")
        spf = out["spf"]
        self.assertEqual(rc, 1, out)
        self.assertEqual(spf["status"], "broken")
        self.assertEqual(spf["dns_lookups"], 11)
        self.assertEqual(spf["over_limit_path"], "client.example \u2192 mx")
        self.assertIn("11 of 10 DNS lookups in the worst case: client.example \u2192 mx", spf["detail"])
        self.assertEqual(spf["all"], "?all")
        self.assertEqual(spf["unlisted_servers"], "neutral")
        self.assertEqual(spf["all_meaning"], "the record ends in ?all: servers it does not list are "
                         "neither allowed nor refused")
        costs = {n["via"]: n["lookups"] for n in spf["tree"]}
        self.assertEqual(costs, {"client.example": 11, "include:a.example": 5, "include:a1.example": 1,
                                 "include:a2.example": 2, "include:a2x.example": 1,
                                 "include:a3.example": 1, "include:b.example": 5})
        text = self.pr.cli("check", "domain", "client.example", check=False).stdout.decode()
        self.assertNotIn("lets any server send", text)
        self.assertIn("servers it does not list are neither allowed nor refused", text)
        self.assertIn("include:a2.example: 2 lookups", text)
        # The evaluator agrees: the server only mx lists gets permerror at
        # the 11th lookup, the address main probed passes after 2.
        p = self.pr.cli("check", "domain", "client.example", "--ip", "203.0.113.200", "--json",
                        check=False)
        ev = json.loads(p.stdout)["evaluation"]
        self.assertEqual((ev["result"], ev["dns_lookups"]), ("permerror", 11), ev)
        p = self.pr.cli("check", "domain", "client.example", "--ip", "192.0.2.1", "--json", check=False)
        ev = json.loads(p.stdout)["evaluation"]
        self.assertEqual((ev["result"], ev["dns_lookups"]), ("pass", 2), ev)

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
