"""Issue #12, "flat with the store": a reply deep in a 2,000-message thread,
through the real SMTP listener.

The thread is seeded through the listener too: batches of 100 replies sent
by 8 concurrent smtplib sessions, each answering a message of an earlier
batch (already acknowledged, so stored), about 10 s under ASan.  Then a
reply In-Reply-To a message in the middle must be filed where the thread
lives -- including a project one of its messages was moved to -- and who
took part must still decide who may answer: an outsider Cc'd only in the
middle of the thread may, one never named in it is refused.

Placing that reply must not read the thread: the statements that give a
thread's places and tell a participant are read out of the binary under
test (they are string literals in it) and explained on the test's store;
each must be one index search of one table.  On main before the fix
(5df5fe1) they joined every message of the thread: the plan assertion
fails there (the behaviour held, only slower).
"""
import concurrent.futures
import random
import re
import smtplib
import sqlite3

from harness import BACKEND, BIN, PostroomCase, make_message

THREAD = 2000
BATCH = 100
SESSIONS = 8


def mid(i):
    return f"<t{i}@firm.example>"


def binary_statements(pattern):
    """The SQL string literals in the binary that match pattern."""
    with open(BIN, "rb") as f:
        data = f.read()
    texts = (m.group().decode() for m in re.finditer(rb"[ -~]{24,}", data))
    return [t for t in texts if t.startswith("SELECT ") and re.search(pattern, t)]


class TestLongThread(PostroomCase):
    def send_many(self, messages):
        """messages: (msgid, data); sent over SESSIONS concurrent sessions."""
        chunks = [messages[i::SESSIONS] for i in range(SESSIONS)]

        def send(chunk):
            with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=60) as s:
                s.ehlo("client.test.example")
                for _, data in chunk:
                    s.sendmail("alice@firm.example", ["a1234@firm.example"], data)
        with concurrent.futures.ThreadPoolExecutor(SESSIONS) as ex:
            for f in [ex.submit(send, c) for c in chunks if c]:
                f.result(timeout=300)

    def reply(self, i, answers, cc=()):
        extra = [f"In-Reply-To: {mid(answers)}", f"References: {mid(0)} {mid(answers)}"]
        extra += [f"Cc: {c}" for c in cc]
        return mid(i), make_message("alice@firm.example", "a1234@firm.example", subject="Re: Harbour",
                                    body=f"reply {i}\r\n", extra_headers=extra, msgid=mid(i))

    def seed_thread(self):
        """Message 0 to the project and the team alias; THREAD-1 replies
        from alice; message THREAD/2 Cc's sam, the only time he is named."""
        rng = random.Random(12)
        root = make_message("alice@firm.example", "a1234@firm.example, team@firm.example",
                            subject="Harbour", msgid=mid(0))
        with self.smtp() as s:
            s.sendmail("alice@firm.example", ["a1234@firm.example", "team@firm.example"], root)
        for start in range(1, THREAD, BATCH):
            batch = [self.reply(i, rng.randrange(0, start),
                                cc=["Sam Stake <sam@partner.example>"] if i == THREAD // 2 else [])
                     for i in range(start, min(start + BATCH, THREAD))]
            self.send_many(batch)

    def places(self, msgid):
        rows = self.pr.cli_json("messages", "list", "--limit", "10000")["messages"]
        got = [m for m in rows if m["message_id"] == msgid.strip("<>")]
        self.assertEqual(len(got), 1, msgid)
        return sorted(got[0]["placements"])

    def test_reply_deep_in_a_long_thread(self):
        self.pr.cli("project", "add", "5678", "--name", "Quay")
        self.seed_thread()
        rows = self.pr.cli_json("messages", "list", "--limit", "10000")["messages"]
        self.assertEqual(len(rows), THREAD)
        thread_places = ["project:1234", "user:alice", "user:bob"]
        self.assertEqual(self.places(mid(THREAD - 1)), thread_places)
        # one message of the thread is refiled by hand: the thread now also lives there
        moved = next(m["id"] for m in rows if m["message_id"] == mid(700).strip("<>"))
        self.pr.cli("messages", "move", moved, "--project", "5678")

        # a member answers a message in the middle
        _, deep = self.reply(THREAD, THREAD // 2 + 3)
        with self.smtp() as s:
            s.sendmail("alice@firm.example", ["alice@firm.example"], deep)
        self.assertEqual(self.places(mid(THREAD)), sorted(thread_places + ["project:5678"]))

        # sam, Cc'd once in the middle, is a participant: his answer joins the thread
        sam = make_message("sam@partner.example", "alice@firm.example", subject="Re: Harbour",
                           extra_headers=[f"In-Reply-To: {mid(THREAD // 2 + 40)}"],
                           msgid="<sam-1@partner.example>")
        with self.smtp() as s:
            s.sendmail("sam@partner.example", ["alice@firm.example"], sam)
        self.assertEqual(self.places("<sam-1@partner.example>"), sorted(thread_places + ["project:5678"]))

        # eve was never named in the thread: refused
        eve = make_message("eve@elsewhere.example", "a1234@firm.example", subject="Re: Harbour",
                           extra_headers=[f"In-Reply-To: {mid(THREAD // 2)}"])
        with self.assertRaises(smtplib.SMTPDataError) as cm, self.smtp() as s:
            s.sendmail("eve@elsewhere.example", ["a1234@firm.example"], eve)
        self.assertEqual(cm.exception.smtp_code, 550)
        self.assertIn(b"not a postroom user", cm.exception.smtp_error)

        # The plans are SQLite's (its statements in the binary, EXPLAIN QUERY
        # PLAN); on PostgreSQL this test checks the behaviour above only.
        if BACKEND == "sqlite":
            self.assert_one_search(r"^SELECT \S*kind, \S*target FROM .*thread_id = \?1", "the thread's places")
            self.assert_one_search(r"^SELECT 1 FROM .*thread_id = \?1.*lower\(\?2\)", "a thread participant")

    def assert_one_search(self, pattern, what):
        stmts = binary_statements(pattern)
        self.assertEqual(len(stmts), 1, f"{what}: statements found in {BIN}: {stmts}")
        db = sqlite3.connect(f"file:{self.pr.store[7:]}?mode=ro", uri=True)
        try:
            plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + stmts[0], (1, "x@y.example")
                                                 if "?2" in stmts[0] else (1,))]
        finally:
            db.close()
        searches = [p for p in plan if p.startswith("SEARCH ")]
        self.assertEqual(len(searches), 1, f"{what}: not one index search: {plan}\n{stmts[0]}")
        self.assertFalse([p for p in plan if p.startswith("SCAN ")], plan)
        self.assertFalse(re.search(r"\b(messages|placements|people)\b", searches[0]),
                         f"{what}: reads the thread's messages: {plan}")
