// The support team's desk (desk.html): the queue of conversations waiting for a person and
// the agent's own, with unread counts; taking one (of agents clicking at once exactly one
// gets it, the others are told); several conversations open side by side, each with its
// whole history and the summary written when it was handed over; replying, putting one back
// in the queue and resolving (docs/SUPPORT.md).
//
// The queue is read from GET /api/support/queue every few seconds (waiting conversations are
// in rooms the agent is not in yet); the agent's own conversations are rooms, so their
// messages and unread counts come over the socket as they happen.

import { el } from '/parts.js';
import { api, ago } from '/pages.js';
import { SupportSocket, Transcript, linked } from '/support-chat.js';

const QUEUE_EVERY_MS = 4000;
const $ = (id) => document.getElementById(id);
let me = null;
let socket = null;
let queue = []; // [{ room, name, state, reason, summary, escalated_ms, mine }]
const unread = new Map(); // room → messages not read yet
const opened = new Map(); // room → { panel, transcript, names }
const refusals = new Map(); // room → why taking it failed

const REASONS = {
  asked_for_person: 'Asked for a person',
  did_not_help: 'An answer did not help',
  negative: 'Upset',
  topic: 'Always a person’s topic',
  not_confident: 'The assistant was not sure',
};

function showError(error) {
  $('error').hidden = !error;
  $('error').textContent = error ? error.message || String(error) : '';
}

async function refreshQueue() {
  try {
    queue = await api('GET', '/api/support/queue');
    drawQueue();
  } catch (error) {
    showError(error);
  }
}

function drawQueue() {
  const waiting = queue.filter((c) => c.state === 'waiting');
  const mine = queue.filter((c) => c.mine);
  // One another agent took as this agent clicked: said where they clicked, for a while.
  const gone = [...refusals].filter(([room]) => !waiting.some((c) => c.room === room))
    .map(([, text]) => el('li', { className: 'item gone' }, el('p', { role: 'alert' }, text)));
  $('waiting').replaceChildren(...gone, ...waiting.map(waitingItem));
  $('mine').replaceChildren(...mine.map(mineItem));
  $('waiting-none').hidden = waiting.length + gone.length > 0;
  $('mine-none').hidden = mine.length > 0;
  document.title = waiting.length ? `(${waiting.length}) Support desk · Chat` : 'Support desk · Chat';
}

function customerOf(conversation) {
  return conversation.name.replace(/^Support: /, '') || 'A customer';
}

function waitingItem(c) {
  const refused = refusals.get(c.room);
  return el('li', { className: 'item waiting', 'data-room': c.room },
    el('p', { className: 'who' }, customerOf(c)),
    el('p', { className: 'why' }, REASONS[c.reason] || c.reason, ' · waiting ', c.escalated_ms ? ago(c.escalated_ms).replace(/ ago$/, '') : ''),
    el('details', {}, el('summary', {}, 'Summary'), el('p', { className: 'summary-text' }, c.summary)),
    el('button', {
      type: 'button',
      className: 'primary',
      'aria-label': `Take it: ${customerOf(c)}`,
      onclick: (e) => take(c, e.currentTarget),
    }, 'Take it'),
    refused ? el('p', { className: 'error', role: 'alert' }, refused) : null);
}

function mineItem(c) {
  const count = unread.get(c.room) || 0;
  return el('li', { className: 'item', 'data-room': c.room },
    el('button', {
      type: 'button',
      className: 'open-item',
      'aria-label': `${customerOf(c)}${count ? `, ${count} unread` : ''}`,
      onclick: () => openConversation(c),
    },
    el('span', { className: 'who' }, customerOf(c)),
    count ? el('span', { className: 'badge', 'aria-hidden': 'true' }, String(count)) : null));
}

async function take(c, button) {
  button.disabled = true;
  try {
    await api('POST', `/api/support/conversations/${encodeURIComponent(c.room)}/claim`);
    refusals.delete(c.room);
    await refreshQueue();
    openConversation({ ...c, mine: true, state: 'agent' });
  } catch (error) {
    const taken = error.status === 409;
    refusals.set(c.room, taken ? `Another agent has taken the conversation with ${customerOf(c)}.` : error.message);
    setTimeout(() => refusals.delete(c.room) && drawQueue(), 15_000);
    await refreshQueue();
  }
}

