"""Collected mail: the client IP comes from the trusted host's TCP-info only
(issue 10, forgery item 4).

A real Dovecot serves the system mailbox by POP3; dnsmasq on loopback
serves firm.example's SPF record, which allows only 198.51.100.7.  The
provider's MTA (trusted_received_host = mx.provider.example) really
received each message from 203.0.113.66, and wrote that in the TCP-info
comment of its Received stamp.  The sender chose the HELO:

  - "[198.51.100.7]": the IP literal of an allowed address, which a parser
    that takes the first [...] after "from" reads as the client IP;
  - "by": shifts a parser that looks for the word "by" onto a lower
    Received, written by the sender, that claims 198.51.100.7.

Both must be refused as SPF fail for 203.0.113.66 (a control message that
really came from 198.51.100.7 is accepted).  A trusted stamp that cannot be
read safely (a HELO that adds a second TCP-info; no IP at all) must be
deferred: logged, and left in the mailbox for the next round.
"""
import json
import os
import shutil
import tempfile
import time
import unittest

from dovecot import Dovecot
from harness import DnsServer, Postroom

PASSWORD = "s3cret-Pa55"
ALLOWED, REAL = "198.51.100.7", "203.0.113.66"


def stamp(helo, tcp_info, host="mx.provider.example"):
    """A Postfix Received stamp, as Postfix writes the HELO: verbatim."""
    return (f"Received: from {helo} ({tcp_info})\r\n"
            f"\tby {host} (Postfix) with ESMTPS id 4Tq9Xv1Lz2z9sW1\r\n"
            f"\tfor <a1234@firm.example>; Mon,  1 Jan 2024 10:00:00 +0100 (CET)\r\n")


def message(tag, trace):
    """What the provider delivers into the mailbox: its Return-Path and
    Delivered-To, its stamp(s), then the sender's message."""
    mid = f"<{tag}.{time.time_ns()}@client.example>"
    raw = ("Return-Path: <alice@firm.example>\r\n"
           "Delivered-To: a1234@firm.example\r\n"
           + trace +
           "From: Alice Archer <alice@firm.example>\r\n"
           "To: a1234@firm.example\r\n"
           f"Subject: {tag}\r\n"
           f"Message-ID: {mid}\r\n"
           "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
           "\r\n"
           "Hello.\r\n")
    return mid.strip("<>"), raw.encode()


class TrustedReceived(unittest.TestCase):
    def setUp(self):
        if shutil.which("dovecot") is None:
            self.skipTest("dovecot is not installed (Debian package dovecot-pop3d)")
        if os.geteuid() != 0:
            self.skipTest("Dovecot's test instance must start as root")
        tmp = tempfile.TemporaryDirectory(prefix="postroom-rcvd-dns-")
        self.addCleanup(tmp.cleanup)
        self.dns = DnsServer(tmp.name, [f'txt-record=firm.example,"v=spf1 ip4:{ALLOWED} -all"'])
        self.addCleanup(self.dns.stop)
        self.pr = Postroom(config={"dns_server": self.dns.address, "dns_timeout_ms": "1000",
                                   "require_spf": "true",
                                   "trusted_received_host": "mx.provider.example"})
        self.addCleanup(self.pr.cleanup)
        self.dc = Dovecot(self.pr.dir)
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", PASSWORD)
        self.pr.config.update({"pop_server": self.dc.url_ssl(), "pop_username": "sys",
                               "pop_password": PASSWORD, "pop_ca_file": self.dc.cert,
                               "system_address": "a1234@firm.example"})
        self.pr.write_config()
        self.pr.seed_basic()

    def collect(self):
        p = self.pr.cli("collect", "--once", "--json", timeout=300)
        return json.loads(p.stdout)

    def stored(self):
        return {r[0] for r in self.pr.sql("SELECT message_id FROM messages")}

    def log(self):
        """{Message-ID header: [intake log rows]}, oldest first."""
        out = {}
        for e in reversed(self.pr.cli_json("log")["log"]):
            out.setdefault(e.get("message_id_hdr") or "", []).append(e)
        return out

    def test_hostile_helo_cannot_choose_the_client_ip(self):
        control, raw = message("control", stamp("mail.firm.example",
                                                f"mail.firm.example [{ALLOWED}]"))
        self.dc.deliver("sys", raw)
        literal, raw = message("literal", stamp(f"[{ALLOWED}]", f"unknown [{REAL}]"))
        self.dc.deliver("sys", raw)
        # HELO "by", and below the real stamp one the sender wrote.
        shifted, raw = message("shifted", stamp("by", f"unknown [{REAL}]") +
                               stamp("mail.firm.example", f"mail.firm.example [{ALLOWED}]"))
        self.dc.deliver("sys", raw)

        r = self.collect()
        self.assertEqual((r["listed"], r["collected"], r["refused"]), (3, 1, 2), r)
        self.assertEqual(self.stored(), {control})
        self.assertEqual(self.dc.count("sys"), 0)     # refused for good: logged, deleted
        log = self.log()
        for mid in (literal, shifted):
            with self.subTest(mid=mid):
                rows = log.get(mid) or log.get(f"<{mid}>")
                self.assertTrue(rows, log)
                self.assertEqual(rows[-1]["verdict"], "rejected")
                self.assertEqual(rows[-1]["reason"], "spf_fail")
                self.assertEqual(rows[-1]["peer_ip"], REAL)
                self.assertIn(REAL, rows[-1]["detail"])

    def test_unreadable_trusted_stamp_is_deferred(self):
        # A HELO that adds a TCP-info of its own: two client IPs.
        twice, raw = message("twice", stamp(f"x (allowed.example [{ALLOWED}])",
                                            f"unknown [{REAL}]"))
        self.dc.deliver("sys", raw)
        # A stamp by the trusted host with no IP in it.
        noip, raw = message("noip", stamp("mail.firm.example", "unknown") +
                            stamp("mail.firm.example", f"mail.firm.example [{ALLOWED}]"))
        self.dc.deliver("sys", raw)

        for round_no in (1, 2):
            r = self.collect()
            self.assertEqual((r["listed"], r["collected"], r["refused"], r["left"]),
                             (2, 0, 0, 2), (round_no, r))
            self.assertEqual(self.dc.count("sys"), 2)     # left for the next round
        self.assertEqual(self.stored(), set())
        log = self.log()
        for mid in (twice, noip):
            with self.subTest(mid=mid):
                rows = log.get(mid) or log.get(f"<{mid}>")
                self.assertEqual([e["verdict"] for e in rows], ["deferred", "deferred"], log)
                self.assertEqual(rows[-1]["reason"], "received_unparsed")
                self.assertIn("mx.provider.example", rows[-1]["detail"])
        why = self.pr.cli("why", str(rows[-1]["id"]), check=False)
        self.assertIn(b"received_unparsed", why.stdout + why.stderr)


if __name__ == "__main__":
    unittest.main()
