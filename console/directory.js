// directory.js - the Directory page (#/directory): users (add, disable or
// enable, administrator or not, password, remove), projects and their
// members and stakeholders, outside stakeholders, and the domains we take
// mail for.  Every change is one call to /api/v1 and is made at once; the
// section it touched is read again from the server afterwards, so what the
// page shows is what is stored.
import { registerPage, h, fill, api, errorBox, currentSession, sessionEnded } from './app.js';
import { textField, selectField, card, table, addForm, actionButton, confirmButton, splitList } from './form.js';

const enc = encodeURIComponent;

// A redraw must not undo a choice being made: a list keeps the value it
// had (while it is still offered) and the focus it had.  Lists are known
// by their label, as the person knows them (ids are new at each draw).
const labelOf = (sel) => (sel.labels && sel.labels[0] ? sel.labels[0].textContent : null);

function choicesIn(body) {
  const kept = new Map();
  for (const sel of body.querySelectorAll('select'))
    if (labelOf(sel)) kept.set(labelOf(sel), { value: sel.value, focused: sel === document.activeElement });
  return kept;
}

function restoreChoices(body, kept) {
  for (const sel of body.querySelectorAll('select')) {
    const was = kept.get(labelOf(sel));
    if (!was) continue;
    if ([...sel.options].some((o) => o.value === was.value)) sel.value = was.value;
    if (was.focused) sel.focus();
  }
}

// One section: a heading, a body that (re)loads from the server, an add form.
// after: what else to reload when this section changed.  The body is
// aria-busy while a load is out; when two loads overlap (a change here and
// one in a section that reloads this one), only the last one started is
// drawn, so an older answer never replaces a newer one.
function section(title, intro, load, makeForm, after) {
  const body = h('div', {}, h('p', {}, `Loading ${title.toLowerCase()}…`));
  let drawn = 0;
  const refresh = async () => {
    const mine = ++drawn;
    body.setAttribute('aria-busy', 'true');
    let content;
    try {
      content = await load(refresh);
    } catch (e) {
      content = errorBox(e);
    }
    if (mine === drawn) {
      const kept = choicesIn(body);
      fill(body, content);
      restoreChoices(body, kept);
      body.removeAttribute('aria-busy');
    }
    if (after) await after();
  };
  const el = card(title, intro ? h('p', { class: 'hint' }, intro) : null, body, makeForm(refresh));
  return { el, refresh };
}

// ---- users ----

function userRow(u, refresh) {
  const active = u.active !== false;
  const admin = u.admin === true;
  const pw = textField(`New password for ${u.name}`, { type: 'password', name: 'new-password', autocomplete: 'new-password' });
  // Your own password needs your current one too (the server asks).
  const own = currentSession() && currentSession().user === u.name;
  const cur = own ? textField('Your current password', { type: 'password', name: 'current-password', autocomplete: 'current-password' }) : null;
  const pwForm = addForm(null, own ? [cur, pw] : [pw], 'Save password', async () => {
    const body = { password: pw.input.value };
    if (own) body.current_password = cur.input.value;
    await api('PUT', `/api/v1/users/${enc(u.name)}/password`, body);
    if (!own) return `password of ${u.name} set.`;
    // Every session of the user ended with the change, this one too.
    sessionEnded();
    return 'your password is changed: sign in with the new one.';
  }, null, { inline: true });
  pwForm.hidden = true;
  const pwToggle = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-label': `Set password of ${u.name}` }, 'Set password');
  pwToggle.addEventListener('click', () => {
    pwForm.hidden = !pwForm.hidden;
    pwToggle.setAttribute('aria-expanded', String(!pwForm.hidden));
    if (!pwForm.hidden) (own ? cur : pw).input.focus();
  });
  return h('tr', {},
    h('th', { scope: 'row' }, u.name),
    h('td', {}, u.display || ''),
    h('td', {}, (u.emails || []).join(', ')),
    h('td', {}, h('span', { class: `badge ${active ? 'ok' : 'bad'}` }, active ? 'Active' : 'Disabled')),
    h('td', {}, admin ? 'Administrator' : 'Member',
      u.password_set === undefined ? null : h('br'), u.password_set === undefined ? null
        : h('span', { class: 'hint' }, u.password_set ? 'can sign in' : 'no password')),
    h('td', {}, h('div', { class: 'actions' },
      actionButton(active ? 'Disable' : 'Enable', `${active ? 'Disable' : 'Enable'} ${u.name}`, async () => {
        await api('PATCH', `/api/v1/users/${enc(u.name)}`, { active: !active });
        await refresh();
        return `${u.name} ${active ? 'disabled' : 'enabled'}.`;
      }),
      actionButton(admin ? 'Make member' : 'Make administrator',
        `${admin ? 'Make member' : 'Make administrator'}: ${u.name}`, async () => {
          await api('PATCH', `/api/v1/users/${enc(u.name)}`, { admin: !admin });
          await refresh();
          return `${u.name} is ${admin ? 'no longer an administrator' : 'now an administrator'}.`;
        }),
      pwToggle,
      confirmButton('Remove', `Remove user ${u.name}`, `Confirm: remove ${u.name}`, async () => {
        await api('DELETE', `/api/v1/users/${enc(u.name)}`);
        await refresh();
        return `${u.name} removed.`;
      })),
    pwForm));
}

