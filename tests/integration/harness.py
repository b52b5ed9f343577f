"""Shared helpers for integration tests: start the real postroom binary and
real peers (dnsmasq for DNS, later Dovecot) on loopback, in a private
temporary directory, and stop every process we start by its pid.

Nothing here queries the machine's resolver: postroom is pointed at a
dnsmasq on 127.0.0.1 with --no-resolv, serving only the test's records.
"""
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("POSTROOM_BIN", os.path.join(ROOT, "build-asan", "postroom"))
if os.sep in BIN:
    BIN = os.path.abspath(BIN)      # tests run it from other directories (serve under PostgreSQL)
SHARED = os.environ.get("POSTROOM_SHARED", os.path.join(ROOT, "..", "shared"))
TESTDATA = os.path.join(SHARED, "testdata")

# Which store every Postroom gets: "sqlite" (the default: a file in its
# directory) or "postgres" (POSTROOM_TEST_STORE=postgres, with POSTROOM_TEST_PG
# the admin conninfo of a throw-away cluster, as scripts/pg-test-cluster start
# prints it): then each Postroom gets a fresh database of its own.
BACKEND = os.environ.get("POSTROOM_TEST_STORE", "sqlite") or "sqlite"
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"POSTROOM_TEST_STORE={BACKEND!r}: use sqlite or postgres")
PG_ADMIN = os.environ.get("POSTROOM_TEST_PG", "")
if BACKEND == "postgres" and not PG_ADMIN:
    raise SystemExit("POSTROOM_TEST_STORE=postgres needs POSTROOM_TEST_PG (the admin conninfo "
                     "`scripts/pg-test-cluster start` prints)")
PSQL = os.environ.get("POSTROOM_PSQL") or next(
    (p for p in ("/usr/lib/postgresql/15/bin/psql",) if os.path.exists(p)), "psql")


def sqlite_only(testcase, why):
    """Skip testcase under PostgreSQL; why says which SQLite-only thing it
    checks (the database file, its WAL, <store>.bodies...)."""
    if BACKEND != "sqlite":
        testcase.skipTest(f"SQLite only ({why}); this run uses the {BACKEND} store")


def skip_unless_sqlite(why):
    """sqlite_only() as a decorator, for a whole class (or a test method)."""
    return unittest.skipIf(BACKEND != "sqlite", f"SQLite only ({why}); this run uses the {BACKEND} store")


def psql(sql, conninfo=None, timeout=60):
    """Run sql with psql against conninfo (default: the admin database);
    stops at the first error.  Returns stdout (unaligned, tuples only,
    fields separated by a tab)."""
    p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                        "-d", conninfo or PG_ADMIN, "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"psql failed ({p.returncode}) running {sql!r}: {p.stderr.strip()}")
    return p.stdout


def pg_database_url(name):
    """POSTROOM_TEST_PG with its database replaced by name (same scheme,
    user, host and port; query options kept)."""
    import urllib.parse
    u = urllib.parse.urlsplit(PG_ADMIN)
    if u.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"POSTROOM_TEST_PG={PG_ADMIN!r} is not a postgresql:// URL")
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, ""))


