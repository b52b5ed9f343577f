"""Denial of service through the real listener (issue 10, "Denial of
service"): one client address must not hold the server.

Hostile clients are bound to other loopback addresses (127.0.0.2 ...) as
their source, so the per-address limits see distinct clients exactly as
they would on the Internet.  Timeouts are shortened through settings and
every wait has a deadline."""
import json
import os
import socket
import socketserver
import struct
import threading
import time

from harness import PostroomCase, eventually, make_message
from test_smtp import read_replies, reply_codes

HOSTILE = "127.0.0.2"
OTHER = "127.0.0.3"


def connect(port, source, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def greeting(sock):
    return read_replies(sock, until=b"\r\n", timeout=5)


def send_and_read(sock, data, until, timeout=5):
    sock.sendall(data)
    return read_replies(sock, until=until, timeout=timeout)


def log_rows(pr, reason):
    rows = pr.cli_json("log")["log"]
    return [r for r in rows if r.get("reason") == reason]


def trickle_until_closed(sock, piece, every, deadline):
    """Send piece every `every` seconds until the server closes or the
    deadline passes; return everything the server said."""
    sock.settimeout(every)
    got = b""
    end = time.time() + deadline
    while time.time() < end:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
    return got


class PerAddressSessions(PostroomCase):
    config = {"max_sessions": "6", "smtp_client_session_limit": "3", "smtp_idle_timeout": "300"}

    def test_one_address_cannot_lock_out_others(self):
        held, codes = [], []
        try:
            # The hostile address asks for every slot and trickles a byte
            # into each session it gets, as a slowloris does.
            for _ in range(6):
                s = connect(self.pr.smtp_port, HOSTILE)
                held.append(s)
                codes.append(greeting(s)[:9])
            for s in held:
                try:
                    s.sendall(b"N")
                except OSError:
                    pass
            self.assertEqual(codes.count(b"220 mx.fi"), 3, codes)
            refused = [c for c in codes if c.startswith(b"421")]
            self.assertEqual(len(refused), 3, codes)
            self.assertTrue(all(c == b"421 4.7.0" for c in refused), codes)
            # Another address still gets in and delivers.
            import smtplib
            with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=10,
                              source_address=(OTHER, 0)) as c:
                msg = make_message("alice@firm.example", "a1234@firm.example", subject="not locked out")
                self.assertEqual(c.sendmail("alice@firm.example", ["a1234@firm.example"], msg), {})
        finally:
            for s in held:
                s.close()

    def test_slot_is_returned_when_a_session_ends(self):
        socks = [connect(self.pr.smtp_port, HOSTILE) for _ in range(3)]
        try:
            for s in socks:
                self.assertTrue(greeting(s).startswith(b"220 "))
            socks[0].sendall(b"QUIT\r\n")
            read_replies(socks[0], timeout=5)

            def admitted():
                with connect(self.pr.smtp_port, HOSTILE) as s:
                    return greeting(s).startswith(b"220 ")
            self.assertTrue(eventually(admitted, timeout=5))
        finally:
            for s in socks:
                s.close()


class ConnectionRate(PostroomCase):
    config = {"smtp_client_connection_rate": "3"}

    def test_rate_limit_answers_421(self):
        for _ in range(3):
            with connect(self.pr.smtp_port, HOSTILE) as s:
                self.assertTrue(greeting(s).startswith(b"220 "))
                s.sendall(b"QUIT\r\n")
        with connect(self.pr.smtp_port, HOSTILE) as s:
            reply = read_replies(s, timeout=5)
        self.assertTrue(reply.startswith(b"421 4.7.0 "), reply)
        self.assertIn(b"per minute", reply)
        with connect(self.pr.smtp_port, OTHER) as s:      # others are not affected
            self.assertTrue(greeting(s).startswith(b"220 "))


class SessionLifetime(PostroomCase):
    config = {"smtp_session_lifetime": "2", "smtp_idle_timeout": "60"}

    def test_busy_session_is_cut_at_its_lifetime(self):
        start = time.time()
        with connect(self.pr.smtp_port, HOSTILE) as s:
            greeting(s)
            send_and_read(s, b"EHLO slow.example\r\nMAIL FROM:<x@slow.example>\r\n"
                          b"RCPT TO:<a1234@firm.example>\r\n", b"2.1.5")
            # A NOOP every 0.3 s keeps the idle timeout from ever firing.
            got = trickle_until_closed(s, b"NOOP\r\n", 0.3, deadline=15)
        codes = reply_codes(got)
        self.assertTrue(codes and codes[-1][0] == 421, got[-300:])
        self.assertTrue(codes[-1][1].startswith("4.7.0"), codes[-1])
        self.assertLess(time.time() - start, 10)
        # The transaction that was open is in the intake log.
        rows = eventually(lambda: log_rows(self.pr, "session_lifetime"), timeout=5)
        self.assertTrue(rows, self.pr.cli("log").stdout)
        self.assertEqual(rows[0]["peer_ip"], HOSTILE)


