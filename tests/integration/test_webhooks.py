"""Webhooks (issue 14): every accepted placement is POSTed, signed, to a
real HTTP receiver (Python's http.server on loopback, in a thread) by
serve's webhook thread.

- A receiver that fails twice (500) and then succeeds: each of 5 messages
  sent at once is delivered exactly once, in order, every request's
  signature verifies, and a delivery keeps its id across its retries; the
  deliveries log shows the attempts.
- serve killed with kill -9 while a delivery waits for its retry, and
  while one is in flight (its lease then expires): delivered after the
  restart, once.
- A receiver that hangs: the timeout is recorded and the delivery retried.
- Refiling a message (`messages move`) and mail we send (`postroom send`)
  are placements too.
- A receiver named by a host name is found through dns_server (a
  loopback dnsmasq that alone knows the name), never the machine's
  resolver; a name it does not know fails the attempt with that reason.
- The HTTP API: /api/v1/webhooks (admin to change, the secret in the POST
  answer only), /api/v1/webhooks/deliveries, and a failed delivery queued
  again by POST /api/v1/webhooks/deliveries/ID/retry (same delivery id).
"""
import hashlib
import hmac
import http.server
import json
import threading
import time

from harness import DnsServer, PostroomCase, eventually, make_message


class Receiver:
    """An HTTP server that records every POST and answers from a script:
    a list of statuses for the next requests ("hang" waits until release()
    or 40 s, then answers 200), then `default`."""

    def __init__(self):
        self.requests = []
        self.script = []
        self.default = 200
        self.lock = threading.Lock()
        self.released = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(n, 1 << 20))
                with outer.lock:
                    status = outer.script.pop(0) if outer.script else outer.default
                    rec = {"headers": dict(self.headers), "body": body, "status": status,
                           "path": self.path}
                    outer.requests.append(rec)
                if status == "hang":
                    outer.released.wait(40)
                    status = 200
                    rec["status"] = status
                answer = b"ok" if status < 300 else b"receiver says no \x1b[31m" + b"x" * 500
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    rec["status"] = "gone"       # the client gave up (timeout)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def got(self):
        with self.lock:
            return list(self.requests)

    def delivered(self):
        """The requests answered 2xx, as parsed bodies."""
        return [json.loads(r["body"]) for r in self.got() if isinstance(r["status"], int) and r["status"] < 300]


def signature_ok(secret, rec):
    h = rec["headers"]
    want = hmac.new(secret.encode(), h["X-Postroom-Timestamp"].encode() + b"." + rec["body"],
                    hashlib.sha256).hexdigest()
    return h.get("X-Postroom-Signature") == "sha256=" + want


class WebhookCase(PostroomCase):
    start = False
    config = {}

    def setUp(self):
        super().setUp()
        self.rx = Receiver()
        self.addCleanup(self.rx.stop)

    def add_hook(self, *args):
        doc = self.pr.cli_json("webhook", "add", self.rx.url, *args)
        self.assertEqual(len(doc["secret"]), 64)
        return doc

    def send(self, n, subject="Note", to="a1234@firm.example"):
        with self.smtp() as s:
            for i in range(n):
                s.sendmail("alice@firm.example", [to],
                           make_message("alice@firm.example", to, subject=f"{subject} {i + 1}"))

    def deliveries(self, *args):
        return self.pr.cli_json("webhook", "deliveries", *args)["deliveries"]

    def wait_delivered(self, count, timeout=30):
        """Until the receiver answered 2xx count times and serve recorded
        that many deliveries as delivered."""
        ok = eventually(lambda: len(self.rx.delivered()) >= count, timeout)
        self.assertTrue(ok, f"{len(self.rx.delivered())} of {count} delivered: {self.rx.got()}\n"
                            f"{self.pr.log_text()[-3000:]}")
        recorded = eventually(lambda: sum(d["state"] == "delivered" for d in self.deliveries()) >= count, 10)
        self.assertTrue(recorded, self.deliveries())


