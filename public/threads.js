// Threads: a side panel with the room's threads (messages that have replies), each with its
// number of replies and how many are new, and one thread at a time with its own composer.
// "Threads" in the room's header opens the list; a message's "Open thread" opens its thread.
//
// Loaded on first use by index.html's loader (`data-part="threads"`). The list and the
// threads are read over HTTP (GET /api/rooms/{room}/threads…); replies are ordinary messages
// with `reply_to`, sent over the app's socket (`window.chatSocket`), so they also appear in the
// room's timeline, and what arrives on the socket is added live. What was read is remembered
// on this device (localStorage), per thread, as the number of replies seen.

import { clientId, el } from '/parts.js';

const READ_KEY = 'chat.threads-read';
const READ_KEPT = 500;
const hooked = new WeakSet();
let ui;
let me;
const view = {
  room: null,
  root: null, // the open thread's root seq, or null for the list
  events: [], // the open thread's messages
  pending: new Map(), // client id → { room, root, body, at }: my replies waiting for their ack
  load: 0, // bumped by each load, so an older one that finishes late is dropped
  watch: null,
};
// A reply not acked by then is reported as not sent.
const ACK_WAIT_MS = 15_000;

// As the room shows them (24-hour, like frontend/src/components/message.rs).
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

export async function open(button) {
  const room = button.dataset.room;
  if (!room) return;
  if (!ui) ui = build();
  hookSocket();
  if (!me) {
    me = await fetch('/api/session').then((r) => (r.ok ? r.json() : null)).then((s) => s?.username).catch(() => null);
  }
  view.room = room;
  ui.panel.hidden = false;
  document.body.classList.add('threads-open');
  ui.opener = button;
  watch();
  if (button.dataset.seq) await showThread(Number(button.dataset.seq));
  else await showList();
}

/**
 * While the panel is open: another room on screen closes it (the app moves between rooms
 * with the History API, which fires no event), a socket the app opened after a reconnect is
 * followed too, and replies that got no answer are reported.
 */
function watch() {
  clearInterval(view.watch);
  view.watch = setInterval(() => {
    if (ui.panel.hidden) return clearInterval(view.watch);
    const match = /^#\/room\/(.+)$/.exec(location.hash);
    if (match && decodeURIComponent(match[1]) !== view.room) return close();
    const ws = window.chatSocket;
    if (ws && !hooked.has(ws) && ws.readyState === WebSocket.OPEN) {
      hookSocket();
      if (view.root !== null) showThread(view.root);
    }
    let lost = false;
    for (const [id, reply] of view.pending) {
      if (Date.now() - reply.at > ACK_WAIT_MS) {
        view.pending.delete(id);
        lost = true;
      }
    }
    if (lost) {
      ui.alert.textContent = 'A reply got no answer from the server: it may not have been sent.';
      if (view.root !== null) drawThread();
    }
  }, 1000);
}

function close() {
  clearInterval(view.watch);
  ui.panel.hidden = true;
  document.body.classList.remove('threads-open');
  view.root = null;
  if (ui.opener?.isConnected) ui.opener.focus();
}

// ---- reading ----

function readCounts() {
  try {
    return JSON.parse(localStorage.getItem(READ_KEY) ?? '{}');
  } catch {
    return {};
  }
}

function markRead(room, root, replies) {
  const counts = readCounts();
  const key = `${me}/${room}/${root}`;
  delete counts[key];
  counts[key] = replies;
  const keys = Object.keys(counts);
  for (const old of keys.slice(0, Math.max(0, keys.length - READ_KEPT))) delete counts[old];
  localStorage.setItem(READ_KEY, JSON.stringify(counts));
}

async function api(path) {
  const response = await fetch(path);
  if (response.status === 401) location.reload();
  if (!response.ok) throw new Error(response.status === 429 ? 'Too many requests. Wait a moment.' : 'The threads could not be loaded.');
  return response.json();
}

