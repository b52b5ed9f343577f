// run.mjs - run one browser scenario and print its result as JSON.
//
//   node tests/browser/run.mjs scenarios/NAME.mjs
//
// The test that starts it (tests/integration/browser.py) passes a JSON
// object in $POSTROOM_SCENARIO: {base, user, password, artifacts, params}.
// The scenario module's default export gets a context t (below) and returns
// a JSON-able object; the last line of stdout is
//   {"ok": true, "result": {...}, "screenshots": [...], "problems": [...]}
// or {"ok": false, "error": "...", ...}.  Everything else goes to stderr.
// The whole run is bounded (POSTROOM_SCENARIO_TIMEOUT_MS, default 120 s).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as lib from './lib.mjs';

const spec = JSON.parse(process.env.POSTROOM_SCENARIO || '{}');
const limitMs = Number(process.env.POSTROOM_SCENARIO_TIMEOUT_MS || 120000);
const shots = [];
let browser = null;

function finish(doc, code) {
  process.stdout.write('\n' + JSON.stringify(doc) + '\n');
  process.exitCode = code;
}

async function main() {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node run.mjs SCENARIO.mjs');
  const scenario = (await import(pathToFileURL(path.resolve(file)).href)).default;
  browser = await lib.launch();
  const { context, page } = await lib.newPage(browser, spec.viewport || {});
  const t = {
    browser, context, page, lib,
    base: spec.base, user: spec.user, password: spec.password, params: spec.params || {},
    dir: spec.artifacts,
    shot: async (name, p = page) => { const f = await lib.screenshot(p, spec.artifacts, name); shots.push(f); return f; },
    axe: (label, p = page) => lib.axe(p, label),
    signIn: (p = page) => lib.signIn(p, spec.base, spec.user, spec.password),
    signInApi: (p = page) => lib.signInApi(p, spec.base, spec.user, spec.password),
    newPage: (opts) => lib.newPage(browser, opts),
    // A console page by its hash, once its h1 heading shows.
    open: async (hash, heading) => {
      await page.goto(spec.base + '/' + hash);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    },
  };
  try {
    const result = await scenario(t);
    finish({ ok: true, result: result ?? {}, screenshots: shots, problems: page.problems }, 0);
  } catch (e) {
    // A screenshot of the moment it failed helps more than the stack.
    try { await t.shot('FAILED'); } catch { /* the page may be gone */ }
    const statusLine = await page.locator('#status').innerText({ timeout: 1000 }).catch(() => null);
    finish({ ok: false, error: String(e && e.message || e), stack: e && e.stack,
             screenshots: shots, problems: page.problems, status: statusLine,
             requests: page.netlog.filter((l) => l.includes(' /api/')).slice(-25) }, 1);
  }
}

const timer = setTimeout(() => {
  finish({ ok: false, error: `scenario timed out after ${limitMs} ms`, screenshots: shots }, 1);
  process.exit(1);  // the browser process dies with us (Playwright's pipe closes)
}, limitMs);

main().catch((e) => finish({ ok: false, error: String(e && e.message || e), stack: e && e.stack }, 1))
  .finally(async () => {
    if (browser) await browser.close().catch(() => {});
    clearTimeout(timer);
  });
