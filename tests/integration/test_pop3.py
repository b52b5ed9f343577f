"""POP3 collection against a real Dovecot on loopback (issue 5).

Every message collected exactly once, over ssl:// and over tcp:// with
STLS; catch-all routing by Delivered-To; `check pop` saying exactly what
failed.  The interrupted rounds (a cut connection, a kill -9 mid-round)
are in test_pop3_crash, which runs alone.

What was stored is read straight from the SQLite store (messages,
message_raw, placements), so the test does not depend on the shape of
other commands' output.
"""
import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import unittest

from dovecot import Dovecot
from harness import BACKEND, Postroom, free_port, make_message, stored_bytes

PASSWORD = "s3cret-Pa55"


def dovecot_or_skip(tc):
    if shutil.which("dovecot") is None:
        tc.skipTest("dovecot is not installed (Debian package dovecot-pop3d)")
    if os.geteuid() != 0:
        tc.skipTest("Dovecot's test instance must start as root (it drops to dovenull/dovecot)")


def base_config():
    # harness.Postroom already points dns_server at a loopback dnsmasq
    # that knows no names; keep DNS waits short for the pipeline.
    return {"dns_timeout_ms": "1000"}


class Pop3Case(unittest.TestCase):
    mode = "ssl"
    extra = {}

    def setUp(self):
        dovecot_or_skip(self)
        self.pr = Postroom(config=base_config())
        self.addCleanup(self.pr.cleanup)
        self.dc = Dovecot(self.pr.dir)
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", PASSWORD)
        self.configure(self.mode)
        self.pr.seed_basic()

    def configure(self, mode, **over):
        self.pr.config.update({
            "pop_server": self.dc.url_ssl() if mode == "ssl" else self.dc.url_tcp(),
            "pop_username": "sys",
            "pop_password": PASSWORD,
            "pop_ca_file": self.dc.cert,
            "system_address": "a1234@firm.example",
        })
        self.pr.config.update(self.extra)
        self.pr.config.update(over)
        self.pr.write_config()

    def collect(self, check=True):
        p = self.pr.cli("collect", "--once", "--json", check=check, timeout=300)
        self.assertNotIn(PASSWORD.encode(), p.stdout + p.stderr)
        return json.loads(p.stdout) if p.stdout.strip() else None

    def stored(self, raw=False):
        """{Message-ID: (count, raw bytes)} of every stored message.  On
        PostgreSQL the bytes are read through `messages show --raw` (its
        store keeps them in chunks), and only when raw is asked for."""
        out = {}
        if BACKEND != "sqlite":
            for mid, ident in self.pr.sql("SELECT message_id, id FROM messages"):
                n, _ = out.get(mid, (0, None))
                body = self.pr.cli("messages", "show", ident, "--raw").stdout if raw else None
                out[mid] = (n + 1, body)
            return out
        con = sqlite3.connect(self.pr.store[len("sqlite:"):], timeout=30)
        self.addCleanup(con.close)
        for mid, raw, codec in con.execute(
                "SELECT m.message_id, r.raw, r.codec FROM messages m JOIN message_raw r ON r.message_id = m.id"):
            n, _ = out.get(mid, (0, None))
            out[mid] = (n + 1, stored_bytes(raw, codec))   # short ones deflated
        return out

    def deliver(self, n, sender="alice@firm.example", to="a1234@firm.example", extra=(), tag="m"):
        msgs = {}
        for i in range(n):
            mid = f"<{tag}{i}.{time.time_ns()}@test.example>"
            body = f"Message {i}.\r\n.a line starting with a dot\r\n..two dots\r\n.\r\nend\r\n"
            raw = make_message(sender, to, subject=f"{tag} {i}", body=body, msgid=mid,
                               extra_headers=extra)
            self.dc.deliver("sys", raw)
            msgs[mid.strip("<>")] = raw
        return msgs


