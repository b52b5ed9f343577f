// app.js - the web console's frame: sign-in, navigation, the hash router,
// the API wrapper and the status line every page announces into.
//
// ---- How a page plugs in (the interface page modules use) ----
//
//   // console/things.js, loaded by a line in index.html:
//   //   <script type="module" src="/console/things.js"></script>
//   import { registerPage, h, fill, api, status, errorText } from './app.js';
//   registerPage('things', {
//     title: 'Things',        // the document's title while the page is shown
//     nav: 'Things',          // label in the navigation bar (omit: not listed)
//     order: 50,              // position in the navigation (lower first)
//     admin: false,           // true: listed for administrators only (the
//                             // server still checks every call)
//     styles: ['things.css'], // optional stylesheets in console/, added once
//     render(root, route) {   // may be async
//       fill(root, h('h1', {}, 'Things'), ...);
//     },
//   });
//
// Addresses are hashes: #/things/a/b?x=1 shows page "things" with
// route = {name: 'things', parts: ['a', 'b'], query: URLSearchParams('x=1'),
// session: {user, admin, csrf}}.  render gets an empty element of its own
// (a new one at every navigation, so a slow render that finishes after the
// user moved on writes into a detached element, never over the new page);
// the page writes its own <h1>.  After render, focus moves to the first h1
// so screen readers announce the new page.  An error thrown by render is
// shown in the page and announced.  Links between pages are plain
// <a href="#/things/a">; go('#/things/a') navigates from code.
//
// The API: api(method, path, body?) -> the parsed JSON document (null for an
// empty answer).  Non-GET calls carry the session's X-CSRF-Token.  A non-2xx
// answer throws ApiError {status, code, message, fix} built from the
// server's {"error": {"code", "message"}}; a 401 also brings back the
// sign-in form (the session ended).  errorText(e) is what to show a person.
// status(text, kind) writes into the one polite live region (kind: 'info',
// 'ok', 'error'; the text says "OK"/"Error" too, colour is never the only
// signal).
//
// Everything from the server or from mail is untrusted: build DOM with h()
// (text nodes and attributes, never innerHTML).  The CSP forbids inline
// script and style attributes: use classes from style.css or your own file.

const pages = new Map();
let session = null;          // {user, admin, csrf} once signed in
let started = false;
let renderSeq = 0;

export class ApiError extends Error {
  constructor(status, doc) {
    const e = (doc && doc.error) || {};
    super(e.message || `the server answered HTTP ${status}`);
    this.status = status;
    this.code = e.code || `http_${status}`;
    this.fix = e.fix || '';
  }
}

// ---- DOM helpers ----

// h('a', {href: '#/x', class: 'btn'}, 'text', node, [more]): an element.
// Attributes whose value is null/undefined/false are left out, true gives
// an empty attribute; on<event> keys with a function are listeners.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' && 'checked' in el) el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replace everything in el with children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A unique id for label/for pairs.
let idSeq = 0;
export function uid(prefix = 'f') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

// A query string from an object, leaving out empty values: '?a=1&b=2' or ''.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- status line ----

const STATUS_PREFIX = { ok: 'OK: ', error: 'Error: ', info: '' };

export function status(text, kind = 'info') {
  const el = document.getElementById('status');
  if (!el) return;
  el.className = `status status-${kind}`;
  // Emptied first so the same message twice is announced twice; meanwhile
  // it holds the height it had (a message of two lines), so the page
  // under it does not jump up and back (style.css, .status).
  el.style.minHeight = `${el.offsetHeight}px`;
  el.textContent = '';
  const prefix = STATUS_PREFIX[kind] ?? '';
  window.setTimeout(() => {
    el.textContent = text ? prefix + text : '';
    el.style.minHeight = '';
  }, 30);
}

// "check the name" -> "Check the name" (a fix follows a full stop).
export function sentence(text) {
  const t = String(text || '');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// An error as a person should read it: what went wrong, then what to do.
export function errorText(e) {
  if (e instanceof ApiError) {
    return e.fix && e.fix !== 'nothing' ? `${e.message}. ${sentence(e.fix)}` : e.message;
  }
  if (e instanceof TypeError) return `the server could not be reached (${e.message})`;
  return String((e && e.message) || e);
}

// A visible error paragraph (for inside a page).
export function errorBox(e) {
  return h('p', { class: 'error-box', role: 'alert' }, 'Error: ', errorText(e));
}

// ---- the API ----

export function currentSession() {
  return session;
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD' && session && session.csrf) {
    headers['X-CSRF-Token'] = session.csrf;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch { doc = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, doc);
    if (res.status === 401 && path !== '/api/v1/session' && started) signedOut(err.message);
    throw err;
  }
  return doc;
}

// ---- pages and the router ----

export function registerPage(name, page) {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`bad page name ${name}`);
  if (typeof page.render !== 'function') throw new Error(`page ${name} has no render()`);
  pages.set(name, { order: 100, admin: false, ...page, name });
  for (const file of page.styles || []) addStyle(file);
  if (started) { drawNav(); route(); }
}

function addStyle(file) {
  if (!/^[A-Za-z0-9_.-]+\.css$/.test(file)) return;
  const href = `/console/${file}`;
  if (document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) return;
  document.head.append(h('link', { rel: 'stylesheet', href }));
}

