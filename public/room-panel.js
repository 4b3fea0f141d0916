// The room's people and settings, in one dialog: who is in the room and whether they are
// around, adding people, roles, mutes, removals and bans for those allowed, blocking, the
// name and topic, invite links, and leaving.
//
// Loaded on first use by index.html's loader (the People and Settings buttons carry
// `data-part="room-panel"`), so it costs the chat's first load nothing; docs/ARCHITECTURE.md
// says why. It speaks the app's protocol (shared/src/ws.rs) over the app's own socket,
// `window.chatSocket` (frontend/src/connection.rs): one connection, one presence. What it
// changes reaches the app as ordinary events and acks.

import { clientId, el } from '/parts.js';

const ROLE_RANK = { member: 0, admin: 1, owner: 2 };
const PRESENCE_ORDER = { online: 0, away: 1, offline: 2 };
// Room name and topic limits (shared/src/limits.rs).
const ROOM_NAME_MAX = 64;
const ROOM_TOPIC_MAX = 300;
// Membership events after which the list is asked for again.
const MEMBERSHIP = new Set(['added', 'removed', 'left', 'joined', 'role_changed', 'muted', 'banned']);
// A request the server has not answered in this time is reported as failed.
const ANSWER_WAIT_MS = 10_000;

let ui; // the dialog's elements, made on first open
const state = {
  room: null, // the room id shown
  me: null, // my username, from /api/session
  summary: null, // the room as the room list knows it
  members: [],
  blocked: new Set(),
  invite: null, // the newest link made here: { room, url }
  confirming: null, // the button waiting for a second press: { key, question }
  opening: null, // a direct conversation being opened: { room, target address }
  watch: null, // the timer that follows a new socket while the dialog is open
};
// Requests waiting for their answer, by client id (or by kind for those without one).
const waiting = new Map();
const hooked = new WeakSet();

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** Opens the dialog on the tab the pressed button names (`data-tab`). */
export function open(button) {
  const room = button.dataset.room;
  if (!room) return;
  if (!ui) ui = build();
  hookSocket();
  const switched = state.room !== room;
  state.room = room;
  if (switched) {
    state.summary = null;
    state.members = [];
    state.invite = null;
  }
  say('');
  selectTab(button?.dataset.tab === 'settings' ? 'settings' : 'people', false);
  render();
  ui.dialog.returnFocus = button;
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.tabs[ui.current].focus();
  watchSocket();
  refresh();
}

// ---- talking to the server ----

function socket() {
  const ws = window.chatSocket;
  return ws && ws.readyState === WebSocket.OPEN ? ws : null;
}

function hookSocket() {
  const ws = window.chatSocket;
  if (!ws || hooked.has(ws)) return;
  hooked.add(ws);
  ws.addEventListener('message', (event) => {
    if (!ui?.dialog.open && !state.opening) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (state.opening && frame.type === 'room_updated' && frame.room.id === state.opening.room) {
      // The app learns of a new conversation with this summary, which may come after the
      // ack: an address it did not know yet was put back, so it is set again now.
      const { target } = state.opening;
      state.opening = null;
      if (location.hash !== target) setTimeout(() => (location.hash = target));
    }
    if (ui.dialog.open) onFrame(frame);
  });
}

/**
 * While the dialog is open, a socket the app opened after a reconnect is followed too, and
 * what is shown is asked for again on it (the app replaces `window.chatSocket` then).
 */
function watchSocket() {
  clearInterval(state.watch);
  state.watch = setInterval(() => {
    if (!ui.dialog.open) return clearInterval(state.watch);
    const ws = window.chatSocket;
    if (ws && !hooked.has(ws) && ws.readyState === WebSocket.OPEN) {
      hookSocket();
      refresh();
    }
  }, 1000);
}

/** Sends `frame`; false (and says so) when the app is offline. */
function send(frame) {
  hookSocket();
  const ws = socket();
  if (!ws) {
    say('You are offline. Try again once connected.', true);
    return false;
  }
  ws.send(JSON.stringify(frame));
  return true;
}

/**
 * Sends a request and calls `done(answer)` when it is answered; an error answer is shown.
 * `key` is the client id, or for frames without one the kind of answer awaited.
 */
function request(key, frame, done) {
  if (!send(frame)) return;
  const timer = setTimeout(() => {
    if (waiting.delete(key)) say('The server did not answer. Try again.', true);
  }, ANSWER_WAIT_MS);
  waiting.set(key, { done, timer });
}