class TestCollectSSL(Pop3Case):
    def test_collects_everything_byte_exact_and_empties_mailbox(self):
        sent = self.deliver(7)
        r = self.collect()
        self.assertEqual((r["ok"], r["listed"], r["collected"], r["deleted"]), (True, 7, 7, 7), r)
        self.assertEqual(self.dc.count("sys"), 0)
        got = self.stored(raw=True)
        self.assertEqual(set(got), set(sent))
        for mid, raw in sent.items():
            n, stored = got[mid]
            self.assertEqual(n, 1)
            # Our trace headers are prepended; the collected bytes follow
            # unchanged (dot-stuffing undone, CRLF kept).
            self.assertTrue(stored.endswith(raw), mid)
        places = self.pr.sql("SELECT DISTINCT kind, target FROM placements")
        self.assertEqual(places, [("project", "1234")])
        src = self.pr.sql("SELECT DISTINCT source FROM messages")
        self.assertEqual(src, [("pop3",)])
        # A second round finds nothing and stores nothing.
        r = self.collect()
        self.assertEqual((r["listed"], r["collected"]), (0, 0), r)
        self.assertEqual(len(self.stored()), 7)

    def test_check_pop_counts(self):
        self.deliver(3)
        p = self.pr.cli("check", "pop")
        self.assertIn(b"3 messages", p.stdout)
        j = json.loads(self.pr.cli("check", "pop", "--json").stdout)
        self.assertEqual((j["ok"], j["messages"], j["user"]), (True, 3, "sys"))
        self.assertNotIn(PASSWORD, json.dumps(j))

    def test_check_pop_wrong_password(self):
        self.configure("ssl", pop_password="wrong-password")
        p = self.pr.cli("check", "pop", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"login refused for user 'sys'", p.stderr)
        self.assertNotIn(b"wrong-password", p.stdout + p.stderr)
        j = json.loads(self.pr.cli("check", "pop", "--json", check=False).stdout)
        self.assertFalse(j["ok"])
        self.assertIn("login refused", j["error"])
        # collect refuses the same way and touches nothing
        self.deliver(2)
        r = self.collect(check=False)
        self.assertFalse(r["ok"])
        self.assertEqual(self.dc.count("sys"), 2)

    def test_check_pop_server_down(self):
        self.dc.stop()
        p = self.pr.cli("check", "pop", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"refused", p.stderr)
        self.assertIn(str(self.dc.sport).encode(), p.stderr)

    def test_check_pop_untrusted_certificate(self):
        self.configure("ssl", pop_ca_file="")
        del self.pr.config["pop_ca_file"]
        self.pr.write_config()
        p = self.pr.cli("check", "pop", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"certificate", p.stderr)

    def test_check_pop_imap_greeting(self):
        port = free_port()
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(4)
        srv.settimeout(20)
        self.addCleanup(srv.close)

        def greet():
            try:
                c, _ = srv.accept()
                c.sendall(b"* OK [CAPABILITY IMAP4rev1] fake IMAP ready\r\n")
                c.settimeout(5)
                try:
                    c.recv(100)
                except OSError:
                    pass
                c.close()
            except OSError:
                pass
        t = threading.Thread(target=greet, daemon=True)
        t.start()
        self.configure("tcp", pop_server=f"tcp://127.0.0.1:{port}")
        p = self.pr.cli("check", "pop", check=False)
        t.join(10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"IMAP", p.stderr)

    def test_imap_port_refused_in_settings(self):
        self.configure("ssl", pop_server="ssl://localhost:993")
        p = self.pr.cli("check", "pop", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"IMAP", p.stderr)


