"""DKIM signing: `check domain` shows the records to publish for our own keys
(dkim_keys) and whether the loopback DNS (dnsmasq) has them; key files that
others could read are refused with the fix; and the signer's output is
verified by dkimpy (python3-dkim, the Debian package) at every run, against
the records `check domain` tells the administrator to publish."""
import base64
import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN, DnsServer, Postroom, TESTDATA, dnsmasq_txt as txt, rsa_key

SYSTEM_PYTHON = "/usr/bin/python3"      # Debian's python3-dkim lives there


def ed25519_key(workdir, name):
    path = os.path.join(workdir, name + ".pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", path], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "der"],
                         check=True, capture_output=True).stdout
    return path, base64.b64encode(der[-32:]).decode()     # RFC 8463: the raw 32 bytes


class CheckDomainSigning(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postroom-dkimsign-")
        self.addCleanup(self.tmp.cleanup)
        self.pr = Postroom()
        self.addCleanup(self.pr.cleanup)
        _, self.rsa_pub = rsa_key(self.pr.dir, "rsa")
        self.rsa = os.path.join(self.pr.dir, "rsa.pem")
        self.ed, self.ed_pub = ed25519_key(self.pr.dir, "ed")
        other = rsa_key(self.pr.dir, "other")[1]
        for p in (self.rsa, self.ed):
            os.chmod(p, 0o600)
        self.dns = DnsServer(self.tmp.name, [
            txt("r1._domainkey.firm.example", "v=DKIM1; k=rsa; p=" + self.rsa_pub),
            txt("e1._domainkey.firm.example", "v=DKIM1; k=rsa; p=" + other),   # a stale key
            txt("firm.example", "v=spf1 a:mx.firm.example -all"),
        ])
        self.addCleanup(self.dns.stop)
        self.pr.config.update({"dns_server": self.dns.address,
                               "dkim_keys": f"firm.example:r1:{self.rsa}, firm.example:e1:{self.ed},"
                                            f" firm.example:e2:{self.ed}"})
        self.pr.write_config()
        self.pr.give_to_user()

    def check(self):
        p = self.pr.cli("check", "domain", "firm.example", "--json", check=False)
        return p.returncode, json.loads(p.stdout)

    def test_records_to_publish(self):
        rc, out = self.check()
        keys = {k["selector"]: k for k in out["signing"]["keys"]}
        self.assertEqual(keys["r1"]["status"], "published")
        self.assertEqual(keys["r1"]["record"], "v=DKIM1; k=rsa; p=" + self.rsa_pub)
        self.assertEqual(keys["r1"]["algorithm"], "rsa-sha256")
        self.assertEqual(keys["e1"]["status"], "different")
        self.assertEqual(keys["e2"]["status"], "missing")
        self.assertEqual(keys["e2"]["record"], "v=DKIM1; k=ed25519; p=" + self.ed_pub)
        self.assertEqual(out["signing"]["spf_direct"], "a:mx.firm.example")
        self.assertEqual(rc, 1)            # e1 and e2 are not (rightly) published
        text = self.pr.cli("check", "domain", "firm.example", check=False).stdout.decode()
        self.assertIn('publish: e2._domainkey.firm.example. IN TXT "v=DKIM1; k=ed25519; p=', text)
        self.assertIn("DNS has another key at e1._domainkey.firm.example", text)
        self.assertIn("must include a:mx.firm.example", text)

    def test_readable_key_refused(self):
        os.chmod(self.ed, 0o644)
        rc, out = self.check()
        self.assertEqual(rc, 1)
        self.assertEqual(out["signing"]["status"], "broken")
        self.assertIn("readable by others (mode 0644): chmod 600", out["signing"]["detail"])

    def test_bad_setting_refused(self):
        p = self.pr.cli("settings", "set", "dkim_keys", "firm.example:r1:relative.pem", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"absolute key file path", p.stderr)


class DkimpyVerifies(unittest.TestCase):
    """The signer's known-answer message (RFC 8463 keys), written fresh by the
    unit program, verified by dkimpy against the RFC 8463 records."""

    def test_dkimpy_verifies_our_signatures(self):
        prog = os.path.join(os.path.dirname(BIN), "test-dkim-sign")
        if not os.path.exists(os.path.join(TESTDATA, "dkim", "rfc", "dns.json")):
            self.skipTest("shared testdata (RFC 8463 records) absent")
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, DKIM_SIGN_DUMP=d, POSTROOM_SHARED=os.path.dirname(TESTDATA))
            env.pop("ASAN_OPTIONS", None)
            subprocess.run([prog], check=True, capture_output=True, env=env, timeout=300)
            script = (
                "import dkim, json, sys\n"
                "recs = json.load(open(sys.argv[1]))\n"
                "m = open(sys.argv[2], 'rb').read()\n"
                "f = lambda n, timeout=5: recs[n.decode().rstrip('.')][0].encode()\n"
                "d = dkim.DKIM(m)\n"
                "print(d.verify(idx=0, dnsfunc=f), d.verify(idx=1, dnsfunc=f))\n")
            p = subprocess.run([SYSTEM_PYTHON, "-c", script, os.path.join(TESTDATA, "dkim", "rfc", "dns.json"),
                                os.path.join(d, "kat.eml")], capture_output=True, text=True, timeout=60)
            if "No module named 'dkim'" in p.stderr:
                self.skipTest("python3-dkim is not installed")
            self.assertEqual(p.stdout.strip(), "True True", p.stderr)


