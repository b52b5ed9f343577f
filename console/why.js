// why.js - "Why didn't my email come through?": search the intake log and
// explain each attempt in plain words, with what to do about it.
//
//   #/why?q=ADDRESS|<MESSAGE-ID>|LOG-ID[&as=sender|recipient][&since=&until=&verdict=&before=]
//
// A search text alone asks GET /api/v1/why?q= (every attempt where that
// address was the sender or a recipient, or that Message-ID, or that log
// row); times and an outcome then narrow the page shown.  An address
// searched as the sender or as a recipient, or times and an outcome alone,
// ask GET /api/v1/log?sender=|recipient=&since=&until=&verdict=, which
// filters in the store.  Both page with the document's next.
import { registerPage, h, fill, api, query, status, errorBox, errorText, go } from './app.js';
import { when, size } from './mailkit.js';

const VERDICTS = {
  accepted: { label: 'Delivered', text: 'postroom accepted and filed it' },
  rejected: { label: 'Refused', text: 'postroom refused it; the sender was told' },
  deferred: { label: 'Delayed', text: 'postroom asked the sending server to try again later' },
};

async function renderWhy(main, route) {
  const params = Object.fromEntries(route.query);
  const f = { q: params.q || '', as: params.as || '', since: params.since || '', until: params.until || '', verdict: params.verdict || '' };
  const results = h('section', { 'aria-labelledby': 'why-res-h', class: 'why-results' });
  fill(main, h('h1', {}, "Why didn't my email come through?"),
    h('p', {}, 'Every message sent to postroom is written to the intake log, accepted or not. ',
      'Search by the sender’s or a recipient’s address, the Message-ID, or a time, to see what happened and what to do.'),
    form(f), results);
  if (!f.q && !f.since && !f.until && !f.verdict) return status('Enter an address, a Message-ID or a time.');
  try {
    await showResults(results, f, params.before || '');
  } catch (e) {
    fill(results, h('h2', { id: 'why-res-h' }, 'Results'), errorBox(e));
    status(errorText(e), 'error');
  }
}

function form(f) {
  const q = h('input', { id: 'why-q', name: 'q', type: 'search', value: f.q, autocomplete: 'off', 'aria-describedby': 'why-q-hint' });
  const since = h('input', { id: 'why-since', name: 'since', type: 'datetime-local', value: f.since });
  const until = h('input', { id: 'why-until', name: 'until', type: 'datetime-local', value: f.until });
  const as = h('select', { id: 'why-as', name: 'as' },
    [['', 'Anything'], ['sender', 'The sender'], ['recipient', 'A recipient']]
      .map(([v, t]) => h('option', { value: v, selected: v === f.as }, t)));
  const verdict = h('select', { id: 'why-verdict', name: 'verdict' },
    [['', 'Any outcome'], ['rejected', 'Refused'], ['deferred', 'Delayed'], ['accepted', 'Delivered']]
      .map(([v, t]) => h('option', { value: v, selected: v === f.verdict }, t)));
  return h('form', {
    role: 'search', class: 'why-form', 'aria-label': 'Search the intake log',
    onsubmit: (ev) => {
      ev.preventDefault();
      go('#/why' + query({ q: q.value.trim(), as: as.value, since: since.value, until: until.value, verdict: verdict.value }));
    },
  },
  h('div', { class: 'mail-field why-q' }, h('label', { for: 'why-q' }, 'Address, Message-ID or log number'),
    h('span', { id: 'why-q-hint', class: 'hint' }, 'e.g. someone@example.org or <1234@mail.example.org>'), q),
  h('div', { class: 'mail-field' }, h('label', { for: 'why-as' }, 'The address is'), as),
  h('div', { class: 'mail-field' }, h('label', { for: 'why-since' }, 'From (time)'), since),
  h('div', { class: 'mail-field' }, h('label', { for: 'why-until' }, 'Until (time)'), until),
  h('div', { class: 'mail-field' }, h('label', { for: 'why-verdict' }, 'Outcome'), verdict),
  h('button', { type: 'submit', class: 'primary' }, 'Search'));
}

