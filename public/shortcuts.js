// Keyboard shortcuts, and the dialog that lists them. index.html's inline script recognises
// the keys (so it can stop the browser's own use of them at once) and loads this on the first
// one; the "Keyboard shortcuts" button opens the list (`data-part="shortcuts"`). The app is
// driven through its own buttons, as a user would: nothing here knows its state.

export const SHORTCUTS = [
  ['Ctrl K', 'Search the history', 'mod+k'],
  ['Alt ↑ / Alt ↓', 'Previous or next room', 'alt+arrowup alt+arrowdown'],
  ['Alt Shift ↑ / ↓', 'Previous or next room with unread messages', 'alt+shift+arrowup alt+shift+arrowdown'],
  ['↑', 'Edit your last message (in an empty composer)'],
  ['Enter / Shift Enter', 'Send / new line'],
  ['Esc', 'Cancel a reply or edit; close a dialog'],
  ['Ctrl / or ?', 'Show this list', 'mod+/ ?'],
];

let dialog;

/** The "Keyboard shortcuts" button. */
export function open(button) {
  help(button);
}

/** A key index.html recognised, as `mod+k`, `alt+shift+arrowdown`, `?`… */
export function run(key) {
  switch (key) {
    case 'mod+k':
      return search();
    case 'alt+arrowup':
    case 'alt+arrowdown':
      return step(key.endsWith('down') ? 1 : -1, false);
    case 'alt+shift+arrowup':
    case 'alt+shift+arrowdown':
      return step(key.endsWith('down') ? 1 : -1, true);
    case 'mod+/':
    case '?':
      return help(document.activeElement);
  }
}

/** The sidebar is a separate screen on phones: show it first. */
function showSidebar() {
  const back = document.querySelector('.room-pane .back');
  if (back && back.offsetParent !== null && getComputedStyle(document.querySelector('.sidebar')).display === 'none') {
    back.click();
  }
}

function search() {
  showSidebar();
  const box = document.getElementById('search');
  box?.focus();
  box?.select();
}

function step(direction, unreadOnly) {
  const links = [...document.querySelectorAll('nav[aria-label="Rooms"] .room-link')];
  if (!links.length) return;
  const at = links.findIndex((l) => l.getAttribute('aria-current') === 'page');
  for (let i = 1; i <= links.length; i++) {
    const next = links[(at + direction * i + links.length * i) % links.length];
    if (!unreadOnly || next.querySelector('.badge')) {
      next.click();
      next.focus();
      return;
    }
  }
}

function help(returnTo) {
  if (!dialog) {
    const rows = SHORTCUTS.map(([keys, what]) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      for (const [i, part] of keys.split(' / ').entries()) {
        if (i) th.append(' / ');
        const kbd = document.createElement('kbd');
        kbd.textContent = part;
        th.append(kbd);
      }
      const td = document.createElement('td');
      td.textContent = what;
      tr.append(th, td);
      return tr;
    });
    dialog = document.createElement('dialog');
    dialog.className = 'shortcuts';
    dialog.setAttribute('aria-labelledby', 'sc-title');
    dialog.innerHTML = '<header><h2 id="sc-title">Keyboard shortcuts</h2>'
      + '<button type="button" aria-label="Close">✕</button></header>'
      + '<table><caption class="visually-hidden">Keys and what they do</caption><tbody></tbody></table>'
      + '<p>On a Mac, ⌘ works where Ctrl is shown.</p>';
    dialog.querySelector('tbody').append(...rows);
    dialog.querySelector('button').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => dialog.returnTo?.focus?.());
    const style = document.createElement('link');
    style.rel = 'stylesheet';
    style.href = '/shortcuts.css';
    document.head.append(style);
    document.body.append(dialog);
  }
  dialog.returnTo = returnTo;
  if (!dialog.open) dialog.showModal();
}
