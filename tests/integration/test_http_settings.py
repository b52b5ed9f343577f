"""Settings over HTTP (issue 14): GET is `settings show --json` with
secrets hidden; PATCH validates every key, then the cross-field checks on
the whole, and stores all of it in one transaction or nothing; a secret
sent back as its mask keeps its value; a change made over HTTP reaches the
running server's SMTP listener within its poll."""
import smtplib
import unittest

from harness import PostroomCase, eventually, make_message

SECRET = "pop-Pa55-not-shown"


class HttpSettings(PostroomCase):
    def setUp(self):
        super().setUp()
        self.admin = self.pr.token("admin")
        self.read = self.pr.token("read")

    def settings(self, token=None):
        status, _, doc = self.pr.http("GET", "/api/v1/settings", token=token or self.admin)
        self.assertEqual(status, 200, doc)
        return {s["name"]: s for s in doc["settings"]}

    def patch(self, body, token=None):
        status, _, doc = self.pr.http("PATCH", "/api/v1/settings", body, token=token or self.admin)
        return status, doc

    def stored(self):
        """(the settings table, the settings version) read from the store."""
        rows = dict(self.pr.sql("SELECT key, value FROM settings"))
        version = self.pr.sql_one("SELECT version FROM settings_version")
        return rows, version

    def test_get_is_settings_show(self):
        got = self.settings(token=self.read)
        cli = {s["name"]: s for s in self.pr.cli_json("settings", "show")["settings"]}
        self.assertEqual(got, cli)
        self.assertEqual(got["max_message_size"]["applies"], "connection")
        self.assertEqual(self.pr.http("GET", "/api/v1/settings")[0], 401)

    def test_patch_all_or_nothing(self):
        before = self.stored()
        # one bad value among good ones: nothing stored, the bad key named
        status, doc = self.patch({"max_recipients": 50, "unknown_recipient": "reject",
                                  "max_message_size": "banana"})
        self.assertEqual((status, doc["error"]["code"]), (400, "invalid"), doc)
        self.assertIn("max_message_size", doc["error"]["message"])
        self.assertEqual(self.stored(), before)
        # an unknown key, or a value of the wrong type, likewise
        for body, text in (({"max_recipients": "50", "no_such_key": "1"}, "no_such_key"),
                           ({"max_recipients": 50.5}, "whole number"),
                           ({"max_recipients": None}, "max_recipients"),
                           ({"hostname": "a\nb"}, "line break"),
                           ({}, "no setting given")):
            status, doc = self.patch(body)
            self.assertEqual((status, doc["error"]["code"]), (400, "invalid"), body)
            self.assertIn(text, doc["error"]["message"])
        self.assertEqual(self.stored(), before)
        # values each valid but refused together (the cross-field check)
        together = {"mailbox_type": "catchall", "system_address": "in@firm.example",
                    "fallback_address": "kept@firm.example"}
        status, doc = self.patch(together)
        self.assertEqual(status, 400, doc)
        self.assertIn("catch-all", doc["error"]["message"])
        self.assertEqual(self.stored(), before)
        # and accepted together once the whole is sound: one version bump
        together["fallback_address"] = "kept@elsewhere.example"
        together["max_recipients"] = 50
        status, doc = self.patch(together)
        self.assertEqual(status, 200, doc)
        self.assertEqual(sorted(doc["changed"]), sorted(together))
        rows, version = self.stored()
        self.assertEqual(rows, {k: str(v) for k, v in together.items()})
        self.assertEqual(version, before[1] + 1)
        got = self.settings()
        self.assertEqual((got["mailbox_type"]["value"], got["max_recipients"]["source"]),
                         ("catchall", "store"))

    def test_applies_and_file_wins(self):
        status, doc = self.patch({"auto_stakeholders": False, "max_message_size": "2M",
                                  "dns_cache_size": "8M", "dns_timeout_ms": 1500})
        self.assertEqual(status, 200, doc)
        self.assertEqual(self.stored()[0]["auto_stakeholders"], "false")
        self.assertEqual(doc["applies"], {"now": ["auto_stakeholders"], "connection": ["max_message_size"],
                                          "restart": ["dns_cache_size", "dns_timeout_ms"]})
        self.assertEqual(doc["file_wins"], ["dns_timeout_ms"])     # the harness's config file sets it

    def test_secrets_never_shown_and_mask_keeps_them(self):
        status, doc = self.patch({"pop_password": SECRET, "pop_username": "sys"})
        self.assertEqual(status, 200, doc)
        got = self.settings()
        self.assertEqual(got["pop_password"]["value"], "********")
        _, _, raw = self.pr.http("GET", "/api/v1/settings", token=self.admin, raw=True)
        self.assertNotIn(SECRET.encode(), raw)
        # a form sends back what it showed: the password stays
        status, doc = self.patch({"pop_password": "********", "pop_username": "other"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["changed"], ["pop_username"])
        rows, _ = self.stored()
        self.assertEqual((rows["pop_password"], rows["pop_username"]), (SECRET, "other"))
        self.assertNotIn(SECRET, str(doc))

    def test_read_token_and_no_token_refused(self):
        before = self.stored()
        status, doc = self.patch({"max_recipients": 50}, token=self.read)
        self.assertEqual((status, doc["error"]["code"]), (403, "forbidden"))
        status, _, doc = self.pr.http("PATCH", "/api/v1/settings", {"max_recipients": 50})
        self.assertEqual((status, doc["error"]["code"]), (401, "unauthorized"))
        self.assertEqual(self.stored(), before)

    def test_change_reaches_the_running_smtp_listener(self):
        big = make_message("alice@firm.example", "a1234@firm.example", body="x" * 5000 + "\r\n")
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            s.sendmail("alice@firm.example", ["a1234@firm.example"], big)     # 20M: accepted
        status, doc = self.patch({"max_message_size": "2k", "unknown_recipient": "reject"})
        self.assertEqual(status, 200, doc)

        def refused():
            with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
                try:
                    s.sendmail("alice@firm.example", ["a1234@firm.example"], big)
                except smtplib.SMTPResponseException as e:
                    return e.smtp_code
                except smtplib.SMTPSenderRefused as e:
                    return e.smtp_code
            return None
        self.assertEqual(eventually(refused, 10), 552)
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            s.ehlo()
            self.assertIn("size", s.esmtp_features)
            self.assertEqual(s.esmtp_features["size"], "2048")
            code, _ = s.rcpt("nobody@firm.example") if s.mail("alice@firm.example")[0] == 250 else (0, b"")
            self.assertEqual(code, 550)


if __name__ == "__main__":
    unittest.main()