function answered(key, answer) {
  const entry = waiting.get(key);
  if (!entry) return false;
  waiting.delete(key);
  clearTimeout(entry.timer);
  if (answer.type === 'error') say(answer.message, true);
  else entry.done?.(answer);
  return true;
}

function refresh() {
  hookSocket();
  if (!socket()) {
    say('You are offline: this list may be out of date.', false);
    return;
  }
  send({ type: 'list_rooms' });
  send({ type: 'list_members', room: state.room });
  if (!state.me) {
    fetch('/api/session').then((r) => (r.ok ? r.json() : null)).then((s) => {
      if (s) {
        state.me = s.username;
        render();
      }
    }).catch(() => {});
  }
  fetch('/api/blocks').then((r) => (r.ok ? r.json() : null)).then((b) => {
    if (b) {
      state.blocked = new Set(b.blocked.map((u) => u.toLowerCase()));
      render();
    }
  }).catch(() => {});
}

function onFrame(frame) {
  switch (frame.type) {
    case 'rooms':
      state.summary = frame.rooms.find((r) => r.id === state.room) ?? state.summary;
      render();
      break;
    case 'room_updated':
      if (frame.room.id === state.room) {
        state.summary = frame.room;
        answered('notify', frame);
        render();
      }
      break;
    case 'room_removed':
      if (frame.room === state.room) ui.dialog.close();
      break;
    case 'members':
      if (frame.room === state.room) {
        state.members = frame.members;
        render();
      }
      break;
    case 'presence': {
      const member = state.members.find((m) => m.username === frame.user);
      if (member && (member.presence !== frame.status || frame.status === 'offline')) {
        member.presence = frame.status;
        member.last_seen_ms = frame.last_seen_ms ?? null;
        render();
      }
      break;
    }
    case 'event':
      applyEvent(frame.event);
      break;
    case 'ack':
      applyEvent(frame.event);
      answered(frame.client_id, frame);
      break;
    case 'error':
      if (frame.client_id) answered(frame.client_id, frame);
      else {
        for (const key of ['notify', 'invite', 'invites_revoked', 'blocked']) if (answered(key, frame)) break;
        render(); // a refused notification level shows the stored one again
      }
      break;
    case 'invite':
      if (frame.room === state.room) {
        answered('invite', frame);
        state.invite = { room: frame.room, url: `${location.origin}/#/join/${frame.token}` };
        render();
        ui.inviteLink.focus();
        ui.inviteLink.select();
      }
      break;
    case 'invites_revoked':
      answered('invites_revoked', frame);
      break;
    case 'blocked':
      if (frame.blocked) state.blocked.add(frame.user.toLowerCase());
      else state.blocked.delete(frame.user.toLowerCase());
      answered('blocked', frame);
      render();
      break;
  }
}

/** A change to the room shown, by anyone (an ack is my own). */
function applyEvent(event) {
  if (event.room !== state.room) return;
  if (MEMBERSHIP.has(event.kind)) send({ type: 'list_members', room: state.room });
  if (!state.summary || !['renamed', 'topic_changed'].includes(event.kind)) return;
  if (event.kind === 'renamed') state.summary.name = event.name;
  else state.summary.topic = event.topic;
  render();
}

// ---- what the user does ----

/** A room action with a client id. */
function act(frame, done) {
  const id = clientId();
  request(id, { ...frame, room: state.room, client_id: id }, done);
}

function addPerson(event) {
  event.preventDefault();
  const user = ui.addUser.value.trim();
  if (!user) return;
  act({ type: 'add_member', user }, () => {
    ui.addUser.value = '';
    say(`Added ${user}.`);
  });
}

function memberAction(member, action) {
  const user = member.username;
  ui.list.querySelector('details[open]')?.removeAttribute('open');
  switch (action) {
    case 'message': {
      const id = clientId();
      request(id, { type: 'open_direct', client_id: id, user }, (ack) => {
        ui.dialog.close();
        const target = `#/room/${encodeURIComponent(ack.event.room)}`;
        state.opening = { room: ack.event.room, target };
        setTimeout(() => (state.opening = null), ANSWER_WAIT_MS);
        location.hash = target;
      });
      break;
    }
    case 'admin':
    case 'member':
      act({ type: 'set_role', user, role: action }, () =>
        say(action === 'admin' ? `${user} is now an admin.` : `${user} is no longer an admin.`));
      break;
    case 'mute':
    case 'unmute':
      act({ type: 'mute', user, muted: action === 'mute' }, () =>
        say(action === 'mute' ? `${user} can read but no longer post here.` : `${user} can post again.`));
      break;
    case 'remove':
      act({ type: 'remove_member', user }, () => say(`Removed ${user}.`));
      break;
    case 'ban':
      act({ type: 'ban', user, banned: true }, () => say(`Banned ${user}: they cannot come back.`));
      break;
    case 'block':
    case 'unblock':
      request('blocked', { type: 'block', user, blocked: action === 'block' }, () =>
        say(action === 'block'
          ? `Blocked ${user}: they cannot message, call or send you files.`
          : `Unblocked ${user}.`));
      break;
  }
}

