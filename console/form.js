// form.js - labelled form controls for the settings and directory pages.
//
// Every control has a <label> (or a fieldset legend), a hint tied to it by
// aria-describedby, and reads/writes a setting's text value, so the pages
// can compare what the form says with what the server stored.
import { h, uid } from './app.js';

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

// "a, b  c" -> ['a', 'b', 'c'] (lists typed into one field).
export function splitList(text) {
  return String(text || '').split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}
