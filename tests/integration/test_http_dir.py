"""The directory over HTTP (issue 14), through serve's real listener:
users, projects with members and stakeholders, stakeholders, aliases and
domains; 201 with the new object, 400 with the api's reason, 404, 409; a
read token may list but not change, no token is 401.  What the API
changes is what the CLI (and so SMTP intake) then sees."""
import smtplib
import unittest

from harness import PostroomCase, make_message


class HttpDirectory(PostroomCase):
    def setUp(self):
        super().setUp()
        self.admin = self.pr.token("admin")
        self.read = self.pr.token("read")

    def call(self, method, path, body=None, token=None):
        status, _, doc = self.pr.http(method, path, body, token=token or self.admin)
        return status, doc

    def refused(self, method, path, body, status, code, text=None):
        got, doc = self.call(method, path, body)
        self.assertEqual((got, doc["error"]["code"]), (status, code), doc)
        if text:
            self.assertIn(text, doc["error"]["message"])

    def test_users(self):
        status, doc = self.call("POST", "/api/v1/users", {"name": "dave", "display": "Dave Dyer",
                                                          "emails": ["Dave@Firm.example", "d@home.example"]})
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc, {"name": "dave", "display": "Dave Dyer", "active": True, "admin": False,
                               "password_set": False, "emails": ["d@home.example", "dave@firm.example"]})
        status, doc = self.call("GET", "/api/v1/users", token=self.read)
        self.assertEqual(status, 200)
        self.assertEqual([u["name"] for u in doc["users"]], ["alice", "bob", "carol", "dave"])
        self.assertIn("dave", self.pr.cli("user", "list").stdout.decode())
        self.refused("POST", "/api/v1/users", {"name": "dave", "emails": ["x@firm.example"]}, 409, "exists")
        self.refused("POST", "/api/v1/users", {"name": "eve", "emails": ["alice@firm.example"]}, 409,
                     "exists", "alice@firm.example is taken")
        self.refused("POST", "/api/v1/users", {"name": "bad name", "emails": ["e@firm.example"]}, 400,
                     "invalid", "user name 'bad name' is not valid")
        self.refused("POST", "/api/v1/users", {"name": "eve", "emails": ["not-an-address"]}, 400,
                     "invalid", "'not-an-address' is not an email address")
        self.refused("POST", "/api/v1/users", {"name": "eve"}, 400, "invalid", "at least one email")
        self.refused("POST", "/api/v1/users", {"emails": ["e@firm.example"]}, 400, "invalid", '"name"')
        self.refused("POST", "/api/v1/users", {"name": "eve", "emails": "e@firm.example"}, 400,
                     "invalid", '"emails" must be a list')
        self.refused("POST", "/api/v1/users", {"name": 7, "emails": ["e@firm.example"]}, 400, "invalid")
        self.refused("POST", "/api/v1/users", {"name": "eve", "emails": ["e%d@firm.example" % i
                                                                        for i in range(65)]},
                     400, "invalid", "at most 64")
        status, doc = self.call("DELETE", "/api/v1/users/dave")
        self.assertEqual((status, doc), (200, {"name": "dave", "removed": True}))
        self.refused("DELETE", "/api/v1/users/dave", None, 404, "not_found", "dave")
        self.assertNotIn("dave", self.pr.cli("user", "list").stdout.decode())

    def test_projects_members_and_stakeholders(self):
        status, doc = self.call("POST", "/api/v1/projects", {"id": "77", "name": "Bridge inquiry"})
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc, {"id": "77", "name": "Bridge inquiry", "members": [], "stakeholders": []})
        self.refused("POST", "/api/v1/projects", {"id": "77", "name": "again"}, 409, "exists")
        self.refused("POST", "/api/v1/projects", {"id": "7/7", "name": "x"}, 400, "invalid", "project id")
        self.refused("POST", "/api/v1/projects", {"id": "78", "name": "two\nlines"}, 400, "invalid",
                     "no line breaks")
        status, doc = self.call("PUT", "/api/v1/projects/77/members/bob")
        self.assertEqual((status, doc["members"]), (200, ["bob"]), doc)
        status, doc = self.call("PUT", "/api/v1/projects/77/members/bob")    # again: no change
        self.assertEqual((status, doc["members"]), (200, ["bob"]), doc)
        self.refused("PUT", "/api/v1/projects/77/members/nobody", None, 404, "not_found", "nobody")
        self.refused("PUT", "/api/v1/projects/99/members/bob", None, 404, "not_found", "99")
        status, doc = self.call("POST", "/api/v1/stakeholders", {"name": "Olga Ortiz",
                                                                 "emails": ["Olga@Client.example"]})
        self.assertEqual((status, doc), (201, {"name": "Olga Ortiz", "emails": ["olga@client.example"]}))
        self.refused("POST", "/api/v1/stakeholders", {"name": "Olga Ortiz", "emails": ["o2@client.example"]},
                     409, "exists")
        self.refused("POST", "/api/v1/stakeholders", {"name": "Nobody", "emails": []}, 400, "invalid")
        status, doc = self.call("PUT", "/api/v1/projects/77/stakeholders/Olga%20Ortiz")
        self.assertEqual((status, doc["stakeholders"]), (200, ["Olga Ortiz"]), doc)
        self.refused("PUT", "/api/v1/projects/77/stakeholders/Nobody", None, 404, "not_found")
        status, doc = self.call("GET", "/api/v1/stakeholders", token=self.read)
        self.assertEqual(doc["stakeholders"], [{"name": "Olga Ortiz", "emails": ["olga@client.example"]}])
        status, doc = self.call("GET", "/api/v1/projects", token=self.read)
        self.assertEqual(status, 200)
        got = {p["id"]: p for p in doc["projects"]}
        self.assertEqual(got["77"]["members"], ["bob"])
        self.assertEqual(got["1234"]["members"], ["alice"])
        # bob may now write into 77 over SMTP: the API changed what intake reads
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            s.sendmail("bob@firm.example", ["a77@firm.example"],
                       make_message("bob@firm.example", "a77@firm.example"))
        status, doc = self.call("DELETE", "/api/v1/projects/77/members/bob")
        self.assertEqual((status, doc["members"]), (200, []), doc)
        self.refused("DELETE", "/api/v1/projects/77/members/bob", None, 404, "not_found",
                     "not a member")
        with smtplib.SMTP("127.0.0.1", self.pr.smtp_port, timeout=30) as s:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail("bob@firm.example", ["a77@firm.example"],
                           make_message("bob@firm.example", "a77@firm.example"))
            self.assertEqual(e.exception.smtp_code, 550)
            self.assertIn(b"not a member", e.exception.smtp_error)

    def test_aliases(self):
        status, doc = self.call("POST", "/api/v1/aliases", {"address": "Office@firm.example",
                                                            "users": ["alice", "carol"]})
        self.assertEqual((status, doc), (201, {"address": "office@firm.example", "users": ["alice", "carol"]}))
        self.refused("POST", "/api/v1/aliases", {"address": "office@firm.example", "users": ["bob"]},
                     409, "exists")
        self.refused("POST", "/api/v1/aliases", {"address": "x@elsewhere.example", "users": ["bob"]},
                     400, "invalid", "not one of our domains")
        self.refused("POST", "/api/v1/aliases", {"address": "y@firm.example", "users": []}, 400,
                     "invalid", "at least one user")
        self.refused("POST", "/api/v1/aliases", {"address": "y@firm.example", "users": ["nobody"]},
                     404, "not_found", "nobody")
        status, doc = self.call("GET", "/api/v1/aliases", token=self.read)
        self.assertIn({"address": "office@firm.example", "users": ["alice", "carol"]}, doc["aliases"])
        status, doc = self.call("DELETE", "/api/v1/aliases/office%40firm.example")
        self.assertEqual((status, doc), (200, {"address": "office@firm.example", "removed": True}))
        self.refused("DELETE", "/api/v1/aliases/office@firm.example", None, 404, "not_found")

    def test_domains(self):
        status, doc = self.call("POST", "/api/v1/domains", {"domain": "Branch.example"})
        self.assertEqual((status, doc), (201, {"domain": "branch.example"}))
        self.refused("POST", "/api/v1/domains", {"domain": "branch.example"}, 409, "exists")
        self.refused("POST", "/api/v1/domains", {"domain": "no-dot"}, 400, "invalid", "not a domain name")
        self.refused("POST", "/api/v1/domains", {}, 400, "invalid", '"domain"')
        status, doc = self.call("GET", "/api/v1/domains", token=self.read)
        self.assertEqual(doc["domains"], ["branch.example", "firm.example"])
        self.assertEqual(self.call("DELETE", "/api/v1/domains/branch.example"),
                         (200, {"domain": "branch.example", "removed": True}))
        self.refused("DELETE", "/api/v1/domains/branch.example", None, 404, "not_found")
        self.assertNotIn("branch.example", self.pr.cli("domain", "list").stdout.decode())

    def test_bad_json_is_400(self):
        status, _, doc = self.pr.http("POST", "/api/v1/users", b'{"name": "x", ', token=self.admin)
        self.assertEqual((status, doc["error"]["code"]), (400, "invalid"))
        status, _, doc = self.pr.http("POST", "/api/v1/domains", b'["firm.example"]', token=self.admin)
        self.assertEqual((status, doc["error"]["code"]), (400, "invalid"))

    def test_read_token_cannot_change_and_no_token_is_401(self):
        changes = [("POST", "/api/v1/users", {"name": "zed", "emails": ["zed@firm.example"]}),
                   ("DELETE", "/api/v1/users/bob", None),
                   ("POST", "/api/v1/projects", {"id": "5", "name": "Five"}),
                   ("PUT", "/api/v1/projects/1234/members/bob", None),
                   ("DELETE", "/api/v1/projects/1234/members/alice", None),
                   ("PUT", "/api/v1/projects/1234/stakeholders/x", None),
                   ("POST", "/api/v1/stakeholders", {"name": "x", "emails": ["x@client.example"]}),
                   ("POST", "/api/v1/aliases", {"address": "z@firm.example", "users": ["bob"]}),
                   ("DELETE", "/api/v1/aliases/team@firm.example", None),
                   ("POST", "/api/v1/domains", {"domain": "z.example"}),
                   ("DELETE", "/api/v1/domains/firm.example", None)]
        for method, path, body in changes:
            status, _, doc = self.pr.http(method, path, body, token=self.read)
            self.assertEqual((status, doc["error"]["code"]), (403, "forbidden"), (method, path))
            status, _, doc = self.pr.http(method, path, body)
            self.assertEqual((status, doc["error"]["code"]), (401, "unauthorized"), (method, path))
        for path in ("/api/v1/users", "/api/v1/projects", "/api/v1/stakeholders", "/api/v1/aliases",
                     "/api/v1/domains"):
            self.assertEqual(self.pr.http("GET", path)[0], 401, path)
        # nothing changed
        self.assertEqual(self.call("GET", "/api/v1/domains")[1]["domains"], ["firm.example"])
        users = [u["name"] for u in self.call("GET", "/api/v1/users")[1]["users"]]
        self.assertEqual(users, ["alice", "bob", "carol"])
        self.assertEqual(self.call("GET", "/api/v1/aliases")[1]["aliases"],
                         [{"address": "team@firm.example", "users": ["alice", "bob"]}])


if __name__ == "__main__":
    unittest.main()
