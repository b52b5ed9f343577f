// settings.js - the Email Settings page (#/settings), laid out as the
// product we follow lays it out: Mail Setup, POP (Incoming), SMTP
// (Outgoing), Advanced, Aliases, Spam Filter.
//
// The form shows the stored values of GET /api/v1/settings (names as in
// README's settings table).  Save sends only what changed, in one
// PATCH /api/v1/settings (the server validates them together: all or
// nothing) and then says which changes apply now and which at new
// connections or a restart.  The Check buttons post the form's current,
// unsaved values ({"settings": {...}}) to /api/v1/check/pop and
// /api/v1/check/smtp and show the answer: OK in green or Failed in red with
// the exact reason.  Secrets come back as "********": their inputs start
// empty and are sent only when something is typed.
import { registerPage, h, fill, api, status, errorText, ApiError } from './app.js';
import { textField, selectField, checkField, radioGroup, resultBox, showResult, showFailure, card, TRUE_RE } from './form.js';
import { aliasesSection, spamSection } from './settings-lists.js';

// [key, label, host, security, port]
export const POP_PRESETS = [
  ['gmail', 'Gmail', 'pop.gmail.com', 'ssl', 995],
  ['outlook', 'Outlook / Microsoft 365', 'outlook.office365.com', 'ssl', 995],
  ['yahoo', 'Yahoo', 'pop.mail.yahoo.com', 'ssl', 995],
  ['custom', 'Custom server', '', 'ssl', 995],
];
const POP_SECURITY = [
  ['ssl', 'SSL/TLS from the first byte (usually port 995)'],
  ['starttls', 'STARTTLS, required (usually port 110)'],
  ['none', 'None: plain text (only on a trusted network)'],
];
// Settings the form builds from several controls (values(), load()).
const COMPOSITE = new Set(['pop_server', 'smtp_server', 'pop_require_tls']);
const APPLIES_TEXT = { now: 'now', connection: 'at new SMTP connections', restart: 'after a restart of serve' };

// "ssl://host:995" -> {security, host, port}
export function parsePop(server, requireTls) {
  const m = /^(ssl|tcp):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/i.exec(server || '');
  if (!m) return { security: 'ssl', host: '', port: '995' };
  const ssl = m[1].toLowerCase() === 'ssl';
  return {
    security: ssl ? 'ssl' : (requireTls ? 'starttls' : 'none'),
    host: m[2], port: m[3] || (ssl ? '995' : '110'),
  };
}

// "host:587" / "[::1]:587" / "direct" / "" -> {path, host, port}
export function parseSmtp(server) {
  if (!server) return { path: 'off', host: '', port: '' };
  if (server === 'direct') return { path: 'direct', host: '', port: '' };
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(server);
  return m ? { path: 'relay', host: m[1], port: m[2] || '' } : { path: 'relay', host: server, port: '' };
}

function hostPort(host, port) {
  const hst = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port ? `${hst}:${port}` : hst;
}

class SettingsForm {
  constructor(stored) {
    this.stored = stored;   // name -> {value, source, applies, secret, help}
    this.inputs = {};       // setting name -> the control that edits it
  }

  value(name) { return (this.stored.get(name) || {}).value ?? ''; }

  // ---- Mail Setup ----
  mailSetup() {
    this.mode = radioGroup('How mail reaches postroom', [
      ['smtp', 'SMTP / MX', "Your domain's MX record points at postroom, which receives mail itself."],
      ['pop', 'POP3 system mailbox', 'postroom collects a mailbox at your provider (set it up under POP (Incoming)).'],
    ], { name: 'mailbox-kind' });
    this.mode.inputs.forEach((i) => i.addEventListener('change', () => this.syncMode()));
    this.fallback = textField('Fallback address', {
      type: 'email', name: 'fallback_address', autocomplete: 'email',
      hint: 'Where unreadable mail is forwarded (not an address on the collected domain).',
    });
    this.sender = textField('Default sender', {
      type: 'email', name: 'default_sender',
      hint: 'Sender of automatic mail, and of mail from projects when the sender mode is "default".',
    });
    this.senderMode = selectField('Sender of project mail', [
      ['project', 'The project\'s own address (replies file themselves)'],
      ['default', 'The default sender'],
    ], { name: 'sender_mode' });
    Object.assign(this.inputs, { fallback_address: this.fallback.input, default_sender: this.sender.input,
      sender_mode: this.senderMode.input, pop_server: this.mode.inputs[0] });
    return card('Mail Setup', this.mode.row, this.fallback.row, this.sender.row, this.senderMode.row);
  }

