// outbox.js - the outbound queue: what was sent, what waits, what failed
// with the far server's last answer, and Retry (POST
// /api/v1/outbox/{id}/retry) or Cancel for each.  "Only failures" asks the
// server for ?failed=1; paging follows the document's next.
import { h, fill, api, query, status, errorText, go } from './app.js';
import { when } from './mailkit.js';

// The queue's states (store: queued, sending, sent, failed, cancelled) in words.
const STATES = { queued: 'Waiting to be sent', sending: 'Being sent', sent: 'Sent', failed: 'Failed', cancelled: 'Cancelled' };
const RETRYABLE = new Set(['failed', 'cancelled', 'queued']);

function stateText(o) {
  return o.state === 'queued' && o.attempts > 0 ? 'Waiting to retry' : STATES[o.state] || o.state;
}

export async function renderOutbox(main, params) {
  const failed = params.failed === '1';
  const before = params.before || '';
  const doc = await api('GET', '/api/v1/outbox' + query({ failed: failed ? 1 : '', before, limit: 50 }));
  const rows = (doc && doc.outbox) || [];
  const only = h('input', {
    type: 'checkbox', id: 'ob-failed', checked: failed,
    onchange: () => { go('#/mail/outbox' + query({ failed: only.checked ? 1 : '' })); },
  });
  fill(main, h('h1', {}, 'Outbox'),
    h('p', { class: 'mail-crumbs' }, h('a', { href: '#/mail' }, 'All mailboxes')),
    h('div', { class: 'mail-check' }, only, h('label', { for: 'ob-failed' }, 'Only failures')),
    rows.length ? table(rows) : h('p', {}, failed ? 'No failed messages.' : 'Nothing has been sent.'),
    doc.next || before ? h('nav', { class: 'mail-pager', 'aria-label': 'Pages' },
      before ? h('a', { href: '#/mail/outbox' + query({ failed: failed ? 1 : '' }) }, 'Newest') : null,
      doc.next ? h('a', { rel: 'next', href: '#/mail/outbox' + query({ failed: failed ? 1 : '', before: doc.next }) }, 'Older') : null) : null);
  status(`Outbox: ${rows.length} message${rows.length === 1 ? '' : 's'}${failed ? ' failed' : ''}.`);
}

function table(rows) {
  return h('table', { class: 'mail-list' },
    h('caption', { class: 'visually-hidden' }, 'Messages sent from postroom, newest first'),
    h('thead', {}, h('tr', {}, ['Subject', 'Project', 'State', 'Attempts', "Server's last answer", 'Next try', 'Action']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map(row)));
}

function row(o) {
  const state = h('span', { class: `mail-state mail-state-${o.state}` }, stateText(o));
  const actions = h('td', { 'data-label': 'Action' });
  const tr = h('tr', { 'data-id': o.id },
    h('td', { 'data-label': 'Subject' }, o.message ? h('a', { href: `#/mail/message/${o.message}` }, o.subject || '(no subject)') : o.subject || '(no subject)'),
    h('td', { 'data-label': 'Project' }, o.project || ''),
    h('td', { 'data-label': 'State' }, state),
    h('td', { 'data-label': 'Attempts' }, String(o.attempts ?? 0)),
    h('td', { 'data-label': "Server's last answer" }, o.last_reply || ''),
    h('td', { 'data-label': 'Next try' }, o.state === 'sent' || o.state === 'failed' || o.state === 'cancelled' ? '' : when(o.next_attempt_at)),
    actions);
  const label = o.subject || `message ${o.id}`;
  if (RETRYABLE.has(o.state)) actions.append(action(o, 'retry', 'Retry', `Retry “${label}”`, state));
  if (o.state === 'queued') actions.append(action(o, 'cancel', 'Cancel', `Cancel “${label}”`, state));
  return tr;
}

function action(o, verb, text, label, stateEl) {
  const b = h('button', {
    type: 'button', 'aria-label': label,
    onclick: async () => {
      b.disabled = true;
      try {
        await api('POST', `/api/v1/outbox/${o.id}/${verb}`);
        const fresh = await api('GET', `/api/v1/outbox/${o.id}`).catch(() => null);
        const now = fresh || { ...o, state: verb === 'retry' ? 'queued' : 'cancelled' };
        stateEl.className = `mail-state mail-state-${now.state}`;
        stateEl.textContent = stateText(now);
        status(verb === 'retry' ? `“${o.subject || o.id}” is queued again.` : `“${o.subject || o.id}” will not be sent.`, 'ok');
      } catch (e) {
        status(errorText(e), 'error');
        b.disabled = false;
      }
    },
  }, text);
  return b;
}
