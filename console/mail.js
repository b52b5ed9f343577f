// mail.js - the Mailboxes pages: the list of mailboxes, one mailbox's
// messages (a project's with its threads, Unassigned with "File into
// project", Fallback, a user's own), paging and search.  A message opens in
// message.js, the outbox in outbox.js.
//
// Addresses (the console's hash routes):
//   #/mail                         the mailboxes this user may read
//   #/mail/project/ID[?q=&before=] a project's threads and messages
//   #/mail/unassigned, #/mail/fallback, #/mail/user/NAME
//   #/mail/message/ID, #/mail/compose/PROJECT[?reply=ID], #/mail/outbox
// Every list is one page of GET /api/v1/messages, newest first; "Older
// messages" follows the document's next (the API's cursor), never an offset.
import { registerPage, h, fill, api, query, status, errorText, errorBox, go } from './app.js';
import { when } from './mailkit.js';
import { renderMessage, renderCompose } from './message.js';
import { renderOutbox } from './outbox.js';

const PAGE = 50;

// route.parts are the path segments after "mail"; the query becomes a
// plain object.  A page that could not be read still has its heading, the
// error and the way back.
async function renderMail(main, route) {
  try {
    await renderMailPage(main, route);
  } catch (e) {
    fill(main, h('h1', {}, 'Mailboxes'), errorBox(e), h('p', {}, h('a', { href: '#/mail' }, 'All mailboxes')));
    status(errorText(e), 'error');
  }
}

async function renderMailPage(main, route) {
  const [kind, id] = route.parts;
  const params = Object.fromEntries(route.query);
  if (!kind) return renderIndex(main, route.session);
  if (kind === 'message') return renderMessage(main, id, params);
  if (kind === 'compose') return renderCompose(main, id, params, route.session);
  if (kind === 'outbox') return renderOutbox(main, params);
  const box = mailbox(kind, id);
  if (!box) return fill(main, h('h1', {}, 'No such mailbox'), h('p', {}, h('a', { href: '#/mail' }, 'All mailboxes')));
  return renderBox(main, box, params);
}

registerPage('mail', {
  title: 'Mailboxes', nav: 'Mailboxes', order: 20, styles: ['mail.css'], render: renderMail,
});

// What a mailbox is called, and how GET /api/v1/messages selects it.
function mailbox(kind, id) {
  switch (kind) {
  case 'project': return id && { kind, id, title: `Project ${id}`, filter: { project: id } };
  case 'unassigned': return { kind, title: 'Unassigned', filter: { mailbox: 'unassigned' } };
  case 'fallback': return { kind, title: 'Fallback', filter: { mailbox: 'fallback' } };
  case 'user': return id && { kind, id, title: `Mailbox of ${id}`, filter: { user: id } };
  default: return null;
  }
}

export function boxHref(kind, id, params = {}) {
  return '#/mail/' + kind + (id ? '/' + encodeURIComponent(id) : '') + query(params);
}

// ---- the list of mailboxes ----
async function renderIndex(main, who) {
  const [projects, users] = await Promise.all([
    api('GET', '/api/v1/projects'),
    who.admin ? api('GET', '/api/v1/users').catch(() => null) : null,
  ]);
  const others = ((users && users.users) || []).filter((u) => u.name !== who.user);
  const list = (projects && projects.projects) || [];
  fill(main,
    h('h1', {}, 'Mailboxes'),
    h('section', { 'aria-labelledby': 'mb-projects' },
      h('h2', { id: 'mb-projects' }, 'Projects'),
      list.length
        ? h('ul', { class: 'mail-boxes' }, list.map((p) => h('li', {},
          h('a', { href: boxHref('project', p.id) }, `${p.id} — ${p.name || ''}`))))
        : h('p', {}, 'No projects you may read.')),
    h('section', { 'aria-labelledby': 'mb-other' },
      h('h2', { id: 'mb-other' }, 'Other mailboxes'),
      h('ul', { class: 'mail-boxes' },
        h('li', {}, h('a', { href: boxHref('user', who.user) }, 'My mailbox')),
        who.admin && h('li', {}, h('a', { href: boxHref('unassigned') }, 'Unassigned')),
        who.admin && h('li', {}, h('a', { href: boxHref('fallback') }, 'Fallback')),
        h('li', {}, h('a', { href: '#/mail/outbox' }, 'Outbox')),
        h('li', {}, h('a', { href: '#/why' }, "Why didn't my email come through?")))),
    others.length ? h('section', { 'aria-labelledby': 'mb-users' },
      h('h2', { id: 'mb-users' }, "Users' mailboxes"),
      h('ul', { class: 'mail-boxes' }, others.map((u) => h('li', {},
        h('a', { href: boxHref('user', u.name) }, u.display ? `${u.display} (${u.name})` : u.name))))) : null);
  status(`${list.length} project${list.length === 1 ? '' : 's'} you may read.`);
}