  // ---- POP (Incoming) ----
  popSection() {
    this.preset = selectField('Mail provider', POP_PRESETS.map(([k, label]) => [k, label]), { name: 'pop-preset' });
    this.preset.input.addEventListener('change', () => this.applyPreset());
    this.popHost = textField('POP server', { name: 'pop-host', placeholder: 'pop.example.com' });
    this.popPort = textField('Port', { name: 'pop-port', inputmode: 'numeric' });
    this.popSec = selectField('Security', POP_SECURITY, { name: 'pop-security' });
    for (const c of [this.popHost.input, this.popPort.input, this.popSec.input]) {
      c.addEventListener('input', () => this.detectPreset());
    }
    this.popSec.input.addEventListener('change', () => this.detectPreset());
    this.popUser = textField('User name', { name: 'pop_username', autocomplete: 'off' });
    this.popPass = textField('Password', { type: 'password', name: 'pop_password', autocomplete: 'new-password' });
    this.popCa = textField('CA bundle (optional)', {
      name: 'pop_ca_file', hint: 'A PEM file on the server to verify the POP server\'s certificate (empty: the system\'s).',
    });
    this.popInterval = textField('Collect every (seconds)', { name: 'pop_interval', inputmode: 'numeric' });
    this.mailboxType = selectField('Mailbox', [
      ['single', 'A single address (the system address below)'],
      ['catchall', 'Catch-all for the whole domain'],
    ], { name: 'mailbox_type' });
    this.sysAddr = textField('System address', {
      type: 'email', name: 'system_address', hint: 'The collected mailbox\'s own address.',
    });
    this.popResult = resultBox();
    this.popCheck = h('button', { type: 'button' }, 'Check POP Settings');
    this.popCheck.addEventListener('click', () => this.check('pop'));
    Object.assign(this.inputs, { pop_username: this.popUser.input, pop_password: this.popPass.input,
      pop_ca_file: this.popCa.input, pop_interval: this.popInterval.input,
      mailbox_type: this.mailboxType.input, system_address: this.sysAddr.input,
      pop_require_tls: this.popSec.input });
    this.popFields = h('fieldset', { class: 'plain' }, h('legend', { class: 'visually-hidden' }, 'POP mailbox'),
      this.preset.row, this.popHost.row, this.popPort.row, this.popSec.row, this.popUser.row,
      this.popPass.row, this.popCa.row, this.popInterval.row, this.mailboxType.row, this.sysAddr.row);
    this.popOff = h('p', { class: 'hint' }, 'Collection is off while "SMTP / MX" is chosen under Mail Setup; saving then clears the POP server.');
    return card('POP (Incoming)', this.popOff, this.popFields,
      h('div', { class: 'actions' }, this.popCheck), this.popResult);
  }

  applyPreset() {
    const p = POP_PRESETS.find(([k]) => k === this.preset.input.value);
    if (!p || p[0] === 'custom') { this.popHost.input.focus(); return; }
    this.popHost.input.value = p[2];
    this.popSec.input.value = p[3];
    this.popPort.input.value = String(p[4]);
  }

  detectPreset() {
    const host = this.popHost.input.value.trim().toLowerCase();
    const p = POP_PRESETS.find(([k, , hst, sec, port]) => k !== 'custom' && hst === host
      && sec === this.popSec.input.value && String(port) === this.popPort.input.value.trim());
    this.preset.input.value = p ? p[0] : 'custom';
  }

