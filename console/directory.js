// directory.js - the Directory page (being written; see app.js for the page interface).
import { registerPage, h, fill } from './app.js';

registerPage('directory', {
  title: 'Directory', nav: 'Directory', order: 40, admin: true,
  render(root) {
    fill(root, h('h1', {}, 'Directory'), h('p', {}, 'This page is being built.'));
  },
});