async function showList() {
  const load = ++view.load;
  view.root = null;
  ui.title.textContent = 'Threads';
  ui.back.hidden = true;
  ui.composer.hidden = true;
  ui.body.replaceChildren(note('Loading…'));
  let threads;
  try {
    ({ threads } = await api(`/api/rooms/${encodeURIComponent(view.room)}/threads`));
  } catch (e) {
    ui.body.replaceChildren(note(navigator.onLine ? e.message : 'You are offline. Threads load once connected.'));
    return;
  }
  if (load !== view.load) return; // something else was opened meanwhile
  if (!threads.length) {
    ui.body.replaceChildren(note('No threads yet. Reply to a message to start one.'));
    return;
  }
  const read = readCounts();
  const list = el('ul', { className: 'th-list' });
  for (const t of threads) {
    const seen = read[`${me}/${view.room}/${t.root.seq}`] ?? 0;
    const unread = Math.max(0, t.replies - seen);
    const label = `${t.replies} ${t.replies === 1 ? 'reply' : 'replies'}`;
    list.append(el('li', {},
      el('button', { type: 'button', className: 'th-item', onclick: () => showThread(t.root.seq) },
        el('span', { className: 'th-who' }, t.root.sender),
        el('span', { className: 'th-text' }, t.root.deleted ? 'This message was deleted.' : plain(t.root.body)),
        el('span', { className: 'th-meta' }, `${label} · last ${time.format(t.last_at_ms)}`,
          unread ? el('span', { className: 'th-new' }, ` · ${unread} new`) : ''),
      )));
  }
  ui.body.replaceChildren(list);
  list.querySelector('button')?.focus();
}

async function showThread(root) {
  const load = ++view.load;
  view.root = root;
  // Live replies that arrive while the pages load go into the same list (once each).
  const events = [];
  view.events = events;
  ui.title.textContent = 'Thread';
  ui.back.hidden = false;
  ui.composer.hidden = false;
  ui.body.replaceChildren(note('Loading…'));
  let after = 0;
  try {
    for (;;) {
      const page = await api(`/api/rooms/${encodeURIComponent(view.room)}/threads/${root}?after=${after}`);
      if (load !== view.load) return;
      for (const e of page.events) if (!events.some((x) => x.seq === e.seq)) events.push(e);
      if (page.complete || !page.events.length) break;
      after = page.events[page.events.length - 1].seq;
    }
  } catch (e) {
    if (load === view.load) {
      ui.body.replaceChildren(note(navigator.onLine ? e.message : 'You are offline. Threads load once connected.'));
    }
    return;
  }
  events.sort((a, b) => a.seq - b.seq);
  if (!view.events.length) {
    ui.body.replaceChildren(note('This message is not in the room any more.'));
    ui.composer.hidden = true;
    return;
  }
  drawThread();
  ui.input.focus();
}

function replies() {
  return view.events.filter((e) => e.seq !== view.root && !e.deleted).length;
}

function drawThread() {
  const [first, ...rest] = view.events;
  const rows = [row(first, true)];
  rows.push(el('p', { className: 'th-count' }, `${rest.length ? replies() : 'No'} ${replies() === 1 ? 'reply' : 'replies'}`));
  for (const e of rest) rows.push(row(e, false));
  for (const reply of view.pending.values()) {
    if (reply.room === view.room && reply.root === view.root) {
      rows.push(row({ sender: me, body: reply.body, at_ms: reply.at, pending: true }, false));
    }
  }
  ui.body.replaceChildren(el('ol', { className: 'th-messages', 'aria-label': 'Thread' }, ...rows));
  ui.body.scrollTop = ui.body.scrollHeight;
  markRead(view.room, view.root, replies());
}

function row(e, root) {
  const when = new Date(e.at_ms);
  const reactions = (e.reactions ?? []).map((r) => `${r.emoji} ${r.users.length}`).join('  ');
  return el('li', { className: root ? 'th-message th-root' : 'th-message', 'data-seq': String(e.seq ?? '') },
    el('div', { className: 'th-head' },
      el('span', { className: 'th-who' }, e.sender),
      el('time', { dateTime: when.toISOString(), title: full.format(when) }, time.format(when)),
      e.edited_at_ms ? el('span', { className: 'th-edited' }, '(edited)') : '',
      e.pending ? el('span', { className: 'th-edited' }, 'Sending…') : ''),
    el('p', { className: e.deleted ? 'th-body th-deleted' : 'th-body' },
      ...(e.deleted ? ['This message was deleted.'] : formatted(e.body))),
    reactions ? el('p', { className: 'th-reactions' }, reactions) : '');
}

// ---- replying ----

function reply(event) {
  event.preventDefault();
  const body = ui.input.value.trim();
  if (!body) return;
  const ws = window.chatSocket;
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    ui.alert.textContent = 'You are offline. Reply once connected, or reply from the room (it waits there).';
    return;
  }
  if (new TextEncoder().encode(body).length > 16 * 1024) {
    ui.alert.textContent = 'That reply is too long.';
    return;
  }
  hookSocket();
  const id = clientId();
  ws.send(JSON.stringify({ type: 'send', room: view.room, client_id: id, body, reply_to: view.root }));
  view.pending.set(id, { room: view.room, root: view.root, body, at: Date.now() });
  ui.input.value = '';
  ui.alert.textContent = '';
  drawThread();
}