  // ---- SMTP (Outgoing) ----
  smtpSection() {
    this.path = radioGroup('How mail leaves', [
      ['relay', 'Through an SMTP relay', 'Your provider\'s submission server (port 587 or 465).'],
      ['direct', 'Built-in delivery', 'postroom delivers to each recipient domain\'s mail servers itself (publish the SPF record under Spam Filter).'],
      ['off', 'Off', 'Nothing is sent.'],
    ], { name: 'smtp-path' });
    this.path.inputs.forEach((i) => i.addEventListener('change', () => this.syncPath()));
    this.smtpHost = textField('SMTP server', { name: 'smtp-host', placeholder: 'smtp.example.com' });
    this.smtpPort = textField('Port', { name: 'smtp-port', inputmode: 'numeric', hint: 'Empty: 587 (465 with TLS from the first byte). Port 25 is refused.' });
    this.smtpTls = selectField('Security', [
      ['starttls', 'STARTTLS, required, certificate verified'],
      ['implicit', 'TLS from the first byte (port 465)'],
      ['none', 'None (only on a trusted network)'],
    ], { name: 'smtp_tls' });
    this.smtpAuth = selectField('Login', [
      ['none', 'No login'], ['plain', 'PLAIN'], ['login', 'LOGIN'], ['cram-md5', 'CRAM-MD5'],
      ['xoauth2', 'XOAUTH2 (the password is an access token)'],
    ], { name: 'smtp_auth' });
    this.smtpUser = textField('User name', { name: 'smtp_username' });
    this.smtpPass = textField('Password', { type: 'password', name: 'smtp_password', autocomplete: 'new-password' });
    this.smtpCa = textField('CA bundle (optional)', { name: 'smtp_ca_file', hint: 'A PEM file on the server to verify the relay\'s certificate (empty: the system\'s).' });
    this.smtpResult = resultBox();
    this.smtpCheck = h('button', { type: 'button' }, 'Check SMTP Settings');
    this.smtpCheck.addEventListener('click', () => this.check('smtp'));
    Object.assign(this.inputs, { smtp_server: this.smtpHost.input, smtp_tls: this.smtpTls.input,
      smtp_auth: this.smtpAuth.input, smtp_username: this.smtpUser.input,
      smtp_password: this.smtpPass.input, smtp_ca_file: this.smtpCa.input });
    this.relayFields = h('div', {}, this.smtpHost.row, this.smtpPort.row, this.smtpTls.row,
      this.smtpAuth.row, this.smtpUser.row, this.smtpPass.row, this.smtpCa.row);
    return card('SMTP (Outgoing)', this.path.row, this.relayFields,
      h('div', { class: 'actions' }, this.smtpCheck), this.smtpResult);
  }

  // ---- Advanced ----
  advanced() {
    this.catchall = textField('Catch-all header', { name: 'catchall_header', hint: 'Header that carries the original recipient in a catch-all mailbox (usually Delivered-To).' });
    this.internal = checkField('Internal routing: place mail to our own domains directly, without SMTP', { name: 'internal_delivery' });
    this.size = textField('Largest message', { name: 'max_message_size', hint: 'Bytes, or with a suffix: 20M, 512k.' });
    this.spf = checkField('Require SPF: refuse mail whose SPF result is not pass', { name: 'require_spf' });
    this.dkim = checkField('Require DKIM: refuse mail without a valid DKIM signature of the From domain', { name: 'require_dkim' });
    this.policy = selectField('Authentication policy', [
      ['require', 'Apply the two requirements above'],
      ['dmarc', 'Follow the sender domain\'s DMARC policy'],
    ], { name: 'auth_policy' });
    Object.assign(this.inputs, { catchall_header: this.catchall.input, internal_delivery: this.internal.input,
      max_message_size: this.size.input, require_spf: this.spf.input, require_dkim: this.dkim.input,
      auth_policy: this.policy.input });
    return card('Advanced', this.catchall.row, this.internal.row, this.size.row, this.spf.row,
      this.dkim.row, this.policy.row);
  }

  syncMode() {
    const pop = this.mode.get() === 'pop';
    this.popFields.disabled = !pop;
    this.popOff.hidden = pop;
  }

  syncPath() {
    this.relayFields.hidden = this.path.get() !== 'relay';
  }