// datetime-local ("2026-12-04T10:30", local time) -> ISO UTC for the API.
function isoOf(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function showResults(results, f, before) {
  const since = isoOf(f.since);
  const until = isoOf(f.until);
  let attempts; let next;
  if (f.q && !f.as) {
    const doc = await api('GET', '/api/v1/why' + query({ q: f.q, before, limit: 50 }));
    attempts = (doc.attempts || []).filter((a) => inRange(a, since, until, f.verdict));
    next = doc.next;
  } else {
    const doc = await api('GET', '/api/v1/log' + query({
      sender: f.as === 'sender' ? f.q : '', recipient: f.as === 'recipient' ? f.q : '',
      since, until, verdict: f.verdict, before, limit: 50,
    }));
    attempts = doc.log || [];
    next = doc.next;
  }
  const title = !f.q ? 'Attempts' : f.as ? `Attempts with “${f.q}” as the ${f.as}` : `Attempts for “${f.q}”`;
  fill(results,
    h('h2', { id: 'why-res-h' }, title),
    attempts.length ? h('ol', { class: 'why-list' }, attempts.map(attempt))
      : h('p', {}, before ? 'No more attempts on this page.' : 'Nothing found: no attempt matches. Check the spelling, or widen the time.'),
    next || before ? h('nav', { class: 'mail-pager', 'aria-label': 'Pages' },
      before ? h('a', { href: '#/why' + query({ ...f }) }, 'Newest') : null,
      next ? h('a', { rel: 'next', href: '#/why' + query({ ...f, before: next }) }, 'Older attempts') : null) : null);
  const refused = attempts.filter((a) => a.verdict !== 'accepted').length;
  status(`${attempts.length} attempt${attempts.length === 1 ? '' : 's'} found, ${refused} not delivered.`);
}

function inRange(a, since, until, verdict) {
  if (verdict && a.verdict !== verdict) return false;
  if (since && a.at < since) return false;
  if (until && a.at > until) return false;
  return true;
}

// One attempt: the verdict in words, who and when, what happened, what to do.
function attempt(a) {
  const v = VERDICTS[a.verdict] || { label: a.verdict, text: '' };
  const reply = a.smtp ? `${a.smtp}${a.dsn ? ' ' + a.dsn : ''}` : '';
  const filed = a.filed_in && a.filed_in.length ? a.filed_in : null;
  return h('li', { class: `why-attempt why-${a.verdict}`, 'data-log-id': a.id },
    h('h3', {}, h('span', { class: `why-verdict why-verdict-${a.verdict}` }, v.label), ' ', when(a.at),
      h('span', { class: 'mail-muted' }, ` · log ${a.id}`)),
    h('dl', { class: 'why-facts' },
      h('dt', {}, 'From'), h('dd', {}, a.mail_from || '(empty sender)'),
      h('dt', {}, 'To'), h('dd', {}, (a.rcpts || []).join(', ') || '(no recipient accepted)'),
      a.message_id_hdr ? [h('dt', {}, 'Message-ID'), h('dd', {}, `<${a.message_id_hdr}>`)] : null,
      h('dt', {}, 'Sending server'), h('dd', {}, `${a.peer_ip || ''}${a.helo ? ` (${a.helo})` : ''}, by ${a.source || 'smtp'}${a.size ? ', ' + size(a.size) : ''}`),
      h('dt', {}, 'What happened'), h('dd', {}, `${v.text ? v.text + ': ' : ''}${a.summary || a.reason}`,
        a.detail && a.detail !== a.summary ? h('span', { class: 'why-detail' }, ` (${a.detail})`) : null),
      h('dt', {}, 'What to do'), h('dd', { class: 'why-fix' }, a.fix || 'nothing'),
      reply ? [h('dt', {}, 'Answer given'), h('dd', {}, `${reply} (reason ${a.reason})`)] : null,
      a.message_id ? [h('dt', {}, 'Stored as'), h('dd', {}, h('a', { href: `#/mail/message/${a.message_id}` }, `message ${a.message_id}`),
        filed ? ` in ${[].concat(filed).join(', ')}` : null)] : null,
      (a.invalid_recipients || []).length ? [h('dt', {}, 'Not valid addresses'), h('dd', {}, a.invalid_recipients.join(', '))] : null));
}

registerPage('why', {
  title: "Why didn't my email come through?", nav: 'Why not delivered?', order: 30,
  styles: ['mail.css'], render: renderWhy,
});