// ---- one mailbox ----
async function renderBox(main, box, params) {
  const q = params.q || '';
  const before = params.before || '';
  const filter = { ...box.filter, q, before, limit: PAGE };
  const [page, projects, threads] = await Promise.all([
    api('GET', '/api/v1/messages' + query(filter)),
    box.kind !== 'user' ? api('GET', '/api/v1/projects').catch(() => null) : null,
    box.kind === 'project' && !q && !before
      ? api('GET', `/api/v1/projects/${encodeURIComponent(box.id)}/threads${query({ limit: 20 })}`).catch(() => null)
      : null,
  ]);
  const messages = (page && page.messages) || [];
  const named = box.kind === 'project' && projects && (projects.projects || []).find((p) => p.id === box.id);
  if (named && named.name) box.title = `Project ${box.id}: ${named.name}`;
  fill(main,
    h('h1', {}, box.title),
    h('p', { class: 'mail-crumbs' }, h('a', { href: '#/mail' }, 'All mailboxes'),
      box.kind === 'project' && [' · ', h('a', { href: `#/mail/compose/${encodeURIComponent(box.id)}` }, 'Write a message')]),
    searchForm(box, q),
    threads && threadList(threads),
    h('section', { 'aria-labelledby': 'mail-list-h' },
      h('h2', { id: 'mail-list-h' }, q ? `Messages matching “${q}”` : 'Messages'),
      messages.length
        ? messageTable(messages, box, box.kind !== 'project' && projects && projects.projects)
        : h('p', {}, q ? 'No message matches.' : 'No messages.'),
      pager(box, q, before, page && page.next)));
  status(`${box.title}: ${messages.length} message${messages.length === 1 ? '' : 's'}${page && page.next ? ', more on the next page' : ''}`);
}

function searchForm(box, q) {
  const input = h('input', { type: 'search', id: 'mail-q', name: 'q', value: q, autocomplete: 'off' });
  return h('form', {
    role: 'search', class: 'mail-search', 'aria-label': `Search ${box.title}`,
    onsubmit: (ev) => {
      ev.preventDefault();
      go(boxHref(box.kind, box.id, { q: input.value.trim() }));
    },
  },
  h('label', { for: 'mail-q' }, 'Search subject, addresses and text'),
  input, h('button', { type: 'submit', class: 'primary' }, 'Search'));
}

// The project's threads (GET /api/v1/projects/{id}/threads: {"threads":
// [{id, subject, messages, last_message, last_at, participants}]}), newest
// activity first; each opens its latest message.
function threadList(doc) {
  const threads = doc.threads || [];
  if (!threads.length) return null;
  return h('section', { 'aria-labelledby': 'mail-threads-h' },
    h('h2', { id: 'mail-threads-h' }, 'Threads'),
    h('ul', { class: 'mail-threads' }, threads.map((t) => h('li', {},
      h('a', { href: `#/mail/message/${t.last_message}` }, t.subject || '(no subject)'),
      h('span', { class: 'mail-muted' }, ` · ${t.messages} message${t.messages === 1 ? '' : 's'} · `),
      when(t.last_at),
      (t.participants || []).length ? h('span', { class: 'mail-muted' }, ` · ${t.participants.slice(0, 4).join(', ')}${t.participants.length > 4 ? ', …' : ''}`) : null))));
}

function messageTable(messages, box, projects) {
  const filing = box.kind === 'unassigned' || box.kind === 'fallback';
  return h('table', { class: 'mail-list' },
    h('caption', { class: 'visually-hidden' }, `${box.title}, newest first`),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'From'), h('th', { scope: 'col' }, 'Subject'),
      h('th', { scope: 'col' }, 'Received'), filing && projects ? h('th', { scope: 'col' }, 'File into project') : null)),
    h('tbody', {}, messages.map((m) => h('tr', { 'data-id': m.id },
      h('td', { 'data-label': 'From' }, m.from || '(unknown)'),
      h('td', { 'data-label': 'Subject' },
        h('a', { href: `#/mail/message/${m.id}` }, m.subject || '(no subject)'),
        m.unreadable ? h('span', { class: 'mail-flag' }, ' (could not be read)') : null),
      h('td', { 'data-label': 'Received' }, when(m.received_at)),
      filing && projects ? h('td', { 'data-label': 'File into project' }, fileForm(m, projects)) : null))));
}

// "File into project": POST /api/v1/messages/{id}/move {"project"}; the
// row leaves the list once the server has moved it.
export function fileForm(m, projects, onDone) {
  const sel = h('select', { id: `file-${m.id}`, name: 'project', required: true },
    h('option', { value: '' }, 'Choose a project'),
    projects.map((p) => h('option', { value: p.id }, `${p.id} — ${p.name || ''}`)));
  const button = h('button', { type: 'submit', class: 'primary' }, 'File');
  return h('form', {
    class: 'mail-file',
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (!sel.value) { status('Choose a project first.', 'error'); sel.focus(); return; }
      button.disabled = true;
      try {
        await api('POST', `/api/v1/messages/${m.id}/move`, { project: sel.value });
        status(`Message “${m.subject || m.id}” filed into project ${sel.value}.`, 'ok');
        if (onDone) onDone(sel.value);
        else {
          const row = ev.target.closest('tr');
          if (row) row.remove();
        }
      } catch (e) {
        status(errorText(e), 'error');
        button.disabled = false;
      }
    },
  },
  h('label', { for: `file-${m.id}`, class: 'visually-hidden' }, `Project for “${m.subject || 'message ' + m.id}”`),
  sel, button);
}

function pager(box, q, before, next) {
  if (!next && !before) return null;
  return h('nav', { class: 'mail-pager', 'aria-label': 'Pages' },
    before ? h('a', { href: boxHref(box.kind, box.id, { q }) }, 'Newest messages') : null,
    next ? h('a', { href: boxHref(box.kind, box.id, { q, before: next }), rel: 'next' }, 'Older messages') : null);
}