class TestMailboxes(Pop3Case):
    """UIDLs are unique only within one maildrop: what was collected from
    one user must not make the collector delete another's mail unseen."""

    def setUp(self):
        dovecot_or_skip(self)
        self.pr = Postroom(config=base_config())
        self.addCleanup(self.pr.cleanup)
        self.dc = Dovecot(self.pr.dir, uidl_format="%u")
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", PASSWORD)
        self.dc.add_user("sys2", PASSWORD)
        self.configure(self.mode)
        self.pr.seed_basic()

    def test_same_uidl_in_another_mailbox_is_collected(self):
        first = self.deliver(1, tag="one")
        r = self.collect()
        self.assertEqual((r["collected"], self.dc.count("sys")), (1, 0), r)
        # the same UIDL ("1") names a different message in sys2's mailbox
        raw = make_message("alice@firm.example", "a1234@firm.example", subject="two",
                           msgid="<two@test.example>")
        self.dc.deliver("sys2", raw)
        self.configure(self.mode, pop_username="sys2")
        r = self.collect()
        self.assertEqual((r["collected"], r["already_stored"]), (1, 0), r)
        self.assertEqual(self.dc.count("sys2"), 0)
        self.assertEqual(set(self.stored()), set(first) | {"two@test.example"})


class TestServe(Pop3Case):
    extra = {"pop_interval": "5"}

    def test_serve_collects_and_stops_promptly(self):
        sent = self.deliver(4)
        self.pr.start()
        deadline = time.time() + 30
        while time.time() < deadline and self.dc.count("sys") > 0:
            time.sleep(0.1)
        self.assertEqual(self.dc.count("sys"), 0, self.pr.log_text()[-2000:])
        more = self.deliver(2, tag="late")   # the next round, pop_interval later
        deadline = time.time() + 30
        while time.time() < deadline and self.dc.count("sys") > 0:
            time.sleep(0.1)
        self.assertEqual(self.dc.count("sys"), 0)
        t0 = time.time()
        self.pr.stop()
        self.assertLess(time.time() - t0, 5)   # the collector thread leaves at once
        self.assertEqual(set(self.stored()), set(sent) | set(more))
        self.assertNotIn(PASSWORD, self.pr.log_text())


class TestCollectSTLS(Pop3Case):
    mode = "tcp"
    extra = {"pop_require_tls": "true"}

    def test_collects_over_stls(self):
        sent = self.deliver(5)
        r = self.collect()
        self.assertEqual((r["collected"], r["deleted"]), (5, 5), r)
        self.assertEqual(self.dc.count("sys"), 0)
        self.assertEqual(set(self.stored()), set(sent))
        # Dovecot logs the login as made over TLS (plaintext login is off).
        self.assertRegex(self.dc.log_text(), r"Login: user=<sys>.*TLS")


class TestCatchAll(Pop3Case):
    extra = {"mailbox_type": "catchall", "system_address": ""}

    def test_routes_by_delivered_to(self):
        to_project = self.deliver(2, to="list@elsewhere.example",
                                  extra=["Delivered-To: a1234@firm.example"], tag="p")
        to_bob = self.deliver(1, to="list@elsewhere.example",
                              extra=["Delivered-To: bob@firm.example"], tag="b")
        r = self.collect()
        self.assertEqual(r["collected"], 3, r)
        rows = self.pr.sql("SELECT m.message_id, p.kind, p.target FROM messages m JOIN placements p "
            "ON p.message_id = m.id")
        where = {mid: (kind, target) for mid, kind, target in rows}
        for mid in to_project:
            self.assertEqual(where[mid], ("project", "1234"))
        for mid in to_bob:
            self.assertEqual(where[mid], ("user", "bob"))
        rcpts = dict(self.pr.sql("SELECT message_id, rcpts FROM messages"))
        self.assertIn("bob@firm.example", rcpts[next(iter(to_bob))])

    def test_unplaceable_recipient_kept_in_unassigned(self):
        """A catch-all copy for a domain the directory lacks is a setup gap,
        not the sender's fault: it is filed in Unassigned, never dropped."""
        sent = self.deliver(1, to="list@elsewhere.example",
                            extra=["Delivered-To: someone@not-ours.example"], tag="u")
        r = self.collect()
        self.assertEqual(r["collected"], 1, r)
        rows = self.pr.sql("SELECT p.kind FROM placements p")
        self.assertEqual(rows, [("unassigned",)])
        self.assertEqual(len(self.stored()), len(sent))
        self.assertEqual(self.pr.cli_json("check", "pop")["messages"], 0)

    def test_x_original_to_header(self):
        self.configure("ssl", catchall_header="X-Original-To")
        sent = self.deliver(1, to="list@elsewhere.example",
                            extra=["Delivered-To: nobody@firm.example",
                                   "X-Original-To: a1234@firm.example"])
        self.collect()
        rows = self.pr.sql("SELECT p.kind, p.target FROM placements p")
        self.assertEqual(rows, [("project", "1234")])
        self.assertEqual(len(self.stored()), len(sent))


