// settings-lists.js - the Email Settings page's two list sections:
// Aliases (GET/POST /api/v1/aliases, DELETE /api/v1/aliases/{address}) and
// Spam Filter advice (POST /api/v1/check/domain for each served domain of
// GET /api/v1/domains: the SPF, DKIM and DMARC records to publish).
// Each change is made at once (these are directory rows, not settings).
import { h, fill, api, errorText, errorBox } from './app.js';
import { textField, resultBox, showResult, showFailure, splitList, card, table, addForm, actionButton } from './form.js';

// ---- Aliases ----

export function aliasesSection() {
  const list = h('div', {}, h('p', {}, 'Loading the aliases…'));
  const addr = textField('Alias address', { type: 'email', name: 'alias-address', placeholder: 'team@firm.example' });
  const users = textField('Delivered to (user names)', { name: 'alias-users', hint: 'One or more user names, separated by commas or spaces.' });
  const refresh = () => loadAliases(list);
  const form = addForm('Add an alias', [addr, users], 'Add alias', async () => {
    const address = addr.input.value.trim();
    await api('POST', '/api/v1/aliases', { address, users: splitList(users.input.value) });
    return `alias ${address} added.`;
  }, refresh);
  refresh();
  return card('Aliases', h('p', { class: 'hint' }, 'Addresses that copy mail into several users\' mailboxes.'), list, form);
}

async function loadAliases(list) {
  let doc;
  try {
    doc = await api('GET', '/api/v1/aliases');
  } catch (e) {
    fill(list, errorBox(e));
    return;
  }
  const aliases = doc.aliases || [];
  if (!aliases.length) {
    fill(list, h('p', {}, 'No aliases yet.'));
    return;
  }
  fill(list, table('Aliases', ['Address', 'Delivered to', 'Action'], aliases.map((a) => h('tr', {},
    h('td', {}, a.address), h('td', {}, (a.users || []).join(', ')),
    h('td', {}, actionButton('Remove', `Remove alias ${a.address}`, async () => {
      await api('DELETE', `/api/v1/aliases/${encodeURIComponent(a.address)}`);
      await loadAliases(list);
      return `Alias ${a.address} removed.`;
    }, { danger: true }))))));
}

// ---- Spam Filter advice ----

const CHECK_WORDS = { ok: 'OK', missing: 'Missing', broken: 'Broken', dns_error: 'DNS did not answer', skipped: 'Not checked' };

export function spamSection() {
  const body = h('div', {}, h('p', {}, 'Loading the domains…'));
  loadDomains(body);
  return card('Spam Filter',
    h('p', { class: 'hint' }, 'Receivers trust mail from your domains when these DNS records are published. '
      + 'Check a domain to see what it publishes and the records to add.'), body);
}

async function loadDomains(body) {
  let doc;
  try {
    doc = await api('GET', '/api/v1/domains');
  } catch (e) {
    fill(body, errorBox(e));
    return;
  }
  const domains = (doc.domains || []).map((d) => (typeof d === 'string' ? d : d.domain));
  if (!domains.length) {
    fill(body, h('p', {}, 'No domains are served yet: add one on the Directory page.'));
    return;
  }
  fill(body, domains.map((d) => domainBlock(d)));
}

function domainBlock(domain) {
  const box = resultBox();
  const button = h('button', { type: 'button' }, `Check DNS records of ${domain}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    showResult(box, 'busy', `Looking up ${domain}…`);
    try {
      const doc = await api('POST', '/api/v1/check/domain', { domain });
      if (doc && doc.ok === false && doc.error) { showFailure(box, doc); return; }
      showResult(box, doc.ok ? 'ok' : 'bad',
        doc.ok ? `OK: ${domain} publishes sound SPF, DKIM and DMARC records.`
          : `Failed: something is missing or broken for ${domain} (see below).`,
        ...domainAdvice(doc));
    } catch (e) {
      showResult(box, 'bad', `Failed: ${errorText(e)}`);
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'domain-advice' }, h('h3', {}, domain), h('div', { class: 'actions' }, button), box);
}

function domainAdvice(doc) {
  const out = [];
  for (const [key, label] of [['spf', 'SPF'], ['dkim', 'DKIM'], ['dmarc', 'DMARC']]) {
    const c = doc[key];
    if (!c) continue;
    out.push(h('div', { class: 'advice' },
      h('p', {}, h('strong', {}, `${label}: `), CHECK_WORDS[c.status] || c.status),
      c.record ? h('p', {}, 'Published: ', h('code', { class: 'record' }, c.record)) : null,
      c.detail ? h('p', {}, c.detail) : null,
      c.suggest ? h('p', {}, 'Publish: ', h('code', { class: 'record' }, c.suggest)) : null));
  }
  const s = doc.signing;
  if (s) {
    const keys = s.keys || [];
    out.push(h('div', { class: 'advice' },
      h('p', {}, h('strong', {}, 'Our DKIM signing: '),
        s.status === 'configured' ? `${keys.length} key${keys.length === 1 ? '' : 's'}` : s.status === 'none' ? 'no key for this domain (mail we send is not signed)' : s.status),
      s.detail ? h('p', {}, s.detail) : null,
      keys.map((k) => h('p', {}, `Selector ${k.selector} (${k.status}): publish `,
        h('code', { class: 'record' }, `${k.name} TXT ${k.record}`))),
      s.spf_direct ? h('p', {}, 'For built-in delivery, the SPF record must include ', h('code', {}, s.spf_direct), '.') : null));
  }
  return out;
}
