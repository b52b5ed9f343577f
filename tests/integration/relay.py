"""A real relay on loopback for the outbound tests, and the far end it
relays to.

    far = Capture(workdir)                 # the far end: records exact bytes
    relay = Relay(workdir, far)            # Postfix submission + Dovecot SASL
    relay.add_user("sender", "secret")
    pr.config.update(relay.settings("sender", "secret"))
    ... send ...
    far.wait(1)[0]                         # {"mail_from", "rcpts", "data", "tls"}
    relay.stop(); far.stop()

Relay is a private Postfix (Debian's, started as `postfix -c DIR` with its
own main.cf/master.cf and queue, as bench/smtp-intake starts it) with a
submission listener on a loopback port (STARTTLS, AUTH only after TLS,
relaying only for authenticated clients) and a second one with implicit
TLS (smtps), authenticating through Dovecot SASL (dovecot.py with its auth
service on a loopback TCP port).  It relays everything to `far`.  Its
certificate is self-signed: postroom trusts it only with smtp_ca_file.
Recipients in `refuse` / `defer` get that answer from Postfix itself, at
RCPT ("550 5.1.1 ..." / "450 4.2.0 ...").

Capture is a small SMTP server (Python, a thread per connection) that
records each message's envelope and DATA bytes exactly (dot-unstuffed),
optionally offers STARTTLS, and answers RCPT or the end of DATA as the test
asks.  It is the far end for the relay, and the MX for direct mode.
"""
import os
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import unittest

from dovecot import Dovecot, make_cert
from harness import eventually, free_port, wait_port


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def line(self):
        raw = self.rfile.readline(65536)
        if not raw:
            raise EOFError
        return raw

    def hold(self):
        """Keep the final reply back until the client disconnects (True:
        it did, so the message was never acknowledged) or 60 s pass."""
        self.server.capture.holding.set()
        ready, _, _ = select.select([self.request], [], [], 60)
        return bool(ready) and self.request.recv(1, socket.MSG_PEEK) == b""

    def handle(self):
        cap = self.server.capture
        self.tls = False
        self.reply(f"220 {cap.name} ESMTP capture")
        env = None
        try:
            while True:
                raw = self.line()
                cmd = raw.decode("latin-1").rstrip("\r\n")
                verb = cmd[:4].upper()
                if verb in ("EHLO", "HELO"):
                    ext = ["SIZE 52428800", "8BITMIME"]
                    if cap.context and not self.tls:
                        ext.append("STARTTLS")
                    lines = [cap.name] + ext
                    for ln in lines[:-1]:
                        self.reply("250-" + ln)
                    self.reply("250 " + lines[-1])
                elif verb == "STAR" and cap.context and not self.tls:
                    self.reply("220 2.0.0 go ahead")
                    self.request = cap.context.wrap_socket(self.request, server_side=True)
                    self.rfile = self.request.makefile("rb")
                    self.wfile = self.request.makefile("wb")
                    self.tls = True
                elif verb == "MAIL":
                    env = {"mail_from": cmd[10:].split(">")[0].lstrip("<"), "rcpts": [],
                           "tls": self.tls, "helo": None}
                    self.reply("250 2.1.0 ok")
                elif verb == "RCPT":
                    addr = cmd[8:].split(">")[0].lstrip("<")
                    answer = cap.rcpt_reply(addr) if cap.rcpt_reply else None
                    if answer is None:
                        env["rcpts"].append(addr)
                        answer = "250 2.1.5 ok"
                    self.reply(answer)
                elif verb == "DATA":
                    self.reply("354 go ahead")
                    data = bytearray()
                    while True:
                        ln = self.line()
                        if ln == b".\r\n":
                            break
                        data += ln[1:] if ln.startswith(b".") else ln
                    env["data"] = bytes(data)
                    with cap.lock:
                        cap.data_seen += 1
                        hold = cap.data_seen == cap.hold_nth
                    if hold and self.hold():
                        return             # the client went away before our 250: not taken
                    answer = cap.data_reply(env) if cap.data_reply else None
                    if answer is None:
                        with cap.lock:
                            cap.messages.append(env)
                        answer = "250 2.0.0 stored"
                    self.reply(answer)
                    env = None
                elif verb == "QUIT":
                    self.reply("221 2.0.0 bye")
                    return
                else:
                    self.reply("250 2.0.0 ok")
        except (EOFError, OSError, ssl.SSLError):
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Capture:
    """The far end.  rcpt_reply(addr) / data_reply(env) may return a reply
    line ("550 5.1.1 no such user") instead of accepting; starttls offers
    STARTTLS with a self-signed certificate.  hold_nth = k: the k-th
    message's final reply is held back (self.holding is set) until the
    client disconnects -- then it is not kept, as a server that answers
    only after its commit would not -- for the kill -9 tests."""

    def __init__(self, workdir, starttls=False, rcpt_reply=None, data_reply=None,
                 name="far.test", port=None, hold_nth=0):
        self.messages, self.lock, self.name = [], threading.Lock(), name
        self.data_seen, self.hold_nth, self.holding = 0, hold_nth, threading.Event()
        self.rcpt_reply, self.data_reply = rcpt_reply, data_reply
        self.context = None
        if starttls:
            d = os.path.join(workdir, "capture-tls")
            os.makedirs(d, exist_ok=True)
            make_cert(d)
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))
        self.port = port or free_port()
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.capture = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n, timeout=30.0):
        """At least n messages, with a deadline; returns the list."""
        if not eventually(lambda: len(self.messages) >= n, timeout):
            raise AssertionError(f"the far end got {len(self.messages)} messages, wanted {n}")
        return list(self.messages)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


