"""Concurrency and durability of SMTP intake against the real binary:
20 concurrent senders with every 250'd message present afterwards
byte-exact, and kill -9 in the middle of a burst: after a restart, every
message that got 250 is in the store (a 250 is only sent after commit)."""
import random
import smtplib
import threading
import time
import unittest

from harness import PostroomCase, make_message
from test_smtp import stored, raw_of, strip_ours

SENDERS = 20


def body_for(rng, size):
    """Printable lines of CRLF text, some starting with a dot."""
    lines, total = [], 0
    while total < size:
        n = rng.randint(1, 200)
        line = ("." if rng.random() < 0.1 else "") + "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ,;") for _ in range(n))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


class SmtpConcurrency(PostroomCase):
    def sender(self, idx, count, results, stop=None):
        rng = random.Random(idx)
        for i in range(count):
            if stop is not None and stop.is_set():
                return
            # one message in ten spills past the 256 KiB in-memory spool
            size = 300_000 if i % 10 == 9 else rng.randint(200, 20_000)
            subject = f"load {idx}-{i}"
            msg = make_message("alice@firm.example", "a1234@firm.example", subject=subject,
                               body=body_for(rng, size))
            try:
                with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=60) as c:
                    if c.sendmail("alice@firm.example", ["a1234@firm.example"], msg) == {}:
                        results[subject] = msg
            except (smtplib.SMTPException, OSError):
                if stop is None:
                    raise

    def test_20_concurrent_senders_byte_exact(self):
        results, threads, errors = {}, [], []

        def run(i):
            try:
                self.sender(i, 4, results)
            except Exception as e:   # noqa: BLE001 - reported below
                errors.append(repr(e))
        for i in range(SENDERS):
            t = threading.Thread(target=run, args=(i,))
            t.start()
            threads.append(t)
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), SENDERS * 4)
        by_subject = {m["subject"]: m["id"] for m in stored(self.pr, "--project", "1234")}
        self.assertEqual(set(by_subject), set(results))
        for subject, msg in results.items():
            self.assertEqual(strip_ours(raw_of(self.pr, by_subject[subject])), msg, subject)

    def test_kill9_during_burst_loses_nothing_acknowledged(self):
        results, stop, threads = {}, threading.Event(), []
        for i in range(SENDERS):
            t = threading.Thread(target=self.sender, args=(i, 1000, results, stop))
            t.start()
            threads.append(t)
        deadline = time.time() + 20
        while len(results) < 40 and time.time() < deadline:
            time.sleep(0.05)
        self.pr.kill9()
        acknowledged = dict(results)      # every 250 the clients saw before the kill
        stop.set()
        for t in threads:
            t.join(60)
        self.assertGreater(len(acknowledged), 0)
        self.pr.start()
        by_subject = {m["subject"]: m["id"] for m in stored(self.pr, "--project", "1234")}
        missing = sorted(set(acknowledged) - set(by_subject))
        self.assertEqual(missing, [])
        for subject in list(acknowledged)[:10]:
            self.assertEqual(strip_ours(raw_of(self.pr, by_subject[subject])), acknowledged[subject])


if __name__ == "__main__":
    unittest.main()