if __name__ == "__main__":
    unittest.main()


from relay import RELAY_PASSWORD, RelayFixture, wait_until   # noqa: E402


class SignedAtTheFarEnd(RelayFixture):
    """send -> queue -> serve's worker -> Postfix submission -> far end: the
    message arrives with both signatures, which dkimpy verifies against the
    records `check domain` prints, and with our bounce address as its
    envelope sender."""

    def test_far_end_verifies_both_signatures(self):
        self.far.messages.clear()
        key = "far-end-address-key-0123456789"
        pr = Postroom(config=dict(self.relay.settings("sender", RELAY_PASSWORD), address_key=key))
        self.addCleanup(pr.cleanup)
        _, rsa_pub = rsa_key(pr.dir, "rsa")
        ed, ed_pub = ed25519_key(pr.dir, "ed")
        for p in (os.path.join(pr.dir, "rsa.pem"), ed):
            os.chmod(p, 0o600)
        pr.config["dkim_keys"] = f"firm.example:r1:{pr.dir}/rsa.pem firm.example:e1:{ed}"
        pr.seed_basic()
        pr.start()
        pr.give_to_user()
        sent = json.loads(pr.cli("send", "--project", "1234", "--as", "alice", "--to",
                                 "someone@far.example", "--subject", "Signed", "--body-stdin",
                                 "--json", input=b"Hello  there.\n").stdout)
        wait_until(lambda: pr.cli_json("outbox", "show", str(sent["outbound_id"]))["state"] == "sent",
                   60, "sent")
        got = self.far.wait(1)[0]
        import hashlib
        import hmac
        mac = hmac.new(key.encode(), f"bounce:{sent['outbound_id']}".encode(),
                       hashlib.sha256).hexdigest()[:16]
        self.assertEqual(got["mail_from"], f"bounce+{sent['outbound_id']}-{mac}@firm.example")
        recs = {"r1._domainkey.firm.example": "v=DKIM1; k=rsa; p=" + rsa_pub,
                "e1._domainkey.firm.example": "v=DKIM1; k=ed25519; p=" + ed_pub}
        path = os.path.join(pr.dir, "arrived.eml")
        with open(path, "wb") as f:
            f.write(got["data"])
        script = ("import dkim, json, sys\n"
                  "recs = json.loads(sys.argv[1])\n"
                  "m = open(sys.argv[2], 'rb').read()\n"
                  "f = lambda n, timeout=5: recs[n.decode().rstrip('.')].encode()\n"
                  "d = dkim.DKIM(m)\n"
                  "print(d.verify(idx=0, dnsfunc=f), d.verify(idx=1, dnsfunc=f))\n")
        p = subprocess.run([SYSTEM_PYTHON, "-c", script, json.dumps(recs), path], capture_output=True,
                           text=True, timeout=60)
        if "No module named 'dkim'" in p.stderr:
            self.skipTest("python3-dkim is not installed")
        self.assertEqual(p.stdout.strip(), "True True", p.stderr)
