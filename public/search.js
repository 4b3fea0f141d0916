// Search across the history stored on this device: the messages the app keeps in IndexedDB
// (`chat-<user>`, store `messages`, each the JSON of a timeline entry), matched by the
// browser's Unicode lower case, newest first. A hit opens its room at that message
// (`#/room/<id>/<seq>`, which the app turns into "show this message").
//
// Loaded on first use by index.html's loader when something is typed in the search box; the
// app draws only the box.

import { el } from '/parts.js';

const RESULTS = 30;
// Typing pause before a search runs.
const PAUSE_MS = 200;
const USER_KEY = 'chat.lastUser';

let timer;
let generation = 0;
const hooked = new WeakSet();
let list;

/** The box changed: search after a pause (only the newest search shows its results). */
export function update(box) {
  hook(box);
  clearTimeout(timer);
  const mine = ++generation;
  timer = setTimeout(() => run(box, mine), PAUSE_MS);
}

function hook(box) {
  if (hooked.has(box)) return;
  hooked.add(box);
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      box.value = '';
      generation++;
      show(box, null);
    } else if (event.key === 'Enter') {
      clearTimeout(timer);
      run(box, ++generation);
    }
  });
}

async function run(box, mine) {
  const needle = box.value.trim().toLowerCase();
  if (!needle) return show(box, null);
  const found = await search(needle).catch(() => []);
  if (mine === generation) show(box, found);
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function search(needle) {
  const user = localStorage.getItem(USER_KEY);
  if (!user) return [];
  const db = await request(indexedDB.open(`chat-${user.toLowerCase()}`));
  try {
    if (!db.objectStoreNames.contains('messages')) return [];
    const tx = db.transaction(['messages', 'meta'], 'readonly');
    const names = new Map();
    const rooms = await request(tx.objectStore('meta').get('rooms'));
    for (const room of rooms ? JSON.parse(rooms) : []) names.set(room.id, room.name);
    const found = [];
    await new Promise((resolve, reject) => {
      const cursor = tx.objectStore('messages').openCursor();
      cursor.onerror = () => reject(cursor.error);
      cursor.onsuccess = () => {
        const at = cursor.result;
        if (!at) return resolve();
        const entry = JSON.parse(at.value);
        if (!entry.deleted && entry.id != null && entry.body.toLowerCase().includes(needle)) {
          const room = at.key[0];
          found.push({ room, name: names.get(room) ?? room, seq: entry.id, text: `${entry.sender}: ${plain(entry.body)}`, at: entry.sent_at_ms });
        }
        at.continue();
      };
    });
    return found.sort((a, b) => b.at - a.at).slice(0, RESULTS);
  } finally {
    db.close();
  }
}

/** The text without its markup (`**bold**`, `*italic*`, `` `code` ``), on one line. */
function plain(body) {
  return body.replace(/\*\*(.+?)\*\*|\*(.+?)\*|`([^`]+)`/g, (_, a, b, c) => a ?? b ?? c).replace(/\s+/g, ' ');
}

function show(box, found) {
  list?.remove();
  list = null;
  if (!found) return;
  const form = box.closest('.search');
  if (!found.length) {
    list = el('p', { className: 'search-empty' }, 'Nothing found on this device.');
  } else {
    list = el('ul', { className: 'search-results', 'aria-label': 'Search results' },
      ...found.map((hit) => el('li', {},
        el('button', { type: 'button', className: 'room-link', onclick: () => open(box, hit) },
          el('span', { className: 'room-name' }, el('span', { className: 'label' }, hit.name)),
          el('span', { className: 'preview' }, hit.text)))));
  }
  form.after(list);
}

function open(box, hit) {
  box.value = '';
  generation++;
  show(box, null);
  location.hash = `#/room/${encodeURIComponent(hit.room)}/${hit.seq}`;
}
