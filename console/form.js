// form.js - labelled form controls for the settings and directory pages.
//
// Every control has a <label> (or a fieldset legend), a hint tied to it by
// aria-describedby, and reads/writes a setting's text value, so the pages
// can compare what the form says with what the server stored.
import { h, uid, status, errorText, sentence } from './app.js';

export const TRUE_RE = /^(true|yes|on|1)$/i;

// A row: label + control + hint.  Returns {row, input}.
export function textField(label, { type = 'text', hint, autocomplete = 'off', placeholder, inputmode, name, width } = {}) {
  const id = uid(name || 'field');
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id, type, name, autocomplete, placeholder, inputmode, 'aria-describedby': hintId,
    spellcheck: type === 'text' ? 'false' : null, class: width ? `w-${width}` : null,
  });
  const row = h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('div', { class: 'control' }, input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null));
  return { row, input };
}

// A <select> of [value, text] choices.
export function selectField(label, choices, { hint, name } = {}) {
  const id = uid(name || 'select');
  const hintId = hint ? `${id}-hint` : null;
  const input = h('select', { id, name, 'aria-describedby': hintId },
    choices.map(([v, t]) => h('option', { value: v }, t)));
  const row = h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('div', { class: 'control' }, input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null));
  return { row, input };
}

// A checkbox with its label beside it.
export function checkField(label, { hint, name } = {}) {
  const id = uid(name || 'check');
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', { id, name, type: 'checkbox', 'aria-describedby': hintId });
  const row = h('div', { class: 'field check' }, input,
    h('div', { class: 'control' }, h('label', { for: id }, label),
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null));
  return { row, input };
}

// A group of radio buttons in a fieldset.  Returns {row, get(), set(v), inputs}.
export function radioGroup(legend, choices, { hint, name } = {}) {
  const group = name || uid('radio');
  const hintId = hint ? uid('hint') : null;
  const inputs = [];
  const items = choices.map(([v, t, sub]) => {
    const id = uid(group);
    const input = h('input', { id, type: 'radio', name: group, value: v });
    inputs.push(input);
    return h('div', { class: 'radio' },
      h('label', { for: id }, input, h('span', {}, t)),
      sub ? h('p', { class: 'hint' }, sub) : null);
  });
  const row = h('fieldset', { class: 'radios', 'aria-describedby': hintId },
    h('legend', {}, legend), hint ? h('p', { class: 'hint', id: hintId }, hint) : null, items);
  return {
    row, inputs,
    get: () => (inputs.find((i) => i.checked) || {}).value || '',
    set: (v) => { for (const i of inputs) i.checked = i.value === v; },
  };
}

// A result box for a check: role=status inside, text says OK / Failed.
export function resultBox() {
  return h('div', { class: 'result', role: 'status', 'aria-live': 'polite' });
}

export function showResult(box, kind, headline, ...details) {
  box.className = `result ${kind}`;
  box.replaceChildren(h('p', { class: 'verdict' }, headline), ...details.filter(Boolean));
}

// A check that ran and failed: {"ok": false, "error": {"code", "message",
// "fix"}} (or the CLI's flat {"code", "error"}).
export function checkFailure(doc) {
  const e = (doc && doc.error) || {};
  if (typeof e === 'string') return { message: e, code: doc.code || '' };
  const fix = e.fix && e.fix !== 'nothing' ? `. ${sentence(e.fix)}` : '';
  return { message: `${e.message || 'the server gave no reason'}${fix}`, code: e.code || '' };
}

export function showFailure(box, doc) {
  const f = checkFailure(doc);
  showResult(box, 'bad', `Failed: ${f.message}`,
    f.code ? h('p', {}, 'Reason code: ', h('code', {}, f.code)) : null);
}

// "a, b  c" -> ['a', 'b', 'c'] (lists typed into one field).
export function splitList(text) {
  return String(text || '').split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

// A titled section of a page (h2 + content), labelled by its heading.
export function card(title, ...children) {
  const id = uid(`sec-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

// A table inside a box that scrolls sideways on a narrow screen (the box
// is focusable so a keyboard can scroll it; its label names it).
export function table(caption, heads, rows) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {}, h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

// A small form that adds something: fields (from textField & co.), one
// submit button, a result box.  action(form) does the call and returns
// the success text; a thrown error shows as Failed with the server's reason.
// After success the text inputs are emptied and refresh() runs.
export function addForm(title, fields, submitLabel, action, refresh, { inline = false } = {}) {
  const result = resultBox();
  const button = h('button', { type: 'submit' }, submitLabel);
  const form = h('form', { class: inline ? 'add-form inline-form' : 'add-form', novalidate: true },
    title ? h('h3', {}, title) : null, fields.map((f) => f.row), h('div', { class: 'actions' }, button), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      const text = await action();
      showResult(result, 'ok', `OK: ${text}`);
      status(text, 'ok');
      for (const f of fields) if (f.input.tagName === 'INPUT' && f.input.type !== 'checkbox') f.input.value = '';
      if (refresh) await refresh();
    } catch (e) {
      showResult(result, 'bad', `Failed: ${errorText(e)}`);
      status(errorText(e), 'error');
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// Run fn (an API call) with b disabled meanwhile; its success text and
// errors go to the status line.
async function runFrom(b, fn) {
  b.disabled = true;
  try {
    const said = await fn();
    if (said) status(said, 'ok');
  } catch (e) {
    status(errorText(e), 'error');
  } finally {
    if (b.isConnected) b.disabled = false;
  }
}

// A button that runs fn once at a time.  label: its accessible name when
// the visible text alone would be ambiguous in a table ("Remove alias x").
export function actionButton(text, label, fn, { danger = false } = {}) {
  const b = h('button', { type: 'button', class: danger ? 'danger' : null, 'aria-label': label }, text);
  b.addEventListener('click', () => runFrom(b, fn));
  return b;
}

// A destructive action asks once more, in place: the first press turns
// the button into confirmText (focus stays on it), the second does it;
// leaving the button disarms it.
export function confirmButton(text, label, confirmText, fn) {
  let armed = false;
  const b = h('button', { type: 'button', class: 'danger', 'aria-label': label }, text);
  const arm = (on) => {
    armed = on;
    b.textContent = on ? confirmText : text;
    b.setAttribute('aria-label', on ? confirmText : label);
  };
  b.addEventListener('click', () => {
    if (!armed) {
      arm(true);
      status(`Press "${confirmText}" to go on; move away to cancel.`, 'info');
      return;
    }
    arm(false);
    runFrom(b, fn);
  });
  b.addEventListener('blur', () => { if (armed) arm(false); });
  return b;
}
