// Slash commands in the composer. A "/" at the start lists the app's own commands (/topic,
// /invite, /me, /help) and those the room's bots registered (GET /api/rooms/{room}/commands,
// docs/BOTS.md); ↑/↓ choose, Tab or Enter completes, Esc closes. Loaded by index.html's inline
// script on the first "/", which also hands it those keys while the list is open, and Enter on
// a whole /topic, /invite, /me or /help line, before the composer's own Enter sees them.
//
// The app's own commands go as the frames the app would send, on a socket of this module's
// own: the server hands the result to the app's socket as it would from another device, so
// the app shows it with no change to its code. A bot's command is not run here: the app sends
// it as a message, which the bot reads and answers.

const BUILT_IN = [
  { name: 'topic', usage: '<text>', description: "Sets the room's topic" },
  { name: 'invite', usage: '@username', description: 'Adds someone to the room' },
  { name: 'me', usage: '<what you do>', description: 'Says what you do, in italics' },
  { name: 'help', usage: '', description: 'Lists the commands' },
];
const RUNS_HERE = /^\/(topic|invite|me|help)(\s|$)/;
const IDLE_CLOSE_MS = 30_000;
const botCommands = new Map(); // room → [{ name, usage, description, bot }]
let list;
let status;
let textarea;
let matches = [];
let selected = 0;
let helping = false;
let me = '';
let socket;
let idle;
const waiting = new Map(); // client_id → what to say when it is done

fetch('/api/session').then((r) => (r.ok ? r.json() : null)).then((s) => {
  me = s?.username ?? '';
}).catch(() => {});

/** The room on screen, as its header's buttons name it (the address may not, yet). */
function room() {
  return document.querySelector('[data-part="room-panel"][data-room]')?.dataset.room ?? null;
}

