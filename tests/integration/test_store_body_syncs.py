"""The syncs a large body needs before its 250, watched with strace
(issue 12, "Large messages"): serve runs under `strace -f -y`, three
1 MiB messages are sent at once while another process holds the store's
write lock (so all three wait for the same committer), and the trace must
show, for each body the store names:

    linkat(<store>.bodies/NAME) -> fdatasync(the body) returns
      -> fsync(<store>.bodies) starts and returns
      -> fdatasync(<store>-wal) (the commit naming it) starts and returns
      -> the "250 ... (message ID)" is written

and fewer directory syncs than bodies: the directory is synced once per
group commit, not once per body.  Before this change every body had a
directory sync of its own (three for three): the count assertion fails
there; the order held before too.
"""
import os
import shutil
import signal
import smtplib
import sqlite3
import subprocess
import threading
import unittest

from harness import BIN, PostroomCase, eventually, skip_unless_sqlite, wait_port
from test_security_logwriter import block_writes
from test_store_bodies import message

MIB = 1024 * 1024


def strace_works():
    if shutil.which("strace") is None:
        return False
    p = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"], capture_output=True)
    return p.returncode == 0


@skip_unless_sqlite("the syncs of <store>.bodies/ files, the body directory and <store>-wal: "
                    "SQLite's layout for large bodies; PostgreSQL keeps them in message_chunks")
@unittest.skipUnless(strace_works(), "strace is missing or may not trace here (ptrace refused)")
class TestBodySyncOrder(PostroomCase):
    config = {"max_message_size": "30M"}
    start = False

    def setUp(self):
        super().setUp()
        self.trace = os.path.join(self.pr.dir, "serve.trace")
        pr = self.pr
        pr.write_config()
        pr.give_to_user()
        pr.logf = open(pr.log_path, "ab")
        self.strace = subprocess.Popen(
            ["strace", "-f", "-y", "-qq", "-s", "48", "-o", self.trace,
             "-e", "trace=linkat,fsync,fdatasync,write,writev,sendmsg",
             BIN, "--config", pr.config_path, "--store", pr.store, "serve"],
            stdout=pr.logf, stderr=subprocess.STDOUT,
            # LeakSanitizer cannot run under ptrace (it would end serve with
            # a fatal error at exit); the other sanitizers still do.
            env=dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"))
        self.addCleanup(self.stop_traced)
        wait_port(pr.smtp_port, proc=self.strace)
        self.assertTrue(eventually(lambda: "postroom ready" in pr.log_text(), 30), pr.log_text())
        self.serve_pid = self.child_of(self.strace.pid)

    @staticmethod
    def child_of(pid):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        raise AssertionError("strace has no child")

    def stop_traced(self):
        # serve itself (strace would only detach); strace ends with it.
        if self.strace.poll() is None:
            try:
                os.kill(self.serve_pid, signal.SIGTERM)
            except (AttributeError, ProcessLookupError):
                self.strace.kill()
            try:
                self.strace.wait(60)
            except subprocess.TimeoutExpired:
                self.strace.kill()
                self.strace.wait(10)
        if self.pr.logf:
            self.pr.logf.close()
            self.pr.logf = None

    def send_all(self, msgs):
        answers = {}

        def send(i, data):
            with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=120) as c:
                c.ehlo("client.example")
                c.mail("alice@firm.example")
                c.rcpt("a1234@firm.example")
                answers[i] = c.data(data)
        threads = [threading.Thread(target=send, args=(i, d)) for i, (_, d) in enumerate(msgs)]
        for t in threads:
            t.start()
        return threads, answers

    def events(self):
        """The sync calls [(kind, pid, fd, path, start line, end line)],
        {body name: (pid, fd, line)} of the links, and {message id: line}
        of the 250s written.  A linked spool keeps its first name in
        strace's -y view, so a body's sync is found by its fd."""
        with open(self.trace, errors="replace") as f:
            lines = f.read().splitlines()
        pending, syncs, links, acks = {}, [], {}, {}
        for i, line in enumerate(lines):
            pid, _, rest = line.partition(" ")
            rest = rest.lstrip()
            if rest.startswith("<... "):                       # a call resumed
                kind = rest[5:].split()[0]
                if (pid, kind) in pending:
                    start, fd, path = pending.pop((pid, kind))
                    syncs.append((kind, pid, fd, path, start, i))
                continue
            kind = rest.split("(", 1)[0]
            if kind in ("fsync", "fdatasync"):
                fd = int(rest.split("(", 1)[1].split("<", 1)[0])
                path = rest.split("<", 1)[1].split(">", 1)[0]
                if rest.endswith("<unfinished ...>"):
                    pending[(pid, kind)] = (i, fd, path)
                else:
                    syncs.append((kind, pid, fd, path, i, i))
            elif kind == "linkat" and ".bodies" in rest:
                args = rest.split(", ")
                fd = int(args[1].strip('"').rsplit("/", 1)[1])
                links[args[3].strip('"')] = (pid, fd, i)
            elif kind in ("write", "writev", "sendmsg") and '"250 ' in rest and "(message " in rest:
                mid = int(rest.split("(message ", 1)[1].split(")", 1)[0])
                acks[mid] = i
        return syncs, links, acks

    def test_body_synced_then_directory_then_commit_then_250(self):
        msgs = [message(f"large {i}", MIB, 300 + i) for i in range(3)]
        holder = block_writes(self.pr)
        try:
            threads, answers = self.send_all(msgs)
            # All three reach the committer while it waits for the lock.
            bodies = self.pr.store[len("sqlite:"):] + ".bodies"
            count = lambda: len(os.listdir(bodies)) if os.path.isdir(bodies) else 0
            self.assertTrue(eventually(lambda: count() == 3, 30), count())
        finally:
            holder.rollback()
            holder.close()
        for t in threads:
            t.join(120)
        self.assertEqual(sorted(a[0] for a in answers.values()), [250, 250, 250], answers)
        db = sqlite3.connect(self.pr.store[len("sqlite:"):])
        named = dict(db.execute("SELECT name, message_id FROM message_body").fetchall())
        db.close()
        self.assertEqual(len(named), 3, named)
        self.stop_traced()
        syncs, links, acks = self.events()
        wal = [s for s in syncs if s[0] == "fdatasync" and s[3].endswith("-wal")]
        dirs = [s for s in syncs if s[0] == "fsync" and s[3] == bodies]
        for name, mid in named.items():
            self.assertIn(name, links, f"no linkat of {name}")
            pid, fd, at = links[name]
            body = [s for s in syncs if s[1] == pid and s[2] == fd and s[4] > at]
            self.assertTrue(body, f"body {name} never synced after its link")
            body_done = min(s[5] for s in body)
            dir_done = min((s[5] for s in dirs if s[4] > body_done), default=None)
            self.assertIsNotNone(dir_done, f"no directory sync after body {name} was synced")
            wal_done = min((s[5] for s in wal if s[4] > dir_done), default=None)
            self.assertIsNotNone(wal_done, f"no commit after the directory sync for {name}")
            self.assertIn(mid, acks, f"no 250 for message {mid}")
            self.assertGreater(acks[mid], wal_done, f"250 for message {mid} before its commit")
        self.assertLess(len(dirs), 3, f"one directory sync per body: {dirs}")
