// Files left on the server for people who are not online to receive them directly.
//
// The app's "Attach files" (and files pasted or dropped on a room) sends directly, peer to
// peer, when everyone else in the room is connected; otherwise index.html hands the files to
// `leave(room, files)` here. Each file waits in this browser's outbox (IndexedDB, with the
// file itself) until it is on the server: it is uploaded in chunks that resume where the
// server says the upload stands (POST /api/rooms/{room}/uploads, PATCH /api/uploads/{id}),
// then a message carrying it is sent over the app's socket with a client id kept in the
// outbox, so a resend after a reload or a lost connection is stored once. Offline, files wait;
// a reload resumes them (index.html loads this module when `chat.uploads` says some wait).
// Voice notes recorded with "Record a voice note" (`data-part="upload"`) take the same way.

import { clientId, el } from '/parts.js';

const DB_NAME = 'chat-uploads';
const STORE = 'outbox';
const PENDING_KEY = 'chat.uploads';
// Chunks are at most this size, or the server's own limit when smaller.
const CHUNK = 1024 * 1024;
// A message's ack not received by then counts as a lost connection: it is sent again (same id).
const ACK_WAIT_MS = 15_000;
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];
// Voice notes stop by themselves after this long.
const VOICE_MAX_MS = 5 * 60 * 1000;

let me;
let db;
const items = new Map(); // key → record (see `leave`)
let pumping = false;
let wake = () => {};
let ui;
let recording = null;

/** Files the app could not send directly: put them in the outbox and start. */
export async function leave(room, files) {
  if (!room || !files?.length) return;
  await ready();
  for (const file of files) {
    const record = {
      key: clientId(),
      user: me,
      room,
      file,
      name: file.name || 'file',
      type: file.type || '',
      size: file.size,
      upload: null,
      message: clientId(),
      state: 'waiting',
      error: '',
      offset: 0,
      at: Date.now(),
    };
    if (!record.size) continue;
    items.set(record.key, record);
    await save(record);
  }
  draw();
  pump();
}

/** After a reload: what waits in the outbox carries on. */
export async function resume() {
  await ready();
  draw();
  pump();
}

/** "Record a voice note" / "Stop and send": records from the microphone, then leaves it. */
export async function open(button) {
  if (recording) {
    recording.stop();
    return;
  }
  const room = button.dataset.room;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    announce(`The microphone is not available: ${e.message || e.name}`);
    return;
  }
  const type = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'].find((t) => MediaRecorder.isTypeSupported(t)) || '';
  const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const chunks = [];
  const started = Date.now();
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  const limit = setTimeout(() => recorder.stop(), VOICE_MAX_MS);
  const label = button.querySelector('.visually-hidden');
  const idle = label?.textContent;
  recorder.onstop = () => {
    clearTimeout(limit);
    clearInterval(recording?.tick);
    recording = null;
    stream.getTracks().forEach((t) => t.stop());
    button.classList.remove('recording');
    button.setAttribute('aria-pressed', 'false');
    if (label) label.textContent = idle;
    const seconds = Math.round((Date.now() - started) / 1000);
    const blob = new Blob(chunks, { type: recorder.mimeType || 'audio/webm' });
    if (!blob.size) return announce('Nothing was recorded.');
    const extension = blob.type.includes('ogg') ? 'ogg' : blob.type.includes('mp4') ? 'm4a' : 'webm';
    const stamp = new Date(started).toISOString().slice(0, 16).replace('T', ' ').replace(':', 'h');
    const file = new File([blob], `Voice note ${stamp} (${seconds} s).${extension}`, { type: blob.type });
    leave(room, [file]);
  };
  recorder.start(1000);
  recording = {
    stop: () => recorder.state !== 'inactive' && recorder.stop(),
    tick: setInterval(() => {
      if (label) label.textContent = `Stop and send the voice note (${Math.round((Date.now() - started) / 1000)} s)`;
    }, 1000),
  };
  button.classList.add('recording');
  button.setAttribute('aria-pressed', 'true');
  if (label) label.textContent = 'Stop and send the voice note';
  announce('Recording a voice note. Press the button again to send it.');
}