function liftBan(event) {
  event.preventDefault();
  const user = ui.unbanUser.value.trim();
  if (!user) return;
  act({ type: 'ban', user, banned: false }, () => {
    ui.unbanUser.value = '';
    say(`${user} may join again.`);
  });
}

function saveField(event, kind) {
  event.preventDefault();
  const input = kind === 'name' ? ui.name : ui.topic;
  const value = input.value.trim();
  if (kind === 'name' && !value) {
    say('A room needs a name.', true);
    return;
  }
  const frame = kind === 'name' ? { type: 'rename', name: value } : { type: 'set_topic', topic: value };
  act(frame, () => say(kind === 'name' ? 'Name saved.' : 'Topic saved.'));
}

function setNotify(level) {
  const names = { all: 'All messages', mentions: 'Mentions only', none: 'Nothing' };
  request('notify', { type: 'set_notify', room: state.room, level }, () => say(`Notifications: ${names[level]}.`));
  if (!socket()) render();
}

function createInvite() {
  request('invite', { type: 'create_invite', room: state.room }, () => say('Invite link created.'));
}

async function copyInvite() {
  try {
    await navigator.clipboard.writeText(ui.inviteLink.value);
    say('Link copied.');
  } catch {
    ui.inviteLink.select();
    say('Select the link and copy it.', false);
  }
}

function revokeInvites() {
  request('invites_revoked', { type: 'revoke_invites', room: state.room }, (answer) => {
    state.invite = null;
    render();
    say(answer.revoked === 1 ? 'Revoked 1 invite link.' : `Revoked ${answer.revoked} invite links.`);
  });
}

function leave() {
  act({ type: 'leave' }, () => ui.dialog.close());
}

/**
 * Runs `action` on the second press; the first asks (destructive actions only). The question
 * is remembered by the button's `data-key`, so it survives the list being drawn again.
 */
function confirmed(button, question, action) {
  const key = button.dataset.key;
  if (state.confirming?.key === key) {
    state.confirming = null;
    action();
    return;
  }
  const earlier = state.confirming && ui.dialog.querySelector(`[data-key="${CSS.escape(state.confirming.key)}"]`);
  if (earlier) earlier.textContent = earlier.dataset.label;
  state.confirming = { key, question };
  button.dataset.label = button.textContent;
  button.textContent = question;
}

function say(text, problem = false) {
  ui.status.textContent = '';
  ui.alert.textContent = '';
  (problem ? ui.alert : ui.status).textContent = text;
}

// ---- drawing ----