class TokenServer:
    """An OAuth 2.0 token endpoint (refresh_token grant, RFC 6749 6) and an
    introspection endpoint (RFC 7662) for Dovecot, on loopback."""

    def __init__(self, refresh_token):
        import http.server
        import urllib.parse
        outer = self
        self.issued, self.refreshes = set(), 0

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
                if self.path == "/token":
                    if form.get("grant_type") == "refresh_token" and \
                            form.get("refresh_token") == refresh_token:
                        outer.refreshes += 1
                        tok = f"access-{outer.refreshes}-{time.time_ns()}"
                        outer.issued.add(tok)
                        self.answer(200, {"access_token": tok, "token_type": "Bearer",
                                          "expires_in": 3600})
                    else:
                        self.answer(400, {"error": "invalid_grant"})
                else:
                    ok = form.get("token") in outer.issued
                    self.answer(200, {"active": True, "username": "sys"} if ok else {"active": False})

            def answer(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TestOAuth(unittest.TestCase):
    """SASL XOAUTH2/OAUTHBEARER with an access token from a refresh token."""
    REFRESH = "refresh-token-R1"

    def setUp(self):
        dovecot_or_skip(self)
        self.tokens = TokenServer(self.REFRESH)
        self.addCleanup(self.tokens.stop)
        self.pr = Postroom(config=base_config())
        self.addCleanup(self.pr.cleanup)
        self.dc = Dovecot(self.pr.dir, oauth_introspect_url=f"http://127.0.0.1:{self.tokens.port}/introspect")
        self.addCleanup(self.dc.cleanup)
        self.dc.add_user("sys", PASSWORD)
        self.pr.config.update({
            "pop_server": self.dc.url_ssl(), "pop_username": "sys", "pop_ca_file": self.dc.cert,
            "system_address": "a1234@firm.example",
            "pop_oauth_token_url": f"http://127.0.0.1:{self.tokens.port}/token",
            "pop_oauth_client_id": "postroom-test",
            "pop_oauth_refresh_token": self.REFRESH,
        })
        self.pr.write_config()
        self.pr.seed_basic()

    def test_xoauth2_collects(self):
        for i in range(3):
            self.dc.deliver("sys", make_message("alice@firm.example", "a1234@firm.example",
                                                subject=f"o{i}"))
        p = self.pr.cli("check", "pop")
        self.assertIn(b"3 messages", p.stdout)
        p = self.pr.cli("collect", "--once", "--json")
        r = json.loads(p.stdout)
        self.assertEqual((r["collected"], r["deleted"]), (3, 3), r)
        self.assertEqual(self.dc.count("sys"), 0)
        self.assertNotIn(self.REFRESH.encode(), p.stdout + p.stderr)
        self.assertNotIn(b"access-", p.stdout + p.stderr)
        self.assertGreaterEqual(self.tokens.refreshes, 2)   # one per process
        self.assertRegex(self.dc.log_text(), r"Login: user=<sys>, method=(XOAUTH2|OAUTHBEARER)")

    def test_refused_refresh_token(self):
        self.pr.config["pop_oauth_refresh_token"] = "revoked-token"
        self.pr.write_config()
        p = self.pr.cli("check", "pop", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"refused the refresh token", p.stderr)
        self.assertNotIn(b"revoked-token", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
