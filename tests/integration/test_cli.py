"""The command line, driven through the real binary against a temporary
store (no daemon): every directory command, --json shapes, refusals with
their sysexits codes, secrets never printed, messages/log on an empty
store, and the defaults (./var store, seeding left to serve)."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN, Postroom, PostroomCase

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_TEMPFAIL, EX_CONFIG = 64, 65, 66, 75, 78


class CliCase(PostroomCase):
    start = False

    def fails(self, code, *args):
        p = self.pr.cli(*args, check=False)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, code, f"{args}: exit {p.returncode}, stderr {err!r}")
        self.assertTrue(err.startswith("postroom: "), err)
        return err


class TestDirectory(CliCase):
    def test_user_list_json(self):
        doc = self.pr.cli_json("user", "list")
        users = {u["name"]: u for u in doc["users"]}
        self.assertEqual(sorted(users), ["alice", "bob", "carol"])
        self.assertEqual(users["alice"]["display"], "Alice Archer")
        self.assertEqual(users["bob"]["emails"], ["bob@firm.example", "bob@home.example"])
        self.assertIs(users["carol"]["active"], True)

    def test_user_add_remove(self):
        out = self.pr.cli("user", "add", "dave", "--email", "Dave@Firm.Example").stdout.decode()
        self.assertIn("dave", out)
        names = [u["name"] for u in self.pr.cli_json("user", "list")["users"]]
        self.assertIn("dave", names)
        emails = [u["emails"] for u in self.pr.cli_json("user", "list")["users"] if u["name"] == "dave"][0]
        self.assertEqual(emails, ["dave@firm.example"])          # stored lowercased
        self.pr.cli("user", "remove", "dave")
        self.fails(EX_NOINPUT, "user", "remove", "dave")

    def test_user_refusals(self):
        self.fails(EX_DATAERR, "user", "add", "alice", "--email", "alice2@firm.example")      # exists
        self.fails(EX_DATAERR, "user", "add", "eve", "--email", "BOB@firm.example")           # address taken
        self.fails(EX_DATAERR, "user", "add", "eve", "--email", "not-an-address")
        self.fails(EX_DATAERR, "user", "add", "e ve", "--email", "eve@firm.example")
        self.fails(EX_USAGE, "user", "add", "eve")                                            # no --email
        self.fails(EX_USAGE, "user", "add", "eve", "--email", "eve@firm.example", "--bogus")
        self.fails(EX_USAGE, "user", "frobnicate")
        self.fails(EX_USAGE, "user")

    def test_project_commands(self):
        self.pr.cli("project", "add", "77", "--name", "Bridge")
        self.pr.cli("project", "grant", "77", "bob")
        self.pr.cli("stakeholder", "add", "Olga Client", "--email", "olga@client.example")
        self.pr.cli("project", "stakeholder", "77", "Olga Client")
        projects = {p["id"]: p for p in self.pr.cli_json("project", "list")["projects"]}
        self.assertEqual(projects["1234"], {"id": "1234", "name": "Harbour consultation",
                                            "members": ["alice"], "stakeholders": []})
        self.assertEqual(projects["77"]["members"], ["bob"])
        self.assertEqual(projects["77"]["stakeholders"], ["Olga Client"])
        self.pr.cli("project", "revoke", "77", "bob")
        self.assertEqual({p["id"]: p for p in self.pr.cli_json("project", "list")["projects"]}["77"]["members"], [])
        self.fails(EX_NOINPUT, "project", "revoke", "77", "bob")
        self.fails(EX_NOINPUT, "project", "grant", "999", "bob")
        self.fails(EX_NOINPUT, "project", "grant", "77", "nobody")
        self.fails(EX_DATAERR, "project", "add", "1234", "--name", "again")
        self.fails(EX_USAGE, "project", "add", "78")
        self.fails(EX_NOINPUT, "project", "stakeholder", "77", "Nobody")
        ks = self.pr.cli_json("stakeholder", "list")["stakeholders"]
        self.assertEqual(ks, [{"name": "Olga Client", "emails": ["olga@client.example"]}])

    def test_alias_and_domain(self):
        self.assertEqual(self.pr.cli_json("alias", "list"),
                         {"aliases": [{"address": "team@firm.example", "users": ["alice", "bob"]}]})
        err = self.fails(EX_DATAERR, "alias", "add", "x@other.example", "alice")
        self.assertIn("domain add other.example", err)
        self.fails(EX_NOINPUT, "alias", "add", "x@firm.example", "nobody")
        self.fails(EX_DATAERR, "alias", "add", "TEAM@firm.example", "carol")
        self.pr.cli("alias", "remove", "Team@Firm.example")
        self.assertEqual(self.pr.cli_json("alias", "list"), {"aliases": []})
        self.fails(EX_NOINPUT, "alias", "remove", "team@firm.example")
        self.pr.cli("domain", "add", "Other.Example")
        self.assertEqual(self.pr.cli_json("domain", "list"), {"domains": ["firm.example", "other.example"]})
        self.fails(EX_DATAERR, "domain", "add", "other.example")
        self.fails(EX_DATAERR, "domain", "add", "not a domain")
        self.pr.cli("domain", "remove", "other.example")
        self.fails(EX_NOINPUT, "domain", "remove", "other.example")

    def test_text_lists(self):
        out = self.pr.cli("user", "list").stdout.decode()
        self.assertIn("alice", out)
        self.assertIn("bob@home.example", out)
        self.assertIn("Harbour consultation", self.pr.cli("project", "list").stdout.decode())
        self.assertIn("team@firm.example", self.pr.cli("alias", "list").stdout.decode())
        self.assertEqual(self.pr.cli("domain", "list").stdout.decode(), "firm.example\n")


class TestSettings(CliCase):
    def test_show_json_sources(self):
        doc = self.pr.cli_json("settings", "show")
        s = {x["name"]: x for x in doc["settings"]}
        self.assertEqual(s["max_message_size"]["source"], "default")
        self.assertEqual(s["hostname"], dict(s["hostname"], value="mx.firm.example", source="file"))
        self.pr.cli("settings", "set", "max_recipients", "50")
        s = {x["name"]: x for x in self.pr.cli_json("settings", "show")["settings"]}
        self.assertEqual((s["max_recipients"]["value"], s["max_recipients"]["source"]), ("50", "store"))

    def test_bad_values_refused(self):
        err = self.fails(EX_DATAERR, "settings", "set", "max_message_size", "lots")
        self.assertIn("max_message_size", err)
        self.fails(EX_DATAERR, "settings", "set", "max_recipients", "0")
        self.fails(EX_DATAERR, "settings", "set", "unknown_recipient", "maybe")
        self.fails(EX_DATAERR, "settings", "set", "pop_server", "imaps://mail.example:993")
        # The mailbox ("server user") keys the collected-message record: bounded.
        err = self.fails(EX_DATAERR, "settings", "set", "pop_username", "u" * 321)
        self.assertIn("longer than 320 bytes", err)
        self.pr.cli("settings", "set", "pop_username", "u" * 320)
        err = self.fails(EX_DATAERR, "settings", "set", "pop_server", "ssl://" + "h" * 254 + ":995")
        self.assertIn("longer than 253", err)
        self.pr.cli("settings", "set", "pop_server", "ssl://" + "h" * 253 + ":995")
        self.fails(EX_USAGE, "settings", "set", "no_such_setting", "1")
        self.fails(EX_USAGE, "settings", "set", "max_recipients")
        s = {x["name"]: x for x in self.pr.cli_json("settings", "show")["settings"]}
        self.assertEqual(s["max_recipients"]["source"], "default")

    def test_cross_field_check(self):
        self.pr.cli("settings", "set", "mailbox_type", "catchall")
        self.pr.cli("settings", "set", "system_address", "inbox@firm.example")
        err = self.fails(EX_DATAERR, "settings", "set", "fallback_address", "admin@firm.example")
        self.assertIn("catch-all", err)
        self.pr.cli("settings", "set", "fallback_address", "admin@elsewhere.example")

    def test_secrets_never_printed(self):
        secret = "hunter2-very-secret"
        p = self.pr.cli("settings", "set", "pop_password", secret)
        self.assertNotIn(secret, (p.stdout + p.stderr).decode())
        for args in (("settings", "show"), ("settings", "show", "--json")):
            out = self.pr.cli(*args).stdout.decode()
            self.assertNotIn(secret, out)
            self.assertIn("********", out)
        doc = self.pr.cli_json("settings", "show")
        pw = [x for x in doc["settings"] if x["name"] == "pop_password"][0]
        self.assertEqual((pw["value"], pw["secret"], pw["source"]), ("********", True, "store"))

    def test_config_file_wins(self):
        self.pr.config["max_recipients"] = "7"
        self.pr.write_config()
        p = self.pr.cli("settings", "set", "max_recipients", "50")
        self.assertIn("config file", p.stderr.decode())
        s = {x["name"]: x for x in self.pr.cli_json("settings", "show")["settings"]}
        self.assertEqual((s["max_recipients"]["value"], s["max_recipients"]["source"]), ("7", "file"))

    def test_bad_config_file(self):
        self.pr.config["max_message_size"] = "huge"
        self.pr.write_config()
        err = self.fails(EX_CONFIG, "user", "list")
        self.assertIn("max_message_size", err)


class TestMessagesAndLog(CliCase):
    def test_empty(self):
        # "next": null says this is the last page (see README, Paging)
        self.assertEqual(self.pr.cli_json("messages", "list"), {"messages": [], "next": None})
        self.assertEqual(self.pr.cli_json("messages", "list", "--project", "1234"), {"messages": [], "next": None})
        self.assertEqual(self.pr.cli_json("log"), {"log": [], "next": None})
        self.assertEqual(self.pr.cli_json("log", "--since", "2h", "--verdict", "rejected",
                                          "--sender", "x@y.example", "--project", "1234"), {"log": [], "next": None})

    def test_refusals(self):
        self.fails(EX_NOINPUT, "messages", "show", "42")
        self.fails(EX_NOINPUT, "messages", "show", "42", "--raw")
        self.fails(EX_DATAERR, "messages", "show", "abc")
        self.fails(EX_USAGE, "messages", "show", "1", "--raw", "--json")
        self.fails(EX_USAGE, "messages", "list", "--project", "1", "--unassigned")
        self.fails(EX_NOINPUT, "messages", "move", "42", "--project", "1234")
        self.fails(EX_USAGE, "messages", "move", "42")
        self.fails(EX_DATAERR, "log", "--verdict", "maybe")
        self.fails(EX_DATAERR, "log", "--since", "yesterday-ish")
        self.fails(EX_USAGE, "messages", "attachment", "1", "1")


class TestMessagesServed(PostroomCase):
    """messages list/show/move and log over mail that really came in by SMTP."""

    def send(self, rcpts, subject="Hello", sender="alice@firm.example"):
        from harness import make_message
        body = make_message(sender, rcpts[0], subject=subject)
        with self.smtp() as s:
            s.sendmail(sender, rcpts, body)
        return body

    def test_list_show_raw_move_log(self):
        body = self.send(["a1234@firm.example", "team@firm.example"], subject="Harbour plan")
        self.send(["nobody@firm.example"], subject="Lost")
        with self.smtp() as s:
            with self.assertRaises(Exception):
                s.sendmail("alice@firm.example", ["victim@elsewhere.example"], body)
        msgs = self.pr.cli_json("messages", "list")["messages"]
        self.assertEqual(len(msgs), 2)
        first = [m for m in msgs if m["subject"] == "Harbour plan"][0]
        self.assertEqual(sorted(first["placements"]), ["project:1234", "user:alice", "user:bob"])
        self.assertEqual(set(first), {"id", "received_at", "from", "subject", "message_id", "size",
                                      "placements", "unreadable"})
        self.assertEqual([m["subject"] for m in self.pr.cli_json("messages", "list", "--user", "bob")["messages"]],
                         ["Harbour plan"])
        lost = self.pr.cli_json("messages", "list", "--unassigned")["messages"]
        self.assertEqual([m["subject"] for m in lost], ["Lost"])
        raw = self.pr.cli("messages", "show", str(first["id"]), "--raw").stdout
        self.assertTrue(raw.startswith(b"Received: "), raw[:80])
        self.assertTrue(raw.endswith(body), "stored bytes differ from what was sent")
        self.assertEqual(len(raw), first["size"])
        full = self.pr.cli_json("messages", "show", str(first["id"]))
        for key in ("mail_from", "rcpts", "thread_id", "sha256", "parsed", "auth", "peer_ip", "helo"):
            self.assertIn(key, full)
        self.assertEqual(full["rcpts"], ["a1234@firm.example", "team@firm.example"])
        self.assertIn("Harbour plan", self.pr.cli("messages", "show", str(first["id"])).stdout.decode())
        self.pr.cli("messages", "move", str(lost[0]["id"]), "--project", "1234")
        self.assertEqual(self.pr.cli_json("messages", "list", "--unassigned")["messages"], [])
        self.assertEqual(len(self.pr.cli_json("messages", "list", "--project", "1234")["messages"]), 2)
        log = self.pr.cli_json("log")["log"]
        self.assertGreaterEqual(len(log), 3)
        self.assertEqual(set(log[0]), {"id", "at", "source", "peer_ip", "helo", "mail_from", "rcpts", "size",
                                       "verdict", "reason", "summary", "detail", "fix", "message_id_hdr",
                                       "message_id"})
        rejected = self.pr.cli_json("log", "--verdict", "rejected")["log"]
        self.assertTrue(rejected and all(e["verdict"] == "rejected" for e in rejected))
        self.assertIn("relay_denied", [e["reason"] for e in rejected])
        # Both accepted attempts now concern project 1234: "Lost" was moved there.
        accepted = self.pr.cli_json("log", "--verdict", "accepted", "--project", "1234")["log"]
        self.assertEqual(len(accepted), 2)
        self.assertEqual(self.pr.cli_json("log", "--sender", "nobody@x.example")["log"], [])
        self.assertEqual(self.pr.cli_json("log", "--since", "2099-01-01")["log"], [])


class TestGlobal(unittest.TestCase):
    def run_bin(self, *args, cwd=None):
        return subprocess.run([BIN] + list(args), capture_output=True, cwd=cwd, timeout=60)

    def test_help_everywhere(self):
        with tempfile.TemporaryDirectory() as d:
            for args in (["--help"], ["user", "--help"], ["user", "add", "--help"], ["project", "--help"],
                         ["project", "grant", "--help"], ["alias", "add", "--help"], ["domain", "--help"],
                         ["settings", "set", "--help"], ["messages", "show", "--help"], ["log", "--help"],
                         ["stakeholder", "add", "--help"], ["check", "--help"]):
                p = self.run_bin(*args, cwd=d)
                self.assertEqual(p.returncode, 0, f"{args}: {p.stderr!r}")
                self.assertIn(b"usage: postroom", p.stdout)
            self.assertFalse(os.path.exists(os.path.join(d, "var")), "--help must not create a store")

    def test_usage_errors(self):
        self.assertEqual(self.run_bin().returncode, EX_USAGE)
        self.assertEqual(self.run_bin("frobnicate").returncode, EX_USAGE)
        self.assertEqual(self.run_bin("--bogus", "user", "list").returncode, EX_USAGE)
        self.assertEqual(self.run_bin("--store").returncode, EX_USAGE)

    def test_default_store_under_var(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.run_bin("domain", "add", "firm.example", cwd=d)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(os.path.exists(os.path.join(d, "var", "postroom.db")))
            p = self.run_bin("--store=sqlite:" + os.path.join(d, "var", "postroom.db"), "domain", "list", "--json")
            self.assertEqual(json.loads(p.stdout), {"domains": ["firm.example"]})

    def test_postgres_unreachable(self):
        # Nothing listens on port 1: a temporary fault (EX_TEMPFAIL) that
        # names the store without its password.
        p = self.run_bin("--store", "postgres://pr:secret@127.0.0.1:1/postroom?connect_timeout=5",
                         "user", "list")
        self.assertEqual(p.returncode, EX_TEMPFAIL, p.stderr)
        self.assertIn(b"cannot connect to the store postgres://pr:***@127.0.0.1:1/", p.stderr)
        self.assertNotIn(b"secret", p.stderr)


if __name__ == "__main__":
    unittest.main()
