"""POP3 collection interrupted (issue 5): the connection cut in the middle
of a round, and `collect --once` killed with -9 in the middle of a
2,000-message round, then run again: each message stored once, the
mailbox empty, nothing deleted that was not stored.

A module of its own because it runs alone, after every other module
(tests/integration/run.py ALONE): the kill must land while the round is
under way, a moment two other modules' load on two cores once made it
miss.  The rest of the POP3 tests (test_pop3) run alongside the others.
"""
import os
import subprocess
import time
import unittest

from harness import BACKEND, BIN, eventually
from test_pop3 import Pop3Case


def children_named(ppid, name):
    """Pids of the processes called name under ppid (any depth)."""
    out, todo = [], [ppid]
    while todo:
        parent = todo.pop()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            comm = st[st.index("(") + 1:st.rindex(")")]
            if int(st[st.rindex(")") + 2:].split()[1]) == parent:
                todo.append(int(pid))
                if comm == name:
                    out.append(int(pid))
    return out


def stored_count(pr):
    """How many messages pr's store holds now (0 while it cannot say)."""
    if BACKEND != "sqlite":
        try:
            return pr.sql_one("SELECT count(*) FROM messages")
        except RuntimeError:                    # psql: e.g. no table yet
            return 0
    # As the service user: this test runs as root and `collect` as
    # run_as_user.  A connection made as root while no -wal/-shm file
    # exists creates them owned by root (read-only too), and the collector
    # then failed with "attempt to write a readonly database", now and then,
    # before the cut could happen.
    who = {"user": pr.user.pw_uid, "group": pr.user.pw_gid} if pr.user else {}
    p = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", pr.store[len("sqlite:"):],
                        "SELECT count(*) FROM messages"], capture_output=True, text=True, timeout=30, **who)
    return int(p.stdout) if p.returncode == 0 and p.stdout.strip().isdigit() else 0


class TestCrash(Pop3Case):
    N = 2000

    def test_connection_cut_mid_round(self):
        """The server side dies mid-round: libcurl must not reconnect and
        DELE on a new session; the next round finishes the job."""
        n_msgs = 600
        sent = self.deliver(n_msgs, tag="c")
        cmd = [BIN, "--config", self.pr.config_path, "--store", self.pr.store, "collect", "--once"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        cut = False
        while time.time() < deadline and proc.poll() is None:
            if stored_count(self.pr) >= 100:
                for pid in children_named(self.dc.proc.pid, "pop3"):
                    os.kill(pid, 9)   # Dovecot's session process: the connection drops
                    cut = True
                break
            time.sleep(0.01)
        out, err = proc.communicate(timeout=120)
        self.assertTrue(cut, f"the round ended before the cut (exit {proc.returncode}, "
                             f"{stored_count(self.pr)} stored): {(out + err)[-3000:]!r}")
        self.assertNotEqual(proc.returncode, 0, out + err)
        self.assertIn(b"nothing is deleted this round", err + out)
        self.assertEqual(self.dc.count("sys"), n_msgs)
        r = self.collect()
        self.assertEqual(r["listed"], n_msgs, r)
        self.assertEqual(self.dc.count("sys"), 0)
        got = self.stored()
        self.assertEqual(set(got), set(sent))
        self.assertEqual([m for m, (c, _) in got.items() if c != 1], [])

    def deliver_without_msgid(self, n, tag):
        """Messages nothing but their bytes tell apart (no Message-ID): only
        the collector's own record can keep them from being stored twice."""
        subjects = set()
        for i in range(n):
            subj = f"{tag} {i} {time.time_ns()}"
            raw = (f"From: alice@firm.example\r\nTo: a1234@firm.example\r\nSubject: {subj}\r\n"
                   f"\r\nNo Message-ID here.\r\n").encode()
            self.dc.deliver("sys", raw)
            subjects.add(subj)
        return subjects

    def stored_subjects(self):
        rows = self.pr.sql("SELECT subject, count(*) FROM messages WHERE message_id IS NULL"
                                 " GROUP BY subject")
        return dict(rows)

    def test_kill9_mid_round_then_again(self):
        sent, bare = {}, set()
        for i in range(self.N // 2):        # interleaved: both kinds are in flight at the kill
            sent.update(self.deliver(1, tag=f"k{i}-"))
            bare |= self.deliver_without_msgid(1, tag=f"n{i}")
        cmd = [BIN, "--config", self.pr.config_path, "--store", self.pr.store, "collect", "--once"]
        log = open(os.path.join(self.pr.dir, "collect1.log"), "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        # Kill once a good part (but not all) of the round is stored.
        deadline = time.time() + 120
        n = 0
        while time.time() < deadline and proc.poll() is None:
            n = stored_count(self.pr)
            if n >= self.N // 4:
                break
            time.sleep(0.02)
        killed = proc.poll() is None
        proc.kill()
        proc.wait(10)
        log.close()
        self.assertTrue(killed, f"the round ended before the kill ({n} stored)")
        self.assertLess(n, self.N)
        # The connection dropped without QUIT: once Dovecot's session for it has ended, the
        # server has deleted nothing.
        self.assertTrue(eventually(lambda: not children_named(self.dc.proc.pid, "pop3"), 20),
                        "Dovecot's POP3 session outlived the killed collector by 20 s")
        self.assertEqual(self.dc.count("sys"), self.N)
        r = self.collect()
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["listed"], self.N)
        # what the killed round stored is deleted now without storing it again
        self.assertGreater(r["already_stored"], 0, r)
        self.assertEqual(r["already_stored"] + r["collected"], self.N, r)
        self.assertEqual(self.dc.count("sys"), 0)
        got = self.stored()
        del got[None]
        self.assertEqual(set(got), set(sent))
        dups = [mid for mid, (c, _) in got.items() if c != 1]
        self.assertEqual(dups, [])
        subjects = self.stored_subjects()
        self.assertEqual(set(subjects), bare)
        self.assertEqual([k for k, c in subjects.items() if c != 1], [])
        # and nothing is left for a third round
        r = self.collect()
        self.assertEqual((r["listed"], r["collected"]), (0, 0))


if __name__ == "__main__":
    unittest.main()