function build() {
  const u = {};
  const close = el('button', { type: 'button', className: 'rp-close', 'aria-label': 'Close', onclick: () => u.dialog.close() }, '✕');
  u.title = el('h2', { id: 'rp-title' });
  u.tabs = {};
  u.panels = {};
  const tablist = el('div', { role: 'tablist', className: 'rp-tabs', 'aria-labelledby': 'rp-title', onkeydown: tabKeys });
  for (const [key, label] of [['people', 'People'], ['settings', 'Settings']]) {
    u.tabs[key] = el('button', {
      type: 'button', role: 'tab', id: `rp-tab-${key}`, 'aria-controls': `rp-${key}`,
      onclick: () => selectTab(key, true),
    }, label);
    tablist.append(u.tabs[key]);
    u.panels[key] = el('section', { role: 'tabpanel', id: `rp-${key}`, 'aria-labelledby': `rp-tab-${key}`, tabIndex: 0 });
  }

  // People
  u.count = el('p', { className: 'rp-count' });
  u.directoryNote = el('p', { className: 'rp-hint', hidden: true },
    'Only administrators see everyone in the lobby.');
  u.addUser = el('input', { id: 'rp-add-user', autocomplete: 'off', spellcheck: false, maxLength: 32, placeholder: 'username' });
  u.addForm = el('form', { className: 'rp-row', onsubmit: addPerson },
    el('label', { htmlFor: 'rp-add-user' }, 'Add someone'), u.addUser, el('button', { type: 'submit' }, 'Add'));
  u.list = el('ul', { className: 'rp-members', 'aria-label': 'Members' });
  u.unbanUser = el('input', { id: 'rp-unban-user', autocomplete: 'off', spellcheck: false, maxLength: 32, placeholder: 'username' });
  u.unbanForm = el('form', { className: 'rp-row', onsubmit: liftBan },
    el('label', { htmlFor: 'rp-unban-user' }, 'Lift a ban'), u.unbanUser, el('button', { type: 'submit' }, 'Lift ban'));
  u.panels.people.append(u.count, u.directoryNote, u.addForm, u.list, u.unbanForm);

  // Settings
  u.name = el('input', { id: 'rp-name', maxLength: ROOM_NAME_MAX, autocomplete: 'off' });
  u.topic = el('input', { id: 'rp-topic', maxLength: ROOM_TOPIC_MAX, autocomplete: 'off' });
  u.nameSave = el('button', { type: 'submit' }, 'Save name');
  u.topicSave = el('button', { type: 'submit' }, 'Save topic');
  u.editHint = el('p', { className: 'rp-hint' }, 'Only admins can change the name and topic.');
  u.inviteLink = el('input', { id: 'rp-invite', readOnly: true, placeholder: 'No link yet', onfocus: (e) => e.target.select() });
  u.copy = el('button', { type: 'button', onclick: copyInvite }, 'Copy');
  u.revoke = el('button', {
    type: 'button', className: 'rp-danger', 'data-key': 'revoke',
    onclick: (e) => confirmed(e.currentTarget, 'Revoke every link?', revokeInvites),
  }, 'Revoke all invite links');
  u.leave = el('button', {
    type: 'button', className: 'rp-danger', 'data-key': 'leave',
    onclick: (e) => confirmed(e.currentTarget, 'Leave? Press again', leave),
  }, 'Leave room');
  u.notify = {};
  const levels = el('fieldset', { className: 'rp-notify' },
    el('legend', {}, 'Notifications'),
    ...[['all', 'All messages'], ['mentions', 'Mentions only'], ['none', 'Nothing']].map(([level, label]) => {
      u.notify[level] = el('input', { type: 'radio', name: 'rp-notify', id: `rp-notify-${level}`, value: level, onchange: () => setNotify(level) });
      return el('div', {}, u.notify[level], el('label', { htmlFor: `rp-notify-${level}` }, label));
    }),
    el('p', { className: 'rp-hint' }, 'For this room, on all your devices. Calls ring unless you choose Nothing.'));
  u.picture = el('img', { className: 'rp-picture', alt: 'The room\'s picture', width: 64, height: 64 });
  u.pictureFile = el('input', {
    type: 'file', id: 'rp-picture-file', className: 'visually-hidden', accept: 'image/png,image/jpeg,image/gif,image/webp',
    onchange: (e) => {
      const [file] = e.target.files;
      e.target.value = '';
      if (file) setPicture('PUT', file);
    },
  });
  u.pictureButtons = el('div', { className: 'rp-buttons' },
    el('label', { className: 'button', htmlFor: 'rp-picture-file' }, 'Choose a picture'), u.pictureFile,
    el('button', { type: 'button', onclick: () => setPicture('DELETE') }, 'Remove picture'));
  u.groupOnly = el('div', {},
    el('div', { className: 'rp-picture-row' }, u.picture, u.pictureButtons),
    el('form', { className: 'rp-row', onsubmit: (e) => saveField(e, 'name') },
      el('label', { htmlFor: 'rp-name' }, 'Name'), u.name, u.nameSave),
    el('form', { className: 'rp-row', onsubmit: (e) => saveField(e, 'topic') },
      el('label', { htmlFor: 'rp-topic' }, 'Topic'), u.topic, u.topicSave),
    u.editHint,
    el('h3', {}, 'Invite links'),
    el('p', { className: 'rp-hint' }, 'Anyone with an account who opens a link within 7 days joins the room.'),
    el('div', { className: 'rp-row' },
      el('label', { htmlFor: 'rp-invite' }, 'Invite link'), u.inviteLink, u.copy),
    el('div', { className: 'rp-buttons' },
      el('button', { type: 'button', onclick: createInvite }, 'Create invite link'), u.revoke),
    el('h3', {}, 'Leave'),
    el('p', { className: 'rp-hint' }, 'You stop receiving its messages. Someone must add you or invite you to come back.'),
    el('div', { className: 'rp-buttons' }, u.leave),
  );
  u.panels.settings.append(levels, u.groupOnly);

  u.status = el('p', { className: 'rp-status', role: 'status' });
  u.alert = el('p', { className: 'rp-alert', role: 'alert' });
  u.dialog = el('dialog', { className: 'room-panel', 'aria-labelledby': 'rp-title' },
    el('header', {}, u.title, close), tablist, u.panels.people, u.panels.settings, u.status, u.alert);
  u.dialog.addEventListener('close', () => {
    state.confirming = null;
    // The close event comes a task after the dialog closed, and the browser has given the
    // focus back by then; someone quick may already be typing elsewhere (a space on the
    // returned-to button would open the panel again). Only a lost focus is put back.
    const focused = document.activeElement;
    if (!focused || focused === document.body || u.dialog.contains(focused)) u.dialog.returnFocus?.focus();
  });
  // A click on the backdrop (outside the box) closes it, as in most apps.
  u.dialog.addEventListener('click', (e) => {
    if (e.target === u.dialog) {
      const r = u.dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) u.dialog.close();
    }
  });
  document.head.append(el('link', { rel: 'stylesheet', href: '/room-panel.css' }));
  document.body.append(u.dialog);
  return u;
}

