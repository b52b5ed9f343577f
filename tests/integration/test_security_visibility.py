"""Issue 10, "the admin must see every attempt", through the real listener.

A peer controls the envelope (MAIL FROM, RCPT, HELO) and the headers, and
DNS operators control the records we quote: none of those bytes may hide
an attempt from `log` / `why` / `messages`, and none may reach the
administrator's terminal raw.  The hostile session is written out below,
byte for byte.

And the lists page: 300 messages in a project are read page by page with
--limit/--before ("next" in --json), every id exactly once.
"""
import base64
import json
import socket
import unicodedata

from harness import PostroomCase, eventually, sqlite_only

# Code points that must never reach a terminal unescaped: C0 (but LF),
# DEL, C1, the bidi overrides/isolates and marks, the line separators.
BIDI = {0x061C, 0x200E, 0x200F} | set(range(0x2028, 0x202F)) | set(range(0x2066, 0x206A))


def unsafe_for_terminal(data):
    """The first byte or character of data (bytes) a terminal would obey, or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at {e.start}: {data[e.start:e.start + 4]!r}"
    for i, ch in enumerate(text):
        cp = ord(ch)
        if (cp < 0x20 and ch != "\n") or 0x7F <= cp <= 0x9F or cp in BIDI:
            return f"U+{cp:04X} ({unicodedata.name(ch, 'control')}) at {i}: {text[max(0, i - 20):i + 20]!r}"
    return None


def encoded_word(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


class Client:
    """A raw SMTP client: we write exactly the bytes a hostile peer would."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")
        self.reply()

    def reply(self):
        line = self.f.readline()
        while line[3:4] == b"-":
            line = self.f.readline()
        return int(line[:3]), line

    def cmd(self, data):
        self.s.sendall(data + b"\r\n")
        return self.reply()

    def close(self):
        self.cmd(b"QUIT")
        self.f.close()
        self.s.close()


# The hostile inputs, written out.
EVIL_HELO = b"EHLO evil\x1b]0;owned\x07\xfe.example"
EVIL_MAIL = b"MAIL FROM:<\xff\x1b[31mevil@x>"          # refused at MAIL: bad syntax
EIGHTBIT_MAIL = b"MAIL FROM:<\xffevil@x>"              # accepted at MAIL, refused after DATA
EVIL_HEADERS = (b"From: \xff\x1b[2Jmallory@evil.example\r\n"
                b"Subject: \x1b[31mred\xc0\xaf\xed\xa0\x80\r\n"
                b"Message-ID: <\x1b[1m\xff@evil.example>\r\n\r\nhi\x1b[2J\r\n")
# From a user, accepted: the Subject decodes (RFC 2047) to ESC, C1 CSI,
# a right-to-left override and a line separator.
SUBJECT = "invoice \x1b[5m\u009b2J\u202egpj.exe\u2028end"
ACCEPTED = (b"From: alice@firm.example\r\nTo: a1234@firm.example\r\n"
            b"Subject: " + encoded_word(SUBJECT).encode() + b"\r\n"
            b"Message-ID: <ok.1@firm.example>\r\n\r\nline one\r\nbell\x07 and \x1b[2J clear\r\n")