class TestDelivery(WebhookCase):
    def test_fails_twice_then_delivers_each_once_in_order(self):
        hook = self.add_hook("--project", "1234")
        self.rx.script = [500, 500]
        self.pr.start()
        self.send(5)
        self.wait_delivered(5)
        time.sleep(0.5)      # nothing more may come: no duplicates
        reqs = self.rx.got()
        self.assertEqual(len(reqs), 7, reqs)
        for r in reqs:
            self.assertTrue(signature_ok(hook["secret"], r), r["headers"])
            self.assertEqual(r["headers"]["X-Postroom-Event"], "message.placed")
            self.assertEqual(r["headers"]["Content-Type"], "application/json")
            body = json.loads(r["body"])
            self.assertEqual(str(body["delivery_id"]), r["headers"]["X-Postroom-Delivery"])
        # the first delivery: three attempts with one id, then the others in order
        ids = [r["headers"]["X-Postroom-Delivery"] for r in reqs]
        self.assertEqual(ids[0], ids[1])
        self.assertEqual(ids[0], ids[2])
        self.assertEqual(len(set(ids)), 5)
        got = self.rx.delivered()
        msgs = [b["message"]["id"] for b in got]
        self.assertEqual(msgs, sorted(msgs))
        self.assertEqual(len(set(msgs)), 5)
        self.assertEqual([b["message"]["subject"] for b in got], [f"Note {i}" for i in range(1, 6)])
        first = got[0]
        self.assertEqual(list(first), ["event", "delivery_id", "message", "placement", "project"])
        self.assertEqual(first["event"], "message.placed")
        self.assertEqual(first["project"], "1234")
        self.assertEqual(first["placement"], {"kind": "project", "target": "1234"})
        self.assertEqual(first["message"]["from"], "alice@firm.example")
        self.assertTrue(first["message"]["message_id"].endswith("test.example"))
        # the deliveries log: attempts, state, the last answer
        log = {d["id"]: d for d in self.deliveries()}
        d1 = log[int(ids[0])]
        self.assertEqual((d1["state"], d1["attempts"], d1["last_status"]), ("delivered", 3, 200))
        self.assertEqual([d["seq"] for d in sorted(log.values(), key=lambda d: d["id"])], [1, 2, 3, 4, 5])
        text = self.pr.cli("webhook", "deliveries").stdout.decode()
        self.assertIn("delivered   3", text)
        # the receiver's words: its first bytes only, the ESC made harmless
        self.assertIn("webhook delivery %s to %s: attempt 1 failed (HTTP 500: receiver says no ?[31mxxx"
                      % (ids[0], self.rx.url), self.pr.log_text())
        self.assertEqual(len(d1["last_error"] or ""), 0)
        failed = [r for r in self.rx.got() if r["status"] == 500]
        self.assertEqual(len(failed), 2)

    def test_only_the_project_asked_for_and_moves(self):
        self.add_hook("--project", "1234")
        other = self.pr.cli_json("webhook", "add", self.rx.url + "?all=1")
        self.assertEqual([w["id"] for w in self.pr.cli_json("webhook", "list")["webhooks"]],
                         [other["id"] - 1, other["id"]])
        self.assertNotIn("secret", self.pr.cli("webhook", "list", "--json").stdout.decode())
        self.pr.start()
        self.send(1, subject="To bob", to="bob@firm.example")
        self.wait_delivered(1)
        time.sleep(0.5)
        self.assertEqual([r["path"] for r in self.rx.got()], ["/hook?all=1"])
        body = self.rx.delivered()[0]
        self.assertEqual(body["placement"], {"kind": "user", "target": "bob"})
        self.assertIsNone(body["project"])
        # refiled into the project: both webhooks hear of it
        self.pr.cli("messages", "move", body["message"]["id"], "--project", "1234")
        self.wait_delivered(3)
        moved = self.rx.delivered()[1:]
        self.assertEqual({b["project"] for b in moved}, {"1234"})
        self.pr.cli("webhook", "remove", other["id"])
        self.assertEqual(len(self.pr.cli_json("webhook", "list")["webhooks"]), 1)
        p = self.pr.cli("webhook", "add", "file:///etc/passwd", check=False)
        self.assertEqual(p.returncode, 65, p.stderr)
        self.assertIn(b"http:// or https://", p.stderr)

    def test_mail_we_send_is_placed_too(self):
        self.add_hook()
        self.pr.start()
        self.pr.cli("send", "--project", "1234", "--as", "alice", "--to", "bob@firm.example",
                    "--subject", "Sent by us", "--body-stdin", input=b"Hello Bob\n")
        self.wait_delivered(2)
        got = sorted((b["placement"]["kind"], b["placement"]["target"], b["message"]["subject"])
                     for b in self.rx.delivered())
        self.assertEqual(got, [("project", "1234", "Sent by us"), ("user", "bob", "Sent by us")])


