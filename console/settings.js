// settings.js - the Email Settings page (being written; see app.js for the page interface).
import { registerPage, h, fill } from './app.js';

registerPage('settings', {
  title: 'Email Settings', nav: 'Email Settings', order: 30, admin: true,
  render(root) {
    fill(root, h('h1', {}, 'Email Settings'), h('p', {}, 'This page is being built.'));
  },
});
