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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("POSTROOM_BIN", os.path.join(ROOT, "build-asan", "postroom"))
SHARED = os.environ.get("POSTROOM_SHARED", os.path.join(ROOT, "..", "shared"))
TESTDATA = os.path.join(SHARED, "testdata")


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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_tcp_port():
    """A port free for both UDP and TCP right now (dnsmasq binds both)."""
    for _ in range(50):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            try:
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


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


class Postroom:
    """One postroom installation in a temporary directory."""

    def __init__(self, workdir=None, config=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="postroom-test-")
        self._own_dir = workdir is None
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
        self.proc = subprocess.Popen(
            [BIN, "--config", self.config_path, "--store", self.store, "serve"] + list(extra),
            stdout=self.logf, stderr=subprocess.STDOUT)
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
        if self._own_dir and not os.environ.get("POSTROOM_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

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
        """A small organisation most tests start from."""
        self.cli("domain", "add", "firm.example")
        self.cli("user", "add", "alice", "--email", "alice@firm.example", "--display", "Alice Archer")
        self.cli("user", "add", "bob", "--email", "bob@firm.example", "--email", "bob@home.example")
        self.cli("user", "add", "carol", "--email", "carol@firm.example")
        self.cli("project", "add", "1234", "--name", "Harbour consultation")
        self.cli("project", "grant", "1234", "alice")
        self.cli("alias", "add", "team@firm.example", "alice", "bob")


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
