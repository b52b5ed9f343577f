// lib.mjs - what every browser scenario of the web console uses: Debian's
// chromium through playwright-core, sign-in, axe-core, screenshots.
//
// Never a downloaded browser: Playwright's own download is not allowed (and
// not reachable) here; /usr/bin/chromium is Debian's.  The flags keep
// chromium off the network (background updates, sync, QUIC probes would be
// refused by the closed network, many at a time) and away from the GPU.
// Playwright gives each launch a fresh, empty --user-data-dir of its own in
// the temporary directory and removes it at close.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.POSTROOM_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// Impacts axe-core reports that fail a scenario (the issue: no serious or
// critical violations); moderate and minor ones are returned, not fatal.
const FATAL_IMPACTS = new Set(['serious', 'critical']);

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// A page in a new context (fresh cookies).  Script errors and failed
// requests the page makes are kept in page.problems for the scenario to
// report; width 360 is the phone width the console must work at.
export async function newPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({
    viewport: { width, height }, acceptDownloads: true, ignoreHTTPSErrors: true,
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console error: ${m.text()}`);
  });
  // Every API exchange, in order, with its answer and how long it took:
  // a scenario that fails reports the last of them, so a flaky step says
  // whether the call was made, what it answered, and when.
  page.netlog = [];
  const t0 = Date.now();
  const begun = new Map();
  const note = (req, outcome) => {
    const u = new URL(req.url());
    page.netlog.push(`+${begun.get(req) - t0}ms ${req.method()} ${u.pathname}${u.search} -> ${outcome}` +
      ` in ${Date.now() - begun.get(req)}ms`);
  };
  page.on('request', (req) => begun.set(req, Date.now()));
  page.on('requestfinished', async (req) => {
    const res = await req.response().catch(() => null);
    note(req, res ? res.status() : '?');
  });
  page.on('requestfailed', (req) => note(req, `failed (${req.failure() && req.failure().errorText})`));
  page.setDefaultTimeout(15000);
  return { context, page };
}

// Sign in through the console's form, as a person would: the user name and
// password fields found by their labels, the submit button by its name.
// Resolves once the server accepted the session (the page's POST
// /api/v1/session answered 200) and the form is gone.
export async function signIn(page, base, user, password) {
  await page.goto(base + '/');
  const name = page.getByLabel(/user ?name|^user$/i).first();
  await name.waitFor();
  await name.fill(user);
  const pw = page.getByLabel(/password/i).first();
  await pw.fill(password);
  // The sign-in form's own field, not any password input: the page shown
  // after sign-in may have password inputs of its own (Email Settings).
  const field = await pw.elementHandle();
  const answered = page.waitForResponse(
    (r) => r.url().endsWith('/api/v1/session') && r.request().method() === 'POST');
  await page.getByRole('button', { name: /sign in/i }).click();
  const res = await answered;
  if (res.status() !== 200) throw new Error(`sign-in refused: HTTP ${res.status()} ${await res.text()}`);
  await page.waitForFunction((el) => !el.isConnected, field);
  await field.dispose();
  return res.json();
}

// Sign in without the form (for scenarios about something else): the
// session cookie lands in the page's context.  Returns {user, admin, csrf}.
export async function signInApi(page, base, user, password) {
  const res = await page.context().request.post(base + '/api/v1/session', {
    data: { user, password },
  });
  if (res.status() !== 200) throw new Error(`sign-in refused: HTTP ${res.status()} ${await res.text()}`);
  return res.json();
}

// axe-core on the page as it is now.  Throws, naming each rule and the
// elements, when any violation is serious or critical; returns the count of
// the others.  The page's Content-Security-Policy forbids inline script, so
// axe is added by Playwright's isolated evaluation (addScriptTag with
// content would be blocked by the CSP; evaluate is not).
export async function axe(page, label) {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary),
    }));
  });
  const fatal = result.filter((v) => FATAL_IMPACTS.has(v.impact));
  if (fatal.length) {
    const text = fatal.map((v) => `${v.impact} ${v.id} (${v.help}):\n    ${v.nodes.join('\n    ')}`);
    throw new Error(`axe-core on ${label}: ${fatal.length} serious/critical violation(s):\n  ` +
                    text.join('\n  '));
  }
  return { page: label, minor: result.length };
}

// A full-page screenshot into dir; the path is printed (stderr) and returned.
export async function screenshot(page, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.png');
  await page.screenshot({ path: file, fullPage: true });
  process.stderr.write(`screenshot: ${file}\n`);
  return file;
}