async function ready() {
  // The account the app runs for (it remembers it, offline too); the outbox is per account.
  me = localStorage.getItem('chat.lastUser');
  if (!me) {
    me = await fetch('/api/session').then((r) => (r.ok ? r.json() : null)).then((s) => s?.username).catch(() => null);
  }
  if (!me) throw new Error('Not signed in.');
  if (!db) {
    db = await new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'key' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const stored = await transact('readonly', (s) => s.getAll());
    for (const record of stored) if (record.user === me) items.set(record.key, { ...record, state: record.state === 'failed' ? 'failed' : 'waiting' });
    addEventListener('online', () => wake());
    addEventListener('hashchange', () => draw());
  }
  if (!ui) build();
}

function transact(mode, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
  });
}

function save(record) {
  const { state, error, ...kept } = record;
  localStorage.setItem(PENDING_KEY, String(items.size));
  return transact('readwrite', (s) => s.put({ ...kept, state: state === 'failed' ? 'failed' : 'waiting', error }));
}

async function forget(record) {
  items.delete(record.key);
  localStorage.setItem(PENDING_KEY, String(items.size));
  await transact('readwrite', (s) => s.delete(record.key));
  draw();
}

function connected() {
  return navigator.onLine && window.chatSocket?.readyState === WebSocket.OPEN;
}

/** Sleeps until `ms` pass or something worth a new try happens (back online, a new file). */
function pause(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

/** Takes the outbox's files one at a time, oldest first, until none can go further now. */
async function pump() {
  if (pumping) return wake();
  pumping = true;
  try {
    let failures = 0;
    for (;;) {
      const next = [...items.values()].filter((r) => r.state !== 'failed').sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      if (!connected()) {
        next.state = 'waiting';
        draw();
        await pause(2000);
        continue;
      }
      try {
        await deliver(next);
        failures = 0;
      } catch (e) {
        if (e.final) {
          next.state = 'failed';
          next.error = e.message;
          await save(next);
          announce(`${next.name} was not sent: ${e.message}`);
          draw();
        } else {
          next.state = 'waiting';
          draw();
          await pause(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
        }
      }
    }
  } finally {
    pumping = false;
  }
}

class Refused extends Error {
  constructor(message) {
    super(message);
    this.final = true;
  }
}

async function answer(response) {
  if (response.ok) return response.json();
  const body = await response.json().catch(() => ({}));
  const message = body.message || `The server answered ${response.status}.`;
  // Our fault or the server's passing trouble: try again; a refusal stands.
  if (response.status >= 500 || response.status === 429 || response.status === 409) throw new Error(message);
  throw new Refused(message);
}

const send = (url, init = {}) => fetch(url, { credentials: 'same-origin', ...init }).catch(() => {
  throw new Error('No connection.');
});

/** One file: uploaded (or resumed), then its message sent and acknowledged. */
async function deliver(record) {
  record.state = 'uploading';
  draw();
  let status;
  if (record.upload) {
    const response = await send(`/api/uploads/${record.upload}`);
    if (response.status === 404) {
      // The server no longer has it (collected after a day): start again.
      record.upload = null;
    } else {
      status = await answer(response);
    }
  }
  if (!record.upload) {
    status = await answer(await send(`/api/rooms/${encodeURIComponent(record.room)}/uploads`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: record.name, size: record.size, mime: record.type }),
    }));
    record.upload = status.id;
    await save(record);
  }
  while (!status.attachment) {
    record.offset = status.offset;
    draw();
    const chunk = record.file.slice(status.offset, status.offset + CHUNK);
    const response = await send(`/api/uploads/${record.upload}`, {
      method: 'PATCH',
      headers: { 'Upload-Offset': String(status.offset) },
      body: chunk,
    });
    if (response.status === 404) {
      // Collected meanwhile (unsent for a day): start again.
      record.upload = null;
      await save(record);
      throw new Error('The upload was gone; starting again.');
    }
    if (response.status === 409) {
      // Not where the server stands (or busy): learn where, and go on from there.
      const before = status.offset;
      status = await answer(await send(`/api/uploads/${record.upload}`));
      if (status.offset === before && !status.attachment) throw new Error('The upload is busy.');
      continue;
    }
    status = await answer(response);
  }
  record.offset = record.size;
  record.state = 'sending';
  draw();
  await sendMessage(record);
  announce(`${record.name} is on the server for the room.`);
  await forget(record);
}