def sql_literal(v):
    """v as a PostgreSQL literal (standard_conforming_strings: a quote is
    doubled, a backslash is itself).  For the tests' own values only."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "'\\x" + bytes(v).hex() + "'::bytea"
    if isinstance(v, str):
        if "\0" in v:
            raise ValueError("NUL in a text parameter")
        return "'" + v.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(v).__name__}")


def bind_params(sql, params):
    """SQLite-style placeholders (? and ?N) outside quotes replaced by
    literals: one statement text that runs on both backends."""
    import re
    out, n = [], 0
    for tok in re.split(r"('(?:[^']|'')*'|\?\d*)", sql):
        if tok.startswith("?"):
            i = int(tok[1:]) - 1 if len(tok) > 1 else n
            n += 1
            out.append(sql_literal(params[i]))
        else:
            out.append(tok)
    return "".join(out)


class PgLockHolder:
    """Another session on a PostgreSQL store holding every table of it
    locked until rollback()/close(): mode "EXCLUSIVE" lets reads go on and
    stops writes (what SQLite's BEGIN IMMEDIATE does), "ACCESS EXCLUSIVE"
    stops reads too.  The store's own lock_timeout (its busy timeout) then
    decides what serve answers.  A psql kept open on a pipe."""

    def __init__(self, conninfo, mode, timeout=30.0):
        tables = psql("SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
                      " WHERE schemaname = current_schema()", conninfo).strip()
        if not tables:
            raise RuntimeError(f"no tables to lock in {conninfo}")
        self.proc = subprocess.Popen([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        # lock_timeout: never wait for a session of serve's without end.
        self.proc.stdin.write(f"SET lock_timeout = '{int(timeout * 1000)}ms';\nBEGIN;\n"
                              f"LOCK TABLE {tables} IN {mode} MODE;\n\\echo locked\n".encode())
        self.proc.stdin.flush()
        out, deadline = b"", time.time() + timeout + 10
        while b"locked\n" not in out:
            import select
            left = deadline - time.time()
            if self.proc.poll() is not None or left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                self.close()
                raise RuntimeError(f"could not lock the store's tables ({mode}): {out.decode(errors='replace')}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            out += chunk

    def rollback(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"ROLLBACK;\n\\q\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                stop_pid(self.proc)
        self.proc = None

    close = rollback

    def execute(self, sql):
        """For code written against sqlite3: execute("ROLLBACK")."""
        if sql.strip().upper() != "ROLLBACK":
            raise ValueError(f"PgLockHolder only ends its transaction, not {sql!r}")
        self.rollback()


_pg_serial = 0


def pg_fresh_database():
    """CREATE DATABASE pr_<pid>_<n>_<random>: (name, its URL)."""
    global _pg_serial
    _pg_serial += 1
    name = f"pr_{os.getpid()}_{_pg_serial}_{os.urandom(3).hex()}"
    psql(f"CREATE DATABASE {name}")
    return name, pg_database_url(name)


def service_user():
    """The unprivileged user serve runs as when the tests run as root (CI):
    serve refuses root without run_as_user, as it should in production.
    $POSTROOM_TEST_USER, else the postroom-test user .ci/run creates, else
    nobody; None when the tests do not run as root."""
    if os.geteuid() != 0:
        return None
    import pwd
    for name in (os.environ.get("POSTROOM_TEST_USER"), "postroom-test", "nobody"):
        if name:
            try:
                return pwd.getpwnam(name)
            except KeyError:
                pass
    raise unittest.SkipTest("running as root, but no unprivileged user for serve (set POSTROOM_TEST_USER)")


def shared_or_skip(testcase):
    """Skip with a clear message when ../shared/testdata is absent."""
    if not os.path.isdir(TESTDATA):
        testcase.skipTest(f"{TESTDATA} is absent: the shared conformance data is not beside this checkout")
    return TESTDATA


def free_port():
    """A loopback TCP port no other test process is handed (ports.py)."""
    return ports.pick()


def free_udp_tcp_port():
    """A port free for both UDP and TCP right now (dnsmasq binds both)."""
    return ports.pick((socket.SOCK_STREAM, socket.SOCK_DGRAM))


def dns_answers(port, timeout):
    """True once something on 127.0.0.1:port answers a DNS query."""
    query = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x05probe\x07invalid\x00\x00\x01\x00\x01")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(min(timeout, 0.2))
        try:
            s.sendto(query, ("127.0.0.1", port))
            data, _ = s.recvfrom(512)
            return data[:2] == b"\x12\x34"
        except OSError:
            return False


def wait_port(port, timeout=20.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_pid(proc, timeout=20.0):
    """SIGTERM, wait, then SIGKILL: never leave a process behind."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


class DnsServer:
    """dnsmasq on 127.0.0.1:<port>, authoritative for the test's records only.

    records: list of dnsmasq conf lines, e.g.
      'txt-record=example.org,"v=spf1 ip4:127.0.0.1 -all"'
      'host-record=mx.example.org,127.0.0.1'
      'mx-host=example.org,mx.example.org,10'
    Names not configured get NXDOMAIN (no upstream: --no-resolv).
    """

    def __init__(self, workdir, records):
        self.conf = os.path.join(workdir, "dnsmasq.conf")
        with open(self.conf, "w") as f:
            f.write("no-resolv\nno-hosts\nno-poll\nbind-interfaces\nlisten-address=127.0.0.1\n"
                    "log-queries\nlocal-ttl=60\n")
            # Every name we serve is "local": answer NXDOMAIN rather than forward.
            f.write("local=/#/\n")
            for r in records:
                f.write(r + "\n")
        self.log = open(os.path.join(workdir, "dnsmasq.log"), "w")
        # The port is free when picked, but a test running beside us may
        # take it (UDP or TCP) before dnsmasq binds: then dnsmasq exits and
        # we try another port.  Ready means it answers a query.
        for _ in range(5):
            self.port = free_udp_tcp_port()
            self.proc = subprocess.Popen(
                ["dnsmasq", "--keep-in-foreground", "--conf-file=" + self.conf,
                 f"--port={self.port}", "--pid-file=", "--user=root"],
                stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while self.proc.poll() is None and time.time() < deadline:
                if dns_answers(self.port, deadline - time.time()):
                    return
            stop_pid(self.proc)
        raise RuntimeError("dnsmasq failed to start; see " + self.log.name)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        stop_pid(self.proc)
        self.log.close()


_null_dns = None


def null_dns():
    """One dnsmasq per test process that knows no names (NXDOMAIN for all).

    Every postroom a test starts points at a loopback DNS server, this one
    unless the test brings its own zone, so no test ever asks the
    machine's resolver."""
    global _null_dns
    if _null_dns is None:
        import atexit
        d = tempfile.mkdtemp(prefix="postroom-dns-")
        _null_dns = DnsServer(d, [])
        atexit.register(lambda: (_null_dns.stop(), shutil.rmtree(d, ignore_errors=True)))
    return _null_dns


# Installations not cleaned up yet: when a test fails, run.py prints the
# end of each one's serve log (its directory is gone once the test ends).
LIVE = []


def print_live_logs(stream, lines=60):
    for pr in list(LIVE):
        try:
            tail = pr.log_text().splitlines()[-lines:]
        except OSError:
            continue
        stream.write(f"--- the last {len(tail)} lines of {pr.log_path} ---\n")
        stream.write("\n".join(tail) + "\n--- end of serve's log ---\n")


class Postroom:
    """One postroom installation in a temporary directory."""

    def __init__(self, workdir=None, config=None, store=None):
        """store: another Postroom's store URI, to run a second node on
        the same store (its own directory, config, ports and log)."""
        self.dir = workdir or tempfile.mkdtemp(prefix="postroom-test-")
        self._own_dir = workdir is None
        self.pg_database = None
        if store:
            self.store = store
        elif BACKEND == "postgres":
            self.pg_database, self.store = pg_fresh_database()
        else:
            self.store = "sqlite:" + os.path.join(self.dir, "postroom.db")
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.config_path = os.path.join(self.dir, "postroom.conf")
        self.config = {
            "smtp_listen": f"127.0.0.1:{self.smtp_port}",
            "http_listen": f"127.0.0.1:{self.http_port}",
            "hostname": "mx.firm.example",
            "require_spf": "false",
            "require_dkim": "false",
            "dns_server": null_dns().address,
            "dns_timeout_ms": "2000",
            # Tests open many connections from 127.0.0.1 in a few seconds
            # (test_smtp_load: 80); the DoS tests set their own limits.
            "smtp_client_connection_rate": "0",
        }
        self.user = service_user()
        if self.user:
            self.config["run_as_user"] = self.user.pw_name
        self.config.update(config or {})
        self.proc = None
        self.log_path = os.path.join(self.dir, "serve.log")
        self.write_config()
        self.give_to_user()
        LIVE.append(self)

    def give_to_user(self):
        """As root: the directory and the files a test put in it (config,
        certificates) belong to the service user, as an admin would set it
        up; the CLI run as root becomes that user too (run_as_user), so the
        store is always its.  Dovecot's own directory stays Dovecot's."""
        if not self.user:
            return
        os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        for name in os.listdir(self.dir):
            if name != "dovecot":
                os.chown(os.path.join(self.dir, name), self.user.pw_uid, self.user.pw_gid)

    def write_config(self):
        with open(self.config_path, "w") as f:
            for k, v in self.config.items():
                f.write(f"{k} = {v}\n")

    def wait_log(self, text, timeout=20.0):
        """Wait, with a deadline, until serve's log contains text."""
        if not eventually(lambda: text in self.log_text(), timeout):
            raise AssertionError(f"{text!r} not in serve's log after {timeout} s:\n{self.log_text()}")

    def wait_applied(self, *keys, timeout=20.0):
        """Wait until the running serve has logged each key among the
        settings it applied: a `settings set` reaches serve by its poll of
        the store, a moment later, and what runs before that (an outbound
        attempt) still uses the old value."""
        def applied():
            lines = [l for l in self.log_text().splitlines() if "settings changed: " in l]
            names = {n.strip() for l in lines for n in l.split("settings changed: ", 1)[1].split(",")}
            return all(k in names for k in keys)
        if not eventually(applied, timeout):
            raise AssertionError(f"serve did not apply {keys} within {timeout} s:\n{self.log_text()}")

    def cli(self, *args, check=True, input=None, timeout=120):
        cmd = [BIN, "--config", self.config_path, "--store", self.store] + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout: "
                                 f"{p.stdout.decode(errors='replace')}\nstderr: {p.stderr.decode(errors='replace')}")
        return p

    def cli_json(self, *args):
        import json
        return json.loads(self.cli(*args, "--json").stdout)

    def start(self, *extra):
        self.write_config()
        self.give_to_user()
        ready = self.log_text().count("postroom ready") if os.path.exists(self.log_path) else 0
        self.logf = open(self.log_path, "ab")
        # serve spools large messages beside an SQLite store, else in
        # ./var/spool: with PostgreSQL, that is this postroom's directory.
        self.proc = subprocess.Popen(
            [BIN, "--config", self.config_path, "--store", self.store, "serve"] + list(extra),
            stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.dir if self.pg_database else None)
        wait_port(self.smtp_port, proc=self.proc)
        # Bound as root before dropping to run_as_user, the port answers
        # before the store is open and the signal handlers are set.
        deadline = time.time() + 20
        while (self.log_text().count("postroom ready") <= ready and self.proc.poll() is None
               and time.time() < deadline):
            time.sleep(0.02)
        return self

    def stop(self):
        rc = stop_pid(self.proc)
        self.proc = None
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None
        return rc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def cleanup(self):
        self.stop()
        if self in LIVE:
            LIVE.remove(self)
        if os.environ.get("POSTROOM_KEEP"):
            return
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_database:
            # FORCE: a CLI or serve a test left behind must not keep it alive.
            psql(f"DROP DATABASE IF EXISTS {self.pg_database} WITH (FORCE)")
            self.pg_database = None

    @property
    def spool_dir(self):
        """Where serve spools: beside an SQLite store, else ./var/spool of
        serve's directory (start() runs it in self.dir)."""
        return os.path.join(self.dir, "spool" if not self.pg_database else os.path.join("var", "spool"))

    def _sqlite_connect(self, **kw):
        """A connection to the existing SQLite store, never a new one: a
        test runs as root, and sqlite3.connect() on a store not made yet
        would create an empty one owned by root, which serve and the CLI
        (run_as_user) could then not write.  (On an existing store SQLite
        itself gives the -wal and -shm files it makes as root to the
        store's owner.)"""
        import sqlite3
        import urllib.parse
        path = os.path.abspath(self.store[len("sqlite:"):])
        return sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=rw", uri=True, **kw)

    def sql(self, query, *params):
        """Rows (a list of tuples) of one SQL statement run on this store,
        whichever the backend: SQLite through the sqlite3 module, PostgreSQL
        through psql.  The same text serves both when it keeps to the SQL
        they share (the logical schema is the same); placeholders are ? or
        ?N.  A blob comes back as bytes from SQLite and as PostgreSQL's hex
        text from psql: compare it through blob()."""
        if self.pg_database:
            import json
            q = bind_params(query, params).strip().rstrip(";")
            if not q.split(None, 1)[0].upper() in ("SELECT", "WITH", "VALUES"):
                psql(q, self.store)
                return []
            text = psql(f"SELECT coalesce(json_agg(t), '[]') FROM ({q}) t", self.store).strip()
            return [tuple(row) for row in json.loads(text, object_pairs_hook=lambda kv: [v for _, v in kv])]
        db = self._sqlite_connect(timeout=30)
        try:
            with db:
                return db.execute(query, params).fetchall()
        finally:
            db.close()

    def hold_writes(self):
        """Another connection holding the store's write lock until its
        rollback()/close(): readers go on, writers wait (and time out).
        SQLite: BEGIN IMMEDIATE; PostgreSQL: every table locked EXCLUSIVE."""
        if self.pg_database:
            return PgLockHolder(self.store, "EXCLUSIVE")
        holder = self._sqlite_connect(isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")
        return holder

    def sql_one(self, query, *params):
        """The first column of the first row of sql(), or None."""
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def blob(self, v):
        """A blob column's value from sql() as bytes on either backend."""
        if isinstance(v, str) and self.pg_database and v.startswith("\\x"):
            return bytes.fromhex(v[2:])
        return bytes(v) if v is not None else None

    def token(self, scope="admin", name=None):
        """A new API token's text (`postroom token create`)."""
        name = name or f"t{scope}{time.time_ns() % 10**9}"
        return self.cli("token", "create", "--name", name, "--scope", scope).stdout.decode().strip()

    def http(self, method, path, body=None, token=None, headers=None, timeout=60, raw=False):
        """One request to serve's HTTP API: (status, headers, body).  body
        (a dict or list) is sent as JSON, bytes as they are; the answer is
        parsed as JSON when it says it is JSON, unless raw."""
        return http_request(self.http_port, method, path, body, token, headers, timeout, raw)

    def seed_basic(self):
        """A small organisation most tests start from.

        The seven commands make the same store every time, and under ASan
        they took 2.5-3.5 s, most of a short test's setup.  So a new SQLite
        store is a copy of the first one this process seeded with the same
        binary (mode 0600, as postroom creates it).  A store that already
        exists is seeded by the commands; tests of how postroom creates a
        store (test_private) do not seed."""
        path = self.store[len("sqlite:"):] if self.store.startswith("sqlite:") else None
        fresh = path is not None and not os.path.exists(path)
        if fresh and BIN in _SEEDED_STORES:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(_SEEDED_STORES[BIN])
            if self.user:                 # the CLI, run as root, opens it as the service user
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
            return
        self.cli("domain", "add", "firm.example")
        self.cli("user", "add", "alice", "--email", "alice@firm.example", "--display", "Alice Archer")
        self.cli("user", "add", "bob", "--email", "bob@firm.example", "--email", "bob@home.example")
        self.cli("user", "add", "carol", "--email", "carol@firm.example")
        self.cli("project", "add", "1234", "--name", "Harbour consultation")
        self.cli("project", "grant", "1234", "alice")
        self.cli("alias", "add", "team@firm.example", "alice", "bob")
        # Only a store whose last connection checkpointed its WAL away is whole in one file.
        if fresh and not any(os.path.exists(path + x) for x in ("-wal", "-journal")):
            with open(path, "rb") as f:
                _SEEDED_STORES[BIN] = f.read()


def http_request(port, method, path, body=None, token=None, headers=None, timeout=60, raw=False,
                 tls=False, context=None):
    """(status, headers as a case-insensitive Message, body) of one request."""
    import http.client
    import json as _json
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, bytearray)) else _json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        ctype = resp.getheader("Content-Type", "")
        if not raw and ctype.startswith("application/json") and payload:
            payload = _json.loads(payload)
        return resp.status, resp.headers, payload
    finally:
        conn.close()


