"""The browser harness itself (tests/browser/lib.mjs, run.mjs, browser.py):
chromium starts headless from Debian's package, a screenshot is written,
and axe-core fails a page with a serious violation, so the console's
"no serious or critical violations" assertions cannot pass vacuously.
The pages are served by a loopback http.server of the test's own."""
import functools
import http.server
import os
import shutil
import tempfile
import threading
import unittest

from browser import run_scenario

CLEAN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Clean</title></head>
<body><main><h1>A clean page</h1><p>Text with enough contrast.</p>
<label for="q">Search</label><input id="q" type="search">
<script>document.title = "script ran";</script></main></body></html>"""

# An image without alt text and a button without a name: both "critical"
# in axe-core; grey on white at 1.6:1 is a "serious" contrast failure.
BROKEN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Broken</title></head>
<body><main><h1>A broken page</h1><img src="x.png"><button></button>
<p style="color:#ddd;background:#fff">faint text</p></main></body></html>"""


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        # As the console is served: no inline script.
        self.send_header("Content-Security-Policy", "script-src 'self'")
        super().end_headers()

    def log_message(self, *args):
        pass


class BrowserHarnessTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postroom-browser-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        for name, text in (("clean.html", CLEAN), ("broken.html", BROKEN)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        handler = functools.partial(Handler, directory=self.dir)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.addCleanup(self.httpd.server_close)
        self.addCleanup(self.httpd.shutdown)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def test_clean_page_passes_with_screenshot(self):
        doc = run_scenario(self, "harness_page", self.base, params={"path": "/clean.html", "name": "clean"})
        res = doc["result"]
        self.assertEqual(res["title"], "Clean", "the inline script ran despite the CSP")
        with open(res["shot"], "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertIn(res["shot"], doc["screenshots"])

    def test_serious_violations_fail(self):
        doc = run_scenario(self, "harness_page", self.base, params={"path": "/broken.html", "name": "broken"},
                           expect_ok=False)
        self.assertFalse(doc["ok"])
        for rule in ("image-alt", "button-name", "color-contrast"):
            self.assertIn(rule, doc["error"])
        self.assertTrue(any(s.endswith("FAILED.png") for s in doc["screenshots"]))


if __name__ == "__main__":
    unittest.main()