MAIN_CF = """compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks =
relayhost = [127.0.0.1]:{far_port}
smtp_tls_security_level = none
smtpd_tls_cert_file = {d}/cert.pem
smtpd_tls_key_file = {d}/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth_port}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access inline:{{{access}}}
message_size_limit = {size_limit}
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

MASTER_CF = """127.0.0.1:{port} inet n - n - - smtpd
127.0.0.1:{sport} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class Relay:
    """Postfix submission with STARTTLS and SASL (Dovecot) on loopback,
    relaying to far (a Capture).  port: STARTTLS; sport: implicit TLS."""

    def __init__(self, workdir, far, refuse=(), defer=(), size_limit=41943040):
        self.dir = os.path.join(workdir, "postfix")
        self.port, self.sport = free_port(), free_port()
        self.conf = os.path.join(self.dir, "conf")
        for d in ("conf", "queue", "data"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        os.chmod(workdir, 0o755)
        self.dovecot = Dovecot(workdir, sasl_port=True)
        make_cert(self.dir)
        self.cert = os.path.join(self.dir, "cert.pem")
        access = [f"{{ {a} = 550 5.1.1 <{a}>: no such user here }}" for a in refuse]
        access += [f"{{ {a} = 450 4.2.0 <{a}>: mailbox busy, try later }}" for a in defer]
        access = ", ".join(access) or "nobody@invalid=DUNNO"
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=self.dir, far_port=far.port, auth_port=self.dovecot.auth_port,
                                   access=access, size_limit=size_limit))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port, sport=self.sport))
        open(os.path.join(self.dir, "maillog"), "w").close()
        self.start()

    def start(self):
        p = subprocess.run(["postfix", "-c", self.conf, "start"], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"postfix -c {self.conf} start failed: {p.stderr}{self.log()[-2000:]}")
        wait_port(self.port)
        wait_port(self.sport)

    def add_user(self, name, password):
        self.dovecot.add_user(name, password)

    def settings(self, user, password, tls="starttls"):
        """postroom settings for this relay (smtp_password set with them)."""
        port = self.sport if tls == "implicit" else self.port
        return {"smtp_server": f"127.0.0.1:{port}", "smtp_tls": tls, "smtp_auth": "plain",
                "smtp_username": user, "smtp_password": password, "smtp_ca_file": self.cert}

    def log(self):
        with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
            return f.read()

    def stop_postfix(self):
        # The master may leave its pid file behind: wait for the process.
        pid = self.master_pid()
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True, timeout=60)
        if pid and not eventually(lambda: not _alive(pid), 20):
            raise AssertionError(f"postfix master {pid} did not exit")
        # the listeners are closed once the master is gone
        eventually(lambda: not _listening(self.port), 10)

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        self.stop_postfix()
        self.dovecot.cleanup()


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def strip_received(data):
    """The message as it left postroom: Postfix prepends its Received
    header (one field, possibly folded) when it relays."""
    assert data.startswith(b"Received: "), data[:200]
    end = 0
    while True:
        nl = data.index(b"\r\n", end) + 2
        end = nl
        if data[end:end + 1] not in (b" ", b"\t"):
            return data[end:]


def wait_until(fn, timeout=30.0, what="condition"):
    v = eventually(fn, timeout)
    if not v:
        raise AssertionError(f"{what} not reached after {timeout} s")
    return v


def relay_or_skip(tc):
    for prog in ("postfix", "dovecot"):
        if shutil.which(prog) is None:
            tc.skipTest(f"{prog} is not installed (Debian packages postfix, dovecot-core)")
    if os.geteuid() != 0:
        tc.skipTest("the private Postfix and Dovecot must start as root")


RELAY_PASSWORD = "relay-Pa55"


class RelayFixture(unittest.TestCase):
    """One Capture + Relay for a test class (user "sender" with
    RELAY_PASSWORD); refuse / defer as for Relay."""
    refuse = ()
    defer = ()

    @classmethod
    def setUpClass(cls):
        relay_or_skip(cls)
        cls.work = tempfile.mkdtemp(prefix="postroom-relay-")
        os.chmod(cls.work, 0o755)
        cls.far = Capture(cls.work)
        try:
            cls.relay = Relay(cls.work, cls.far, refuse=cls.refuse, defer=cls.defer)
        except Exception:
            cls.far.stop()
            raise
        cls.relay.add_user("sender", RELAY_PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.relay.stop()
        cls.far.stop()
        if not os.environ.get("POSTROOM_KEEP"):
            shutil.rmtree(cls.work, ignore_errors=True)
