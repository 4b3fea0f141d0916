#!/usr/bin/env node
// A runnable example bot (docs/BOTS.md): it hears its rooms through an outgoing webhook and
// answers through the bots' HTTP API. Node 18 or later, nothing to install.
//
//   CHAT_URL=http://127.0.0.1:8080 BOT_TOKEN=chatbot_… WEBHOOK_SECRET=whsec_… PORT=8787 \
//     node examples/bots/echo-bot.mjs
//
// Then add a webhook for the bot's room pointing at http://<this machine>:8787/ in the
// administration page. In the room, "/echo some words" (offered after "/" in the composer) or
// "!echo some words" is answered with "some words", and "!help" with what the bot can do.
//
// Exactly once: the webhook may deliver an event again (the bot crashed before answering, the
// answer was lost). The bot answers each event with a client_id made from the event's room and
// seq, so the chat stores the answer once however often it is sent, and the webhook is only
// acknowledged after the answer is stored.

import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

const CHAT_URL = (process.env.CHAT_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const TOKEN = process.env.BOT_TOKEN;
const SECRET = process.env.WEBHOOK_SECRET;
const PORT = Number(process.env.PORT || 8787);
// Signatures older or newer than this are refused (replays).
const TOLERANCE_SECS = 5 * 60;

if (!TOKEN || !SECRET) {
  console.error('Set BOT_TOKEN (from "Create bot") and WEBHOOK_SECRET (from "Add webhook").');
  process.exit(2);
}

/** Whether the Standard Webhooks signature on `body` is the secret's. */
export function verify(secret, headers, body) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

async function chat(method, path, body) {
  const response = await fetch(`${CHAT_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${answer.message || ''}`);
  return answer;
}

const me = await chat('GET', '/api/bot/me');
console.log(`Signed in as ${me.username}, in ${me.rooms.length} room(s).`);
// Offered in the composer after "/" in the bot's rooms.
await chat('PUT', '/api/bot/commands', {
  commands: [{ name: 'echo', description: 'Says your words again', usage: '<words>' }],
});

/** What the bot says to a message, or nothing. */
function answerTo(text) {
  const echo = /^[!/]echo\s+([\s\S]+)$/.exec(text);
  if (echo) return echo[1].trim() || null;
  if (text.trim() === '!help') return 'I answer "/echo <words>" (or "!echo <words>") with the words.';
  return null;
}

async function handle(event) {
  if (event.kind !== 'message' || event.sender === me.username || event.deleted) return;
  const reply = answerTo(event.body || '');
  if (!reply) return;
  await chat('POST', `/api/bot/rooms/${encodeURIComponent(event.room)}/messages`, {
    client_id: `echo-${event.room}-${event.seq}`,
    body: reply,
    reply_to: event.seq,
  });
}

const server = createServer((request, response) => {
  if (request.method !== 'POST') {
    response.writeHead(405).end();
    return;
  }
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk) => {
    body += chunk;
    if (body.length > 1_000_000) request.destroy();
  });
  request.on('end', async () => {
    if (!verify(SECRET, request.headers, body)) {
      response.writeHead(401).end();
      return;
    }
    try {
      const payload = JSON.parse(body);
      if (payload.type === 'event.message') await handle(payload.data);
      response.writeHead(204).end();
    } catch (error) {
      // Not acknowledged: the chat sends the event again later, with the same id.
      console.error(error.message);
      response.writeHead(500).end();
    }
  });
});

server.listen(PORT, '127.0.0.1', () => console.log(`Listening for webhooks on http://127.0.0.1:${PORT}/`));
