"""Two nodes, one message (issue 15): the same message reaching two `serve`
processes on one PostgreSQL at the same moment is stored once.

Each round sends one message to both nodes, over two SMTP sessions held
at the end of DATA until both are there, then ends both DATAs at once
(the final dot), so the two nodes' group commits run side by side.  Each
copy goes to a different recipient: the one stored message must end up
in both places, the second copy being logged as `duplicate`.

Without the commit's advisory lock on the Message-ID (store_pg_msg.c),
both commits look for an earlier copy before either has committed, find
none, and both store the message: some rounds then store it twice.

PostgreSQL only: on SQLite the one writer already serialises commits
(test_smtp's duplicate cases).
"""
import smtplib
import threading
import unittest

from harness import BACKEND, Postroom, make_message

ROUNDS = 12


def end_data_together(port, sender, rcpt, data, barrier, out, key):
    """One SMTP session: everything up to the final dot, wait for the
    other session, then the dot; out[key] is the DATA reply code."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    try:
        s.ehlo("client.example")
        s.mail(sender)
        s.rcpt(rcpt)
        code, _ = s.docmd("DATA")
        if code != 354:
            out[key] = code
            barrier.abort()
            return
        s.send(smtplib.quotedata(data.decode()).encode())
        barrier.wait(30)
        s.send(b"\r\n.\r\n")
        out[key] = s.getreply()[0]
        s.quit()
    except threading.BrokenBarrierError:
        out.setdefault(key, "barrier broken")
    finally:
        s.close()


@unittest.skipIf(BACKEND != "postgres", f"two nodes need the PostgreSQL store; this run uses {BACKEND}")
class TestTwoNodesOneMessage(unittest.TestCase):
    def setUp(self):
        self.a = Postroom()
        self.addCleanup(self.a.cleanup)
        # The second node: its own directory, ports and log, the first's store.
        self.b = Postroom()
        self.addCleanup(self.b.cleanup)
        self.b.store = self.a.store
        self.a.seed_basic()
        self.a.start()
        self.b.start()

    def send_round(self, i):
        msgid = f"<race{i}@client.example>"
        data = make_message("alice@firm.example", "a1234@firm.example, bob@firm.example",
                            subject=f"race {i}", body=f"Round {i}.\r\n" + "Some text.\r\n" * 50,
                            msgid=msgid)
        barrier = threading.Barrier(2)
        out = {}
        threads = [threading.Thread(target=end_data_together,
                                    args=(node.smtp_port, "alice@firm.example", rcpt, data, barrier, out, k))
                   for k, (node, rcpt) in enumerate(((self.a, "a1234@firm.example"),
                                                     (self.b, "bob@firm.example")))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.assertEqual(out, {0: 250, 1: 250}, f"round {i}: both copies must be accepted")
        return msgid.strip("<>")

    def test_same_message_at_two_nodes_is_stored_once(self):
        msgids = [self.send_round(i) for i in range(ROUNDS)]
        logs = f"node logs:\n{self.a.log_text()}\n{self.b.log_text()}"
        for msgid in msgids:
            rows = self.a.sql("SELECT id FROM messages WHERE message_id = ?", msgid)
            self.assertEqual(len(rows), 1, f"{msgid} stored {len(rows)} times\n{logs}")
            places = self.a.sql("SELECT kind, target FROM placements WHERE message_id = ? ORDER BY id",
                                rows[0][0])
            self.assertEqual(sorted(tuple(p) for p in places),
                             [("project", "1234"), ("user", "bob")], msgid)
            verdicts = self.a.sql("SELECT reason FROM intake_log WHERE message_id_hdr = ? ORDER BY id",
                                  msgid)
            self.assertEqual([v[0] for v in verdicts], ["accepted", "duplicate"], msgid)
        # The thread knows both places once each: a reply lands in both.
        for msgid in msgids:
            tid = self.a.sql_one("SELECT thread_id FROM messages WHERE message_id = ?", msgid)
            self.assertEqual(self.a.sql_one("SELECT count(*) FROM thread_places WHERE thread_id = ?", tid),
                             2, msgid)


if __name__ == "__main__":
    unittest.main()
