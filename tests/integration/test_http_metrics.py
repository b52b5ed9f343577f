"""GET /metrics and GET /healthz (issue 14) against the running serve.

Mail is sent through the real SMTP listener (accepted, and refused for
known reasons at RCPT and at the end of DATA), the outbound queue is
filled with `postroom send` towards a relay that is down, and the POP3
collector points at a closed port; the scrape is parsed with Debian's
python3-prometheus-client text parser (which refuses anything that is not
the exposition format) and the counts must move by exactly what was done.
"""
import json
import time
import smtplib
import subprocess
import unittest

from harness import BACKEND, PostroomCase, eventually, free_port, make_message

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    text_string_to_metric_families = None

INF = float("inf")


def parse(text):
    """{(sample name, sorted label pairs): value} of a scrape."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"series twice: {key}"
            out[key] = s.value
    return out


class PgReadBlock:
    """PostgreSQL's way to make the store's reads wait: another session
    holds settings_version (what /healthz reads) in ACCESS EXCLUSIVE mode,
    so the read waits for the store's lock_timeout (5 s) and fails BUSY."""

    def __init__(self, pr):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pr.store],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.proc.stdin.write(b"BEGIN; LOCK TABLE settings_version IN ACCESS EXCLUSIVE MODE;\n")
        self.proc.stdin.flush()
        held = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE c.relname = 'settings_version' AND l.mode = 'AccessExclusiveLock' AND l.granted")
        if not eventually(lambda: pr.sql_one(held) in (1, "1"), 20):
            self.close()
            raise RuntimeError("psql never took the lock on settings_version in 20 s")

    def close(self):
        if self.proc is not None:
            self.proc.stdin.write(b"ROLLBACK;\n\\q\n")
            self.proc.stdin.close()
            self.proc.wait(20)
            self.proc = None


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(after, before, name):
    """Every series of name that moved, as {labels: increase}."""
    moved = {}
    for (n, labels), v in after.items():
        if n == name and v != before.get((n, labels), 0.0):
            moved[labels] = v - before.get((n, labels), 0.0)
    return moved


@unittest.skipIf(text_string_to_metric_families is None,
                 "python3-prometheus-client not importable (run with /usr/bin/python3)")
class MetricsCase(PostroomCase):
    def setUp(self):
        # Nothing listens on either port: every POP3 round fails, every
        # delivery attempt is deferred.
        self.config = {"pop_server": f"tcp://127.0.0.1:{free_port()}", "pop_require_tls": "false",
                       "pop_username": "system", "pop_password": "secret",
                       "smtp_server": f"127.0.0.1:{free_port()}", "smtp_tls": "none"}
        super().setUp()
        self.token = self.pr.token("read")

    def http(self, path, token=None):
        """(status, headers, body bytes)."""
        return self.pr.http("GET", path, token=token, raw=True)

    def scrape(self):
        status, headers, body = self.http("/metrics", self.token)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers)
        return parse(body.decode())


class TestIntakeCounts(MetricsCase):
    def send(self, c, sender, rcpt):
        c.sendmail(sender, [rcpt], make_message(sender, rcpt))

    def test_exact_increments_by_reason(self):
        before = self.scrape()
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as c:
            for _ in range(3):
                self.send(c, "alice@firm.example", "a1234@firm.example")
            for _ in range(2):      # refused at the end of DATA, by the pipeline
                with self.assertRaises(smtplib.SMTPDataError):
                    self.send(c, "carol@firm.example", "a1234@firm.example")
            with self.assertRaises(smtplib.SMTPDataError):
                self.send(c, "stranger@outside.example", "alice@firm.example")
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as c:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):   # at RCPT
                self.send(c, "alice@firm.example", "someone@elsewhere.example")
        want = {
            (("reason", "accepted"), ("source", "smtp"), ("verdict", "accepted")): 3,
            (("reason", "not_a_member"), ("source", "smtp"), ("verdict", "rejected")): 2,
            (("reason", "unknown_sender"), ("source", "smtp"), ("verdict", "rejected")): 1,
            (("reason", "relay_denied"), ("source", "smtp"), ("verdict", "rejected")): 1,
        }
        # A refusal at RCPT is logged by the committer a moment after the 550.
        got = eventually(lambda: (lambda d: d if d == want else None)(
            delta(self.scrape(), before, "postroom_intake_messages_total")), 10)
        after = self.scrape()
        self.assertEqual(delta(after, before, "postroom_intake_messages_total"), want)
        # Only the three accepted messages heard a 250 after DATA.
        t250 = "postroom_smtp_time_to_250_seconds"
        self.assertEqual(value(after, t250 + "_count") - value(before, t250 + "_count"), 3)
        self.assertEqual(value(after, t250 + "_bucket", le="+Inf"), value(after, t250 + "_count"))
        self.assertGreater(value(after, t250 + "_sum"), value(before, t250 + "_sum"))
        # Every accepted message was in exactly one group commit.
        batch = "postroom_commit_batch_messages"
        self.assertEqual(value(after, batch + "_sum") - value(before, batch + "_sum"), 3)
        self.assertEqual(value(after, "postroom_smtp_sessions_total")
                         - value(before, "postroom_smtp_sessions_total"), 2)
        self.assertEqual(value(after, "postroom_intake_in_flight"), 0)
        self.assertTrue(got, "the counts never matched what was sent")