function hookSocket() {
  const ws = window.chatSocket;
  if (!ws || hooked.has(ws)) return;
  hooked.add(ws);
  ws.addEventListener('message', (message) => {
    if (ui.panel.hidden && !view.pending.size) return;
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.type === 'error' && view.pending.has(frame.client_id)) {
      view.pending.delete(frame.client_id);
      ui.alert.textContent = `Not sent: ${frame.message}`;
      if (view.root !== null) drawThread();
      return;
    }
    if (frame.type === 'ack') view.pending.delete(frame.client_id);
    const event = frame.type === 'event' || frame.type === 'ack' ? frame.event : null;
    if (!event || event.room !== view.room || view.root === null || ui.panel.hidden) return;
    apply(event);
  });
}

/** A live event of the room: a reply to this thread, or a change to one of its messages. */
function apply(event) {
  const shown = (seq) => view.events.find((e) => e.seq === seq);
  if (event.kind === 'message' && event.reply_to === view.root && !shown(event.seq)) {
    view.events.push(event);
  } else if (event.kind === 'edit' && shown(event.target)) {
    Object.assign(shown(event.target), { body: event.body, edited_at_ms: event.at_ms });
  } else if (event.kind === 'delete' && shown(event.target)) {
    Object.assign(shown(event.target), { body: '', deleted: true });
  } else if (event.kind === 'reaction' && shown(event.target)) {
    const target = shown(event.target);
    const list = (target.reactions ??= []);
    let entry = list.find((r) => r.emoji === event.emoji);
    if (event.added) {
      if (!entry) list.push((entry = { emoji: event.emoji, users: [] }));
      if (!entry.users.includes(event.sender)) entry.users.push(event.sender);
    } else if (entry) {
      entry.users = entry.users.filter((u) => u !== event.sender);
      if (!entry.users.length) target.reactions = list.filter((r) => r !== entry);
    }
  } else {
    return;
  }
  drawThread();
}

// ---- drawing ----


function note(text) {
  return el('p', { className: 'th-note' }, text);
}

/** The text without its **bold**, *italic* and `code` marks (for a one-line preview). */
function plain(body) {
  return body.replace(/\*\*(.+?)\*\*|\*(.+?)\*|`(.+?)`/g, (_, a, b, c) => a ?? b ?? c);
}

/** **bold**, *italic*, `code` and links as elements; everything else as text, never HTML. */
function formatted(body) {
  const parts = [];
  const pattern = /\*\*(.+?)\*\*|\*(.+?)\*|`(.+?)`|(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)])/g;
  let at = 0;
  for (const m of body.matchAll(pattern)) {
    if (m.index > at) parts.push(body.slice(at, m.index));
    if (m[1] !== undefined) parts.push(el('strong', {}, m[1]));
    else if (m[2] !== undefined) parts.push(el('em', {}, m[2]));
    else if (m[3] !== undefined) parts.push(el('code', {}, m[3]));
    else parts.push(el('a', { href: m[4], target: '_blank', rel: 'noopener noreferrer' }, m[4]));
    at = m.index + m[0].length;
  }
  if (at < body.length) parts.push(body.slice(at));
  return parts;
}

function build() {
  const u = {};
  u.title = el('h2', { id: 'th-title' });
  u.back = el('button', { type: 'button', className: 'th-back', onclick: () => showList() }, '← All threads');
  u.body = el('div', { className: 'th-body-area' });
  u.input = el('textarea', { id: 'th-reply', rows: 2, maxLength: 16 * 1024, placeholder: 'Reply in thread…',
    onkeydown: (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) reply(e);
    } });
  u.alert = el('p', { className: 'th-alert', role: 'alert' });
  u.composer = el('form', { className: 'th-composer', onsubmit: reply },
    el('label', { htmlFor: 'th-reply', className: 'visually-hidden' }, 'Reply in thread'),
    u.input, el('button', { type: 'submit', className: 'primary' }, 'Reply'), u.alert);
  u.panel = el('aside', { className: 'threads-panel', 'aria-labelledby': 'th-title', hidden: true,
    onkeydown: (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        close();
      }
    } },
    el('header', {}, u.title, u.back,
      el('button', { type: 'button', className: 'th-close', 'aria-label': 'Close threads', onclick: close }, '✕')),
    u.body, u.composer);
  document.head.append(el('link', { rel: 'stylesheet', href: '/threads.css' }));
  document.body.append(u.panel);
  addEventListener('hashchange', () => {
    if (!u.panel.hidden) close();
  });
  return u;
}