function selectTab(key, focus) {
  ui.current = key;
  for (const [k, tab] of Object.entries(ui.tabs)) {
    const on = k === key;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    ui.panels[k].hidden = !on;
  }
  if (focus) ui.tabs[key].focus();
}

function tabKeys(event) {
  const keys = Object.keys(ui.tabs).filter((k) => !ui.tabs[k].hidden);
  const at = keys.indexOf(ui.current);
  const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
  if (step === undefined) return;
  event.preventDefault();
  selectTab(keys[(at + step + keys.length) % keys.length], true);
}

function lastSeen(ms) {
  if (!ms) return 'offline';
  const minutes = Math.round((ms - Date.now()) / 60_000);
  if (minutes > -1) return 'last seen just now';
  if (minutes > -60) return `last seen ${relative.format(minutes, 'minute')}`;
  const hours = Math.round(minutes / 60);
  if (hours > -24) return `last seen ${relative.format(hours, 'hour')}`;
  return `last seen ${relative.format(Math.round(hours / 24), 'day')}`;
}

function render() {
  const summary = state.summary;
  const direct = summary?.kind === 'direct';
  const myRole = summary?.role ?? 'member';
  const rank = ROLE_RANK[myRole] ?? 0;
  ui.title.textContent = summary ? (direct ? summary.name : `# ${summary.name}`) : 'Room';
  ui.groupOnly.hidden = direct;
  const level = summary?.notify ?? 'all';
  for (const [key, radio] of Object.entries(ui.notify)) radio.checked = key === level;

  // People
  const members = [...state.members].sort((a, b) =>
    (PRESENCE_ORDER[a.presence] - PRESENCE_ORDER[b.presence]) || a.username.localeCompare(b.username));
  const online = members.filter((m) => m.presence !== 'offline').length;
  // A closed directory shows me alone in the lobby; its size is the room list's count.
  const hiddenLobby = state.room === 'lobby' && members.length === 1 && (summary?.member_count ?? 0) > 1;
  const total = hiddenLobby ? summary.member_count : members.length;
  ui.count.textContent = members.length
    ? `${total} ${total === 1 ? 'person' : 'people'} · ${online} online`
    : 'Loading…';
  ui.directoryNote.hidden = !hiddenLobby;
  ui.addForm.hidden = direct;
  ui.unbanForm.hidden = direct || rank < ROLE_RANK.admin;
  const open = new Set([...ui.list.querySelectorAll('details[open]')].map((d) => d.dataset.user));
  // Drawn again in place of the old rows: the focus goes back to the same control.
  const focused = ui.list.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  ui.list.replaceChildren(...members.map((m) => memberRow(m, rank, direct, open.has(m.username))));
  if (state.confirming) {
    const asking = ui.list.querySelector(`[data-key="${CSS.escape(state.confirming.key)}"]`);
    if (asking) {
      asking.dataset.label = asking.textContent;
      asking.textContent = state.confirming.question;
    }
  }
  if (focused) ui.list.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();

  // Settings
  const editable = rank >= ROLE_RANK.admin;
  if (summary && document.activeElement !== ui.name) ui.name.value = summary.name;
  if (summary && document.activeElement !== ui.topic) ui.topic.value = summary.topic;
  for (const field of [ui.name, ui.topic]) field.readOnly = !editable;
  ui.nameSave.hidden = ui.topicSave.hidden = !editable;
  ui.editHint.hidden = editable;
  ui.pictureButtons.hidden = !editable;
  if (!direct && ui.picture.dataset.room !== state.room) {
    ui.picture.dataset.room = state.room;
    ui.picture.src = `/api/rooms/${encodeURIComponent(state.room)}/avatar`;
  }
  ui.revoke.hidden = !editable;
  const link = state.invite?.room === state.room ? state.invite.url : '';
  ui.inviteLink.value = link;
  ui.copy.disabled = !link;
}