async function loadUsers(refresh) {
  const users = (await api('GET', '/api/v1/users')).users || [];
  if (!users.length) return h('p', {}, 'No users yet.');
  return table('Users', ['Name', 'Display name', 'Addresses', 'Status', 'Role', 'Actions'],
    users.map((u) => userRow(u, refresh)));
}

function userForm(refresh) {
  const name = textField('User name', { name: 'new-user', hint: 'Letters, digits, ".", "_" or "-".' });
  const display = textField('Display name', { name: 'new-display' });
  const emails = textField('Addresses', { name: 'new-emails', hint: 'One or more, separated by commas or spaces.' });
  const pass = textField('Password (optional)', { type: 'password', name: 'new-user-password', autocomplete: 'new-password', hint: 'Lets the user sign in to this console.' });
  return addForm('Add a user', [name, display, emails, pass], 'Add user', async () => {
    const n = name.input.value.trim();
    await api('POST', '/api/v1/users', { name: n, display: display.input.value.trim(), emails: splitList(emails.input.value) });
    if (pass.input.value) await api('PUT', `/api/v1/users/${enc(n)}/password`, { password: pass.input.value });
    return `user ${n} added.`;
  }, refresh);
}

// ---- projects ----

let knownUsers = [];
let knownStakeholders = [];

function projectBlock(p, refresh) {
  const members = p.members || [];
  const holders = p.stakeholders || [];
  const grant = selectField(`Add a member to project ${p.id}`,
    knownUsers.filter((u) => !members.includes(u)).map((u) => [u, u]), { name: 'grant' });
  const grantForm = addForm(null, [grant], 'Grant', async () => {
    const u = grant.input.value;
    await api('PUT', `/api/v1/projects/${enc(p.id)}/members/${enc(u)}`);
    await refresh();
    return `${u} may now write into project ${p.id}.`;
  }, null, { inline: true });
  const holder = selectField(`Add a stakeholder to project ${p.id}`,
    knownStakeholders.filter((s) => !holders.includes(s)).map((s) => [s, s]), { name: 'stakeholder' });
  const holderForm = addForm(null, [holder], 'Add stakeholder', async () => {
    const s = holder.input.value;
    await api('PUT', `/api/v1/projects/${enc(p.id)}/stakeholders/${enc(s)}`);
    await refresh();
    return `${s} is now a stakeholder of project ${p.id}.`;
  }, null, { inline: true });
  return h('div', { class: 'project' },
    h('h3', {}, `Project ${p.id}`, p.name ? `: ${p.name}` : ''),
    h('p', { class: 'label' }, 'Members'),
    members.length ? h('ul', { class: 'people' }, members.map((m) => h('li', {}, h('span', {}, m), ' ',
      actionButton('Revoke', `Revoke ${m} from project ${p.id}`, async () => {
        await api('DELETE', `/api/v1/projects/${enc(p.id)}/members/${enc(m)}`);
        await refresh();
        return `${m} removed from project ${p.id}.`;
      }, { danger: true })))) : h('p', {}, 'No members.'),
    grant.input.options.length ? grantForm : null,
    h('p', { class: 'label' }, 'Stakeholders'),
    holders.length ? h('ul', { class: 'people' }, holders.map((s) => h('li', {}, s))) : h('p', {}, 'No stakeholders.'),
    holder.input.options.length ? holderForm : null);
}