# binary -> the bytes of a SQLite store seed_basic() made with it (see there)
_SEEDED_STORES = {}


class PostroomCase(unittest.TestCase):
    """A test case with a fresh seeded postroom, started, per test."""
    config = {}
    seed = True
    start = True

    def setUp(self):
        self.pr = Postroom(config=dict(self.config))
        self.addCleanup(self.pr.cleanup)
        if self.seed:
            self.pr.seed_basic()
        if self.start:
            self.pr.start()

    def smtp(self):
        import smtplib
        return smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30)


def eventually(fn, timeout=5.0):
    """fn() until it returns something true, for at most timeout seconds.

    Refusals seen at RCPT are written to the intake log by the committer
    thread, a moment after the SMTP reply: tests that read the log right
    after a refusal wait for it here rather than race it."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(0.05)


def make_message(sender, to, subject="Test", body="Hello.\r\n", extra_headers=(), msgid=None):
    import email.utils
    msgid = msgid or email.utils.make_msgid(domain="test.example")
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}",
             f"Date: {email.utils.formatdate()}", f"Message-ID: {msgid}"]
    lines += list(extra_headers)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def dnsmasq_txt(name, value):
    """dnsmasq txt-record line; strings over 255 octets split into several."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return f'txt-record={name},' + ",".join(f'"{p}"' for p in parts)


