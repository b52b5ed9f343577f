"""Throw-away PostgreSQL 15 clusters on loopback ports, for the tests and
benchmarks that need a cluster of their own: a primary with a streaming
standby (failover), or a private cluster to measure (bench/scale).

initdb refuses to run as root, so as root every server command runs as
the `postgres` user (Debian's package makes it) and the directories are
given to it; otherwise as the current user.  Only 127.0.0.1; every
server is stopped by its data directory (pg_ctl -m immediate) at the end.
"""
import os
import shutil
import subprocess
import time

import ports

PGBIN = os.environ.get("POSTROOM_PGBIN", "/usr/lib/postgresql/15/bin")


def available():
    return os.path.exists(os.path.join(PGBIN, "initdb")) and shutil.which("psql") is not None


class PgCluster:
    def __init__(self, workdir, name="pg", settings=None):
        self.dir = os.path.join(workdir, name)
        self.data = os.path.join(self.dir, "data")
        self.port = ports.pick()
        self.settings = {"listen_addresses": "127.0.0.1", "max_connections": "200",
                         "fsync": "on", "synchronous_commit": "on", "unix_socket_directories": self.dir}
        self.settings.update(settings or {})
        os.makedirs(self.dir, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.running = False

    def _run(self, *cmd, check=True, timeout=120):
        if os.geteuid() == 0:
            cmd = ("runuser", "-u", "postgres", "--") + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)

    def _options(self):
        return " ".join(f"-c {k}={v}" for k, v in self.settings.items()) + f" -p {self.port}"

    def init(self):
        self._run(os.path.join(PGBIN, "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres")
        return self

    def init_standby_of(self, primary, application_name):
        """A copy of primary's data that streams from it (pg_basebackup -R),
        named application_name for synchronous_standby_names.  --checkpoint
        fast: the default (spread) waits for the primary's paced checkpoint,
        about 90 s of nothing here."""
        self._run(os.path.join(PGBIN, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                  "-U", "postgres", "-D", self.data, "-R", "-X", "stream", "--checkpoint", "fast")
        self.settings["cluster_name"] = application_name
        return self

    def start(self):
        p = self._run(os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-w", "-t", "60",
                      "-l", os.path.join(self.dir, "log"), "-o", self._options(), "start", check=False)
        if p.returncode != 0:
            with open(os.path.join(self.dir, "log"), errors="replace") as f:
                raise RuntimeError(f"pg_ctl start failed: {p.stderr}\n{f.read()[-3000:]}")
        self.running = True
        return self

    def kill(self):
        """Stop at once, as a crash would (no checkpoint, no goodbye)."""
        if self.running:
            self._run(os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop",
                      check=False)
            self.running = False

    def promote(self):
        self._run(os.path.join(PGBIN, "pg_ctl"), "-D", self.data, "-w", "promote")

    def uri(self, db="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres", check=True, options=None):
        """options: PGOPTIONS for this call (e.g. "-c synchronous_commit=local"
        before a synchronous standby exists, or the statement waits for it)."""
        env = dict(os.environ, PGOPTIONS=options) if options else None
        p = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                           capture_output=True, text=True, timeout=300, env=env)
        if check and p.returncode != 0:
            raise RuntimeError(f"psql: {p.stderr.strip()}")
        return p.stdout.strip()

    def is_primary(self):
        return self.psql("SELECT NOT pg_is_in_recovery()", check=False) == "t"
