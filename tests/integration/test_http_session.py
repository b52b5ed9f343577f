"""Signing in to the console, through the real HTTP listener of serve:
passwords (Argon2id, `user passwd`), the session cookie and its flags,
CSRF, sign-out, sessions ended by a password change or by disabling the
user, what a member may do beside an administrator, and the rate limit on
failed sign-ins (counted in the store)."""
import http.client
import json
import os
import re
import ssl
import unittest

from dovecot import make_cert
from harness import PostroomCase, eventually, http_request, make_message

ALICE_PW = "alice's long password"
BOB_PW = "bob has a long one too"


def cookie_of(hdrs):
    """The postroom_session value a Set-Cookie answer carries, and its attributes."""
    for value in hdrs.get_all("Set-Cookie") or []:
        if value.startswith("postroom_session="):
            parts = [p.strip() for p in value.split(";")]
            return parts[0][len("postroom_session="):], parts[1:]
    return None, []


class HttpSession(PostroomCase):
    def setUp(self):
        super().setUp()
        self.passwd("alice", ALICE_PW)
        self.passwd("bob", BOB_PW)
        self.pr.cli("user", "admin", "alice", "on")

    def passwd(self, user, password):
        self.pr.cli("user", "passwd", user, "--password-stdin", input=(password + "\n").encode())

    def sign_in(self, user, password, source=None, headers=None):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        body = json.dumps({"user": user, "password": password}).encode()
        if source is None:
            return self.pr.http("POST", "/api/v1/session", body, headers=hdrs)
        conn = http.client.HTTPConnection("127.0.0.1", self.pr.http_port, timeout=60,
                                          source_address=(source, 0))
        try:
            conn.request("POST", "/api/v1/session", body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def session(self, user, password):
        """(cookie, csrf) of a new session."""
        status, hdrs, body = self.sign_in(user, password)
        self.assertEqual(status, 200, body)
        cookie, _ = cookie_of(hdrs)
        return cookie, body["csrf"]

    def call(self, method, path, cookie, csrf=None, body=None):
        headers = {"Cookie": f"theme=dark; postroom_session={cookie}"}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        return self.pr.http(method, path, body, headers=headers)

    def served(self, method, path, cookie, csrf=None, body=None):
        """The status of a route another part of the API serves; the test is
        skipped while this binary does not serve that route yet."""
        status, _, answer = self.call(method, path, cookie, csrf, body)
        message = json.dumps(answer)
        if ((status == 404 and "no such page or API route" in message)
                or (status == 405 and "not allowed on" in message)):
            self.skipTest(f"{method} {path} is not served by this build yet")
        return status

    def test_sign_in_gives_a_strict_http_only_cookie_and_the_csrf_token(self):
        status, hdrs, body = self.sign_in("alice", ALICE_PW)
        self.assertEqual(status, 200, body)
        self.assertEqual((body["user"], body["admin"]), ("alice", True))
        self.assertRegex(body["csrf"], r"^[A-Za-z0-9_-]{43}$")
        cookie, attrs = cookie_of(hdrs)
        self.assertRegex(cookie, r"^[A-Za-z0-9_-]{43}$")
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        self.assertNotIn("Secure", attrs)      # plain HTTP on loopback
        status, _, me = self.call("GET", "/api/v1/session", cookie)
        self.assertEqual(status, 200)
        self.assertEqual(me, {"user": "alice", "admin": True, "csrf": body["csrf"]})
        # bob is a member, not an administrator.
        status, _, body = self.sign_in("bob", BOB_PW)
        self.assertEqual((status, body["admin"]), (200, False))
        # A form on another site cannot post JSON: text/plain is refused.
        status, _, body = self.sign_in("alice", ALICE_PW, headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)

    def test_wrong_password_and_unknown_user_get_the_same_answer(self):
        answers = []
        for user, password in (("alice", "not her password"), ("mallory", "not her password"),
                               ("carol", "carol has no password set"), ("alice", "")):
            status, hdrs, body = self.sign_in(user, password)
            self.assertEqual(status, 401, (user, body))
            self.assertIsNone(cookie_of(hdrs)[0])
            answers.append(body)
        self.assertTrue(all(a == answers[0] for a in answers), answers)
        self.assertEqual(answers[0]["error"]["code"], "unauthorized")
        log = self.pr.log_text()
        self.assertIn("sign-in failed for user 'mallory' from 127.0.0.1: no such user", log)
        self.assertIn("sign-in failed for user 'alice' from 127.0.0.1: wrong password", log)
        self.assertNotIn("not her password", log)
        # A made-up cookie signs nobody in.
        self.assertEqual(self.call("GET", "/api/v1/session", "A" * 43)[0], 401)

    def test_disabled_user_cannot_sign_in_and_their_sessions_end(self):
        cookie, _ = self.session("bob", BOB_PW)
        self.pr.cli("user", "disable", "bob")
        self.assertEqual(self.call("GET", "/api/v1/session", cookie)[0], 401)
        status, hdrs, body = self.sign_in("bob", BOB_PW)
        self.assertEqual(status, 403)
        self.assertIn("disabled", body["error"]["message"])
        self.assertIsNone(cookie_of(hdrs)[0])
        self.pr.cli("user", "enable", "bob")
        self.assertEqual(self.sign_in("bob", BOB_PW)[0], 200)

    def test_a_change_by_cookie_needs_the_csrf_header(self):
        cookie, csrf = self.session("alice", ALICE_PW)
        for token in (None, "", "x" * 43, csrf[:-1]):
            status, _, body = self.call("PATCH", "/api/v1/users/bob", cookie, token, {"admin": True})
            self.assertEqual(status, 403, token)
            self.assertIn("X-CSRF-Token", body["error"]["message"])
        self.assertFalse(self.user("bob")["admin"])
        status, _, body = self.call("PATCH", "/api/v1/users/bob", cookie, csrf, {"admin": True})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["admin"])
        self.assertTrue(self.user("bob")["admin"])
        # Reading needs no token; signing in again with a live cookie needs none either.
        self.assertEqual(self.call("GET", "/api/v1/session", cookie)[0], 200)
        status, _, _ = self.sign_in("alice", ALICE_PW, headers={"Cookie": f"postroom_session={cookie}"})
        self.assertEqual(status, 200)

    def test_sign_out_ends_the_session(self):
        cookie, csrf = self.session("alice", ALICE_PW)
        other, _ = self.session("alice", ALICE_PW)
        self.assertEqual(self.call("DELETE", "/api/v1/session", cookie)[0], 403)   # no CSRF
        status, hdrs, _ = self.call("DELETE", "/api/v1/session", cookie, csrf)
        self.assertEqual(status, 200)
        value, attrs = cookie_of(hdrs)
        self.assertEqual(value, "")
        self.assertIn("Max-Age=0", attrs)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie)[0], 401)
        self.assertEqual(self.call("GET", "/api/v1/session", other)[0], 200)

    def test_password_change_ends_every_session_of_the_user(self):
        c1, csrf1 = self.session("bob", BOB_PW)
        c2, _ = self.session("bob", BOB_PW)
        alice, alice_csrf = self.session("alice", ALICE_PW)
        # A member may not set another's password.
        status, _, body = self.call("PUT", "/api/v1/users/alice/password", c1, csrf1,
                                    {"password": "bob sets alice's"})
        self.assertEqual(status, 403, body)
        status, _, body = self.call("PUT", "/api/v1/users/bob/password", c1, csrf1,
                                    {"password": "short", "current_password": BOB_PW})
        self.assertEqual(status, 400)
        self.assertIn("at least 10 characters", body["error"]["message"])
        # One's own password only with the current one: a session alone is not enough.
        status, _, body = self.call("PUT", "/api/v1/users/bob/password", c1, csrf1,
                                    {"password": "bob's brand new password"})
        self.assertEqual(status, 400, body)
        self.assertIn("current one", body["error"]["message"])
        status, _, body = self.call("PUT", "/api/v1/users/bob/password", c1, csrf1,
                                    {"password": "bob's brand new password", "current_password": "a guess!!!"})
        self.assertEqual((status, body["error"]["message"]), (403, "the current password is wrong"))
        self.assertEqual(self.call("GET", "/api/v1/session", c1)[0], 200)     # still signed in
        self.assertEqual(self.sign_in("bob", "bob's brand new password")[0], 401)
        status, hdrs, body = self.call("PUT", "/api/v1/users/bob/password", c1, csrf1,
                                       {"password": "bob's brand new password", "current_password": BOB_PW})
        self.assertEqual(status, 200, body)
        self.assertEqual(cookie_of(hdrs)[0], "")
        for c in (c1, c2):
            self.assertEqual(self.call("GET", "/api/v1/session", c)[0], 401)
        self.assertEqual(self.call("GET", "/api/v1/session", alice)[0], 200)
        self.assertEqual(self.sign_in("bob", BOB_PW)[0], 401)
        c3, _ = self.session("bob", "bob's brand new password")
        # An administrator (session or admin token) sets anyone's, without theirs;
        # their own, as anyone's own, only with the current one.
        status, _, _ = self.call("PUT", "/api/v1/users/bob/password", alice, alice_csrf,
                                 {"password": "set by the administrator"})
        self.assertEqual(status, 200)
        status, _, body = self.call("PUT", "/api/v1/users/alice/password", alice, alice_csrf,
                                    {"password": "alice's new password"})
        self.assertEqual(status, 400, body)
        self.assertEqual(self.call("GET", "/api/v1/session", c3)[0], 401)
        status, _, _ = self.pr.http("PUT", "/api/v1/users/bob/password", {"password": "set with a token"},
                                    token=self.pr.token("admin"))
        self.assertEqual(status, 200)
        self.session("bob", "set with a token")
        read = self.pr.token("read")
        self.assertEqual(self.pr.http("PUT", "/api/v1/users/bob/password", {"password": "a read token!"},
                                      token=read)[0], 403)

    def test_wrong_current_passwords_are_failed_sign_ins(self):
        cookie, csrf = self.session("bob", BOB_PW)
        for i in range(5):
            status, _, body = self.call("PUT", "/api/v1/users/bob/password", cookie, csrf,
                                        {"password": "bob's brand new password", "current_password": f"guess {i}"})
            self.assertEqual(status, 403, body)
        # The sign-in limit (5 failures for one user in 15 minutes) now holds both doors.
        status, hdrs, body = self.call("PUT", "/api/v1/users/bob/password", cookie, csrf,
                                       {"password": "bob's brand new password", "current_password": BOB_PW})
        self.assertEqual((status, body["error"]["code"]), (429, "rate_limited"), body)
        self.assertGreater(int(hdrs["Retry-After"]), 0)
        self.assertEqual(self.sign_in("bob", BOB_PW)[0], 429)
        self.assertIn("sign-in failed for user 'bob'", self.pr.log_text())

    def test_member_and_administrator(self):
        bob, bob_csrf = self.session("bob", BOB_PW)
        alice, alice_csrf = self.session("alice", ALICE_PW)
        # A member changes nothing an administrator owns.
        status, _, body = self.call("PATCH", "/api/v1/users/carol", bob, bob_csrf, {"active": False})
        self.assertEqual(status, 403)
        # An administrator changes users: disable carol, make bob one.
        status, _, body = self.call("PATCH", "/api/v1/users/carol", alice, alice_csrf, {"active": False})
        self.assertEqual((status, body["active"]), (200, False))
        for bad in ({}, {"active": "no"}, {"admin": True, "name": "x"}):
            self.assertEqual(self.call("PATCH", "/api/v1/users/carol", alice, alice_csrf, bad)[0], 400, bad)
        self.assertEqual(self.call("PATCH", "/api/v1/users/nobody", alice, alice_csrf, {"admin": True})[0], 404)
        self.call("PATCH", "/api/v1/users/bob", alice, alice_csrf, {"admin": True})
        # The flag is read at each request: bob's live session is an administrator's now.
        status, _, body = self.call("PATCH", "/api/v1/users/carol", bob, bob_csrf, {"active": True})
        self.assertEqual((status, body["active"]), (200, True))

    def test_member_may_not_change_settings(self):
        bob, bob_csrf = self.session("bob", BOB_PW)
        alice, alice_csrf = self.session("alice", ALICE_PW)
        self.assertEqual(self.served("PATCH", "/api/v1/settings", bob, bob_csrf,
                                     {"unknown_sender": "unassigned"}), 403)
        self.assertEqual(self.served("PATCH", "/api/v1/settings", alice, alice_csrf,
                                     {"unknown_sender": "unassigned"}), 200)

    def test_member_reads_the_projects_they_belong_to_and_no_other(self):
        bob, _ = self.session("bob", BOB_PW)
        alice, _ = self.session("alice", ALICE_PW)
        self.pr.cli("project", "add", "77", "--name", "Bob's project")
        self.pr.cli("project", "grant", "77", "bob")
        self.assertEqual(self.served("GET", "/api/v1/projects/77/threads", bob), 200)
        self.assertEqual(self.served("GET", "/api/v1/projects/1234/threads", bob), 403)
        self.assertEqual(self.served("GET", "/api/v1/messages?project=1234", bob), 403)
        self.assertEqual(self.served("GET", "/api/v1/messages?project=77", bob), 200)
        self.assertEqual(self.served("GET", "/api/v1/projects/1234/threads", alice), 200)

    def test_member_sees_and_sends_only_for_their_projects(self):
        """Send, the outbox, the intake log and why, narrowed for a member
        (bob, in project 77 only) and whole for an administrator."""
        import smtplib
        self.pr.cli("project", "add", "77", "--name", "Bob's project")
        self.pr.cli("project", "grant", "77", "bob")
        bob, bob_csrf = self.session("bob", BOB_PW)
        alice, alice_csrf = self.session("alice", ALICE_PW)
        for sender, rcpt in (("alice@firm.example", "a1234@firm.example"),
                             ("bob@firm.example", "a77@firm.example"),
                             ("stranger@else.example", "a1234@firm.example"),
                             ("stranger@else.example", "a77@firm.example")):
            with self.smtp() as s:
                try:
                    s.sendmail(sender, [rcpt], make_message(sender, rcpt, subject="narrowing"))
                except smtplib.SMTPException:
                    pass                      # the refusals are what the log shows
        both = eventually(lambda: len(self.call("GET", "/api/v1/log", alice)[2]["log"]) >= 4, 20)
        self.assertTrue(both, self.call("GET", "/api/v1/log", alice)[2])
        # The log: bob sees the attempts to project 77 only, placed or refused.
        status, _, doc = self.call("GET", "/api/v1/log", bob)
        self.assertEqual(status, 200, doc)
        rcpts = [e["rcpts"] for e in doc["log"]]
        self.assertEqual(rcpts, [["a77@firm.example"]] * 2, doc)
        self.assertEqual({e["verdict"] for e in doc["log"]}, {"accepted", "rejected"}, doc)
        self.assertEqual(self.call("GET", "/api/v1/log?project=1234", bob)[0], 403)
        alice_rcpts = [e["rcpts"] for e in self.call("GET", "/api/v1/log", alice)[2]["log"]]
        self.assertEqual(alice_rcpts.count(["a1234@firm.example"]), 2, alice_rcpts)
        # why: the stranger's two refusals; bob is told of the one to his project.
        status, _, doc = self.call("GET", "/api/v1/why?q=stranger@else.example", bob)
        self.assertEqual(status, 200, doc)
        self.assertEqual([a["rcpts"] for a in doc["attempts"]], [["a77@firm.example"]], doc)
        status, _, doc = self.call("GET", "/api/v1/why?q=stranger@else.example", alice)
        self.assertEqual(len(doc["attempts"]), 2, doc)
        # Send: bob only from his projects, only as himself.
        mail = {"to": ["someone@far.example"], "subject": "Plans", "text": "Hello\n"}
        status, _, body = self.call("POST", "/api/v1/send", bob, bob_csrf, {**mail, "project": "1234"})
        self.assertEqual((status, body["error"]["code"]), (403, "not_a_member"), body)
        status, _, body = self.call("POST", "/api/v1/send", bob, bob_csrf,
                                    {**mail, "project": "77", "user": "alice"})
        self.assertEqual(status, 403, body)
        status, _, mine = self.call("POST", "/api/v1/send", bob, bob_csrf, {**mail, "project": "77"})
        self.assertEqual(status, 201, mine)
        status, _, hers = self.call("POST", "/api/v1/send", alice, alice_csrf, {**mail, "project": "1234"})
        self.assertEqual(status, 201, hers)
        # The outbox: bob sees his project's message, not alice's, and cannot touch hers.
        status, _, doc = self.call("GET", "/api/v1/outbox", bob)
        self.assertEqual([o["id"] for o in doc["outbox"]], [mine["outbound_id"]], doc)
        self.assertEqual(self.call("GET", f"/api/v1/outbox/{mine['outbound_id']}", bob)[0], 200)
        for method, path in (("GET", ""), ("POST", "/retry"), ("POST", "/cancel")):
            status, _, body = self.call(method, f"/api/v1/outbox/{hers['outbound_id']}{path}", bob, bob_csrf)
            self.assertEqual(status, 404, (method, path, body))
        status, _, doc = self.call("GET", "/api/v1/outbox", alice)
        self.assertEqual(sorted(o["id"] for o in doc["outbox"]),
                         sorted([mine["outbound_id"], hers["outbound_id"]]), doc)

    def test_failed_sign_ins_are_rate_limited(self):
        for _ in range(5):
            self.assertEqual(self.sign_in("alice", "a wrong guess")[0], 401)
        status, hdrs, body = self.sign_in("alice", ALICE_PW)      # the right one, too late
        self.assertEqual(status, 429, body)
        self.assertEqual(body["error"]["code"], "rate_limited")
        self.assertTrue(0 < int(hdrs["Retry-After"]) <= 900, hdrs["Retry-After"])
        # The address is limited for every user ...
        self.assertEqual(self.sign_in("bob", BOB_PW)[0], 429)
        # ... and the user from every address; another user elsewhere is not.
        self.assertEqual(self.sign_in("alice", ALICE_PW, source="127.0.0.2")[0], 429)
        self.assertEqual(self.sign_in("bob", BOB_PW, source="127.0.0.2")[0], 200)
        self.assertIn("sign-in refused from 127.0.0.1: too many failed sign-ins", self.pr.log_text())
        # The count is in the store: another serve on it sees it.
        self.pr.stop()
        self.pr.start()
        self.assertEqual(self.sign_in("alice", ALICE_PW, source="127.0.0.3")[0], 429)

    def test_successful_sign_in_clears_the_users_count(self):
        for _ in range(4):
            self.assertEqual(self.sign_in("bob", "a wrong guess", source="127.0.0.4")[0], 401)
        self.assertEqual(self.sign_in("bob", BOB_PW, source="127.0.0.5")[0], 200)
        for _ in range(4):
            self.assertEqual(self.sign_in("bob", "a wrong guess", source="127.0.0.6")[0], 401)
        self.assertEqual(self.sign_in("bob", BOB_PW, source="127.0.0.7")[0], 200)

    def user(self, name):
        return next(u for u in self.pr.cli_json("user", "list")["users"] if u["name"] == name)

    def test_the_store_keeps_an_argon2id_hash_that_nothing_returns(self):
        rows = dict(self.pr.sql("SELECT name, password_hash FROM users LEFT JOIN user_console"
                                " ON user_id = users.id"))
        self.assertRegex(rows["alice"], r"^\$argon2id\$v=19\$m=65536,t=3,p=1\$")
        self.assertIsNone(rows["carol"])
        self.assertNotEqual(rows["alice"], rows["bob"])
        listed = self.pr.cli("user", "list", "--json").stdout.decode()
        text = self.pr.cli("user", "list").stdout.decode()
        self.assertTrue(self.user("alice")["password_set"])
        self.assertFalse(self.user("carol")["password_set"])
        cookie, csrf = self.session("alice", ALICE_PW)
        token = self.pr.token("admin")
        answers = [listed, text, json.dumps(self.sign_in("alice", ALICE_PW)[2]),
                   json.dumps(self.call("GET", "/api/v1/session", cookie)[2]),
                   json.dumps(self.call("PATCH", "/api/v1/users/bob", cookie, csrf, {"admin": False})[2]),
                   json.dumps(self.pr.http("GET", "/api/v1/users", token=token)[2])]
        for a in answers:
            self.assertNotIn("argon2", a)
            self.assertNotIn(ALICE_PW, a)
            self.assertNotIn(rows["alice"].split("$")[-1], a)

    def test_user_passwd_refuses_short_passwords_and_a_pipe_without_the_flag(self):
        p = self.pr.cli("user", "passwd", "carol", "--password-stdin", input=b"short\n", check=False)
        self.assertEqual(p.returncode, 65)
        self.assertIn("too short: use at least 10 characters", p.stderr.decode())
        p = self.pr.cli("user", "passwd", "carol", "--password-stdin", input=b"\n", check=False)
        self.assertEqual(p.returncode, 65)
        self.assertIn("password is empty", p.stderr.decode())
        p = self.pr.cli("user", "passwd", "carol", input=b"a long enough password\n", check=False)
        self.assertEqual(p.returncode, 64)
        self.assertIn("--password-stdin", p.stderr.decode())
        self.assertFalse(self.user("carol")["password_set"])
        p = self.pr.cli("user", "passwd", "nobody", "--password-stdin", input=b"a long enough password\n",
                        check=False)
        self.assertEqual(p.returncode, 66)
        lines = {l.split()[0]: l for l in self.pr.cli("user", "list").stdout.decode().splitlines()}
        self.assertIn("(admin)", lines["alice"])
        self.assertIn("(console password set)", lines["bob"])
        self.assertNotIn("(console password set)", lines["carol"])


class HttpsSession(PostroomCase):
    start = False

    def test_cookie_is_secure_under_tls(self):
        cert = make_cert(self.pr.dir)
        self.pr.config.update({"http_tls_cert": cert, "http_tls_key": os.path.join(self.pr.dir, "key.pem")})
        self.pr.start()
        self.pr.wait_log("listening for HTTPS on")
        self.pr.cli("user", "passwd", "alice", "--password-stdin", input=(ALICE_PW + "\n").encode())
        ctx = ssl.create_default_context(cafile=cert)
        status, hdrs, body = http_request(self.pr.http_port, "POST", "/api/v1/session",
                                          {"user": "alice", "password": ALICE_PW}, tls=True, context=ctx)
        self.assertEqual(status, 200, body)
        cookie, attrs = cookie_of(hdrs)
        self.assertIn("Secure", attrs)
        self.assertIn("HttpOnly", attrs)
        self.assertTrue(re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie))


if __name__ == "__main__":
    unittest.main()
