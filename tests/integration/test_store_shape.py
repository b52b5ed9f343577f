"""Issue #12: a message is stored about once.  A short message's bytes are
kept packed (zstd with a preset dictionary) and its parsed JSON keeps only
its structure (people, parts, flags), packed too: `messages show` (text and
--json), `--raw`, attachments and `why` say exactly what they said when the
text was kept beside the bytes, and rows written by older versions (text
beside the bytes; bytes plain, deflated without a dictionary or with it;
JSON plain or deflated) still read the same."""
import hashlib
import json
import sqlite3
import zlib

from harness import PostroomCase, sqlite_only, unpack_text, unzstd, zdict

QUOTED = "\r\n".join(f"> earlier line {i} of the old message that everybody has read" for i in range(30))
# A thread's References: the root and the latest few, as mail clients trim
# them; the message-ids share their right-hand side, which deflate finds.
REFS = ["root@firm.example"] + [f"reply-{i}.{i * 7919:x}@firm.example" for i in range(1, 8)] + ["first@firm.example"]
BODY = ("Thanks, the new plan works for us.\r\n\r\nSee you on Monday.\r\n\r\n"
        "On Mon, 1 Jan 2026 at 10:00, Sam wrote:\r\n" + QUOTED + "\r\n")


def message(msgid="<shape-1@firm.example>"):
    return ("From: Alice Archer <alice@firm.example>\r\n"
            "To: a1234@firm.example, s..palmer@example.org\r\n"
            "Cc: Bob <bob@firm.example>\r\n"
            "Subject: =?UTF-8?Q?Re:_Gr=C3=BC=C3=9Fe?=\r\n"
            "Date: Tue, 2 Jan 2026 09:00:00 +0100\r\n"
            f"Message-ID: {msgid}\r\n"
            "In-Reply-To: <first@firm.example>\r\n"
            "References: " + "\r\n ".join(f"<{r}>" for r in REFS) + "\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + BODY +
            "--b1\r\nContent-Type: application/pdf; name=\"plan.pdf\"\r\n"
            "Content-Disposition: attachment; filename=\"plan.pdf\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
            "--b1--\r\n").encode()