class TestQueuesAndCollection(MetricsCase):
    def queued(self):
        s = self.scrape()
        return (value(s, "postroom_outbound_queue_messages", state="queued")
                + value(s, "postroom_outbound_queue_messages", state="sending"))

    def send_out(self):
        path = f"{self.pr.dir}/body.txt"
        with open(path, "wb") as f:
            f.write(b"Hello Carl.\r\n")
        self.pr.give_to_user()
        p = self.pr.cli("send", "--project", "1234", "--as", "alice", "--subject", "Plans",
                        "--to", "carl@client.example", "--body-file", path, "--json")
        return json.loads(p.stdout)["outbound_id"]

    def cancel(self, oid):
        # A message the worker holds right now cannot be cancelled: again.
        ok = eventually(lambda: self.pr.cli("outbox", "cancel", oid, check=False).returncode == 0, 20)
        self.assertTrue(ok, f"outbox cancel {oid} kept failing")

    def test_queue_depth_follows_outbound_queue(self):
        s = self.scrape()
        self.assertEqual(value(s, "postroom_store_up"), 1)
        self.assertIn(("postroom_webhook_deliveries_pending", ()), s)
        self.assertEqual(value(s, "postroom_webhook_deliveries_pending"), 0)
        self.assertEqual(self.queued(), 0)
        first, second = self.send_out(), self.send_out()
        # (Once, in a PostgreSQL pass, this stayed at 1 for 10 s: the outbox
        # and serve's log are printed to tell where the other message went.)
        self.assertTrue(eventually(lambda: self.queued() == 2, 10),
                        f"queued+sending {self.queued()}, outbox: {self.pr.cli_json('outbox')}\n"
                        f"{self.pr.log_text()[-3000:]}")
        # The relay is down: each is tried once and deferred (one recipient each).
        deferred = lambda: value(self.scrape(), "postroom_outbound_recipients_total", outcome="deferred")
        self.assertTrue(eventually(lambda: deferred() == 2, 30), deferred())
        self.assertEqual(self.queued(), 2)
        self.cancel(first)
        self.assertEqual(self.queued(), 1)
        self.cancel(second)
        self.assertEqual(self.queued(), 0)
        s = self.scrape()
        self.assertEqual(value(s, "postroom_outbound_recipients_total", outcome="sent"), 0)

    def test_failed_collection_round_counted(self):
        rounds = lambda: value(self.scrape(), "postroom_pop3_rounds_total", result="failed")
        self.assertTrue(eventually(lambda: rounds() >= 1, 20), "no failed round counted")
        s = self.scrape()
        self.assertEqual(value(s, "postroom_pop3_rounds_total", result="ok"), 0)
        self.assertEqual(value(s, "postroom_pop3_messages_collected_total"), 0)


class TestAccess(MetricsCase):
    def test_metrics_needs_a_token_healthz_does_not(self):
        status, _, _ = self.http("/metrics")
        self.assertEqual(status, 401)
        status, _, _ = self.http("/metrics", "not-a-token")
        self.assertEqual(status, 401)
        status, headers, body = self.http("/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"status": "ok", "store": "ok"})
        s = self.scrape()
        route = lambda r, code: value(s, "postroom_http_requests_total", method="GET", route=r, code=code)
        self.assertEqual(route("/healthz", "2xx"), 1)
        self.assertEqual(route("/metrics", "4xx"), 2)
        self.assertEqual(route("/metrics", "2xx"), 0)     # this scrape is counted after its reply
        self.assertEqual(value(s, "postroom_http_request_duration_seconds_count",
                               method="GET", route="/healthz"), 1)

    def test_healthz_503_while_the_store_cannot_be_read(self):
        # The read waits (SQLite retries a blocked WAL read for ~10 s,
        # PostgreSQL waits out its 5 s lock_timeout); /healthz waits for
        # it 2 s at most and says so, twice: the second request waits for
        # the read already running rather than start another.
        from test_security_logwriter import ReadBlock
        block = ReadBlock(self.pr) if BACKEND == "sqlite" else PgReadBlock(self.pr)
        answers = []
        try:
            for _ in range(2):
                t0 = time.monotonic()
                status, _, body = self.http("/healthz")
                answers.append((status, json.loads(body), time.monotonic() - t0))
        finally:
            block.close()
        for status, doc, took in answers:
            self.assertEqual(status, 503, doc)
            self.assertEqual(doc, {"status": "unavailable", "store": "timeout"})
            self.assertLess(took, 8.0, "a stalled store must not hold /healthz for its own wait")
        self.assertEqual(self.pr.log_text().count("healthz: the store did not answer within 2000 ms"), 2)
        # released: the read running since the first request answers, and
        # the next request has it (or a new one) within its 2 s
        status, _, body = self.http("/healthz")
        self.assertEqual(status, 200, body)

    def test_webhook_deliveries_pending_gauge(self):
        # A receiver that is down: the delivery stays to be delivered.
        self.pr.cli("webhook", "add", f"http://127.0.0.1:{free_port()}/hook", "--project", "1234")
        pending = lambda: value(self.scrape(), "postroom_webhook_deliveries_pending")
        self.assertEqual(pending(), 0)
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as c:
            c.sendmail("alice@firm.example", ["a1234@firm.example"],
                       make_message("alice@firm.example", "a1234@firm.example"))
        self.assertTrue(eventually(lambda: pending() == 1, 10), pending())