class TestCrash(WebhookCase):
    config = {"webhook_lease_seconds": "2"}

    def test_kill9_while_waiting_for_a_retry(self):
        hook = self.add_hook()
        self.rx.default = 500
        self.pr.start()
        self.send(1)
        failed = eventually(lambda: [d for d in self.deliveries() if d["last_status"] == 500], 20)
        self.assertTrue(failed, self.deliveries())
        # the answer's first bytes only: a receiver cannot fill the log
        self.assertTrue(failed[0]["last_error"].startswith("HTTP 500: receiver says no ?[31mxxx"))
        self.assertLess(len(failed[0]["last_error"]), 220)
        self.pr.kill9()
        self.rx.default = 200
        n_before = len(self.rx.got())
        self.pr.start()
        self.wait_delivered(1)
        time.sleep(1.0)
        reqs = self.rx.got()
        self.assertEqual(len(self.rx.delivered()), 1)
        self.assertEqual({r["headers"]["X-Postroom-Delivery"] for r in reqs}, {reqs[0]["headers"]["X-Postroom-Delivery"]})
        self.assertGreater(len(reqs), n_before)
        self.assertTrue(all(signature_ok(hook["secret"], r) for r in reqs))
        d = self.deliveries()[0]
        self.assertEqual(d["state"], "delivered")

    def test_kill9_during_a_request_lease_expires(self):
        self.add_hook()
        self.rx.script = ["hang"]
        self.pr.start()
        self.send(1)
        self.assertTrue(eventually(lambda: len(self.rx.got()) >= 1, 20))
        self.assertEqual(self.deliveries()[0]["state"], "delivering")
        self.pr.kill9()
        self.pr.start()
        # the dead serve's lease (2 s) runs out; the new one claims it
        self.wait_delivered(1)
        time.sleep(1.0)
        self.rx.released.set()         # the old, abandoned request ends; its 200 reached nobody
        ok = [r for r in self.rx.got() if r["status"] == 200]
        self.assertEqual(len({r["headers"]["X-Postroom-Delivery"] for r in ok}), 1)
        d = self.deliveries()[0]
        self.assertEqual((d["state"], d["attempts"]), ("delivered", 2))


class TestHang(WebhookCase):
    def test_hanging_receiver_times_out_and_is_retried(self):
        self.add_hook()
        self.rx.script = ["hang", "hang"]
        self.pr.start()
        self.send(1)
        # attempt 1 is cut at 15 s; while attempt 2 hangs, the log shows why 1 failed
        seen = eventually(lambda: [d for d in self.deliveries() if "timeout" in (d["last_error"] or "")], 25)
        self.assertTrue(seen, self.deliveries())
        self.assertIsNone(seen[0]["last_status"])
        self.rx.released.set()
        self.wait_delivered(1, timeout=20)
        d = eventually(lambda: (lambda d: d if d["state"] == "delivered" else None)(self.deliveries()[0]), 10)
        self.assertTrue(d)
        self.assertGreaterEqual(d["attempts"], 2)


class TestConcurrent(WebhookCase):
    def test_a_hanging_receiver_holds_up_only_its_own_deliveries(self):
        slow = Receiver()
        self.addCleanup(slow.stop)
        slow.script = ["hang"]
        self.pr.cli_json("webhook", "add", slow.url, "--project", "1234")
        self.add_hook("--project", "1234")
        self.pr.start()
        self.send(1)
        # The quick receiver has its POST while the slow one's is still open:
        # the slow delivery is still being delivered, no failure recorded
        # (POSTed one after the other, it would have timed out after 15 s and
        # been recorded as failed before the quick one was even sent).
        self.assertTrue(eventually(lambda: self.rx.delivered(), 30), self.pr.log_text()[-2000:])
        self.assertEqual([r["status"] for r in slow.got()], ["hang"])
        # ... and its answer is recorded at once, not when the slow one ends
        # (its POST is cut at 15 s; this waits at most 10).
        def states():
            return {d["url"]: (d["state"], d["last_error"]) for d in self.deliveries()}
        quick_done = eventually(lambda: states()[self.rx.url][0] == "delivered", 10)
        self.assertTrue(quick_done, states())
        self.assertEqual(states()[slow.url], ("delivering", None))
        slow.released.set()
        ok = eventually(lambda: all(d["state"] == "delivered" for d in self.deliveries()), 30)
        self.assertTrue(ok, self.deliveries())