async function commandsOf(here) {
  if (!botCommands.has(here)) {
    botCommands.set(here, []);
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(here)}/commands`);
      if (r.ok) botCommands.set(here, (await r.json()).commands);
    } catch {
      botCommands.delete(here);
    }
  }
  return botCommands.get(here);
}

/** The composer changed: show, narrow or close the list. */
export async function update(box) {
  if (textarea !== box) box.addEventListener('blur', close);
  textarea = box;
  const typed = /^\/(\S*)$/.exec(box.value.slice(0, box.selectionEnd));
  if (!typed) return close();
  const here = room();
  if (!here) return close();
  const all = [...BUILT_IN, ...(await commandsOf(here))];
  if (here !== room() || !/^\/\S*$/.test(textarea.value)) return;
  matches = all.filter((c) => c.name.startsWith(typed[1].toLowerCase()));
  helping = false;
  if (!matches.length) return close();
  selected = Math.min(selected, matches.length - 1);
  show();
}

/** A key index.html handed over: the list is open, or a whole built-in command was typed. */
export function key(name, box) {
  textarea = box;
  if (window.slashOpen) {
    if (name === 'Escape') return close();
    if (name === 'ArrowDown') selected = (selected + 1) % matches.length;
    else if (name === 'ArrowUp') selected = (selected - 1 + matches.length) % matches.length;
    else {
      const chosen = matches[selected];
      const line = box.value.trim();
      if (name === 'Enter' && !helping && line === `/${chosen?.name}` && RUNS_HERE.test(line)) {
        close();
        return run(box);
      }
      return complete(chosen);
    }
    return show();
  }
  if (name === 'Enter') run(box);
}

function complete(command) {
  close();
  if (!command) return;
  textarea.value = `/${command.name} `;
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
  // The app reads the draft from input events.
  textarea.dispatchEvent(new Event('input', { bubbles: true }));
  textarea.focus();
}

function clearComposer() {
  textarea.value = '';
  textarea.dispatchEvent(new Event('input', { bubbles: true }));
}

function run(box) {
  const [, name, rest = ''] = /^\/(\w+)\s*([\s\S]*)$/.exec(box.value.trim()) ?? [];
  const here = room();
  if (!here) return say('Open a room first.', true);
  const text = rest.trim();
  const client_id = `slash-${crypto.randomUUID()}`;
  if (name === 'help') {
    clearComposer();
    return help();
  }
  if (!text) return say(`Write what /${name} needs: /${name} ${BUILT_IN.find((c) => c.name === name).usage}`, true);
  let frame;
  if (name === 'topic') {
    frame = { type: 'set_topic', room: here, client_id, topic: text };
    waiting.set(client_id, 'Topic set.');
  } else if (name === 'invite') {
    const user = text.replace(/^@/, '').split(/\s/)[0];
    frame = { type: 'add_member', room: here, client_id, user };
    waiting.set(client_id, `${user} is in the room now.`);
  } else {
    frame = { type: 'send', room: here, client_id, body: `*${me} ${text.replace(/\*/g, '')}*` };
    waiting.set(client_id, '');
  }
  clearComposer();
  send(frame);
}

/** Sends `frame` on this module's socket, opening it first if need be. */
function send(frame) {
  clearTimeout(idle);
  idle = setTimeout(() => socket?.close(), IDLE_CLOSE_MS);
  if (socket?.readyState === WebSocket.OPEN) return socket.send(JSON.stringify(frame));
  if (!navigator.onLine) return say('You are offline: commands need a connection.', true);
  if (!socket || socket.readyState > WebSocket.OPEN) {
    const opening = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    opening.addEventListener('message', (event) => answer(JSON.parse(event.data)));
    opening.addEventListener('close', () => {
      if (socket === opening) socket = null;
      // Never opened (too many tabs, the server away): nothing was sent.
      if (waiting.size && !opening.opened) {
        waiting.clear();
        say('The command could not reach the server. Try again in a moment.', true);
      }
    });
    opening.addEventListener('open', () => { opening.opened = true; }, { once: true });
    socket = opening;
  }
  socket.addEventListener('open', () => socket.send(JSON.stringify(frame)), { once: true });
}

function answer(frame) {
  const id = frame.client_id;
  if (!id || !waiting.has(id)) return;
  const done = waiting.get(id);
  waiting.delete(id);
  if (frame.type === 'error') say(frame.message, true);
  else if (done) say(done);
}

function help() {
  commandsOf(room()).then((bots) => {
    matches = [...BUILT_IN, ...bots];
    selected = 0;
    helping = true;
    show();
  });
}

function build() {
  list = document.createElement('ul');
  list.id = 'slash-list';
  list.className = 'mention-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Commands');
  list.addEventListener('mousedown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const option = e.target.closest('[role="option"]');
    if (option) complete(matches[Number(option.dataset.index)]);
  });
  status = document.createElement('p');
  status.className = 'mention-list slash-status';
  status.setAttribute('role', 'status');
  status.hidden = true;
  const style = document.createElement('link');
  style.rel = 'stylesheet';
  style.href = '/mention.css';
  document.head.append(style);
  document.body.append(list, status);
}

function place(node) {
  const r = (textarea ?? document.getElementById('composer')).getBoundingClientRect();
  node.style.left = `${r.left}px`;
  node.style.bottom = `${innerHeight - r.top + 6}px`;
  node.style.width = `${Math.min(r.width, 420)}px`;
}

function show() {
  if (!list) build();
  list.replaceChildren(...matches.map((c, i) => {
    const option = document.createElement('li');
    option.id = `slash-option-${i}`;
    option.setAttribute('role', 'option');
    option.setAttribute('aria-selected', String(i === selected));
    option.dataset.index = String(i);
    const name = document.createElement('strong');
    name.textContent = `/${c.name}${c.usage ? ` ${c.usage}` : ''}`;
    const about = document.createElement('span');
    about.textContent = ` ${c.description}${c.bot ? ` (${c.bot})` : ''}`;
    option.append(name, about);
    return option;
  }));
  place(list);
  status.hidden = true;
  list.hidden = false;
  window.slashOpen = true;
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', list.id);
  textarea.setAttribute('aria-activedescendant', `slash-option-${selected}`);
}

function close() {
  window.slashOpen = false;
  selected = 0;
  helping = false;
  if (list) list.hidden = true;
  if (textarea) {
    textarea.removeAttribute('aria-controls');
    textarea.removeAttribute('aria-activedescendant');
  }
}

/** Says how a command went, above the composer, for a few seconds. */
function say(text, problem = false) {
  if (!list) build();
  close();
  status.textContent = text;
  status.classList.toggle('problem', problem);
  place(status);
  status.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { status.hidden = true; }, 6000);
}

addEventListener('hashchange', close);