export function go(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const parts = path.split('/').filter((p) => p !== '').map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  return { name: parts.shift() || '', parts, query: new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1)) };
}

function visible() {
  return [...pages.values()]
    .filter((p) => p.nav && (!p.admin || (session && session.admin)))
    .sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

function drawNav() {
  const list = document.getElementById('nav-list');
  if (!list) return;
  const current = parseHash().name;
  fill(list, visible().map((p) => h('li', {},
    h('a', { href: `#/${p.name}`, 'aria-current': p.name === current ? 'page' : null }, p.nav))));
}

// keepStatus: leave the status line as it is (sign-in's "Signed in");
// otherwise a new page starts with an empty one.
async function route(keepStatus) {
  if (!session) return;
  if (keepStatus !== true) status('');
  const r = parseHash();
  if (!r.name) {
    const first = visible()[0];
    if (first) { window.location.replace(`#/${first.name}`); return; }
  }
  drawNav();
  const main = document.getElementById('main');
  const root = h('div', { class: 'page' });
  fill(main, root);
  const seq = ++renderSeq;
  const page = pages.get(r.name);
  if (!page) {
    document.title = 'Not found - postroom';
    fill(root, h('h1', {}, 'No such page'),
      h('p', {}, 'There is no page called "', r.name, '". Choose one from the navigation.'));
    focusHeading(root);
    return;
  }
  document.title = `${page.title || page.nav || page.name} - postroom`;
  try {
    await page.render(root, { ...r, session });
  } catch (e) {
    if (seq !== renderSeq) return;
    root.append(errorBox(e));
    status(errorText(e), 'error');
  }
  if (seq === renderSeq) focusHeading(root);
}

function focusHeading(root) {
  const h1 = root.querySelector('h1');
  if (!h1) return;
  h1.setAttribute('tabindex', '-1');
  h1.focus({ preventScroll: false });
}

// ---- sign-in and sign-out ----

function showFrame(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  if (signedIn) {
    fill(document.getElementById('who-name'), session.user, session.admin ? ' (administrator)' : '');
  }
}

// The server ended this session (your own password changed): back to the
// sign-in form (the caller says why on the status line).
export function sessionEnded() {
  signedOut('');
}

function signedOut(message) {
  session = null;
  renderSeq += 1;
  showFrame(false);
  showSignIn(message);
}

function showSignIn(message) {
  const userId = uid('signin-user');
  const passId = uid('signin-password');
  const err = h('p', { class: 'error-box', role: 'alert', hidden: !message }, message ? `Error: ${message}` : '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin', novalidate: true },
    h('h1', {}, 'Sign in to postroom'),
    err,
    h('div', { class: 'field' },
      h('label', { for: userId }, 'User name'),
      h('input', { id: userId, name: 'user', type: 'text', autocomplete: 'username', required: true,
        autocapitalize: 'none', spellcheck: 'false' })),
    h('div', { class: 'field' },
      h('label', { for: passId }, 'Password'),
      h('input', { id: passId, name: 'password', type: 'password', autocomplete: 'current-password',
        required: true })),
    h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = form.elements.user.value.trim();
    const password = form.elements.password.value;
    if (!user || !password) {
      err.hidden = false;
      err.textContent = 'Error: enter your user name and your password.';
      (user ? form.elements.password : form.elements.user).focus();
      return;
    }
    button.disabled = true;
    status('Signing in…');
    try {
      session = await api('POST', '/api/v1/session', { user, password });
      showFrame(true);
      status(`Signed in as ${session.user}.`, 'ok');
      route(true);
    } catch (e) {
      session = null;
      err.hidden = false;
      err.textContent = `Error: ${errorText(e)}`;
      status(errorText(e), 'error');
      button.disabled = false;
      form.elements.password.value = '';
      form.elements.password.focus();
    }
  });
  document.title = 'Sign in - postroom';
  fill(document.getElementById('main'), form);
  form.elements.user.focus();
}

async function signOut() {
  try {
    await api('DELETE', '/api/v1/session');
  } catch (e) {
    // Signed out on our side anyway; the cookie expires on its own.
    if (!(e instanceof ApiError && e.status === 401)) status(errorText(e), 'error');
  }
  signedOut('');
  status('Signed out.', 'ok');
}

async function start() {
  started = true;
  document.getElementById('signout').addEventListener('click', signOut);
  document.getElementById('skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    document.getElementById('main').focus();
  });
  window.addEventListener('hashchange', route);
  try {
    session = await api('GET', '/api/v1/session');
  } catch (e) {
    session = null;
    showFrame(false);
    showSignIn(e instanceof ApiError && e.status === 401 ? '' : errorText(e));
    return;
  }
  showFrame(true);
  route();
}

// Start once every page module listed in index.html has registered.
// Module scripts run, in order, just before DOMContentLoaded, but
// readyState is already 'interactive' then: starting at once (as this did)
// let a quick session answer route before the later modules registered,
// and each registration then drew the current page again under the
// person's hands.  load is the fallback should DOMContentLoaded be past.
function startOnce() {
  if (!started) start();
}
if (document.readyState === 'complete') startOnce();
else {
  document.addEventListener('DOMContentLoaded', startOnce);
  window.addEventListener('load', startOnce);
}