/** The room's picture (admins): the server keeps the middle square of the image. */
async function setPicture(method, body) {
  const path = `/api/rooms/${encodeURIComponent(state.room)}/avatar`;
  const response = await fetch(path, { method, body }).catch(() => null);
  if (!response?.ok) {
    const failure = await response?.json().catch(() => null);
    ui.alert.textContent = failure?.message ?? 'The picture could not be saved. Try again.';
    return;
  }
  ui.alert.textContent = '';
  say(method === 'PUT' ? 'Picture saved.' : 'Picture removed.');
  const fresh = `${path}?t=${Date.now()}`;
  ui.picture.src = fresh;
  // The room list shows it too.
  for (const img of document.querySelectorAll(`img.avatar[src^="${CSS.escape(path)}"]`)) img.src = fresh;
}

function memberRow(m, myRank, direct, expanded) {
  const me = state.me && m.username.toLowerCase() === state.me.toLowerCase();
  const theirRank = ROLE_RANK[m.role] ?? 0;
  const presence = m.presence === 'offline' ? lastSeen(m.last_seen_ms) : m.presence;
  const name = m.display_name
    ? [el('span', { className: 'rp-name' }, m.display_name), ' ', el('span', { className: 'rp-user' }, `@${m.username}`)]
    : [el('span', { className: 'rp-name' }, m.username)];
  const badges = [];
  if (me) badges.push('you');
  if (!direct && m.role !== 'member') badges.push(m.role === 'owner' ? 'owner' : 'admin');
  if (m.muted) badges.push('muted');

  const actions = [];
  if (!me) {
    if (!direct) actions.push(['message', 'Message']);
    const blocked = state.blocked.has(m.username.toLowerCase());
    actions.push(blocked ? ['unblock', 'Unblock'] : ['block', 'Block', `Block ${m.username}?`]);
    if (!direct && myRank === ROLE_RANK.owner && m.role !== 'owner') {
      actions.push(m.role === 'admin' ? ['member', 'Remove admin'] : ['admin', 'Make admin']);
    }
    if (!direct && myRank >= ROLE_RANK.admin && myRank > theirRank) {
      actions.push(m.muted ? ['unmute', 'Unmute'] : ['mute', 'Mute']);
      actions.push(['remove', 'Remove from room', `Remove ${m.username}?`]);
      actions.push(['ban', 'Ban', `Ban ${m.username}?`]);
    }
  }
  const menu = actions.length
    ? el('details', { className: 'rp-more', 'data-user': m.username, open: expanded },
      el('summary', { 'aria-label': `Actions for ${m.username}`, 'data-key': `${m.username}/menu` }, '⋯'),
      el('div', { className: 'rp-menu' }, ...actions.map(([action, label, question]) =>
        el('button', {
          type: 'button',
          'data-key': `${m.username}/${action}`,
          className: question ? 'rp-danger' : '',
          onclick: (e) => question
            ? confirmed(e.currentTarget, question, () => memberAction(m, action))
            : memberAction(m, action),
        }, label))))
    : null;
  return el('li', {},
    el('span', { className: `rp-dot ${m.presence}`, 'aria-hidden': 'true' }),
    el('span', { className: 'rp-who' },
      el('span', {}, ...name),
      el('span', { className: 'rp-presence' }, presence),
    ),
    ...badges.map((b) => el('span', { className: `rp-badge ${b}` }, b)),
    menu,
  );
}