class HostileTextVisible(PostroomCase):
    def text(self, *args):
        out = self.pr.cli(*args).stdout
        bad = unsafe_for_terminal(out)
        self.assertIsNone(bad, f"`{' '.join(args)}` printed a raw control: {bad}\n{out!r}")
        return out.decode()

    def json(self, *args):
        out = self.pr.cli(*args, "--json").stdout
        return json.loads(out.decode("utf-8"))      # strict: valid UTF-8 JSON

    def test_hostile_envelope_is_logged_and_escaped(self):
        c = Client(self.pr.smtp_port)
        code, _ = c.cmd(EVIL_HELO)
        self.assertEqual(code, 501)          # HELO is printable ASCII or refused
        self.assertEqual(c.cmd(b"EHLO client.example")[0], 250)
        self.assertEqual(c.cmd(EVIL_MAIL)[0], 501)
        self.assertEqual(c.cmd(EIGHTBIT_MAIL)[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<a1234@firm.example>")[0], 250)
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        self.assertEqual(c.cmd(EVIL_HEADERS + b".")[0], 550)
        c.close()
        log = eventually(lambda: self.json("log")["log"] if len(self.json("log")["log"]) == 2 else None)
        self.assertTrue(log, self.json("log"))
        refused_data, refused_mail = log
        # Stored as UTF-8 with U+FFFD for what was not text.
        self.assertEqual(refused_mail["reason"], "bad_address")
        self.assertEqual(refused_mail["mail_from"], "\ufffd\ufffd[31mevil@x")
        self.assertEqual(refused_data["mail_from"], "\ufffdevil@x")
        self.assertEqual(refused_data["rcpts"], ["a1234@firm.example"])
        # (mime/ reads the 8-bit byte as Latin-1: ÿ; the ESC is replaced)
        self.assertRegex(refused_data["message_id_hdr"], "^\ufffd\\[1m.@evil\\.example$")
        for e in log:
            for v in json.dumps(e, ensure_ascii=False):
                self.assertFalse(ord(v) < 0x20 or 0x7F <= ord(v) <= 0x9F, e)

        text = self.text("log")
        self.assertIn("\ufffd\ufffd[31mevil@x", text)
        self.assertIn("\ufffdevil@x", text)
        self.assertEqual(len(text.splitlines()), 2, text)
        why_mail = self.text("why", str(refused_mail["id"]))
        self.assertIn("evil@x", why_mail)
        self.assertIn("REFUSED", why_mail)
        why_rcpt = self.text("why", "a1234@firm.example")
        self.assertIn("\ufffdevil@x", why_rcpt)
        attempts = self.json("why", "a1234@firm.example")["attempts"]
        self.assertEqual([a["id"] for a in attempts], [refused_data["id"]])

    def test_hostile_headers_escaped(self):
        c = Client(self.pr.smtp_port)
        self.assertEqual(c.cmd(b"EHLO client.example")[0], 250)
        self.assertEqual(c.cmd(b"MAIL FROM:<alice@firm.example>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<a1234@firm.example>")[0], 250)
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        self.assertEqual(c.cmd(ACCEPTED + b".")[0], 250)
        c.close()
        msgs = self.json("messages", "list")["messages"]
        self.assertEqual(len(msgs), 1)
        # The stored subject is the decoded text, controls replaced; the
        # bidi override and line separator are text, kept for --json ...
        subject = msgs[0]["subject"]
        self.assertRegex(subject, "^invoice .\\[5m.2J\u202egpj\\.exe\u2028end$")
        self.assertFalse([c for c in subject if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F], subject)
        # ... and shown escaped in a terminal.
        listed = self.text("messages", "list")
        self.assertIn("\\u202egpj.exe\\u2028", listed)
        shown = self.text("messages", "show", str(msgs[0]["id"]))
        self.assertIn("Subject: " + subject.replace("\u202e", "\\u202e").replace("\u2028", "\\u2028"), shown)
        self.assertIn("line one\nbell\\x07 and \\x1b[2J clear\n", shown)
        full = self.json("messages", "show", str(msgs[0]["id"]))
        self.assertIn("\x1b[2J", full["parsed"]["text_body"])   # --json: exact, JSON-escaped


class OlderRows(PostroomCase):
    """Rows stored before intake cleaned its fields (or by another writer)
    may hold any bytes: they are still listed, as valid JSON, and escaped."""
    start = False

    def test_invalid_bytes_in_stored_rows(self):
        import sqlite3
        sqlite_only(self, "writes text that is not UTF-8 into intake_log, which SQLite keeps as it is; "
                          "PostgreSQL refuses such text, so no such row can exist there")
        self.pr.cli("log")                        # creates the schema
        db = sqlite3.connect(self.pr.store[len("sqlite:"):])
        db.execute("INSERT INTO intake_log(at, source, peer_ip, helo, mail_from, rcpts, size, verdict,"
                   " reason, detail, message_id_hdr) VALUES(1700000000, 'smtp', '127.0.0.1',"
                   " CAST(X'68656C6F1B5B326A' AS TEXT), CAST(X'FF1B5B33316D6576696C4078' AS TEXT),"
                   " CAST(X'6131323334406669726D2E6578616D706C65C0AF' AS TEXT), 5, 'rejected',"
                   " 'not_a_user', CAST(X'E280AE6669786564FE' AS TEXT), CAST(X'EDA0804078' AS TEXT))")
        db.commit()
        db.close()
        log = json.loads(self.pr.cli("log", "--json").stdout.decode("utf-8"))["log"]
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["mail_from"], "\ufffd\ufffd[31mevil@x")
        self.assertEqual(log[0]["rcpts"], ["a1234@firm.example\ufffd\ufffd"])
        self.assertEqual(log[0]["message_id_hdr"], "\ufffd\ufffd\ufffd@x")
        why = json.loads(self.pr.cli("why", str(log[0]["id"]), "--json").stdout.decode("utf-8"))
        self.assertEqual(len(why["attempts"]), 1)
        for args in (["log"], ["why", str(log[0]["id"])]):
            out = self.pr.cli(*args).stdout
            self.assertIsNone(unsafe_for_terminal(out), out)
            self.assertIn(b"evil@x", out)


# ---- paging ----------------------------------------------------------------

N = 300


class Paging(PostroomCase):
    def send_many(self):
        c = Client(self.pr.smtp_port)
        self.assertEqual(c.cmd(b"EHLO client.example")[0], 250)
        for i in range(N):
            self.assertEqual(c.cmd(b"MAIL FROM:<alice@firm.example>")[0], 250)
            self.assertEqual(c.cmd(b"RCPT TO:<a1234@firm.example>")[0], 250)
            self.assertEqual(c.cmd(b"DATA")[0], 354)
            msg = (f"From: alice@firm.example\r\nTo: a1234@firm.example\r\nSubject: page test {i}\r\n"
                   f"Message-ID: <page.{i}@firm.example>\r\n\r\nMessage {i}.\r\n.").encode()
            code, line = c.cmd(msg)
            self.assertEqual(code, 250, line)
        c.close()

    def pages(self, args, key, limit):
        """Follow "next" from the newest page to the end; every page's ids."""
        seen, before, pages = [], None, 0
        while pages <= N:                     # bounded: at most one page per row
            extra = ["--limit", str(limit)] + (["--before", str(before)] if before else [])
            doc = self.pr.cli_json(*args, *extra)
            rows = doc[key]
            self.assertLessEqual(len(rows), limit)
            ids = [r["id"] for r in rows]
            self.assertEqual(ids, sorted(ids, reverse=True), "a page is newest first")
            if seen:
                self.assertLess(ids[0] if ids else 0, seen[-1], "pages do not overlap")
            seen += ids
            pages += 1
            before = doc["next"]
            if before is None:
                return seen, pages
            self.assertEqual(before, ids[-1])
        self.fail("paging did not end")

    def test_page_through_300(self):
        self.send_many()
        ids, pages = self.pages(["messages", "list", "--project", "1234"], "messages", 37)
        self.assertEqual(len(ids), N)
        self.assertEqual(len(set(ids)), N, "every message exactly once")
        self.assertEqual(pages, 9)            # 8 pages of 37, one of 4
        log_ids, _ = self.pages(["log", "--project", "1234"], "log", 64)
        self.assertEqual(len(log_ids), N)
        self.assertEqual(len(set(log_ids)), N)
        why_ids, _ = self.pages(["why", "a1234@firm.example"], "attempts", 128)
        self.assertEqual(sorted(why_ids), sorted(log_ids))
        # A page that ends exactly at the last row says so: next is null.
        last = self.pr.cli_json("messages", "list", "--project", "1234", "--limit", str(N))
        self.assertEqual(len(last["messages"]), N)
        self.assertIsNone(last["next"])
        # Text mode: the page on stdout, how to go on on stderr.
        p = self.pr.cli("messages", "list", "--project", "1234", "--limit", "10")
        self.assertEqual(len(p.stdout.decode().splitlines()), 10)
        self.assertIn(f"--before {ids[9]}", p.stderr.decode())
        # Without --limit: the defaults (100 messages, 1000 log rows).
        self.assertEqual(len(self.pr.cli_json("messages", "list")["messages"]), 100)
        self.assertEqual(len(self.pr.cli_json("log")["log"]), N)
        for bad in (["--limit", "0"], ["--limit", "10001"], ["--limit", "x"], ["--before", "-1"]):
            p = self.pr.cli("messages", "list", *bad, check=False)
            self.assertEqual(p.returncode, 64, bad)    # EX_USAGE
            p = self.pr.cli("log", *bad, check=False)
            self.assertEqual(p.returncode, 64, bad)


# ---- text from DNS records -------------------------------------------------

class DnsTextEscaped(PostroomCase):
    """An SPF record is written by whoever controls the sender's domain: its
    text reaches the refusal's reason (`why`) and `check domain`."""
    RECORD = "v=spf1 ip4:192.0.2.1 \x1b[31mbogus\u009b\u202e -all"

    @classmethod
    def setUpClass(cls):
        import tempfile
        from harness import DnsServer
        cls.tmp = tempfile.TemporaryDirectory(prefix="postroom-visdns-")
        cls.dns = DnsServer(cls.tmp.name, [f'txt-record=evil.example,"{cls.RECORD}"'])
        cls.config = {"dns_server": cls.dns.address, "require_spf": "true"}

    @classmethod
    def tearDownClass(cls):
        cls.dns.stop()
        cls.tmp.cleanup()

    def test_spf_record_text_escaped(self):
        c = Client(self.pr.smtp_port)
        self.assertEqual(c.cmd(b"EHLO client.example")[0], 250)
        self.assertEqual(c.cmd(b"MAIL FROM:<mallory@evil.example>")[0], 250)
        self.assertEqual(c.cmd(b"RCPT TO:<a1234@firm.example>")[0], 250)
        self.assertEqual(c.cmd(b"DATA")[0], 354)
        code, line = c.cmd(b"From: mallory@evil.example\r\nSubject: x\r\n\r\nhi\r\n.")
        self.assertNotEqual(code, 250, line)
        c.close()
        log = eventually(lambda: self.pr.cli_json("log")["log"])
        self.assertEqual(len(log), 1, log)
        self.assertIn("bogus", log[0]["detail"])
        self.assertNotIn("\x1b", log[0]["detail"])      # stored clean
        for args in (["why", "mallory@evil.example"], ["log"],
                     ["check", "domain", "evil.example"]):
            out = self.pr.cli(*args, check=False).stdout
            bad = unsafe_for_terminal(out)
            self.assertIsNone(bad, f"`{' '.join(args)}` printed a raw control: {bad}\n{out!r}")
            self.assertIn(b"bogus", out, args)
        doc = json.loads(self.pr.cli("check", "domain", "evil.example", "--json", check=False).stdout)
        self.assertIn("bogus", doc["spf"]["record"])
