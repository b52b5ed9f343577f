"""A client that pipelines commands but never reads the replies must not
keep its session alive: once nothing can be written for smtp_idle_timeout
seconds the session is freed.  Otherwise a handful of such clients hold
every max_sessions slot and the server refuses all mail (a DoS)."""
import contextlib
import select
import smtplib
import socket
import time

from harness import PostroomCase, make_message
from test_smtp import read_replies, stored

# The three floods take ~0.5-1 s each (STALL, and more under a loaded CI),
# and the first flooder's write timeout runs from its last reply: 2 s
# freed it before the precondition below was checked once in CI.
IDLE_TIMEOUT = 5
MAX_SESSIONS = 3
FLOOD_LIMIT = 8 << 20       # bytes per socket: the loop is bounded even if never blocked
FLOOD_DEADLINE = 30.0       # seconds per socket, for the same reason
STALL = 0.5                 # no room to send for this long: the server stopped reading


def flood_without_reading(port, prefix=b""):
    """Connect with a tiny receive buffer, send prefix then NOOP lines
    until the server stops reading them, and never read a reply.

    SO_RCVBUF is set before connect so the window it announces is small:
    the server's replies pile up in its own buffers instead of ours."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.sendall(prefix)
        s.setblocking(False)
        chunk = memoryview(b"NOOP\r\n" * 10000)
        off, sent, deadline = 0, 0, time.time() + FLOOD_DEADLINE
        while sent < FLOOD_LIMIT and time.time() < deadline:
            try:
                n = s.send(chunk[off:])
            except BlockingIOError:
                if not select.select([], [s], [], STALL)[1]:
                    break
                continue
            sent += n
            off = (off + n) % len(chunk)   # whole lines only: a split NOOP would be an error
        return s, sent
    except BaseException:
        s.close()
        raise


def greet_all(port, n):
    """Hold n connections at once and return their greetings; then QUIT
    each and read until the server closes, so its slot is free again."""
    conns = []
    try:
        for _ in range(n):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        greetings = [read_replies(c, until=b"\r\n", timeout=3) for c in conns]
        for c in conns:
            with contextlib.suppress(OSError):     # a refused one is already closed
                c.sendall(b"QUIT\r\n")
                read_replies(c, timeout=5)
        return greetings
    finally:
        for c in conns:
            c.close()


class SmtpWriteTimeout(PostroomCase):
    config = {"smtp_idle_timeout": str(IDLE_TIMEOUT), "max_sessions": str(MAX_SESSIONS)}

    def test_clients_that_never_read_are_freed_after_write_timeout(self):
        time.sleep(0.3)      # let the server see the harness's port probe close
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        # Every other client is inside a transaction, so the envelope it
        # leaves behind is freed (and logged) too.
        tx = b"EHLO c.example\r\nMAIL FROM:<x@c.example>\r\nRCPT TO:<a1234@firm.example>\r\n"
        for i in range(MAX_SESSIONS):
            s, sent = flood_without_reading(self.pr.smtp_port, tx if i % 2 else b"")
            socks.append(s)
            self.assertGreater(sent, 0)
        # Precondition: the flooders hold every slot.
        self.assertTrue(greet_all(self.pr.smtp_port, 1)[0].startswith(b"421 "))

        # A flooder is paused (its replies fill every buffer), so after one
        # timeout its write timeout frees it; a slower path (idle timeout,
        # then the 421 unread) takes two.  Wait for every slot to be free.
        time.sleep(IDLE_TIMEOUT)
        deadline = time.time() + 3 * IDLE_TIMEOUT + 5
        while True:
            greetings = greet_all(self.pr.smtp_port, MAX_SESSIONS)
            if all(g.startswith(b"220 ") for g in greetings) or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual([g[:4] for g in greetings], [b"220 "] * MAX_SESSIONS,
                         "sessions of clients that never read were not freed")

        msg = make_message("alice@firm.example", "a1234@firm.example", subject="after the flood")
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as c:
            self.assertEqual(c.sendmail("alice@firm.example", ["a1234@firm.example"], msg), {})
        self.assertEqual([m["subject"] for m in stored(self.pr, "--project", "1234")],
                         ["after the flood"])
        self.assertIn("write timeout", self.pr.log_text())
