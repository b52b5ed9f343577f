"""Losing the PostgreSQL primary (issue 15): postroom follows a promoted
standby and loses nothing it acknowledged.

A primary and a streaming standby on loopback, the standby synchronous
(synchronous_standby_names), so a COMMIT returns only once the standby
has the WAL.  serve's store URI lists both hosts with
target_session_attrs=read-write.  A client sends messages one after
another; the primary is killed (pg_ctl -m immediate) mid-stream; while
there is no primary every answer must be a 4xx (never a 250 that is
then lost, never a 5xx that would bounce mail); the standby is promoted;
answers turn 250 again on their own; and every message that got 250,
before or after, is in the new primary exactly once.

Runs in the PostgreSQL pass of tests/run (it brings its own two clusters).
"""
import os
import shutil
import smtplib
import tempfile
import threading
import unittest

import pgcluster
from harness import Postroom, eventually, make_message


class Sender(threading.Thread):
    """Messages one at a time on new connections; every answer kept."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.lock = port, threading.Event(), threading.Lock()
        self.accepted, self.temporary, self.permanent, self.n = [], 0, [], 0

    def counts(self):
        with self.lock:
            return len(self.accepted), self.temporary, len(self.permanent)

    def one(self):
        self.n += 1
        msgid = f"<failover-{self.n}@firm.example>"
        msg = make_message("alice@firm.example", "a1234@firm.example", subject=f"failover {self.n}",
                           msgid=msgid)
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                s.sendmail("alice@firm.example", ["a1234@firm.example"], msg)
            with self.lock:
                self.accepted.append(msgid.strip("<>"))
        except smtplib.SMTPRecipientsRefused as e:
            code = list(e.recipients.values())[0][0]
            self.note(code, str(e))
        except smtplib.SMTPResponseException as e:
            self.note(e.smtp_code, str(e))
        except (OSError, smtplib.SMTPException):
            with self.lock:
                self.temporary += 1     # connection refused or dropped: the client retries later

    def note(self, code, text):
        with self.lock:
            if 400 <= code < 500:
                self.temporary += 1
            else:
                self.permanent.append(f"{code} {text}")

    def run(self):
        while not self.stop.is_set():
            self.one()


class PgFailover(unittest.TestCase):
    def setUp(self):
        if os.environ.get("POSTROOM_TEST_STORE") != "postgres":
            self.skipTest("runs in the PostgreSQL pass of tests/run (POSTROOM_TEST_STORE=postgres)")
        if not pgcluster.available():
            self.skipTest("PostgreSQL 15 server binaries are not installed")
        self.work = tempfile.mkdtemp(prefix="postroom-failover-")
        os.chmod(self.work, 0o755)
        self.addCleanup(shutil.rmtree, self.work, True)
        self.primary = pgcluster.PgCluster(self.work, "primary", settings={
            "wal_level": "replica", "max_wal_senders": "4", "synchronous_standby_names": "standby1"})
        self.primary.init().start()
        self.addCleanup(self.primary.kill)
        # No standby yet: a synchronous commit would wait for it for ever.
        self.primary.psql("CREATE DATABASE postroom", options="-c synchronous_commit=local")
        self.standby = pgcluster.PgCluster(self.work, "standby").init_standby_of(self.primary, "standby1")
        self.standby.start()
        self.addCleanup(self.standby.kill)
        self.assertTrue(eventually(lambda: self.primary.psql(
            "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'",
            check=False) == "sync", 60), "the standby never became synchronous")

    def test_promoted_standby_has_every_acknowledged_message(self):
        pr = Postroom()
        self.addCleanup(pr.cleanup)
        pr.store = (f"postgresql://postgres@127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
                    "/postroom?target_session_attrs=read-write&connect_timeout=3")
        pr.seed_basic()
        pr.start()
        sender = Sender(pr.smtp_port)
        sender.start()
        self.addCleanup(sender.stop.set)
        self.assertTrue(eventually(lambda: sender.counts()[0] >= 20, 60), f"before: {sender.counts()}")

        self.primary.kill()
        before = sender.counts()
        # No primary: answers are 4xx (or refused connections), never 250.
        self.assertTrue(eventually(lambda: sender.counts()[1] >= before[1] + 5, 60),
                        f"no temporary refusals while the primary is down: {sender.counts()}")
        down = sender.counts()
        self.assertLessEqual(down[0], before[0] + 1,   # one commit may have been answered as it died
                             "messages were acknowledged while there was no primary")

        self.standby.promote()
        self.assertTrue(eventually(lambda: sender.counts()[0] >= down[0] + 20, 90),
                        f"postroom did not follow the promoted standby: {sender.counts()}\n{pr.log_text()[-3000:]}")
        sender.stop.set()
        sender.join(60)
        self.assertEqual(sender.permanent, [], "a 5xx would bounce mail that should be retried")

        ids = sender.accepted
        quoted = ",".join("'" + i.replace("'", "''") + "'" for i in ids)
        rows = self.standby.psql(f"SELECT message_id, count(*) FROM messages WHERE message_id IN ({quoted})"
                                 " GROUP BY message_id", db="postroom")
        stored = dict(line.split("|") for line in rows.splitlines())
        missing = [i for i in ids if i not in stored]
        doubled = [i for i, n in stored.items() if n != "1"]
        self.assertEqual(missing, [], f"acknowledged with 250 but lost in the failover ({len(ids)} acknowledged)")
        self.assertEqual(doubled, [])
        print(f"failover: {len(ids)} acknowledged, {sender.counts()[1]} temporary refusals, all present once",
              flush=True)


if __name__ == "__main__":
    unittest.main()