/** The message carrying the file, over the app's socket; resolves on its ack. */
function sendMessage(record) {
  return new Promise((resolve, reject) => {
    const ws = window.chatSocket;
    if (ws?.readyState !== WebSocket.OPEN) return reject(new Error('No connection.'));
    const done = (fn, value) => {
      clearTimeout(timer);
      ws.removeEventListener('message', listen);
      ws.removeEventListener('close', closed);
      fn(value);
    };
    const listen = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.client_id !== record.message) return;
      if (frame.type === 'ack') done(resolve);
      else if (frame.type === 'error') {
        const again = frame.code === 'rate_limited' || frame.code === 'internal';
        done(reject, again ? new Error(frame.message) : new Refused(frame.message));
      }
    };
    const closed = () => done(reject, new Error('The connection closed.'));
    const timer = setTimeout(() => done(reject, new Error('No answer.')), ACK_WAIT_MS);
    ws.addEventListener('message', listen);
    ws.addEventListener('close', closed);
    ws.send(JSON.stringify({ type: 'send', room: record.room, client_id: record.message, body: '', attachment: record.upload }));
  });
}

async function remove(record) {
  if (record.upload) {
    fetch(`/api/uploads/${record.upload}`, { method: 'DELETE' }).catch(() => {});
  }
  await forget(record);
}

function currentRoom() {
  const match = /^#\/room\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function build() {
  document.head.append(el('link', { rel: 'stylesheet', href: '/upload.css' }));
  ui = {
    list: el('section', { className: 'uploads', 'aria-label': 'Files being left on the server' }),
    status: el('p', { className: 'visually-hidden', role: 'status' }),
  };
  document.body.append(ui.status);
  // The room view is redrawn by the app; the list follows it into the room on screen.
  setInterval(draw, 1000);
}

function announce(text) {
  if (ui) ui.status.textContent = text;
}

const human = (bytes) => (bytes < 1000 ? `${bytes} B` : bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} KB` : `${(bytes / 1e6).toFixed(1)} MB`);

function stateText(record) {
  switch (record.state) {
    case 'failed':
      return `Not sent: ${record.error}`;
    case 'sending':
      return 'Sending the message…';
    case 'uploading':
      return `Leaving it on the server: ${Math.floor((record.offset / record.size) * 100)} %`;
    default:
      return connected() ? 'Waiting to be left on the server' : 'Waiting for a connection, then left on the server';
  }
}

function draw() {
  if (!ui) return;
  const room = currentRoom();
  const mine = [...items.values()].filter((r) => r.room === room).sort((a, b) => a.at - b.at);
  const pane = document.querySelector('.room-pane');
  const composer = pane?.querySelector('.composer');
  if (!mine.length || !composer) {
    ui.list.remove();
    return;
  }
  if (ui.list.nextElementSibling !== composer) composer.before(ui.list);
  // Redrawn only when something shown changed, so a focused button keeps its focus.
  const shown = JSON.stringify(mine.map((r) => [r.key, r.state, r.offset, r.error, connected()]));
  if (shown === ui.shown && ui.list.childElementCount) return;
  ui.shown = shown;
  const cards = mine.map((record) => {
    const card = el('article', { className: `upload ${record.state}`, 'data-state': record.state },
      el('span', { className: 'name' }, record.name),
      el('span', { className: 'size' }, human(record.size)),
      el('progress', { max: record.size, value: record.offset, 'aria-label': `${record.name} uploaded` }),
      el('span', { className: 'state' }, stateText(record)),
      record.state === 'failed' || record.state === 'waiting'
        ? el('button', { type: 'button', className: 'button', onclick: () => remove(record) }, record.state === 'failed' ? 'Remove' : 'Cancel')
        : null);
    return card;
  });
  ui.list.replaceChildren(...cards);
}
