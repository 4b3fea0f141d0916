// What the support desk's two pages share (support.html for customers, desk.html for the
// team): a socket that speaks the app's protocol (docs/PROTOCOL.md) and a conversation's
// transcript drawn from its events. Plain JavaScript, loaded only by those pages.
//
// The socket follows the protocol's client recipe: `welcome` first, `history` for a room the
// page opens, live `event`s after that, a `ping` every 10 s, and on a dropped connection a
// reconnect with backoff, after which every message not acknowledged yet is sent again with
// its `client_id`, so the server stores it exactly once.

import { el, clientId } from '/parts.js';

const PING_MS = 10_000;
const PONG_WAIT_MS = 8_000;
const MAX_BACKOFF_MS = 15_000;

export class SupportSocket {
  /**
   * `on`: { welcome(frame), event(event), roomUpdated(room), roomRemoved(id), receipt(frame),
   * state(text | null) } — `state` says when the connection is down (null when it is back),
   * and with "signed out" when the session ended.
   */
  constructor(on) {
    this.on = on;
    this.pending = new Map(); // client_id → { frame, resolve, reject }
    this.histories = new Map(); // room → [resolve]
    this.members = new Map(); // room → [resolve]
    this.backoff = 500;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.socket = socket;
    let pinger;
    let unanswered;
    socket.onopen = () => {
      pinger = setInterval(() => {
        this.raw({ type: 'ping', nonce: Date.now() });
        unanswered ??= setTimeout(() => socket.close(), PONG_WAIT_MS);
      }, PING_MS);
    };
    socket.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame.type === 'pong') {
        clearTimeout(unanswered);
        unanswered = undefined;
      }
      this.received(frame);
    };
    socket.onclose = (closed) => {
      clearInterval(pinger);
      clearTimeout(unanswered);
      if (this.socket !== socket) return;
      if (closed.code === 4001) {
        this.on.state?.('signed out');
        return;
      }
      this.on.state?.('Reconnecting…');
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    };
  }

  raw(frame) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  received(frame) {
    switch (frame.type) {
      case 'welcome':
        this.backoff = 500;
        this.on.state?.(null);
        this.on.welcome?.(frame);
        // Whatever was not acknowledged goes again, with the same client_id.
        for (const { frame: request } of this.pending.values()) this.raw(request);
        break;
      case 'history':
        for (const resolve of this.histories.get(frame.room) ?? []) resolve(frame);
        this.histories.delete(frame.room);
        break;
      case 'members':
        for (const resolve of this.members.get(frame.room) ?? []) resolve(frame.members);
        this.members.delete(frame.room);
        break;
      case 'event':
        this.on.event?.(frame.event);
        break;
      case 'ack': {
        const waiting = this.pending.get(frame.client_id);
        this.pending.delete(frame.client_id);
        this.on.event?.(frame.event);
        waiting?.resolve(frame.event);
        break;
      }
      case 'error': {
        const waiting = frame.client_id && this.pending.get(frame.client_id);
        // Rate limited or busy: it stays pending and goes again on the next try.
        if (waiting && !['rate_limited', 'internal'].includes(frame.code)) {
          this.pending.delete(frame.client_id);
          waiting.reject(Object.assign(new Error(frame.message), { code: frame.code }));
        } else if (waiting) {
          setTimeout(() => this.pending.has(frame.client_id) && this.raw(waiting.frame), 3000);
          this.on.state?.(frame.message);
          setTimeout(() => this.on.state?.(null), 3000);
        }
        break;
      }
      case 'room_updated':
        this.on.roomUpdated?.(frame.room);
        break;
      case 'room_removed':
        this.on.roomRemoved?.(frame.room);
        break;
      case 'receipt':
        this.on.receipt?.(frame);
        break;
      default:
    }
  }

  /** The room's newest page of events, oldest first. */
  history(room) {
    return new Promise((resolve) => {
      if (!this.histories.has(room)) this.histories.set(room, []);
      this.histories.get(room).push(resolve);
      this.raw({ type: 'history', room, before: null, limit: 100 });
    });
  }

  listMembers(room) {
    return new Promise((resolve) => {
      if (!this.members.has(room)) this.members.set(room, []);
      this.members.get(room).push(resolve);
      this.raw({ type: 'list_members', room });
    });
  }

  /** Sends a message; resolves with the stored event, rejects with the server's refusal. */
  send(room, body) {
    const client_id = clientId();
    const frame = { type: 'send', room, client_id, body };
    return new Promise((resolve, reject) => {
      this.pending.set(client_id, { frame, resolve, reject });
      this.raw(frame);
    });
  }

  markRead(room, seq) {
    this.raw({ type: 'mark_read', room, seq });
  }

  typing(room) {
    this.raw({ type: 'typing', room });
  }
}

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const LINK = /(https?:\/\/[^\s<>()]+|\/kb\/[^\s<>()]+)/g;

/** Text with its links (the assistant's sources) as links; nothing is read as HTML. */
export function linked(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    parts.push(text.slice(last, match.index));
    const href = match[0].replace(/[.,;:!?]+$/, '');
    parts.push(el('a', { href, target: '_blank', rel: 'noopener' }, href));
    last = match.index + href.length;
  }
  parts.push(text.slice(last));
  return parts;
}

/**
 * A conversation's transcript in `list` (an `ol`): messages with who and when, changes of
 * hands as lines of their own. `me`: my username; `names`: username → what to call them.
 */
export class Transcript {
  constructor(list, me, names) {
    this.list = list;
    this.me = me;
    this.names = names;
    this.rows = new Map(); // seq → li
    this.last = 0;
  }

  nameOf(username) {
    return this.names.get(username) || username;
  }

  /** Shows an event (a repeat is ignored); true when it was a new message. */
  add(event) {
    if (this.rows.has(event.seq) || event.seq <= 0) return false;
    this.last = Math.max(this.last, event.seq);
    switch (event.kind) {
      case 'message': {
        if (event.deleted) return this.note(event, 'A message was deleted.');
        const mine = event.sender === this.me;
        const row = el('li', { className: mine ? 'message mine' : 'message', 'data-seq': event.seq },
          el('p', { className: 'meta' },
            el('span', { className: 'who' }, mine ? 'You' : this.nameOf(event.sender)),
            ' ',
            el('time', { dateTime: new Date(event.at_ms).toISOString() }, time.format(event.at_ms))),
          el('p', { className: 'body' }, ...linked(event.body)));
        this.put(event.seq, row);
        return !mine;
      }
      case 'edit': {
        const body = this.rows.get(event.target)?.querySelector('.body');
        body?.replaceChildren(...linked(event.body));
        return false;
      }
      case 'delete': {
        this.rows.get(event.target)?.querySelector('.body')?.replaceChildren('A message was deleted.');
        return false;
      }
      case 'topic_changed':
        return this.note(event, event.topic);
      case 'added':
        return this.note(event, `${this.nameOf(event.user)} joined the conversation.`);
      default:
        return false;
    }
  }

  note(event, text) {
    this.put(event.seq, el('li', { className: 'note', 'data-seq': event.seq }, text));
    return false;
  }

  /** In seq order, whatever order events arrive in. */
  put(seq, row) {
    this.rows.set(seq, row);
    const after = [...this.list.children].find((li) => Number(li.dataset.seq) > seq);
    this.list.insertBefore(row, after ?? null);
    row.scrollIntoView?.({ block: 'nearest' });
  }
}