class TestStoreShape(PostroomCase):
    def db(self):
        con = sqlite3.connect(self.pr.store[len("sqlite:"):], timeout=30)
        self.addCleanup(con.close)
        return con

    def send(self, data):
        with self.smtp() as s:
            s.sendmail("alice@firm.example", ["a1234@firm.example"], data)
        return self.pr.cli_json("messages", "list", "--project", "1234")["messages"][0]["id"]

    def views(self, mid):
        """Everything a person can read of message mid."""
        return {"show": self.pr.cli("messages", "show", mid).stdout,
                "json": self.pr.cli_json("messages", "show", mid),
                "raw": self.pr.cli("messages", "show", mid, "--raw").stdout,
                "why": self.pr.cli_json("why", "<shape-1@firm.example>"),
                "attachment": self.attachment(mid)}

    def attachment(self, mid):
        out = f"{self.pr.dir}/att.bin"
        self.pr.cli("messages", "attachment", mid, "1", "-o", out)
        with open(out, "rb") as f:
            return f.read()

    def test_stored_once_and_shown_as_before(self):
        sent = message()
        mid = self.send(sent)
        v = self.views(mid)
        parsed = v["json"]["parsed"]
        # Everything show gave when the text was stored beside the bytes.
        self.assertIn("the new plan works", parsed["reply_text"])
        self.assertNotIn("earlier line", parsed["reply_text"])
        self.assertIn("earlier line 29", parsed["text_body"])
        self.assertEqual(parsed["subject"], "Re: Grüße")
        self.assertEqual(parsed["message_id"], "shape-1@firm.example")
        self.assertEqual(parsed["references"], REFS)
        self.assertEqual(len(parsed["received"]), 1)
        self.assertEqual(parsed["parts"][0]["filename"], "plan.pdf")
        self.assertEqual(v["attachment"], b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n")
        self.assertTrue(v["raw"].endswith(sent), v["raw"][-200:])
        self.assertIn(b"Authentication-Results: mx.firm.example;", v["raw"])
        self.assertEqual(v["why"]["attempts"][0]["invalid_recipients"], ["s..palmer@example.org"])
        self.assertIn("the new plan works", v["show"].decode())
        # What is stored: the structure, not the text a second time, and
        # the bytes deflated.
        sqlite_only(self, "reads SQLite's message_raw (codec, deflated bytes) beside parsed_json; "
                          "everything shown above was checked")
        stored, auth, refs, digest, raw, codec, size = self.db().execute(
            "SELECT m.parsed_json, m.auth_json, m.refs, m.sha256, r.raw, r.codec, m.size FROM messages m"
            " JOIN message_raw r ON r.message_id = m.id WHERE m.id = ?", (mid,)).fetchone()
        # The JSON columns and the References: a blob of 2, the length (4
        # bytes, little-endian) and a zstd frame with the JSON dictionary
        # (unpack_text checks the length).
        for blob in (stored, auth, refs):
            self.assertIsInstance(blob, bytes)
            self.assertEqual(blob[0], 2)
            self.assertLess(len(blob), len(unpack_text(blob)))
        self.assertEqual(json.loads(unpack_text(auth)), v["json"]["auth"])
        self.assertEqual(unpack_text(refs).decode().split(), [f"<{r}>" for r in REFS])
        kept = json.loads(unpack_text(stored))
        for key in ("reply_text", "text_body", "received", "subject", "references", "message_id"):
            self.assertNotIn(key, kept)
        self.assertEqual(kept["to"][1], {"name": "", "address": "s..palmer@example.org", "invalid": True})
        self.assertEqual(kept["parts"], parsed["parts"])
        # The digest of the bytes received: its 32 bytes, shown as hex.
        self.assertEqual(digest, hashlib.sha256(sent).digest())
        self.assertEqual(v["json"]["sha256"], hashlib.sha256(sent).hexdigest())
        self.assertEqual(codec, 3)
        self.assertLess(len(raw), size)
        self.assertEqual(unzstd(raw, zdict("raw_dict1")), v["raw"])

    def test_rows_an_older_version_wrote_read_the_same(self):
        sqlite_only(self, "rewrites a row as SQLite stores written before issue #12 held it; "
                          "no PostgreSQL store was ever written that way")
        mid = self.send(message())
        before = self.views(mid)
        # Rewrite the row as the version before issue #12 stored it: the
        # bytes plain and the whole parsed object, text included.
        old = dict(before["json"]["parsed"])
        for key in ("text_body", "html_body", "body_truncated"):
            old.pop(key)
        con = self.db()
        with con:
            con.execute("UPDATE messages SET parsed_json = ? WHERE id = ?", (json.dumps(old), mid))
            con.execute("UPDATE message_raw SET raw = ?, codec = 0 WHERE message_id = ?", (before["raw"], mid))
        self.assertEqual(self.views(mid), before)

    def test_rows_the_first_deflating_version_wrote_read_the_same(self):
        sqlite_only(self, "rewrites a row as SQLite stores held it before the preset dictionaries "
                          "(codec 1, JSON, References and digest as text)")
        mid = self.send(message())
        before = self.views(mid)
        con = self.db()
        packed = con.execute("SELECT parsed_json, auth_json, refs FROM messages WHERE id = ?", (mid,)).fetchone()
        with con:
            con.execute("UPDATE messages SET parsed_json = ?, auth_json = ?, refs = ?,"
                        " sha256 = lower(hex(sha256)) WHERE id = ?",
                        tuple(unpack_text(b).decode() for b in packed) + (mid,))
            con.execute("UPDATE message_raw SET raw = ?, codec = 1 WHERE message_id = ?",
                        (zlib.compress(before["raw"]), mid))
        self.assertEqual(con.execute("SELECT typeof(parsed_json), typeof(auth_json), typeof(refs),"
                                     " typeof(sha256) FROM messages WHERE id = ?", (mid,)).fetchone(), ("text",) * 4)
        self.assertEqual(self.views(mid), before)

    def test_rows_the_deflating_versions_wrote_read_the_same(self):
        sqlite_only(self, "rewrites a row as SQLite stores held it before zstd (message bytes codec 2, "
                          "JSON and References blobs of type 1: raw deflate with the preset dictionaries)")
        mid = self.send(message())
        before = self.views(mid)
        con = self.db()
        packed = con.execute("SELECT parsed_json, auth_json, refs FROM messages WHERE id = ?", (mid,)).fetchone()
        old = []
        for b in packed:
            text = unpack_text(b)
            old.append(b"\x01" + len(text).to_bytes(4, "little") + deflate_raw(text, zdict("json_dict1")))
        with con:
            con.execute("UPDATE messages SET parsed_json = ?, auth_json = ?, refs = ? WHERE id = ?",
                        tuple(old) + (mid,))
            con.execute("UPDATE message_raw SET raw = ?, codec = 2 WHERE message_id = ?",
                        (deflate_raw(before["raw"], zdict("raw_dict1")), mid))
        self.assertEqual(con.execute("SELECT unicode(CAST(parsed_json AS TEXT)), r.codec FROM messages m"
                                     " JOIN message_raw r ON r.message_id = m.id WHERE m.id = ?",
                                     (mid,)).fetchone(), (1, 2))
        self.assertEqual(self.views(mid), before)


def deflate_raw(data, dictionary):
    """Raw deflate (no zlib header) with a preset dictionary, at level 1,
    as postroom packed rows before zstd."""
    c = zlib.compressobj(1, zlib.DEFLATED, -15, zdict=dictionary)
    return c.compress(data) + c.flush()