  // Stored values -> form.
  load() {
    const pop = parsePop(this.value('pop_server'), TRUE_RE.test(this.value('pop_require_tls')));
    this.mode.set(this.value('pop_server') ? 'pop' : 'smtp');
    this.popHost.input.value = pop.host;
    this.popPort.input.value = pop.port;
    this.popSec.input.value = pop.security;
    this.detectPreset();
    const smtp = parseSmtp(this.value('smtp_server'));
    this.path.set(smtp.path);
    this.smtpHost.input.value = smtp.host;
    this.smtpPort.input.value = smtp.port;
    for (const [name, input] of Object.entries(this.inputs)) {
      if (COMPOSITE.has(name)) continue;
      const s = this.stored.get(name);
      if (!s) continue;
      if (input.type === 'checkbox') input.checked = TRUE_RE.test(s.value);
      else if (s.secret) {
        input.value = '';
        input.placeholder = s.value ? 'set (type to replace)' : 'not set';
      } else input.value = s.value;
    }
    this.syncMode();
    this.syncPath();
    this.markConfigFile();
  }

  // A value the node's config file sets wins there: say so beside the field.
  markConfigFile() {
    for (const [name, input] of Object.entries(this.inputs)) {
      const s = this.stored.get(name);
      const row = input.closest('.field, fieldset');
      if (!row || row.querySelector('.from-file')) continue;
      if (s && s.source === 'file') {
        (row.querySelector('.control') || row).append(h('p', { class: 'hint from-file' },
          `${name} is set in this node's config file, which wins here over a value saved from this page.`));
      }
    }
  }

  // The form -> {setting: text}; secrets only when typed.
  values(forCheck = false) {
    const v = {};
    const pop = forCheck || this.mode.get() === 'pop';
    const host = this.popHost.input.value.trim();
    const sec = this.popSec.input.value;
    v.pop_server = pop && host
      ? `${sec === 'ssl' ? 'ssl' : 'tcp'}://${hostPort(host, this.popPort.input.value.trim())}` : '';
    if (sec !== 'ssl') v.pop_require_tls = sec === 'starttls' ? 'true' : 'false';
    const path = this.path.get();
    v.smtp_server = path === 'direct' ? 'direct'
      : path === 'relay' ? hostPort(this.smtpHost.input.value.trim(), this.smtpPort.input.value.trim()) : '';
    for (const [name, input] of Object.entries(this.inputs)) {
      if (name in v || COMPOSITE.has(name)) continue;
      const s = this.stored.get(name);
      if (!s) continue;
      if (input.type === 'checkbox') v[name] = input.checked ? 'true' : 'false';
      else if (s.secret) { if (input.value !== '') v[name] = input.value; } else v[name] = input.value.trim();
    }
    return v;
  }

  changes() {
    const out = {};
    for (const [name, val] of Object.entries(this.values())) {
      const s = this.stored.get(name);
      if (!s) continue;
      if (s.secret ? val !== '' : val !== s.value) {
        // A boolean written another way ("yes") is the same value.
        if (this.inputs[name] && this.inputs[name].type === 'checkbox' && TRUE_RE.test(val) === TRUE_RE.test(s.value)) continue;
        out[name] = val;
      }
    }
    return out;
  }

  clearInvalid() {
    for (const input of Object.values(this.inputs)) input.removeAttribute('aria-invalid');
    for (const input of [this.popHost.input, this.popPort.input, this.smtpHost.input, this.smtpPort.input]) input.removeAttribute('aria-invalid');
  }

  // Mark (and focus) the control of the setting an error names.
  markInvalid(message) {
    const names = Object.keys(this.inputs).sort((a, b) => b.length - a.length);
    const name = names.find((n) => message.includes(n));
    if (!name) return;
    const input = name === 'pop_server' ? this.popHost.input : name === 'smtp_server' ? this.smtpHost.input : this.inputs[name];
    input.setAttribute('aria-invalid', 'true');
    if (!input.disabled) input.focus();
  }

