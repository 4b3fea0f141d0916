// The emoji picker: every emoji, searchable by name and keyword, with the ones used last
// first and a skin tone that is remembered. It reacts to a message (a button with
// `data-seq`) or writes into the composer (`data-target="composer"`).
//
// Loaded on first use by index.html's loader (`data-part="emoji"`), with its data
// (/emoji-data.json, made by scripts/emoji-data.mjs from emojibase): neither costs the first
// load anything. A reaction goes to the server over the app's socket, `window.chatSocket`
// (frontend/src/connection.rs); the app shows it when the server's ack comes back.

import { clientId, el } from '/parts.js';

const RECENT_KEY = 'chat.emoji.recent';
const TONE_KEY = 'chat.emoji.tone';
const RECENT_MAX = 24;
// Matches shown while searching.
const RESULTS_MAX = 120;
const TONES = ['✋', '✋🏻', '✋🏼', '✋🏽', '✋🏾', '✋🏿'];
const TONE_NAMES = ['Default', 'Light', 'Medium-light', 'Medium', 'Medium-dark', 'Dark'];

let ui;
let data; // [[group, [[emoji, label, tags, skins?], …]], …]
let byEmoji; // emoji (in any tone) → entry
let target; // { kind: 'react', room, seq } or { kind: 'composer' }
let opener;

export async function open(button) {
  opener = button;
  target = button.dataset.seq
    ? { kind: 'react', room: button.dataset.room, seq: Number(button.dataset.seq) }
    : { kind: 'composer' };
  if (!ui) ui = build();
  ui.title.textContent = target.kind === 'react' ? 'React with an emoji' : 'Insert an emoji';
  ui.search.value = '';
  ui.alert.textContent = '';
  if (!ui.dialog.open) ui.dialog.showModal();
  place();
  ui.search.focus();
  if (!data) {
    ui.grid.replaceChildren(el('p', { className: 'em-note' }, 'Loading emoji…'));
    try {
      const response = await fetch('/emoji-data.json');
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
      byEmoji = new Map();
      for (const [, list] of data) {
        for (const entry of list) {
          byEmoji.set(entry[0], entry);
          for (const skin of entry[3] ?? []) byEmoji.set(skin, entry);
        }
      }
    } catch {
      ui.grid.replaceChildren(el('p', { className: 'em-note' }, 'The emoji could not be loaded. Check the connection and try again.'));
      return;
    }
  }
  draw();
}

// ---- choosing ----

function tone() {
  return Number(localStorage.getItem(TONE_KEY)) || 0;
}

/** The emoji of `entry` in the chosen skin tone, where it has tones. */
function toned(entry) {
  const t = tone();
  return t && entry[3] ? entry[3][t - 1] : entry[0];
}

function recent() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((e) => byEmoji.has(e)) : [];
  } catch {
    return [];
  }
}

function remember(emoji) {
  const list = [emoji, ...recent().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
}

function pick(emoji) {
  if (target.kind === 'react') {
    const ws = window.chatSocket;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      ui.alert.textContent = 'You are offline. React once connected, or use the quick reactions.';
      return;
    }
    const id = clientId();
    // The picker stays open until the server answers, so a refusal is shown, not lost.
    const answered = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.client_id !== id || !['ack', 'error'].includes(frame.type)) return;
      ws.removeEventListener('message', answered);
      clearTimeout(timer);
      if (frame.type === 'error') {
        ui.alert.textContent = `Not added: ${frame.message}`;
        return;
      }
      remember(emoji);
      close(opener);
    };
    const timer = setTimeout(() => {
      ws.removeEventListener('message', answered);
      ui.alert.textContent = 'The server did not answer. Try again.';
    }, 10_000);
    ws.addEventListener('message', answered);
    ws.send(JSON.stringify({ type: 'react', room: target.room, client_id: id, target: target.seq, emoji, add: true }));
    return;
  } else {
    const composer = document.getElementById('composer');
    if (composer) {
      const { selectionStart: start, selectionEnd: end } = composer;
      composer.setRangeText(emoji, start, end, 'end');
      // The app reads the draft from input events.
      composer.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }
  remember(emoji);
  close(target.kind === 'composer' ? document.getElementById('composer') : opener);
}

function close(focus) {
  ui.dialog.close();
  focus?.focus();
}

// ---- drawing ----


