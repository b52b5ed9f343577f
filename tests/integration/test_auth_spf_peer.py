"""Differential test: our SPF evaluator against Debian's python3-spf (pyspf,
which passes the whole openspf suite) on a corpus of records served by
dnsmasq on loopback.  Both ask the same server; the results must agree.
Ours is reached through `postroom check domain D --ip IP --sender S`,
the same spf_check_host call intake makes."""
import json
import os
import tempfile
import unittest

from harness import DnsServer, Postroom

try:
    import dns.resolver
    import spf
except ImportError:          # not Debian's python3 with python3-spf
    spf = None

RECORDS = {
    "c1.example": "v=spf1 ip4:192.0.2.0/24 -all",
    "c2.example": "v=spf1 a mx include:c1.example ~all",
    "c3.example": "v=spf1 redirect=c1.example",
    "c4.example": "v=spf1 exists:%{i}.bl.c4.example -all",
    "c5.example": "v=spf1 ip6:2001:db8::/32 ?all",
    "c6.example": "v=spf1 " + " ".join(f"include:c1.example" for _ in range(11)) + " -all",
    "c7.example": "v=spf1 include:nothing.example -all",
    "c9.example": "v=spf1 a:%{l}.users.c9.example -all",
    "c10.example": "v=spf1 ptr -all",
    "c11.example": "v=spf1 ip4:192.0.2.1/33 -all",
    "c12.example": "v=spf1 -ip4:198.51.100.0/24 +all",
    "c13.example": "v=spf1 a:%{d}.c13.example/24 mx:c2.example//64 -all",
}
HOSTS = [
    "host-record=c2.example,198.51.100.7",
    "host-record=mx.c2.example,198.51.100.8",
    "mx-host=c2.example,mx.c2.example,10",
    "host-record=198.51.100.9.bl.c4.example,127.0.0.2",
    "host-record=alice.users.c9.example,198.51.100.7",
    "host-record=host.c10.example,198.51.100.10",
    "host-record=c13.example.c13.example,203.0.113.200",
]
IPS = ["192.0.2.5", "198.51.100.7", "198.51.100.8", "198.51.100.9", "198.51.100.10",
       "203.0.113.1", "2001:db8::1"]


@unittest.skipIf(spf is None, "python3-spf / dnspython not importable (run with /usr/bin/python3)")
class SpfAgreesWithPyspf(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-spfpeer-")
        lines = [f'txt-record={d},"{r}"' for d, r in RECORDS.items()]
        lines += ['txt-record=c8.example,"v=spf1 -all"', 'txt-record=c8.example,"v=spf1 +all"']
        cls.dns = DnsServer(cls.tmp.name, lines + HOSTS)
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = ["127.0.0.1"]
        res.port = int(cls.dns.address.rsplit(":", 1)[1])
        cls.saved = dns.resolver.default_resolver
        dns.resolver.default_resolver = res     # pyspf asks only our dnsmasq

    @classmethod
    def tearDownClass(cls):
        dns.resolver.default_resolver = cls.saved
        cls.dns.stop()
        cls.tmp.cleanup()

    def test_corpus(self):
        pr = Postroom(config={"dns_server": self.dns.address, "dns_timeout_ms": "2000"})
        self.addCleanup(pr.cleanup)
        domains = sorted(RECORDS) + ["c8.example", "none.example"]
        senders = {d: [f"user@{d}"] for d in domains}
        senders["c9.example"] = ["alice@c9.example", "bob@c9.example"]
        disagree, n, seen = [], 0, {}
        for d in domains:
            for sender in senders[d]:
                for ip in IPS:
                    p = pr.cli("check", "domain", d, "--ip", ip, "--sender", sender, "--json",
                               check=False)
                    ours = json.loads(p.stdout)["evaluation"]["result"]
                    theirs, _ = spf.check2(i=ip, s=sender, h=d, querytime=0)
                    n += 1
                    seen[ours] = seen.get(ours, 0) + 1
                    if ours != theirs:
                        disagree.append(f"{sender} from {ip}: ours {ours}, pyspf {theirs}")
        print(f"\nSPF differential: {n - len(disagree)} of {n} agree with pyspf {seen}")
        self.assertEqual(disagree, [])


if __name__ == "__main__":
    unittest.main()
