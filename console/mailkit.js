// mailkit.js - formatting the mail and "why" pages share: times, sizes,
// people.  DOM building, the API and the status line come from app.js.
import { h } from './app.js';

// "2026-12-04T03:35:03Z" -> local date and time; the ISO text stays in
// <time datetime>.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return h('time', { datetime: iso }, d.toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  }));
}

export function size(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// "Name <address>" for an address object of messages show --json.
export function person(p) {
  if (!p) return '';
  return p.name ? `${p.name} <${p.address}>` : p.address;
}
