// The customer's support page (support.html): a guest gives a name, a signed-in person opens a
// conversation, and both talk with the assistant, then with a person from the team, in a
// room of their own (docs/SUPPORT.md). A guest's session reaches this conversation only.

import { SupportSocket, Transcript } from '/support-chat.js';

const $ = (id) => document.getElementById(id);
let me = null; // { username, display_name, guest }
let socket = null;
let room = null;
let transcript = null;
const names = new Map();

function show(section) {
  for (const id of ['start', 'new', 'conversation']) $(id).hidden = id !== section;
}

function showError(id, error) {
  $(id).hidden = !error;
  $(id).textContent = error ? error.message || String(error) : '';
}

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(answer?.message || `The server answered ${response.status}.`);
  return answer;
}

/** What the room's topic says about who has the conversation, in the customer's words. */
function stateText(topic) {
  if (/waiting for a person/.test(topic)) return 'Waiting for a person from the team…';
  const agent = /with (.+)$/.exec(topic);
  if (agent && agent[1] !== 'the assistant') return `${names.get(agent[1]) || agent[1]} from the team is with you.`;
  if (/resolved/.test(topic)) return 'Resolved. Write again any time, and the assistant picks it up.';
  return 'The assistant is answering. Ask for a person at any time.';
}

async function openRoom(summary) {
  room = summary.id;
  $('state').textContent = stateText(summary.topic || '');
  transcript = new Transcript($('transcript'), me.username, names);
  $('transcript').replaceChildren();
  show('conversation');
  $('guest-links').hidden = !me.guest;
  $('status').textContent = me.guest ? `You are ${me.display_name}` : `Signed in as ${me.display_name || me.username}`;
  const [members, page] = await Promise.all([socket.listMembers(room), socket.history(room)]);
  for (const m of members) names.set(m.username, m.display_name || m.username);
  names.set(me.username, me.display_name || me.username);
  for (const event of page.events) transcript.add(event);
  if (transcript.last) socket.markRead(room, transcript.last);
  $('message').focus();
}

function welcome(frame) {
  const mine = frame.rooms.filter((r) => r.id.startsWith('support-'));
  mine.sort((a, b) => (b.last_message?.at_ms ?? 0) - (a.last_message?.at_ms ?? 0));
  if (room && mine.some((r) => r.id === room)) {
    // Back after a reconnect: what came meanwhile.
    socket.history(room).then((page) => page.events.forEach((e) => transcript.add(e)));
  } else if (mine.length) {
    openRoom(mine[0]);
  } else {
    show('new');
  }
}

function event(e) {
  if (e.room !== room || !transcript) return;
  if (e.kind === 'topic_changed') $('state').textContent = stateText(e.topic);
  if (e.kind === 'added') {
    socket.listMembers(room).then((members) => {
      for (const m of members) names.set(m.username, m.display_name || m.username);
    });
  }
  if (transcript.add(e) && document.visibilityState === 'visible') socket.markRead(room, e.seq);
}

function connect() {
  socket = new SupportSocket({
    welcome,
    event,
    roomUpdated: (summary) => {
      if (!room && summary.id.startsWith('support-')) openRoom(summary);
    },
    state: (text) => {
      if (text === 'signed out') {
        location.reload();
        return;
      }
      $('status').textContent = text ?? (me.guest ? `You are ${me.display_name}` : `Signed in as ${me.display_name || me.username}`);
    },
  });
}

async function start() {
  const response = await fetch('/api/support/me');
  if (response.status === 404) {
    $('status').textContent = 'This server has no support desk.';
    return;
  }
  if (response.status === 401) {
    $('status').textContent = '';
    show('start');
    $('guest-name').focus();
    return;
  }
  if (!response.ok) {
    showError('error', new Error('The support desk cannot be reached. Try again in a moment.'));
    return;
  }
  me = await response.json();
  $('status').textContent = 'Connecting…';
  connect();
}

$('guest-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = e.submitter;
  button.disabled = true;
  try {
    await post('/api/support/guest', { name: $('guest-name').value.trim() });
    showError('guest-error', null);
    await start();
  } catch (error) {
    showError('guest-error', error);
  } finally {
    button.disabled = false;
  }
});

$('open').addEventListener('click', async () => {
  try {
    const opened = await post('/api/support/conversations');
    showError('open-error', null);
    openRoom({ id: opened.room, topic: '' });
  } catch (error) {
    showError('open-error', error);
  }
});

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = $('message').value.trim();
  if (!body || !room) return;
  $('message').value = '';
  try {
    await socket.send(room, body);
    showError('send-error', null);
  } catch (error) {
    $('message').value ||= body;
    showError('send-error', error);
  }
});

$('message').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});

let lastTyping = 0;
$('message').addEventListener('input', () => {
  if (room && Date.now() - lastTyping > 2000) {
    lastTyping = Date.now();
    socket.typing(room);
  }
});

$('leave').addEventListener('click', async () => {
  await fetch('/api/logout', { method: 'POST' });
  location.reload();
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && room && transcript?.last) socket.markRead(room, transcript.last);
});

start();
