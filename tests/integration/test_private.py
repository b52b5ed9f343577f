"""Mail at rest is private (issue #10): the store, its WAL and SHM files,
var/ and the spool are readable by their owner only -- created so, and an
older installation's 0644 files are tightened when postroom opens them."""
import os
import stat
import subprocess
import tempfile

from harness import BACKEND, BIN, PostroomCase, make_message


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class MailAtRest(PostroomCase):
    seed = False
    start = False

    def db(self):
        return self.pr.store[len("sqlite:"):]

    def deliver(self):
        big = "x" * 70 + "\r\n"
        msg = make_message("alice@firm.example", "a1234@firm.example", body=big * 5000)  # 360 KiB: spooled
        with self.smtp() as c:
            c.sendmail("alice@firm.example", ["a1234@firm.example"], msg)

    def test_fresh_store_wal_and_spool_are_private(self):
        self.pr.start()                               # serve creates the store and seeds it
        self.deliver()
        self.assertEqual(len(self.pr.cli_json("messages", "list")["messages"]), 1)
        # The store's files exist only for SQLite (PostgreSQL's are its server's).
        for suffix in ("", "-wal", "-shm") if BACKEND == "sqlite" else ():
            self.assertTrue(os.path.exists(self.db() + suffix), os.listdir(self.pr.dir))
            self.assertEqual(oct(mode(self.db() + suffix)), oct(0o600), "postroom.db" + suffix)
        self.assertEqual(oct(mode(self.pr.spool_dir)), oct(0o700))

    def test_older_readable_store_is_tightened(self):
        self.pr.cli("domain", "add", "firm.example")
        spool = self.pr.spool_dir
        os.makedirs(spool, 0o755)
        os.chmod(spool, 0o755)
        if self.pr.user:                          # PostgreSQL's var/spool: below what start() gives
            os.chown(spool, self.pr.user.pw_uid, self.pr.user.pw_gid)
        if BACKEND == "sqlite":                   # a store file exists only for SQLite
            os.chmod(self.db(), 0o644)
        self.pr.start()
        # Bound as root, the port answers before the store is opened.
        self.pr.wait_log("postroom ready")
        if BACKEND == "sqlite":
            self.assertEqual(oct(mode(self.db())), oct(0o600))
        self.assertEqual(oct(mode(spool)), oct(0o700))

    def test_default_var_dir(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([BIN, "domain", "add", "firm.example"], cwd=d, capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(oct(mode(os.path.join(d, "var"))), oct(0o700))
            self.assertEqual(oct(mode(os.path.join(d, "var", "postroom.db"))), oct(0o600))


class NotRoot(PostroomCase):
    """serve refuses to run as root without run_as_user (exit 78, before it
    opens the store), and is not dumpable: no core file, no ptrace, its
    /proc files belong to root."""
    start = False

    def test_refuses_root_without_run_as_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        if BACKEND == "sqlite":                   # its file: was it opened (created) as root?
            os.unlink(self.db())
        self.pr.config.pop("run_as_user", None)
        self.pr.write_config()
        p = subprocess.run([BIN, "--config", self.pr.config_path, "--store", self.pr.store, "serve"],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn(b"will not run as root: set run_as_user", p.stderr)
        if BACKEND == "sqlite":
            self.assertFalse(os.path.exists(self.db()), "the store was opened as root")

    def test_not_dumpable_and_not_root(self):
        self.pr.start()
        pid = self.pr.proc.pid
        with open(f"/proc/{pid}/status") as f:
            uids = [line for line in f if line.startswith("Uid:")][0].split()[1:]
        self.assertNotIn("0", uids)
        # A non-dumpable process's /proc entries belong to root, whoever it runs as.
        self.assertEqual(os.stat(f"/proc/{pid}/environ").st_uid, 0)

    def test_not_dumpable_when_started_unprivileged(self):
        """Started directly as an ordinary user (no setuid, which would
        reset the flag by itself), serve still makes itself non-dumpable."""
        self.pr.config.pop("run_as_user", None)
        self.pr.write_config()
        self.pr.give_to_user()
        user = {}
        if self.pr.user:
            user = {"user": self.pr.user.pw_uid, "group": self.pr.user.pw_gid, "extra_groups": []}
        with open(self.pr.log_path, "ab") as log:
            proc = subprocess.Popen([BIN, "--config", self.pr.config_path, "--store", self.pr.store, "serve"],
                                    stdout=log, stderr=subprocess.STDOUT, **user)
        self.pr.proc = proc                       # stopped by the harness's cleanup
        self.pr.wait_log("postroom ready")
        self.assertEqual(os.stat(f"/proc/{proc.pid}/environ").st_uid, 0)

    def db(self):
        return self.pr.store[len("sqlite:"):]
