"""The OpenAPI document (docs/openapi.json) checked against the routes the
server really serves (issue 14):
- it is JSON with the OpenAPI 3.1 structure: paths, operations with
  responses, every $ref resolving, every {param} of a path declared, the
  two security schemes (bearer token, session cookie);
- its (method, path) pairs are exactly the binary's route table
  (`postroom http routes --json`), both ways, with the same access level,
  and it is what scripts/openapi writes (so no hand edit drifts);
- against a running serve: every route refuses a request without
  credentials with 401 (public routes excepted), every route that may
  change something refuses a read-only token with 403, and every GET
  answers an admin token with a status the document lists for it (a JSON
  body where the document says JSON).
"""
import json
import os
import subprocess
import unittest

from harness import BIN, PostroomCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "openapi.json")
METHODS = ("get", "put", "post", "delete", "patch")


def load_doc():
    with open(DOC) as f:
        return json.load(f)


def binary_routes():
    out = subprocess.run([BIN, "http", "routes", "--json"], check=True, capture_output=True).stdout
    return json.loads(out)["routes"]


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def concrete(path):
    """A path with every {param} filled ("1": an id no fresh store has)."""
    return "/".join("1" if seg.startswith("{") else seg for seg in path.split("/"))


class TestDocument(unittest.TestCase):
    def setUp(self):
        self.doc = load_doc()

    def resolve(self, ref):
        self.assertTrue(ref.startswith("#/"), ref)
        node = self.doc
        for part in ref[2:].split("/"):
            self.assertIn(part, node, f"{ref} does not resolve")
            node = node[part]
        return node

    def refs(self, node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from self.refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from self.refs(v)

    def test_structure(self):
        d = self.doc
        self.assertTrue(d["openapi"].startswith("3.1"))
        self.assertTrue(d["info"]["title"] and d["info"]["version"])
        schemes = d["components"]["securitySchemes"]
        self.assertEqual((schemes["bearer"]["type"], schemes["bearer"]["scheme"]), ("http", "bearer"))
        self.assertEqual((schemes["cookie"]["type"], schemes["cookie"]["in"], schemes["cookie"]["name"]),
                         ("apiKey", "cookie", "postroom_session"))
        self.assertEqual(d["security"], [{"bearer": []}, {"cookie": []}])
        error = d["components"]["schemas"]["Error"]
        self.assertEqual(error["properties"]["error"]["required"], ["code", "message"])
        ids = set()
        for method, path, op in operations(d):
            with self.subTest(route=f"{method} {path}"):
                self.assertTrue(path.startswith("/"))
                self.assertTrue(op["summary"])
                self.assertNotIn(op["operationId"], ids)
                ids.add(op["operationId"])
                self.assertTrue(op["responses"])
                for status in op["responses"]:
                    self.assertTrue(status.isdigit() and 100 <= int(status) < 600, status)
                declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
                wanted = {s[1:-1] for s in path.split("/") if s.startswith("{")}
                self.assertEqual(declared, wanted)
                public = op["x-postroom-access"] == "public"
                self.assertEqual(op.get("security") == [], public)
                if not public:
                    self.assertIn("401", op["responses"])
                    self.assertIn("403", op["responses"])
        for ref in self.refs(d):
            self.resolve(ref)

    def test_same_routes_as_the_binary(self):
        served = {(r["method"], r["path"]): r["access"] for r in binary_routes()}
        documented = {(m, p): op["x-postroom-access"] for m, p, op in operations(self.doc)}
        self.assertEqual(sorted(set(served) - set(documented)), [], "served but not documented")
        self.assertEqual(sorted(set(documented) - set(served)), [], "documented but not served")
        self.assertEqual(documented, served)

    def test_generated(self):
        p = subprocess.run([os.path.join(ROOT, "scripts", "openapi"), "--check", "--bin", BIN],
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr.decode())


class TestServer(PostroomCase):
    """Each route asked three ways against a running serve."""

    def setUp(self):
        super().setUp()
        self.doc = load_doc()
        self.read = self.pr.token("read")
        self.admin = self.pr.token("admin")

    def ask(self, method, path, token=None):
        body = {} if method in ("POST", "PUT", "PATCH") else None
        return self.pr.http(method, concrete(path), body=body, token=token, raw=True)

    def test_no_credentials_401(self):
        for method, path, op in operations(self.doc):
            if op["x-postroom-access"] == "public":
                continue
            with self.subTest(route=f"{method} {path}"):
                status, _, body = self.ask(method, path)
                self.assertEqual(status, 401, body[:300])
                self.assertEqual(json.loads(body)["error"]["code"], "unauthorized")

    def test_read_token_may_not_change_anything(self):
        for method, path, op in operations(self.doc):
            if method == "GET" or op["x-postroom-access"] in ("public", "read"):
                continue
            with self.subTest(route=f"{method} {path}"):
                status, _, body = self.ask(method, path, token=self.read)
                self.assertEqual(status, 403, body[:300])
                self.assertEqual(json.loads(body)["error"]["code"], "forbidden")

    def test_changes_are_never_read_level(self):
        # A route that changes something at "read" level would let a read
        # token change it: none may (session sign-out is the one exception,
        # it ends only the caller's own session).
        for method, path, op in operations(self.doc):
            if method != "GET" and op["x-postroom-access"] == "read":
                self.assertEqual((method, path), ("DELETE", "/api/v1/session"))

    def test_every_get_answers_as_documented(self):
        for method, path, op in operations(self.doc):
            if method != "GET":
                continue
            with self.subTest(route=f"GET {path}"):
                status, headers, body = self.ask(method, path, token=self.admin)
                self.assertIn(str(status), op["responses"], f"{status} {body[:300]!r}")
                documented = op["responses"][str(status)]
                if "$ref" in documented:
                    documented = self.doc["components"]["responses"][documented["$ref"].split("/")[-1]]
                if "application/json" in documented.get("content", {}):
                    self.assertTrue(headers["Content-Type"].startswith("application/json"), headers["Content-Type"])
                    json.loads(body)


if __name__ == "__main__":
    unittest.main()