class TestHttp(WebhookCase):
    def test_register_list_deliveries_remove_over_http(self):
        self.pr.start()
        admin, read = self.pr.token("admin"), self.pr.token("read")
        st, _, body = self.pr.http("POST", "/api/v1/webhooks", {"url": self.rx.url}, token=read)
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))
        st, _, body = self.pr.http("POST", "/api/v1/webhooks", {"url": "ftp://x/"}, token=admin)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid"))
        st, _, body = self.pr.http("POST", "/api/v1/webhooks", {"url": self.rx.url, "project": "9999"},
                                   token=admin)
        self.assertEqual(st, 404, body)
        st, _, hook = self.pr.http("POST", "/api/v1/webhooks",
                                   {"url": self.rx.url, "project": "1234", "secret": "s" * 20}, token=admin)
        self.assertEqual(st, 201, hook)
        self.assertEqual((hook["secret"], hook["project"]), ("s" * 20, "1234"))
        st, _, raw = self.pr.http("GET", "/api/v1/webhooks", token=read, raw=True)
        self.assertEqual(st, 200)
        self.assertNotIn(b"secret", raw)
        self.assertEqual([w["url"] for w in json.loads(raw)["webhooks"]], [self.rx.url])
        self.send(2)
        self.wait_delivered(2)
        self.assertTrue(all(signature_ok("s" * 20, r) for r in self.rx.got()))
        st, _, doc = self.pr.http("GET", "/api/v1/webhooks/deliveries?limit=1", token=read)
        self.assertEqual(st, 200, doc)
        self.assertEqual(len(doc["deliveries"]), 1)
        self.assertEqual(doc["deliveries"][0]["state"], "delivered")
        st, _, doc2 = self.pr.http("GET", f"/api/v1/webhooks/deliveries?before={doc['next']}", token=read)
        self.assertEqual([d["seq"] for d in doc2["deliveries"]], [1])
        self.assertIsNone(doc2["next"])
        st, _, doc = self.pr.http("GET", "/api/v1/webhooks/deliveries?failed=1", token=read)
        self.assertEqual(doc["deliveries"], [])
        st, _, body = self.pr.http("GET", "/api/v1/webhooks/deliveries?failed=x", token=read)
        self.assertEqual(st, 400)
        st, _, body = self.pr.http("DELETE", f"/api/v1/webhooks/{hook['id']}", token=read)
        self.assertEqual(st, 403)
        st, _, body = self.pr.http("DELETE", f"/api/v1/webhooks/{hook['id']}", token=admin)
        self.assertEqual((st, body["removed"]), (200, True))
        st, _, body = self.pr.http("DELETE", f"/api/v1/webhooks/{hook['id']}", token=admin)
        self.assertEqual(st, 404)
        st, _, body = self.pr.http("GET", "/api/v1/webhooks/deliveries")
        self.assertEqual(st, 401)

    def test_receiver_name_resolved_through_dns_server(self):
        # Only the test's dnsmasq knows hooks.receiver.example: a delivery
        # there shows postroom asked it (the machine's resolver cannot).
        import shutil
        import tempfile
        work = tempfile.mkdtemp(prefix="postroom-hookdns-")
        self.addCleanup(shutil.rmtree, work, True)
        dns = DnsServer(work, ["host-record=hooks.receiver.example,127.0.0.1"])
        self.addCleanup(dns.stop)
        self.pr.config["dns_server"] = dns.address
        self.pr.write_config()
        port = self.rx.server.server_address[1]
        self.pr.cli_json("webhook", "add", f"http://hooks.receiver.example:{port}/hook", "--project", "1234")
        self.pr.cli_json("webhook", "add", f"http://nowhere.receiver.example:{port}/hook", "--project", "1234")
        self.pr.start()
        self.send(1)
        self.wait_delivered(1)
        self.assertEqual(self.rx.got()[0]["path"], "/hook")
        self.assertEqual(self.rx.got()[0]["headers"]["Host"], f"hooks.receiver.example:{port}")
        ok = eventually(lambda: any(d["last_error"] for d in self.deliveries()), 20)
        self.assertTrue(ok, self.deliveries())
        errors = [d["last_error"] for d in self.deliveries() if d["last_error"]]
        self.assertEqual(errors, ["the name 'nowhere.receiver.example' was not found in DNS"], errors)

    def test_failed_delivery_retried_over_http(self):
        self.add_hook("--project", "1234")
        self.pr.cli("settings", "set", "webhook_retry_for", "1")   # the first 500 ends it
        self.rx.default = 500
        self.pr.start()
        self.send(1)
        self.assertTrue(eventually(lambda: self.deliveries("--failed"), 30), self.deliveries())
        failed = self.deliveries("--failed")
        self.assertEqual(len(failed), 1, failed)
        did = failed[0]["id"]
        self.rx.default = 200
        self.pr.cli("settings", "set", "webhook_retry_for", "3600")
        admin, read = self.pr.token("admin"), self.pr.token("read")
        st, _, body = self.pr.http("POST", f"/api/v1/webhooks/deliveries/{did}/retry", token=read)
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))
        st, _, body = self.pr.http("POST", "/api/v1/webhooks/deliveries/x1/retry", token=admin)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid"))
        st, _, body = self.pr.http("POST", "/api/v1/webhooks/deliveries/999999/retry", token=admin)
        self.assertEqual(st, 404, body)
        st, _, body = self.pr.http("POST", f"/api/v1/webhooks/deliveries/{did}/retry", token=admin)
        self.assertEqual((st, body), (200, {"id": did, "retried": True}))
        self.wait_delivered(1)
        ok = [r for r in self.rx.got() if r["status"] == 200]
        self.assertEqual([r["headers"]["X-Postroom-Delivery"] for r in ok], [str(did)])
        st, _, body = self.pr.http("POST", f"/api/v1/webhooks/deliveries/{did}/retry", token=admin)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid"))   # delivered: nothing to retry


if __name__ == "__main__":
    import unittest
    unittest.main()
