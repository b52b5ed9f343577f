"""The HTTP server's core, through the real listener: who may call what
(tokens), the answers to bad requests, limits, HTTPS, and how serve starts
and refuses to start it."""
import os
import socket
import ssl
import subprocess
import unittest

from dovecot import make_cert
from harness import BIN, Postroom, PostroomCase, free_port, http_request, wait_port


class HttpCore(PostroomCase):
    def test_health_is_public_and_carries_the_security_headers(self):
        status, hdrs, body = self.pr.http("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(hdrs["X-Content-Type-Options"], "nosniff")
        self.assertEqual(hdrs["X-Frame-Options"], "DENY")
        self.assertIn("default-src 'none'", hdrs["Content-Security-Policy"])
        self.assertEqual(hdrs["Cache-Control"], "no-store")

    def test_no_token_or_a_bad_one_is_401(self):
        for token in (None, "prt_" + "A" * 43, "not-a-token"):
            status, hdrs, body = self.pr.http("GET", "/api/v1/tokens", token=token)
            self.assertEqual(status, 401, token)
            self.assertEqual(body["error"]["code"], "unauthorized")
            self.assertIn("Bearer", hdrs["WWW-Authenticate"])
        status, _, body = self.pr.http("GET", "/api/v1/tokens", headers={"Authorization": "Basic YTpi"})
        self.assertEqual(status, 401)

    def test_read_token_reads_but_changes_nothing(self):
        admin, read = self.pr.token("admin"), self.pr.token("read")
        status, _, body = self.pr.http("GET", "/api/v1/reasons", token=read)
        self.assertEqual(status, 200)
        self.assertTrue(any(r["code"] == "unauthorized" for r in body["reasons"]))
        status, _, body = self.pr.http("POST", "/api/v1/tokens", {"name": "x"}, token=read)
        self.assertEqual((status, body["error"]["code"]), (403, "forbidden"))
        self.assertIn("read-only", body["error"]["message"])
        # Listing tokens is an administrator's: a read token may not see them.
        self.assertEqual(self.pr.http("GET", "/api/v1/tokens", token=read)[0], 403)
        status, _, body = self.pr.http("GET", "/api/v1/tokens", token=admin)
        self.assertEqual(status, 200)
        self.assertEqual(len(body["tokens"]), 2)

    def test_token_made_over_http_works_once_and_not_after_revoking(self):
        admin = self.pr.token("admin")
        status, _, made = self.pr.http("POST", "/api/v1/tokens", {"name": "app", "scope": "read"}, token=admin)
        self.assertEqual(status, 201)
        self.assertTrue(made["token"].startswith("prt_"))
        self.assertEqual(self.pr.http("GET", "/api/v1/reasons", token=made["token"])[0], 200)
        status, _, listed = self.pr.http("GET", "/api/v1/tokens", token=admin)
        self.assertNotIn(made["token"], str(listed))
        self.assertNotIn("token", listed["tokens"][1])
        status, _, body = self.pr.http("POST", "/api/v1/tokens", {"name": "app"}, token=admin)
        self.assertEqual((status, body["error"]["code"]), (409, "exists"))
        self.assertEqual(self.pr.http("DELETE", f"/api/v1/tokens/{made['id']}", token=admin)[0], 200)
        self.assertEqual(self.pr.http("GET", "/api/v1/reasons", token=made["token"])[0], 401)
        self.assertEqual(self.pr.http("DELETE", f"/api/v1/tokens/{made['id']}", token=admin)[0], 404)
        self.assertEqual(self.pr.http("DELETE", "/api/v1/tokens/x1", token=admin)[0], 400)

    def test_store_keeps_only_the_tokens_hash(self):
        text = self.pr.token("admin", name="kept")
        rows = self.pr.sql("SELECT name, hash FROM api_tokens")
        self.assertEqual(len(rows), 1)
        name, digest = rows[0][0], self.pr.blob(rows[0][1])
        self.assertEqual((name, len(digest)), ("kept", 32))
        self.assertNotIn(text.encode(), digest)
        import hashlib
        self.assertEqual(digest, hashlib.sha256(text.encode()).digest())
        listed = self.pr.cli_json("token", "list")
        self.assertNotIn(text, str(listed))

    def test_bad_requests_get_clear_errors(self):
        admin = self.pr.token("admin")
        status, _, body = self.pr.http("POST", "/api/v1/tokens", b'{"name": ', token=admin)
        self.assertEqual(status, 400)
        self.assertIn("not JSON", body["error"]["message"])
        status, _, body = self.pr.http("POST", "/api/v1/tokens", b'["name"]', token=admin)
        self.assertEqual(status, 400)
        self.assertIn("object", body["error"]["message"])
        status, _, body = self.pr.http("POST", "/api/v1/tokens", b'{"name":"a","name":"b"}', token=admin)
        self.assertEqual(status, 400)
        status, _, body = self.pr.http("GET", "/api/v1/nothing-here", token=admin)
        self.assertEqual((status, body["error"]["code"]), (404, "not_found"))
        status, hdrs, body = self.pr.http("PUT", "/api/v1/tokens", token=admin)
        self.assertEqual(status, 405)
        self.assertEqual(hdrs["Allow"], "GET, POST")
        # Bytes that are not UTF-8, or control characters, in the path or
        # the query never reach a handler.
        for path in ("/api/v1/tokens/%ff", "/api/v1/tokens/%00", "/api/v1/reasons?x=%1b%5b31m",
                     "/api/v1/reasons?x=%c3", "/api/v1/reasons?x=a%00b"):
            status, _, body = self.pr.http("GET", path, token=admin)
            self.assertEqual(status, 400, path)
            self.assertEqual(body["error"]["code"], "invalid")
        # An encoded slash stays inside its segment: no route has it.
        self.assertEqual(self.pr.http("DELETE", "/api/v1/tokens/1%2F2", token=admin)[0], 400)

    def test_body_past_the_limit_is_413_and_the_server_goes_on(self):
        admin = self.pr.token("admin")
        big = b'{"name": "' + b"a" * (41 * 1024 * 1024) + b'"}'
        try:
            status = self.pr.http("POST", "/api/v1/tokens", big, token=admin)[0]
        except (ConnectionError, OSError):
            status = 413      # the server may close before reading it all
        self.assertEqual(status, 413)
        self.assertEqual(self.pr.http("GET", "/healthz")[0], 200)

    def test_many_requests_at_once_on_every_worker(self):
        from concurrent.futures import ThreadPoolExecutor
        read = self.pr.token("read")
        with ThreadPoolExecutor(16) as ex:
            statuses = list(ex.map(lambda _: self.pr.http("GET", "/api/v1/reasons", token=read)[0], range(200)))
        self.assertEqual(statuses, [200] * 200)


class HttpStart(unittest.TestCase):
    def setUp(self):
        self.pr = Postroom()
        self.addCleanup(self.pr.cleanup)

    def test_https_with_a_certificate_from_the_config(self):
        cert = make_cert(self.pr.dir)
        self.pr.config.update({"http_tls_cert": cert, "http_tls_key": os.path.join(self.pr.dir, "key.pem")})
        self.pr.start()
        self.pr.wait_log("listening for HTTPS on")
        ctx = ssl.create_default_context(cafile=cert)
        status, hdrs, body = http_request(self.pr.http_port, "GET", "/healthz", tls=True, context=ctx)
        self.assertEqual((status, body["status"]), (200, "ok"))
        self.assertIn("max-age", hdrs["Strict-Transport-Security"])
        # Plain HTTP on the TLS port gets no answer.
        with self.assertRaises(Exception):
            http_request(self.pr.http_port, "GET", "/healthz", timeout=5)

    def test_half_a_tls_configuration_is_refused(self):
        self.pr.config["http_tls_cert"] = "/nonexistent.pem"
        self.pr.write_config()
        p = self.pr.cli("settings", "show", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("http_tls_cert and http_tls_key go together", p.stderr.decode())

    def test_port_in_use_stops_serve_with_the_reason(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", self.pr.http_port))
        blocker.listen(1)
        self.addCleanup(blocker.close)
        self.pr.write_config()
        self.pr.give_to_user()
        p = subprocess.run([BIN, "--config", self.pr.config_path, "--store", self.pr.store, "serve"],
                           capture_output=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("choose another with --http", p.stderr.decode())

    def test_empty_http_listen_means_no_http(self):
        self.pr.config["http_listen"] = ""
        self.pr.start()
        self.assertNotIn("listening for HTTP", self.pr.log_text())
        with self.assertRaises(ConnectionError):
            http_request(self.pr.http_port, "GET", "/healthz", timeout=5)

    def test_http_option_wins_over_the_setting(self):
        port = free_port()
        self.pr.start("--http", f"127.0.0.1:{port}")
        wait_port(port)
        self.assertEqual(http_request(port, "GET", "/healthz")[0], 200)


if __name__ == "__main__":
    unittest.main()
