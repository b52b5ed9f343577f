"""Two nodes share one outbound queue (issue 15): two `serve` processes on
the same PostgreSQL database drain 50 queued messages to one loopback
relay (relay.py's Capture, which records every message it accepts), and
every message arrives exactly once -- counted at the relay by
Message-ID -- while both nodes took part (each row's lease_owner is the
node that sent it).

The two nodes' claims are made to meet: the test holds an exclusive lock
on the outbound table while both start, and lets go only once both
delivery workers wait for it, so their first claims run at the same
moment; the relay then answers each message after a short pause, so they
keep claiming side by side.  Claims are FOR UPDATE SKIP LOCKED with a
lease (store_pg_outq.c): without SKIP LOCKED both nodes read the same due
rows, both stamp them, and the relay gets copies (seen: this test fails
so).

PostgreSQL only: on SQLite the store is one file on one machine (that
case is test_outbound_e2e's kill -9 flush).
"""
import email
import json
import os
import subprocess
import time
import unittest

from harness import BACKEND, PSQL, Postroom, eventually
from relay import Capture

COUNT = 50


@unittest.skipIf(BACKEND != "postgres", f"two nodes need the PostgreSQL store; this run uses {BACKEND}")
class TestTwoNodesOneQueue(unittest.TestCase):
    def setUp(self):
        self.a = Postroom()
        self.addCleanup(self.a.cleanup)
        self.far = Capture(self.a.dir, data_reply=self.slowly)
        self.addCleanup(self.far.stop)
        relay = {"smtp_server": f"127.0.0.1:{self.far.port}", "smtp_tls": "none"}
        self.a.config.update(relay)
        self.a.write_config()
        # The second node: its own directory, ports and log, the first's store.
        self.b = Postroom(config=relay)
        self.addCleanup(self.b.cleanup)
        self.b.store = self.a.store

    @staticmethod
    def slowly(env):
        # A relay that takes 50 ms per message (not a wait for a condition):
        # deliveries overlap, so both nodes' claims are in flight at once.
        time.sleep(0.05)
        return None                 # accept (Capture records it)

    def queue(self, n):
        body = os.path.join(self.a.dir, "body.txt")
        with open(body, "w") as f:
            f.write("The minutes of today's meeting.\n")
        self.a.give_to_user()
        ids = []
        for i in range(n):
            doc = json.loads(self.a.cli("send", "--project", "1234", "--as", "alice", "--subject",
                                        f"minutes {i}", "--body-file", body, "--json",
                                        "--to", f"reader{i}@far.example").stdout)
            self.assertEqual(doc["queued"], 1, doc)
            ids.append(doc["message_id"].strip("<> "))
        return ids

    def hold_queue(self):
        """A psql session holding an exclusive lock on the outbound table
        until COMMIT is written to it (killed at the end of the test)."""
        p = subprocess.Popen([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.a.store],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait(10)))
        p.stdin.write("BEGIN; LOCK TABLE outbound IN ACCESS EXCLUSIVE MODE;\n"
                      "SELECT 'locked';\n")
        p.stdin.flush()
        self.assertTrue(eventually(lambda: self.lock_waiters(granted=True) == 1, 20), "lock not taken")
        return p

    def lock_waiters(self, granted=False):
        """The holder's lock on the outbound table (granted), or how many
        claims wait for it (a claim starts with the expiry statement)."""
        if granted:
            return self.a.sql_one("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                                  " WHERE c.relname = 'outbound' AND l.granted"
                                  " AND l.mode = 'AccessExclusiveLock'")
        return self.a.sql_one("SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_class c"
                              " ON c.oid = l.relation JOIN pg_stat_activity s ON s.pid = l.pid"
                              " WHERE c.relname = 'outbound' AND NOT l.granted"
                              " AND s.query LIKE '%expires_at <= $1%'")

    def sent(self):
        return self.a.sql_one("SELECT count(*) FROM outbound WHERE state = 'sent'")

    def test_two_serves_deliver_each_message_once(self):
        self.a.seed_basic()
        msgids = self.queue(COUNT)
        self.assertEqual(len(set(msgids)), COUNT)
        holder = self.hold_queue()
        self.a.start()
        self.b.start()
        # Both delivery workers' claims wait behind the lock (each waits at
        # most lock_timeout, 5 s, then tries again a second later).
        self.assertTrue(eventually(lambda: self.lock_waiters() >= 2, 30), "the claims never met")
        holder.stdin.write("COMMIT;\n")
        holder.stdin.close()
        holder.wait(20)
        self.assertTrue(eventually(lambda: self.sent() == COUNT, 120),
                        f"{self.sent()} of {COUNT} sent; node logs:\n{self.a.log_text()}\n{self.b.log_text()}")
        # Stopped, neither node has anything in flight: the relay's count is final.
        self.a.stop()
        self.b.stop()
        got = [email.message_from_bytes(m["data"])["Message-ID"].strip("<> ") for m in self.far.messages]
        dups = sorted({m for m in got if got.count(m) > 1})
        self.assertEqual(dups, [], f"delivered more than once: {dups}")
        self.assertEqual(sorted(got), sorted(msgids))
        owners = self.a.sql("SELECT lease_owner, count(*) FROM outbound GROUP BY lease_owner")
        self.assertEqual(len(owners), 2, f"one node sent everything, the test raced nothing: {owners}")
        self.assertEqual(self.a.sql_one("SELECT max(attempts) FROM outbound"), 1)
        for pr in (self.a, self.b):
            self.assertNotIn("lease lost", pr.log_text())


if __name__ == "__main__":
    unittest.main()
