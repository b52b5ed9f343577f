"""The web console's files as serve gives them (routes_console.c, the
arrays scripts/embed-console generated): every file in console/ byte for
byte, with its content type, the console's CSP and an ETag that answers
304; index.html at /; unknown files 404.  No sign-in needed: the files
are public, the API they call is not."""
import hashlib
import os
import unittest

from harness import ROOT, PostroomCase

CONSOLE = os.path.join(ROOT, "console")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}


def console_files():
    return sorted(n for n in os.listdir(CONSOLE) if not n.startswith(".") and not n.endswith("~"))


class ConsoleFiles(PostroomCase):
    seed = False

    def get(self, path, headers=None):
        return self.pr.http("GET", path, headers=headers, raw=True)

    def assert_console_headers(self, hdrs):
        self.assertEqual(hdrs["Content-Security-Policy"], CSP)
        self.assertEqual(hdrs["X-Content-Type-Options"], "nosniff")
        self.assertEqual(hdrs["Referrer-Policy"], "no-referrer")
        self.assertEqual(hdrs["Cache-Control"], "no-cache")

    def test_index_at_root(self):
        status, hdrs, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["Content-Type"], "text/html; charset=utf-8")
        self.assert_console_headers(hdrs)
        with open(os.path.join(CONSOLE, "index.html"), "rb") as f:
            self.assertEqual(body, f.read())
        # No inline script or style: the CSP would block them.
        self.assertNotIn(b"<script>", body)
        self.assertNotIn(b"style=", body)

    def test_every_file_byte_exact_with_its_type(self):
        names = console_files()
        self.assertIn("app.js", names)
        for name in names:
            with self.subTest(name=name):
                status, hdrs, body = self.get(f"/console/{name}")
                self.assertEqual(status, 200)
                with open(os.path.join(CONSOLE, name), "rb") as f:
                    self.assertEqual(body, f.read())
                ext = os.path.splitext(name)[1]
                if ext in TYPES:
                    self.assertEqual(hdrs["Content-Type"], TYPES[ext])
                self.assert_console_headers(hdrs)
                self.assertEqual(hdrs["ETag"], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')

    def test_etag_revalidates(self):
        status, hdrs, body = self.get("/console/app.js")
        etag = hdrs["ETag"]
        for inm in (etag, f'W/{etag}', f'"nope", {etag}', "*"):
            with self.subTest(inm=inm):
                status, hdrs2, body2 = self.get("/console/app.js", {"If-None-Match": inm})
                self.assertEqual(status, 304)
                self.assertEqual(body2, b"")
                self.assertEqual(hdrs2["ETag"], etag)
        status, _, body3 = self.get("/console/app.js", {"If-None-Match": '"0123"'})
        self.assertEqual((status, body3), (200, body))

    def test_unknown_files_are_404(self):
        for path in ("/console/nope.js", "/console/", "/console/..%2Findex.html", "/console/app.js/x",
                     "/index.html", "/console/%2e%2e"):
            with self.subTest(path=path):
                status, hdrs, _ = self.get(path)
                self.assertEqual(status, 404)

    def test_only_get(self):
        status, hdrs, _ = self.pr.http("POST", "/console/app.js", body=b"x")
        self.assertEqual(status, 405)



class EmbedScript(unittest.TestCase):
    """scripts/embed-console refuses what it could not serve right."""

    def run_embed(self, files):
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "console")
            os.makedirs(src)
            for name, data in files.items():
                path = os.path.join(src, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
            out = os.path.join(d, "out.c")
            p = subprocess.run([os.path.join(ROOT, "scripts", "embed-console"), src, out, out + ".d"],
                               capture_output=True, text=True, timeout=60)
            text = open(out).read() if p.returncode == 0 else ""
            deps = open(out + ".d").read() if p.returncode == 0 else ""
            return p, text, deps

    def test_embeds_flat_files_with_depfile(self):
        p, text, deps = self.run_embed({"index.html": b"<p>x</p>", "a.js": b"", ".hidden": b"x", "b.css~": b"x"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('"a.js", "text/javascript; charset=utf-8"', text)
        self.assertIn("console_nfiles = 2;", text)
        self.assertNotIn(".hidden", text)
        self.assertIn("index.html", deps)

    def test_refusals(self):
        for files, words in (({"index.html": b"", "sub/x.js": b""}, "subfolders"),
                             ({"index.html": b"", "x.exe": b""}, "no content type"),
                             ({"index.html": b"", "a b.js": b""}, "[A-Za-z0-9._-]"),
                             ({"app.js": b""}, "no index.html")):
            with self.subTest(files=list(files)):
                p, _, _ = self.run_embed(files)
                self.assertEqual(p.returncode, 1)
                self.assertIn(words, p.stderr)


if __name__ == "__main__":
    unittest.main()