function build() {
  const u = {};
  u.title = el('h2', { id: 'em-title' });
  u.search = el('input', {
    type: 'search', id: 'em-search', autocomplete: 'off', spellcheck: false,
    placeholder: 'Search emoji', 'aria-label': 'Search emoji', 'aria-controls': 'em-grid',
    oninput: draw,
    onkeydown: (e) => {
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        u.grid.querySelector('button')?.focus();
      } else if (e.key === 'Enter') {
        e.preventDefault();
        const first = u.grid.querySelector('button');
        if (first) pick(first.dataset.emoji);
      }
    },
  });
  u.tone = el('select', { id: 'em-tone', 'aria-label': 'Skin tone', onchange: () => {
    localStorage.setItem(TONE_KEY, u.tone.value);
    draw();
  } }, ...TONES.map((t, i) => el('option', { value: String(i), label: `${t} ${TONE_NAMES[i]}` }, `${t} ${TONE_NAMES[i]}`)));
  u.tone.value = String(tone());
  u.jump = el('nav', { className: 'em-jump', 'aria-label': 'Emoji groups' });
  u.grid = el('div', { id: 'em-grid', className: 'em-grid', onkeydown: gridKeys, onclick: (e) => {
    const button = e.target.closest('button[data-emoji]');
    if (button) pick(button.dataset.emoji);
  } });
  u.alert = el('p', { className: 'em-alert', role: 'alert' });
  u.dialog = el('dialog', { className: 'emoji-picker', 'aria-labelledby': 'em-title' },
    el('header', {}, u.title,
      el('button', { type: 'button', className: 'em-close', 'aria-label': 'Close', onclick: () => close(opener) }, '✕')),
    el('div', { className: 'em-tools' }, u.search, u.tone),
    u.jump, u.grid, u.alert);
  u.dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    close(opener);
  });
  u.dialog.addEventListener('click', (e) => {
    if (e.target === u.dialog) {
      const r = u.dialog.getBoundingClientRect();
      if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) close(opener);
    }
  });
  document.head.append(el('link', { rel: 'stylesheet', href: '/emoji.css' }));
  document.body.append(u.dialog);
  return u;
}

/** Next to the button that opened it on wide screens; a sheet at the bottom on phones. */
function place() {
  const d = ui.dialog;
  if (innerWidth <= 600 || !opener?.isConnected) {
    d.style.removeProperty('inset');
    d.classList.remove('em-anchored');
    return;
  }
  const r = opener.getBoundingClientRect();
  const width = d.offsetWidth;
  const height = d.offsetHeight;
  const left = Math.max(8, Math.min(r.right - width, innerWidth - width - 8));
  const top = r.top - height - 8 >= 8 ? r.top - height - 8 : Math.min(r.bottom + 8, innerHeight - height - 8);
  d.classList.add('em-anchored');
  d.style.inset = `${Math.max(8, top)}px auto auto ${left}px`;
}

function section(name, id, emojis) {
  const heading = el('h3', { id }, name);
  return el('section', { 'aria-labelledby': id },
    heading,
    el('div', { className: 'em-cells', role: 'group', 'aria-labelledby': id },
      ...emojis.map((emoji) => {
        const entry = byEmoji.get(emoji);
        return el('button', { type: 'button', tabIndex: -1, 'data-emoji': emoji, title: entry?.[1] ?? emoji, 'aria-label': entry?.[1] ?? emoji }, emoji);
      })));
}

function draw() {
  if (!data) return;
  const query = ui.search.value.trim().toLowerCase();
  const sections = [];
  if (query) {
    const words = query.split(/\s+/);
    const found = [];
    for (const [, list] of data) {
      for (const entry of list) {
        const text = `${entry[1]} ${entry[2]}`;
        if (words.every((w) => text.includes(w))) found.push(toned(entry));
        if (found.length >= RESULTS_MAX) break;
      }
    }
    sections.push(found.length
      ? section(`Results for “${ui.search.value.trim()}”`, 'em-results', found)
      : el('p', { className: 'em-note' }, 'No emoji match. Try another word.'));
    ui.jump.hidden = true;
  } else {
    const used = recent();
    if (used.length) sections.push(section('Recently used', 'em-g-recent', used));
    data.forEach(([name, list], i) => sections.push(section(name[0].toUpperCase() + name.slice(1), `em-g-${i}`, list.map(toned))));
    ui.jump.hidden = false;
    ui.jump.replaceChildren(...[...(used.length ? [['🕘', 'Recently used', 'em-g-recent']] : []),
      ...data.map(([name, list], i) => [list[0][0], name, `em-g-${i}`])].map(([icon, name, id]) =>
      el('button', { type: 'button', 'aria-label': name, title: name, onclick: () => {
        document.getElementById(id)?.scrollIntoView({ block: 'start' });
      } }, icon)));
  }
  ui.grid.replaceChildren(...sections);
  const first = ui.grid.querySelector('button');
  if (first) first.tabIndex = 0;
}

/** Arrow keys move through the grid (one tab stop); Home and End go to the ends. */
function gridKeys(e) {
  const buttons = [...ui.grid.querySelectorAll('button')];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0) return;
  const perRow = Math.max(1, Math.round(ui.grid.querySelector('.em-cells').clientWidth / buttons[0].offsetWidth));
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -at, End: buttons.length }[e.key];
  if (step === undefined) return;
  e.preventDefault();
  if (e.key === 'ArrowUp' && at - perRow < 0) {
    ui.search.focus();
    return;
  }
  const next = buttons[Math.max(0, Math.min(buttons.length - 1, at + step))];
  buttons[at].tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}