async function openConversation(c) {
  if (opened.has(c.room)) {
    opened.get(c.room).panel.querySelector('textarea').focus();
    return;
  }
  const names = new Map([[me.username, me.display_name || me.username]]);
  const list = el('ol', { className: 'transcript' });
  const transcript = new Transcript(list, me.username, names);
  const textarea = el('textarea', { rows: 2, maxLength: 4000, required: true, 'aria-label': `Reply to ${customerOf(c)}` });
  const error = el('p', { className: 'error', role: 'alert', hidden: true });
  const say = (failure) => {
    error.hidden = !failure;
    error.textContent = failure ? failure.message : '';
  };
  const composer = el('form', {
    className: 'composer',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = textarea.value.trim();
      if (!body) return;
      textarea.value = '';
      try {
        await socket.send(c.room, body);
        say(null);
      } catch (failure) {
        textarea.value ||= body;
        say(failure);
      }
    },
  }, textarea, el('button', { type: 'submit', className: 'primary' }, 'Send'));
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  const act = (label, path, done) => el('button', {
    type: 'button',
    onclick: async () => {
      try {
        await api('POST', `/api/support/conversations/${encodeURIComponent(c.room)}/${path}`);
        say(null);
        done();
        refreshQueue();
      } catch (failure) {
        say(failure);
      }
    },
  }, label);
  const close = () => {
    panel.remove();
    opened.delete(c.room);
    $('open-none').hidden = opened.size > 0;
  };
  const panel = el('article', { className: 'conversation', 'data-room': c.room, 'aria-label': `Conversation with ${customerOf(c)}` },
    el('header', {},
      el('h2', {}, customerOf(c)),
      el('div', { className: 'actions' },
        act('Resolve', 'resolve', close),
        act('Put back in the queue', 'unassign', close),
        el('button', { type: 'button', 'aria-label': `Close the conversation with ${customerOf(c)}`, onclick: close },
          el('span', { 'aria-hidden': 'true' }, '✕')))),
    el('section', { className: 'summary', 'aria-label': 'Summary' },
      el('h3', {}, 'Summary ', el('span', { className: 'hint' }, REASONS[c.reason] || '')),
      el('p', { className: 'summary-text' }, ...linked(c.summary || 'No summary.'))),
    el('div', { role: 'log', 'aria-label': `Messages with ${customerOf(c)}` }, list),
    composer,
    error);
  opened.set(c.room, { panel, transcript, names });
  $('open').append(panel);
  $('open-none').hidden = true;
  const [members, page] = await Promise.all([socket.listMembers(c.room), socket.history(c.room)]);
  for (const m of members) names.set(m.username, m.display_name || m.username);
  for (const e of page.events) transcript.add(e);
  read(c.room);
  textarea.focus();
}

function read(room) {
  const open = opened.get(room);
  if (open?.transcript.last) socket.markRead(room, open.transcript.last);
  unread.set(room, 0);
  drawQueue();
}

function event(e) {
  const open = opened.get(e.room);
  const fresh = open ? open.transcript.add(e) : e.kind === 'message' && e.sender !== me.username;
  if (e.kind === 'topic_changed') refreshQueue();
  if (!fresh) return;
  if (open && document.visibilityState === 'visible') {
    socket.markRead(e.room, e.seq);
  } else {
    unread.set(e.room, (unread.get(e.room) || 0) + 1);
    drawQueue();
  }
}

async function start() {
  const response = await fetch('/api/support/me');
  if (response.status === 401) {
    location.assign('/');
    return;
  }
  if (response.status === 404) {
    $('status').textContent = 'This server has no support desk.';
    return;
  }
  me = await response.json();
  if (!me.agent) {
    $('status').textContent = 'This page is for the support team.';
    return;
  }
  $('status').textContent = `Signed in as ${me.display_name || me.username}`;
  $('desk').hidden = false;
  socket = new SupportSocket({
    welcome: (frame) => {
      for (const r of frame.rooms) if (r.id.startsWith('support-')) unread.set(r.id, r.unread);
      for (const [room, open] of opened) {
        socket.history(room).then((page) => page.events.forEach((e) => open.transcript.add(e)));
      }
      drawQueue();
    },
    event,
    state: (text) => {
      if (text === 'signed out') location.assign('/');
      else $('status').textContent = text ?? `Signed in as ${me.display_name || me.username}`;
    },
  });
  await refreshQueue();
  setInterval(refreshQueue, QUEUE_EVERY_MS);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') for (const room of opened.keys()) read(room);
});

start();