def rsa_key(workdir, name, bits=2048):
    """A new RSA key: (PEM private key bytes, base64 DER public key for p=)."""
    path = os.path.join(workdir, name + ".pem")
    subprocess.run(["openssl", "genrsa", "-out", path, str(bits)], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "der"],
                         check=True, capture_output=True).stdout
    with open(path, "rb") as f:
        return f.read(), base64.b64encode(der).decode()


def zdict(name):
    """The SQLite store's preset dictionary `name` (src/store/store_sqlite_zdict.c)
    as its C source spells it: the string literals joined, escapes decoded."""
    import ast
    import re
    with open(os.path.join(ROOT, "src", "store", "store_sqlite_zdict.c")) as f:
        src = f.read()
    body = re.search(r"static const char " + name + r"\[\] =(.*?);\n", src, re.S).group(1)
    return b"".join(ast.literal_eval(lit).encode() for lit in re.findall(r'"(?:[^"\\]|\\.)*"', body))


def inflate_raw(data, dictionary):
    """A raw deflate stream (no zlib header) made with a preset dictionary."""
    import zlib
    d = zlib.decompressobj(-15, zdict=dictionary)
    out = d.decompress(data) + d.flush()
    assert d.eof and not d.unused_data
    return out


def unzstd(data, dictionary):
    """A zstd frame made with a preset dictionary taken as raw content,
    read with the python3-zstandard bindings (not postroom's code)."""
    import zstandard
    d = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return zstandard.ZstdDecompressor(dict_data=d).decompress(bytes(data))


def unpack_text(blob):
    """A packed JSON/References blob as its text bytes: a type byte (1 raw
    deflate, 2 zstd, both with the JSON dictionary), the text's length (4
    bytes, little-endian), the packed text; the length is checked."""
    blob = bytes(blob)
    unpack = {1: inflate_raw, 2: unzstd}[blob[0]]
    text = unpack(blob[5:], zdict("json_dict1"))
    assert int.from_bytes(blob[1:5], "little") == len(text)
    return text


def stored_bytes(raw, codec):
    """message_raw's blob as the message's bytes, by its codec: 0 plain,
    1 zlib, 2 raw deflate with the message dictionary, 3 zstd with it."""
    import zlib
    raw = bytes(raw)
    if codec == 1:
        return zlib.decompress(raw)
    if codec == 2:
        return inflate_raw(raw, zdict("raw_dict1"))
    if codec == 3:
        return unzstd(raw, zdict("raw_dict1"))
    return raw

