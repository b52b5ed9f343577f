// message.js - one message (headers, text, the HTML part, attachments,
// reply, file into a project) and the compose form of a project.
//
// The HTML part is never put into the console's own page: it is shown in an
// <iframe sandbox> (no allow-scripts, no allow-same-origin: a script in it
// cannot run, and even if it could it would have an opaque origin with no
// access to the console or its cookies) whose src is
// /api/v1/messages/{id}/html, which the server sanitises and serves with a
// Content-Security-Policy that forbids script and remote images.  "Show
// remote images" loads ?remote_images=1 (https images only) on request.
import { h, fill, api, status, errorText, errorBox, go } from './app.js';
import { when, size, person } from './mailkit.js';
import { textField, splitList } from './form.js';
import { fileForm } from './mail.js';

// A placement "project:1234" | "user:alice" | "unassigned" | "fallback"
// as a link to its mailbox.
function placementLink(p) {
  const [kind, id] = String(p).split(/:(.*)/s);
  const label = kind === 'project' ? `Project ${id}` : kind === 'user' ? `Mailbox of ${id}`
    : kind === 'unassigned' ? 'Unassigned' : kind === 'fallback' ? 'Fallback' : String(p);
  const href = '#/mail/' + kind + (id ? '/' + encodeURIComponent(id) : '');
  return h('a', { href }, label);
}

function people(list) {
  return (list || []).map((p) => person(p) + (p.invalid ? ' (not a valid address)' : '')).join(', ');
}

function headerList(m) {
  const p = m.parsed || {};
  const rows = [
    ['From', people(p.from) || m.from],
    ['To', people(p.to)],
    ['Cc', people(p.cc)],
    ['Date', p.date ? when(p.date) : ''],
    ['Received', when(m.received_at)],
    ['Envelope', m.mail_from !== undefined ? `from ${m.mail_from || '<>'} to ${(m.rcpts || []).join(', ')}` : ''],
    ['Filed in', (m.placements || []).length ? m.placements.map((x, i) => [i ? ', ' : '', placementLink(x)]) : 'nowhere'],
    ['Authentication', authSummary(m.auth)],
    ['Message-ID', m.message_id ? `<${m.message_id}>` : ''],
  ];
  return h('dl', { class: 'mail-headers' },
    rows.filter(([, v]) => v && (!Array.isArray(v) || v.length)).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function authSummary(a) {
  if (!a) return '';
  const dkim = (a.dkim || []).map((d) => `${d.result} (${d.domain || d.d || '?'})`).join(', ') || 'none';
  return `SPF ${a.spf ? a.spf.result : 'none'}, DKIM ${dkim}, DMARC ${a.dmarc ? a.dmarc.result : 'none'}`;
}

function attachments(m) {
  const parts = (m.parsed && m.parsed.parts) || [];
  if (!parts.length) return null;
  return h('section', { 'aria-labelledby': 'msg-att-h' },
    h('h2', { id: 'msg-att-h' }, 'Attachments'),
    h('ul', { class: 'mail-attachments' }, parts.map((a) => h('li', {},
      h('a', { href: `/api/v1/messages/${m.id}/attachments/${a.index}`, download: a.filename || `attachment-${a.index}` },
        a.filename || `attachment ${a.index}`),
      h('span', { class: 'mail-muted' }, ` ${a.content_type || ''}, ${size(a.size)}`)))));
}

// The HTML part in a sandboxed frame, remote images off until asked.
function htmlPart(m) {
  if (!m.parsed || !m.parsed.html_body) return null;
  const base = `/api/v1/messages/${m.id}/html`;
  const frame = h('iframe', {
    class: 'mail-html', sandbox: '', src: base, title: `HTML version of “${m.subject || 'the message'}”`,
    referrerpolicy: 'no-referrer',
    // Marks a frame whose content has arrived (the browser tests wait for it).
    onload: () => { frame.dataset.loaded = String(Number(frame.dataset.loaded || 0) + 1); },
  });
  const toggle = h('button', {
    type: 'button', 'aria-pressed': 'false',
    onclick: () => {
      const on = toggle.getAttribute('aria-pressed') !== 'true';
      toggle.setAttribute('aria-pressed', String(on));
      frame.src = on ? base + '?remote_images=1' : base;
      status(on ? 'Remote images are shown for this message.' : 'Remote images are blocked.');
    },
  }, 'Show remote images');
  return h('section', { 'aria-labelledby': 'msg-html-h' },
    h('h2', { id: 'msg-html-h' }, 'Message'),
    h('p', { class: 'hint' }, 'Scripts never run here; remote images are blocked unless you ask. ', toggle),
    frame);
}

function textPart(m, open) {
  const p = m.parsed || {};
  if (!p.text_body) return p.html_body ? null : h('p', {}, m.unreadable ? 'This message could not be read; download the original below.' : '(no text)');
  const pre = h('pre', { class: 'mail-text', tabindex: '0' }, p.text_body);
  if (open) return h('section', { 'aria-labelledby': 'msg-text-h' }, h('h2', { id: 'msg-text-h' }, 'Message'), pre,
    p.body_truncated ? h('p', { class: 'hint' }, 'The text is cut short here; the original has all of it.') : null);
  return h('details', { class: 'mail-textalt' }, h('summary', {}, 'Plain text version'), pre);
}

export async function renderMessage(main, id, params) {
  if (!/^\d+$/.test(id || '')) throw new Error('no such message');
  const [m, projects] = await Promise.all([
    api('GET', `/api/v1/messages/${id}`),
    api('GET', '/api/v1/projects').catch(() => null),
  ]);
  const project = (m.placements || []).map(String).find((p) => p.startsWith('project:'));
  const filed = (m.placements || []).some((p) => p === 'unassigned' || p === 'fallback');
  fill(main,
    h('h1', {}, m.subject || '(no subject)'),
    h('p', { class: 'mail-crumbs' },
      project ? placementLink(project) : (m.placements || [])[0] ? placementLink(m.placements[0]) : h('a', { href: '#/mail' }, 'All mailboxes')),
    h('div', { class: 'actions' },
      project ? h('a', { class: 'button', href: `#/mail/compose/${encodeURIComponent(project.slice(8))}?reply=${m.id}` }, 'Reply') : null,
      h('a', { class: 'button', href: `/api/v1/messages/${m.id}/raw`, download: `message-${m.id}.eml` }, 'Download original'),
      h('a', { class: 'button', href: `#/why?q=${encodeURIComponent(m.message_id ? '<' + m.message_id + '>' : String(m.id))}` }, 'Delivery history')),
    filed && projects ? h('section', { 'aria-label': 'File into project' },
      fileForm(m, projects.projects || [], () => go(`#/mail/message/${m.id}`))) : null,
    headerList(m),
    htmlPart(m),
    textPart(m, !(m.parsed && m.parsed.html_body)),
    attachments(m));
  status(`Message “${m.subject || id}” opened.`);
}

// ---- compose and reply: POST /api/v1/send ----
function field(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label),
    h('div', { class: 'control' }, input, hint ? h('p', { id: id + '-hint', class: 'hint' }, hint) : null));
}