class MinimumDataRate(PostroomCase):
    config = {"smtp_min_data_rate": "1000", "smtp_data_rate_window": "1", "smtp_idle_timeout": "60"}

    def test_slowloris_data_is_cut(self):
        with connect(self.pr.smtp_port, HOSTILE) as s:
            greeting(s)
            send_and_read(s, b"EHLO slow.example\r\nMAIL FROM:<x@slow.example>\r\n"
                          b"RCPT TO:<a1234@firm.example>\r\nDATA\r\n", b"354 ")
            got = trickle_until_closed(s, b"Subject: x\r\n", 0.25, deadline=15)
        codes = reply_codes(got)
        self.assertTrue(codes and codes[-1][0] == 421, got[-300:])
        self.assertIn("4.7.0", codes[-1][1])
        self.assertIn("too slowly", codes[-1][1])
        rows = eventually(lambda: log_rows(self.pr, "data_too_slow"), timeout=5)
        self.assertTrue(rows, self.pr.cli("log").stdout)
        self.assertEqual(rows[0]["mail_from"], "x@slow.example")

    def test_a_normal_message_is_not_cut(self):
        import smtplib
        body = "line of text\r\n" * 5000           # 70 kB, fast
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=10) as c:
            msg = make_message("alice@firm.example", "a1234@firm.example", body=body)
            self.assertEqual(c.sendmail("alice@firm.example", ["a1234@firm.example"], msg), {})


class RefusalsCountAsErrors(PostroomCase):
    config = {"smtp_hard_error_limit": "3", "unknown_sender": "reject"}

    def test_size_refusals_end_the_session(self):
        with connect(self.pr.smtp_port, HOSTILE) as s:
            greeting(s)
            send_and_read(s, b"EHLO flood.example\r\n", b"250 ")
            s.sendall(b"MAIL FROM:<x@flood.example> SIZE=999999999999\r\n" * 3)
            got = read_replies(s, timeout=5)
        codes = [c for c, _ in reply_codes(got)]
        self.assertEqual(codes, [552, 552, 552, 421], got)

    def test_refused_messages_end_the_session(self):
        msg = make_message("stranger@elsewhere.example", "a1234@firm.example")
        with connect(self.pr.smtp_port, HOSTILE) as s:
            greeting(s)
            send_and_read(s, b"EHLO flood.example\r\n", b"250 ")
            codes = []
            for _ in range(3):
                got = send_and_read(s, b"MAIL FROM:<stranger@elsewhere.example>\r\n"
                                    b"RCPT TO:<a1234@firm.example>\r\nDATA\r\n", b"354 ")
                got += send_and_read(s, msg + b"\r\n.\r\n", b"\r\n", timeout=10)
                codes += [c for c, _ in reply_codes(got)]
                if 421 in codes:
                    break
            got = read_replies(s, timeout=5)
            codes += [c for c, _ in reply_codes(got)]
        self.assertEqual(codes.count(550), 3, codes)
        self.assertEqual(codes[-1], 421, codes)