async function loadProjects(refresh) {
  const [projects, users, holders] = await Promise.all([
    api('GET', '/api/v1/projects'), api('GET', '/api/v1/users'), api('GET', '/api/v1/stakeholders')]);
  knownUsers = (users.users || []).map((u) => u.name);
  knownStakeholders = (holders.stakeholders || []).map((s) => s.name);
  const list = projects.projects || [];
  if (!list.length) return h('p', {}, 'No projects yet.');
  return list.map((p) => projectBlock(p, refresh));
}

function projectForm(refresh) {
  const id = textField('Project id', { name: 'new-project', hint: 'Mail to <prefix><id>@your domain is filed in it, e.g. a1234@.' });
  const name = textField('Project name', { name: 'new-project-name' });
  return addForm('Add a project', [id, name], 'Add project', async () => {
    const i = id.input.value.trim();
    await api('POST', '/api/v1/projects', { id: i, name: name.input.value.trim() });
    return `project ${i} added.`;
  }, refresh);
}

// ---- stakeholders and domains ----

async function loadStakeholders() {
  const list = (await api('GET', '/api/v1/stakeholders')).stakeholders || [];
  if (!list.length) return h('p', {}, 'No stakeholders yet.');
  return table('Stakeholders', ['Name', 'Addresses'],
    list.map((s) => h('tr', {}, h('th', { scope: 'row' }, s.name), h('td', {}, (s.emails || []).join(', ')))));
}

function stakeholderForm(refresh) {
  const name = textField('Stakeholder name', { name: 'new-stakeholder' });
  const emails = textField('Stakeholder addresses', { name: 'new-stakeholder-emails', hint: 'One or more, separated by commas or spaces.' });
  return addForm('Add a stakeholder', [name, emails], 'Add stakeholder', async () => {
    const n = name.input.value.trim();
    await api('POST', '/api/v1/stakeholders', { name: n, emails: splitList(emails.input.value) });
    return `stakeholder ${n} added.`;
  }, refresh);
}

async function loadDomains(refresh) {
  const list = ((await api('GET', '/api/v1/domains')).domains || []).map((d) => (typeof d === 'string' ? d : d.domain));
  if (!list.length) return h('p', {}, 'No domains yet: postroom refuses all mail until one is added.');
  return table('Domains', ['Domain', 'Action'], list.map((d) => h('tr', {}, h('th', { scope: 'row' }, d),
    h('td', {}, confirmButton('Remove', `Remove domain ${d}`, `Confirm: remove ${d}`, async () => {
      await api('DELETE', `/api/v1/domains/${enc(d)}`);
      await refresh();
      return `domain ${d} removed.`;
    })))));
}

function domainForm(refresh) {
  const domain = textField('Domain', { name: 'new-domain', placeholder: 'firm.example' });
  return addForm('Add a domain', [domain], 'Add domain', async () => {
    const d = domain.input.value.trim();
    await api('POST', '/api/v1/domains', { domain: d });
    return `domain ${d} added.`;
  }, refresh);
}

async function render(root) {
  // A change in one section can show in another (a new user can be
  // granted; a new stakeholder added to a project): those reload projects.
  const projects = section('Projects', 'Members may write into a project; stakeholders are outside people whose mail is filed in it.', loadProjects, projectForm);
  const users = section('Users', 'People of the organisation: they may send into the projects they belong to and, with a password, sign in here.', loadUsers, userForm, projects.refresh);
  const holders = section('Stakeholders', 'People outside the organisation.', loadStakeholders, stakeholderForm, projects.refresh);
  const domains = section('Domains', 'The domains postroom accepts mail for.', loadDomains, domainForm);
  fill(root, h('h1', {}, 'Directory'), users.el, projects.el, holders.el, domains.el);
  // Users and stakeholders first: the project forms offer them.
  await Promise.all([users.refresh(), holders.refresh(), domains.refresh()]);
}

registerPage('directory', { title: 'Directory', nav: 'Directory', order: 40, admin: true, render });