// A chosen file as the send document wants it: {filename, content_type, data (base64)}.
function attachment(file) {
  return new Promise((resolve, reject) => {
    const rd = new FileReader();
    rd.onload = () => resolve({ filename: file.name, content_type: file.type || 'application/octet-stream',
      data: String(rd.result).replace(/^data:[^,]*,/, '') });
    rd.onerror = () => reject(new Error(`${file.name} could not be read`));
    rd.readAsDataURL(file);
  });
}


export async function renderCompose(main, projectId, params, who) {
  if (!projectId) throw new Error('no project named: write from a project’s page');
  const replyTo = params.reply && /^\d+$/.test(params.reply) ? await api('GET', `/api/v1/messages/${params.reply}`) : null;
  const p = (replyTo && replyTo.parsed) || {};
  const replyAddr = ((p.reply_to && p.reply_to.length ? p.reply_to : p.from) || []).map((x) => x.address).join(', ');
  const subj = replyTo ? (/^re:/i.test(replyTo.subject || '') ? replyTo.subject : 'Re: ' + (replyTo.subject || '')) : '';
  const to = textField('To', { name: 'to', hint: 'addresses separated by commas' });
  const cc = textField('Cc', { name: 'cc', hint: 'optional' });
  const subject = textField('Subject', { name: 'subject' });
  to.input.value = replyAddr;
  subject.input.value = subj;
  to.input.required = true;
  subject.input.required = true;
  const body = h('textarea', { id: 'c-body', name: 'body', rows: '12', required: true });
  const files = h('input', { id: 'c-files', name: 'attachments', type: 'file', multiple: true });
  const send = h('button', { type: 'submit', class: 'primary' }, replyTo ? 'Send reply' : 'Send');
  const result = h('div', { class: 'mail-result' });
  fill(main, h('h1', {}, replyTo ? `Reply from project ${projectId}` : `Write from project ${projectId}`),
    h('p', { class: 'mail-crumbs' }, h('a', { href: `#/mail/project/${encodeURIComponent(projectId)}` }, `Project ${projectId}`),
      replyTo ? [' · ', h('a', { href: `#/mail/message/${replyTo.id}` }, `answering “${replyTo.subject || replyTo.id}”`)] : null),
    h('form', {
      class: 'mail-compose',
      onsubmit: async (ev) => {
        ev.preventDefault();
        send.disabled = true;
        status('Sending…');
        // A session always sends as its own user: "user" is left out.
        const doc = { project: projectId, to: splitList(to.input.value), cc: splitList(cc.input.value), subject: subject.input.value, text: body.value };
        if (replyTo) doc.reply_to_message = replyTo.id;
        try {
          if (files.files.length) doc.attachments = await Promise.all([...files.files].map(attachment));
          const r = await api('POST', '/api/v1/send', doc);
          fill(result, h('p', { class: 'result ok' }, 'Sent. ',
            h('a', { href: `#/mail/message/${r.id}` }, 'The message as stored'), ' · ',
            h('a', { href: '#/mail/outbox' }, 'Outbox')), r.warning ? h('p', {}, r.warning) : null);
          status(`Sent: ${r.queued || 0} recipient(s) queued, ${r.internal || 0} placed here.`, 'ok');
        } catch (e) {
          fill(result, errorBox(e));
          status(errorText(e), 'error');
        } finally {
          send.disabled = false;
        }
      },
    },
    h('p', {}, `From: ${who.user}, with the project's address.`),
    to.row, cc.row, subject.row,
    field('c-body', 'Message', body),
    field('c-files', 'Attachments', files, 'optional'),
    h('div', { class: 'actions' }, send)),
    result);
  status(replyTo ? 'Reply form opened.' : 'Compose form opened.');
}
