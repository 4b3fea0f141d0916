// @-autocomplete in the composer: typing `@` and the start of a name lists the room's members
// who match (username or display name); ↑/↓ choose, Enter or Tab puts `@username ` in, Esc
// closes. Loaded on the first `@` by index.html's inline script, which also hands it those
// keys while the list is open (before the composer's own Enter and ↑ see them).
//
// The members come from the server over the app's socket (`window.chatSocket`), asked for
// once per room and kept current by the member lists the app already receives.

const MAX_SHOWN = 8;
const members = new Map(); // room → [{ username, display_name }], as the server last sent it
const asked = new Map(); // room → when its list was last asked for
const ASK_AGAIN_MS = 10_000;
const hooked = new WeakSet();
let list; // the listbox
let live; // says how many suggestions there are
let textarea;
let matches = [];
let selected = 0;
let me;

fetch('/api/session').then((r) => (r.ok ? r.json() : null)).then((s) => {
  me = s?.username?.toLowerCase();
}).catch(() => {});

function room() {
  const match = /^#\/room\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : 'lobby';
}

function hookSocket() {
  const ws = window.chatSocket;
  if (!ws || hooked.has(ws)) return;
  hooked.add(ws);
  ws.addEventListener('message', (event) => {
    if (!event.data.includes('"members"')) return;
    try {
      const frame = JSON.parse(event.data);
      if (frame.type === 'members') {
        members.set(frame.room, frame.members);
        // The list that was asked for on the first @ arrived: show what matches now.
        if (frame.room === room() && textarea && document.activeElement === textarea) update(textarea);
      }
    } catch {}
  });
}

/** The `@query` that ends right before the caret, with where it starts. */
function queryAt(box) {
  const before = box.value.slice(0, box.selectionEnd);
  const match = /(^|\s)@([\p{L}\p{N}_.-]*)$/u.exec(before);
  return match ? { start: before.length - match[2].length - 1, text: match[2].toLowerCase() } : null;
}

/** The composer changed: show, narrow or close the list. */
export function update(box) {
  if (textarea !== box) box.addEventListener('blur', close);
  textarea = box;
  hookSocket();
  const query = queryAt(box);
  if (!query) return close();
  const here = room();
  if (!members.has(here) && Date.now() - (asked.get(here) ?? 0) > ASK_AGAIN_MS) {
    const ws = window.chatSocket;
    if (ws?.readyState === WebSocket.OPEN) {
      asked.set(here, Date.now());
      ws.send(JSON.stringify({ type: 'list_members', room: here }));
    }
  }
  matches = (members.get(here) ?? [])
    .filter((m) => m.username.toLowerCase() !== me)
    .filter((m) => m.username.toLowerCase().startsWith(query.text)
      || (m.display_name ?? '').toLowerCase().split(/\s+/).some((w) => w.startsWith(query.text)))
    .sort((a, b) => a.username.localeCompare(b.username))
    .slice(0, MAX_SHOWN);
  if (!matches.length) return close();
  selected = Math.min(selected, matches.length - 1);
  show();
}

/** A key index.html handed over while the list is open. */
export function key(name, box) {
  textarea = box;
  if (name === 'ArrowDown') selected = (selected + 1) % matches.length;
  else if (name === 'ArrowUp') selected = (selected - 1 + matches.length) % matches.length;
  else if (name === 'Escape') return close();
  else return choose(matches[selected]);
  show();
}

function choose(member) {
  const query = member && queryAt(textarea);
  if (!query) return close();
  textarea.setRangeText(`@${member.username} `, query.start, textarea.selectionEnd, 'end');
  close();
  // The app reads the draft from input events.
  textarea.dispatchEvent(new Event('input', { bubbles: true }));
  textarea.focus();
}

function build() {
  list = document.createElement('ul');
  list.id = 'mention-list';
  list.className = 'mention-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'People to mention');
  // Keep the focus in the composer while choosing with the mouse.
  list.addEventListener('mousedown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const option = e.target.closest('[role="option"]');
    if (option) choose(matches[Number(option.dataset.index)]);
  });
  live = document.createElement('p');
  live.className = 'visually-hidden';
  live.setAttribute('aria-live', 'polite');
  const style = document.createElement('link');
  style.rel = 'stylesheet';
  style.href = '/mention.css';
  document.head.append(style);
  document.body.append(list, live);
}

function show() {
  if (!list) build();
  list.replaceChildren(...matches.map((m, i) => {
    const option = document.createElement('li');
    option.id = `mention-option-${i}`;
    option.setAttribute('role', 'option');
    option.setAttribute('aria-selected', String(i === selected));
    option.dataset.index = String(i);
    const name = document.createElement('strong');
    name.textContent = m.display_name || m.username;
    option.append(name);
    if (m.display_name) {
      const user = document.createElement('span');
      user.textContent = ` @${m.username}`;
      option.append(user);
    }
    return option;
  }));
  const r = textarea.getBoundingClientRect();
  list.style.left = `${r.left}px`;
  list.style.bottom = `${innerHeight - r.top + 6}px`;
  list.style.width = `${Math.min(r.width, 320)}px`;
  list.hidden = false;
  window.mentionOpen = true;
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', list.id);
  textarea.setAttribute('aria-activedescendant', `mention-option-${selected}`);
  const count = `${matches.length} ${matches.length === 1 ? 'person' : 'people'} to mention`;
  if (live.textContent !== count) live.textContent = count;
}

function close() {
  window.mentionOpen = false;
  selected = 0;
  if (list) list.hidden = true;
  if (textarea) {
    textarea.removeAttribute('aria-controls');
    textarea.removeAttribute('aria-activedescendant');
  }
}

addEventListener('hashchange', close);