  async check(kind) {
    const button = kind === 'pop' ? this.popCheck : this.smtpCheck;
    const box = kind === 'pop' ? this.popResult : this.smtpResult;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    showResult(box, 'busy', `Checking the ${kind === 'pop' ? 'POP' : 'SMTP'} server…`);
    try {
      const doc = await api('POST', `/api/v1/check/${kind}`, { settings: this.values(true) });
      if (doc && doc.ok) showResult(box, 'ok', ...checkOk(kind, doc));
      else showFailure(box, doc);
    } catch (e) {
      showResult(box, 'bad', `Failed: ${errorText(e)}`,
        e instanceof ApiError ? h('p', {}, 'Reason code: ', h('code', {}, e.code)) : null);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

function checkOk(kind, doc) {
  if (kind === 'pop') {
    const n = doc.messages;
    return [`OK: logged in to ${doc.server || 'the POP server'}${doc.user ? ` as ${doc.user}` : ''}`,
      n === undefined ? null : h('p', {}, `${n} message${n === 1 ? '' : 's'} waiting in the mailbox.`)];
  }
  const size = doc.size === null || doc.size === undefined ? 'not announced' : doc.size === 0 ? 'no limit' : `${doc.size} bytes`;
  return [`OK: ${doc.server || 'the relay'} answered`,
    h('p', {}, `TLS: ${doc.tls ? 'yes' : 'no'}. Logged in: ${doc.authenticated ? 'yes' : 'no'}. Size limit: ${size}.`),
    doc.greeting ? h('p', {}, 'Greeting: ', h('code', {}, doc.greeting)) : null];
}

async function loadStored() {
  const doc = await api('GET', '/api/v1/settings');
  return new Map((doc.settings || []).map((s) => [s.name, s]));
}

// What the save changed, by when it applies: the server's answer
// ({"applies": {"now": [...], "connection": [...], "restart": [...]},
// "file_wins": [...]}), else what GET /api/v1/settings said of each key.
function appliedText(changed, stored, answer) {
  let groups = answer && answer.applies;
  if (!groups || typeof groups !== 'object') {
    groups = {};
    for (const name of changed) {
      const when = (stored.get(name) || {}).applies || 'now';
      (groups[when] = groups[when] || []).push(name);
    }
  }
  const parts = Object.entries(groups).filter(([, names]) => names && names.length)
    .map(([when, names]) => `${names.join(', ')}: applies ${APPLIES_TEXT[when] || when}`);
  const file = (answer && answer.file_wins) || [];
  if (file.length) parts.push(`${file.join(', ')}: stored, but this node's config file sets it and wins here`);
  return `Saved. ${parts.join('; ')}.`;
}

async function render(root) {
  fill(root, h('h1', {}, 'Email Settings'), h('p', {}, 'Loading the settings…'));
  const form = new SettingsForm(await loadStored());
  const saveResult = h('div', { class: 'result', role: 'status', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save settings');
  const el = h('form', { class: 'settings', novalidate: true },
    form.mailSetup(), form.popSection(), form.smtpSection(), form.advanced(),
    h('div', { class: 'actions save-bar' }, save, saveResult));
  form.load();
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    form.clearInvalid();
    const changed = form.changes();
    const names = Object.keys(changed);
    if (!names.length) {
      showResult(saveResult, 'ok', 'Nothing to save: the form says what is stored.');
      status('Nothing to save.', 'info');
      return;
    }
    save.disabled = true;
    try {
      const answer = await api('PATCH', '/api/v1/settings', changed);
      const text = appliedText(names, form.stored, answer);
      form.stored = await loadStored();
      form.load();
      showResult(saveResult, 'ok', `OK: ${text}`);
      status(text, 'ok');
    } catch (e) {
      showResult(saveResult, 'bad', `Failed: nothing was saved. ${errorText(e)}`);
      status(`nothing was saved. ${errorText(e)}`, 'error');
      form.markInvalid(errorText(e));
    } finally {
      save.disabled = false;
    }
  });
  fill(root, h('h1', {}, 'Email Settings'),
    h('p', { class: 'hint' }, 'Changes are saved together when you press Save settings; the Check buttons test what the form says now, before saving.'),
    el, aliasesSection(), spamSection());
}

registerPage('settings', { title: 'Email Settings', nav: 'Email Settings', order: 30, admin: true, render });
