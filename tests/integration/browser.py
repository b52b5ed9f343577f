"""Browser tests of the web console: run one node scenario
(tests/browser/scenarios/NAME.mjs, through tests/browser/run.mjs) per test
case against a real `serve`, and hand back its JSON result.

The scenario drives Debian's chromium with playwright-core (never a
downloaded browser) and runs axe-core; screenshots go to
$POSTROOM_ARTIFACTS/browser/<test> (else tests/browser/artifacts/<test>),
and the directory is printed.  Tests skip, saying why, only when node or
chromium is missing; missing npm packages are a failure (run
scripts/install-deps, which runs `npm ci` in tests/browser).
"""
import json
import os
import shutil
import signal
import subprocess

from harness import ROOT, PostroomCase

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = os.environ.get("POSTROOM_CHROMIUM", "/usr/bin/chromium")
# A scenario's own bound (run.mjs) and ours, a little longer, in case node
# itself hangs.
SCENARIO_TIMEOUT = 120


def artifacts_dir(test_id):
    base = os.environ.get("POSTROOM_ARTIFACTS")
    base = os.path.join(base, "browser") if base else os.path.join(BROWSER_DIR, "artifacts")
    return os.path.join(base, test_id.replace("__main__.", ""))


def browser_or_skip(testcase):
    """Skip when node or chromium is missing; fail when the npm packages are."""
    node = shutil.which("node")
    if not node:
        testcase.skipTest("node is missing: browser tests need Node.js (scripts/install-deps)")
    if not os.path.exists(CHROMIUM):
        testcase.skipTest(f"{CHROMIUM} is missing: browser tests need Debian's chromium (scripts/install-deps)")
    for pkg in ("playwright-core", "axe-core"):
        if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", pkg)):
            raise AssertionError(f"tests/browser/node_modules/{pkg} is missing: run scripts/install-deps "
                                 "(it runs `npm ci` in tests/browser)")
    return node


def run_scenario(testcase, name, base, user=None, password=None, params=None, viewport=None,
                 expect_ok=True):
    """Run scenarios/NAME.mjs; returns its result document ({"ok", "result",
    "screenshots", "problems"}), failing the test when the scenario failed
    (unless expect_ok is False).  Prints where the screenshots are."""
    node = browser_or_skip(testcase)
    out_dir = artifacts_dir(testcase.id())
    os.makedirs(out_dir, exist_ok=True)
    spec = {"base": base, "user": user, "password": password, "artifacts": out_dir,
            "params": params or {}}
    if viewport:
        spec["viewport"] = viewport
    env = dict(os.environ, POSTROOM_SCENARIO=json.dumps(spec),
               POSTROOM_SCENARIO_TIMEOUT_MS=str(SCENARIO_TIMEOUT * 1000))
    # Our own sanitizer settings mean nothing to node and chromium.
    for k in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "LD_PRELOAD"):
        env.pop(k, None)
    script = os.path.join(BROWSER_DIR, "scenarios", name + ".mjs")
    proc = subprocess.Popen([node, os.path.join(BROWSER_DIR, "run.mjs"), script], cwd=BROWSER_DIR,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=SCENARIO_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        # node and the chromium it started share the session we made.
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    print(f"\n  browser artifacts ({name}): {out_dir}")
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        raise AssertionError(f"scenario {name} printed no result (exit {proc.returncode})\n"
                             f"stdout: {out[-2000:]}\nstderr: {err[-4000:]}")
    doc = json.loads(lines[-1])
    if expect_ok and not doc.get("ok"):
        raise AssertionError(f"scenario {name} failed: {doc.get('error')}\n"
                             f"problems: {doc.get('problems')}\n"
                             f"status line: {doc.get('status')!r}\n"
                             "last API calls:\n  " + "\n  ".join(doc.get("requests") or []) +
                             f"\nstderr: {err[-3000:]}")
    return doc


_sign_in = None


def sign_in_built():
    """Console sign-in (`user passwd`, /api/v1/session) is another part of
    issue 14, landing separately; until it is in the binary no console test
    can sign in.  Asked once per run."""
    global _sign_in
    if _sign_in is None:
        from harness import BIN
        p = subprocess.run([BIN, "user", "passwd", "--help"], capture_output=True, timeout=60)
        _sign_in = p.returncode == 0
    return _sign_in


class ConsoleCase(PostroomCase):
    """A started, seeded postroom with its HTTP server, and a console user
    (alice, an administrator, with a password) to sign in as."""
    user = "alice"
    password = "correct horse battery staple"
    admin = True

    def setUp(self):
        browser_or_skip(self)
        if not sign_in_built():
            self.skipTest("console sign-in (user passwd, POST /api/v1/session) is not in this build")
        super().setUp()
        self.base = f"http://127.0.0.1:{self.pr.http_port}"
        self.set_password(self.user, self.password)
        if self.admin:
            self.pr.cli("user", "admin", self.user, "on")

    def set_password(self, user, password):
        self.pr.cli("user", "passwd", user, "--password-stdin", input=(password + "\n").encode())

    def scenario(self, name, params=None, viewport=None, user=None, password=None):
        return run_scenario(self, name, self.base, user or self.user, password or self.password,
                            params=params, viewport=viewport)