class SlowDns:
    """A real DNS server on loopback UDP that answers every query after
    `delay` seconds (a domain whose name servers are slow).  zone maps a
    lower-case name to TXT strings; other names get NXDOMAIN, also late.
    One thread per query, so concurrent queries are each delayed.  Names
    ending in one of `silent` are never answered (a dead name server)."""

    def __init__(self, zone, delay, silent=()):
        self.zone, self.delay, self.silent = zone, delay, tuple(silent)
        self.silent_queries = 0          # queries left unanswered so far
        self.lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = outer.answer(data)
                if reply is not None:
                    time.sleep(outer.delay)
                    sock.sendto(reply, self.client_address)

        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server.server_address[1]

    def answer(self, q):
        if len(q) < 12:
            return None
        qid, _flags, qd = struct.unpack("!HHH", q[:6])
        pos, labels = 12, []
        while pos < len(q) and q[pos] != 0:
            n = q[pos]
            labels.append(q[pos + 1:pos + 1 + n].decode("ascii", "replace").lower())
            pos += 1 + n
        pos += 1
        if qd != 1 or pos + 4 > len(q):
            return None
        qtype = struct.unpack("!H", q[pos:pos + 2])[0]
        question = q[12:pos + 4]
        name = ".".join(labels)
        if self.silent and name.endswith(self.silent):
            with self.lock:
                self.silent_queries += 1
            return None
        txts = self.zone.get(name) if qtype == 16 else None
        rcode = 0 if name in self.zone else 3
        answers = b""
        for t in txts or []:
            raw = t.encode()
            rdata = b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255] for i in range(0, len(raw), 255))
            answers += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(rdata)) + rdata
        header = struct.pack("!HHHHHH", qid, 0x8400 | rcode, 1, len(txts or []), 0, 0)
        return header + question + answers

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class DnsBudget(PostroomCase):
    """Five SPF lookups for firm.example, each answered 0.3 s late: 1.5 s of
    DNS work for one message, every lookup well inside dns_timeout_ms."""
    start = False
    DELAY = 0.3

    def setUp(self):
        super().setUp()
        includes = " ".join(f"include:{c}.spf.firm.example" for c in "abcd")
        zone = {"firm.example": [f"v=spf1 {includes} ip4:127.0.0.2 -all"]}
        for c in "abcd":
            zone[f"{c}.spf.firm.example"] = ["v=spf1 -all"]
        self.dns = SlowDns(zone, self.DELAY)
        self.addCleanup(self.dns.stop)
        self.pr.config.update({"dns_server": self.dns.address, "dns_timeout_ms": "2000",
                               "require_spf": "true"})

    def send(self):
        msg = make_message("alice@firm.example", "a1234@firm.example", subject="slow dns")
        with connect(self.pr.smtp_port, HOSTILE, timeout=30) as s:
            greeting(s)
            send_and_read(s, b"EHLO mail.firm.example\r\nMAIL FROM:<alice@firm.example>\r\n"
                          b"RCPT TO:<a1234@firm.example>\r\nDATA\r\n", b"354 ")
            got = send_and_read(s, msg + b"\r\n.\r\n", b"\r\n", timeout=20)
        return reply_codes(got)[-1]

    def test_budget_exhausted_is_451(self):
        self.pr.config["dns_message_budget_ms"] = "1000"
        self.pr.start()
        start = time.time()
        code, text = self.send()
        self.assertEqual(code, 451, text)
        self.assertTrue(text.startswith("4.4.3"), text)
        self.assertIn("dns_message_budget_ms", text)
        self.assertLess(time.time() - start, 1.0 + 4 * self.DELAY)
        rows = eventually(lambda: log_rows(self.pr, "dns_budget"), timeout=5)
        self.assertTrue(rows, self.pr.cli("log").stdout)
        self.assertEqual(rows[0]["verdict"], "deferred")

    def test_within_budget_is_accepted(self):
        self.pr.config["dns_message_budget_ms"] = "20000"
        self.pr.start()
        code, text = self.send()
        self.assertEqual(code, 250, text)


class LogRetention(PostroomCase):
    """log_retention_days (default 90): older intake-log rows are deleted
    by serve (at start, then hourly) and by `postroom log prune`.  Rows are
    made old by moving their time back in the real store file."""
    config = {"unknown_sender": "reject"}

    def refuse(self, n):
        import smtplib
        msg = make_message("stranger@elsewhere.example", "a1234@firm.example")
        for _ in range(n):
            with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=10) as c:
                with self.assertRaises(smtplib.SMTPDataError):
                    c.sendmail("stranger@elsewhere.example", ["a1234@firm.example"], msg)

    def age_rows(self, count, days):
        self.pr.sql("UPDATE intake_log SET at = at - ? WHERE id IN "
                    "(SELECT id FROM intake_log ORDER BY id LIMIT ?)", days * 86400, count)

    def test_serve_deletes_rows_past_retention(self):
        self.refuse(3)
        eventually(lambda: len(self.pr.cli_json("log")["log"]) == 3, timeout=5)
        self.pr.stop()
        self.age_rows(2, 91)
        self.pr.start()
        rows = eventually(lambda: (lambda r: r if len(r) == 1 else None)(self.pr.cli_json("log")["log"]),
                          timeout=10)
        self.assertTrue(rows, self.pr.cli("log").stdout)
        self.assertIn("log retention: deleted 2", self.pr.log_text())

    def test_log_prune_command(self):
        self.refuse(2)
        eventually(lambda: len(self.pr.cli_json("log")["log"]) == 2, timeout=5)
        self.pr.stop()
        self.age_rows(1, 31)
        self.assertEqual(self.pr.cli_json("log", "prune")["deleted"], 0)    # 90 days: kept
        self.pr.cli("settings", "set", "log_retention_days", "30")
        out = self.pr.cli("log", "prune").stdout.decode()
        self.assertIn("deleted 1 intake log rows older than 30 days", out)
        self.assertEqual(len(self.pr.cli_json("log")["log"]), 1)


