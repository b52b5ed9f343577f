"""A private Dovecot POP3 server on loopback for the collector's tests.

Dovecot (Debian dovecot-pop3d) runs in the foreground as root with every
path in a temporary directory: login processes run as dovenull (without a
chroot, since the temp dir is not a chroot jail), mail is owned by the
dovecot user, users come from a passwd-file and mail lives in a Maildir.
A self-signed certificate (openssl) serves both pop3s (implicit TLS) and
STLS on the plain port.  The server is stopped by its pid.

    dc = Dovecot(workdir)                 # starts it
    dc.add_user("sys", "secret")
    dc.deliver("sys", raw_bytes)          # drop a message into the Maildir
    dc.count("sys")                       # messages in the mailbox
    dc.stop()
"""
import os
import pwd
import shutil
import subprocess
import time

from harness import free_port, stop_pid, wait_port

CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = postroom-dovecot-{port}
protocols = pop3
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
last_valid_uid = 0
log_path = {d}/dovecot.log
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = {noplain}
auth_mechanisms = {mechs}
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
{oauth}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
mail_location = maildir:{d}/home/%u/Maildir
pop3_uidl_format = {uidl_format}
mail_fsync = never
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {sport}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
{auth_service}"""


def make_cert(d, cn="localhost"):
    """A self-signed certificate for localhost and 127.0.0.1."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem")],
                   check=True, capture_output=True)
    return os.path.join(d, "cert.pem")


class Dovecot:
    def __init__(self, workdir, plaintext_auth=False, oauth_introspect_url=None,
                 uidl_format="%08Xu%08Xv", sasl_port=False):
        """oauth_introspect_url: also offer SASL XOAUTH2/OAUTHBEARER, asking
        that URL (RFC 7662 introspection, POST) whether a token is valid.
        uidl_format: Dovecot's pop3_uidl_format; "%u" (the IMAP UID alone)
        gives the first message of every mailbox the UIDL "1".
        sasl_port: also serve Dovecot's SASL protocol on a loopback TCP
        port (self.auth_port) for Postfix (smtpd_sasl_path = inet:...)."""
        self.dir = os.path.join(workdir, "dovecot")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(workdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.sport = free_port()
        self.cert = make_cert(self.dir)
        pw = pwd.getpwnam("dovecot")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.chown(os.path.join(self.dir, "home"), self.uid, self.gid)
        open(os.path.join(self.dir, "passwd"), "w").close()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        mechs, oauth, auth_service = "plain login", "", ""
        self.auth_port = None
        if sasl_port:
            self.auth_port = free_port()
            auth_service = ("service auth {\n  inet_listener {\n    address = 127.0.0.1\n"
                            f"    port = {self.auth_port}\n  }}\n}}\n")
        if oauth_introspect_url:
            mechs += " xoauth2 oauthbearer"
            ext = os.path.join(self.dir, "oauth2.conf.ext")
            with open(ext, "w") as f:
                f.write(f"introspection_mode = post\nintrospection_url = {oauth_introspect_url}\n"
                        "username_attribute = username\nactive_attribute = active\n"
                        "active_value = true\n")
            oauth = (f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                     f"  args = {ext}\n}}\n")
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=self.dir, port=self.port, sport=self.sport, uid=self.uid,
                                gid=self.gid, noplain="no" if plaintext_auth else "yes",
                                mechs=mechs, oauth=oauth, uidl_format=uidl_format,
                                auth_service=auth_service))
        self.proc = None
        self._seq = 0
        self.start()

    def start(self):
        self.logf = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        wait_port(self.port, proc=self.proc)
        wait_port(self.sport, proc=self.proc)
        if self.auth_port:
            wait_port(self.auth_port, proc=self.proc)

    def stop(self):
        stop_pid(self.proc)
        self.proc = None
        self.logf.close()
        # Give the children (pop3-login, auth, ...) a moment to exit after
        # the master: they watch its pipe and leave on their own.
        time.sleep(0.2)

    def add_user(self, name, password):
        with open(os.path.join(self.dir, "passwd"), "a") as f:
            f.write(f"{name}:{{PLAIN}}{password}::::::\n")
        md = self.maildir(name)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        for root, dirs, _files in os.walk(os.path.join(self.dir, "home", name)):
            os.chown(root, self.uid, self.gid)
            for x in dirs:
                os.chown(os.path.join(root, x), self.uid, self.gid)

    def maildir(self, user):
        return os.path.join(self.dir, "home", user, "Maildir")

    def deliver(self, user, raw):
        """Put one message (bytes, CRLF or LF) into the user's Maildir/new."""
        self._seq += 1
        data = raw.replace(b"\r\n", b"\n")
        name = f"{int(time.time())}.M{self._seq}P{os.getpid()}.test,S={len(data)}"
        tmp = os.path.join(self.maildir(user), "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, os.path.join(self.maildir(user), "new", name))

    def count(self, user):
        md = self.maildir(user)
        return len(os.listdir(os.path.join(md, "new"))) + len(os.listdir(os.path.join(md, "cur")))

    def url_ssl(self):
        return f"ssl://localhost:{self.sport}"

    def url_tcp(self):
        return f"tcp://localhost:{self.port}"

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def cleanup(self):
        if self.proc is not None:
            self.stop()
        if not os.environ.get("POSTROOM_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