class SlowDomainDoesNotTakeEveryWorker(PostroomCase):
    """Four messages at once from a domain whose name server never answers
    would hold all four intake workers for two lookup timeouts each; the
    per-domain gate lets two of them wait on DNS and fails the rest fast
    (451), so a message from elsewhere is judged at once."""
    start = False

    def setUp(self):
        super().setUp()
        self.dns = SlowDns({}, 0, silent=("slow.example",))
        self.addCleanup(self.dns.stop)
        self.pr.config.update({"dns_server": self.dns.address, "dns_timeout_ms": "3000",
                               "dns_domain_concurrency": "2"})
        self.pr.start()

    def send(self, sender, results, key):
        msg = make_message(sender, "a1234@firm.example", subject=key)
        try:
            with connect(self.pr.smtp_port, OTHER if key == "firm" else HOSTILE, timeout=30) as s:
                greeting(s)
                send_and_read(s, b"EHLO client.example\r\nMAIL FROM:<%s>\r\n"
                              b"RCPT TO:<a1234@firm.example>\r\nDATA\r\n" % sender.encode(), b"354 ")
                s.sendall(msg + b"\r\n.\r\n")
                t0 = time.time()
                got = read_replies(s, until=b"\r\n", timeout=25)
                results[key] = (reply_codes(got)[-1][0] if reply_codes(got) else None, time.time() - t0)
        except OSError as e:
            results[key] = (repr(e), 0)

    def test_other_mail_is_judged_while_one_domain_times_out(self):
        results, threads = {}, []
        for i in range(4):
            t = threading.Thread(target=self.send, args=(f"x{i}@slow.example", results, f"slow{i}"))
            t.start()
            threads.append(t)
        # The slow messages reach the workers first: wait until the gate's
        # two lookups are at the dead name server.
        self.assertTrue(eventually(lambda: self.dns.silent_queries >= 2, timeout=10),
                        "the slow domain's lookups never reached the name server")
        self.send("alice@firm.example", results, "firm")
        for t in threads:
            t.join(30)
        code, took = results["firm"]
        self.assertEqual(code, 250, results)
        self.assertLess(took, 2.5, results)        # not behind two 3 s timeouts
        # Those refused by the gate get 451; the two that waited out their
        # timeouts are judged on temperror results (here: 550, unknown sender).
        slow = [results[f"slow{i}"][0] for i in range(4)]
        self.assertGreaterEqual(slow.count(451), 2, results)
        self.assertNotIn(250, slow, results)


class LimitExceptions(PostroomCase):
    """All mail from the organisation's own relay or filter comes from one
    address; smtp_client_limit_exceptions frees it from the per-address
    limits while everyone else keeps them.  Set live, with `settings set`."""
    config = {"smtp_client_session_limit": "2", "smtp_idle_timeout": "300"}

    def open_sessions(self, source, n):
        socks, codes = [], []
        for _ in range(n):
            s = connect(self.pr.smtp_port, source)
            socks.append(s)
            codes.append(greeting(s)[:3])
        return socks, codes

    def test_listed_relay_is_not_limited(self):
        p = self.pr.cli("settings", "set", "smtp_client_limit_exceptions", "10.0.0.1/8", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"10.0.0.1/8", p.stdout + p.stderr)
        self.pr.cli("settings", "set", "smtp_client_limit_exceptions", "192.0.2.10, 127.0.0.1 2001:db8::/32")
        changed = "stored settings: settings changed: smtp_client_limit_exceptions"
        self.assertTrue(eventually(lambda: changed in self.pr.log_text(), timeout=10))
        held = []
        try:
            socks, relay = self.open_sessions("127.0.0.1", 4)
            held += socks
            socks, other = self.open_sessions(HOSTILE, 3)
            held += socks
            self.assertEqual(relay, [b"220"] * 4)
            self.assertEqual(other, [b"220", b"220", b"421"])
        finally:
            for s in held:
                s.close()
