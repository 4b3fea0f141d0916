// Client benchmark (issue 6, browser half): what the first load costs on the wire, how fast a
// warm second load shows a usable room list, and how a room with a long stored history opens
// and scrolls in headless Chromium against the real server.
//
//   node bench/browser/client.mjs                  full measurement (a few minutes)
//   BENCH_SMOKE=1 node bench/browser/client.mjs    tiny sizes, for CI (exits non-zero on breakage)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  SMOKE, root, startServer, launch, newPage, signUp, waitConnected, rooms, median, round, report, check,
} from './lib.mjs';

const WARM_RUNS = SMOKE ? 2 : 9;
const OPEN_RUNS = SMOKE ? 2 : 7;
const HISTORY = SMOKE ? 300 : 10_000;
const BIG_ROOM = 'Big history';

const server = await startServer();
const browser = await launch();
const rows = [];
const extra = {};
try {
  await firstLoad();
  await warmLoad();
  await longHistory();
} finally {
  await browser.close().catch(() => {});
  await server.stop();
}
report('client', rows, extra);

// ---------------------------------------------------------------------------------------------

/**
 * Bytes on the wire of a first visit (empty cache, no service worker): every response the page
 * loads, as CDP reports it (encodedDataLength includes headers and the server's compression).
 */
async function firstLoad() {
  const page = await newPage(browser, { label: 'first-load' });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const seen = new Map();
  cdp.on('Network.responseReceived', ({ requestId, response, type }) => {
    seen.set(requestId, {
      url: new URL(response.url).pathname, type,
      encoding: response.headers['content-encoding'] ?? response.headers['Content-Encoding'] ?? 'identity',
    });
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const entry = seen.get(requestId);
    if (entry) entry.bytes = encodedDataLength;
  });
  await page.goto(server.url, { waitUntil: 'networkidle' });
  await page.getByLabel('Username').waitFor();
  const files = [...seen.values()].filter((f) => f.bytes !== undefined);
  // The page's own first load; the service worker script is counted apart (it is fetched
  // after `load` and does not delay the first paint).
  const app = files.filter((f) => /\.(js|wasm|css)$|^\/$|\.html$/.test(f.url) && f.url !== '/sw.js');
  const total = app.reduce((sum, f) => sum + f.bytes, 0);
  const raw = Object.fromEntries(readdirSync(join(root, 'dist')).map((f) => [`/${f}`, statSync(join(root, 'dist', f)).size]));
  extra.firstLoad = files.map((f) => ({ ...f, rawBytes: raw[f.url === '/' ? '/index.html' : f.url] ?? null }));
  console.log('first load, per resource (bytes on the wire, encoding, raw size in dist/):');
  for (const f of extra.firstLoad) console.log(`  ${f.url.padEnd(42)} ${String(f.bytes).padStart(8)}  ${f.encoding.padEnd(8)} ${f.rawBytes ?? ''}`);
  const wasm = files.find((f) => f.url.endsWith('.wasm'));
  check(wasm && wasm.bytes > 0, 'the first load fetched the wasm');
  rows.push({ figure: 'first load on the wire (HTML+JS+WASM+CSS)', value: round(total / 1000), unit: 'KB', target: '<= 250 KB', met: total <= 250 * 1000 });
  rows.push({ figure: '  of which wasm', value: round(wasm.bytes / 1000), unit: `KB (${wasm.encoding})`, met: null });
  await page.context().close();
}

/**
 * Second and later loads of a signed-in user: the service worker and the HTTP cache hold the
 * shell, IndexedDB holds the room list. Measured inside the page (performance.now() counts from
 * the navigation's start) so Playwright's round trips do not add to it.
 */
async function warmLoad() {
  console.log('warm loads...');
  const page = await newPage(browser, { label: 'warm-load' });
  await page.addInitScript(() => {
    // "Usable": the room list's buttons are in the DOM (rendered by the running wasm, so their
    // handlers are attached), and the frame that shows them has been produced.
    window.__bench = {};
    const seen = () => document.querySelector('nav[aria-label="Rooms"] .room-list .room-link');
    const observer = new MutationObserver(() => {
      if (window.__bench.roomList || !seen()) return;
      window.__bench.roomList = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => setTimeout(() => { window.__bench.painted = performance.now(); }, 0));
    });
    observer.observe(document, { childList: true, subtree: true });
  });
  await signUp(page, server.url, 'warm');
  // Let the service worker install and take over, and the room list reach IndexedDB.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true), null, { timeout: 15_000 });
  await page.reload();
  await waitConnected(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
  const times = [];
  const toList = [];
  for (let run = 0; run < WARM_RUNS; run++) {
    await page.goto(server.url);
    await page.waitForFunction(() => window.__bench.painted !== undefined, null, { timeout: 15_000 });
    const t = await page.evaluate(() => ({ ...window.__bench, controlled: navigator.serviceWorker.controller !== null }));
    check(t.controlled, 'the warm load was served under the service worker');
    times.push(t.painted);
    toList.push(t.roomList);
    await waitConnected(page);
  }
  extra.warmLoadMs = times.map((t) => round(t));
  rows.push({ figure: `warm load to usable room list (median of ${WARM_RUNS})`, value: round(median(times)), unit: 'ms', target: '<= 300 ms', met: median(times) <= 300 });
  rows.push({ figure: '  range (min..max)', value: `${round(Math.min(...times))}..${round(Math.max(...times))}`, unit: 'ms', met: null });
  await page.context().close();
}

/** Signs a user up over HTTP, like any non-browser client; resolves with its session cookie. */
async function apiSignUp(username) {
  const res = await fetch(`${server.url}/api/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery' }),
  });
  check(res.status === 201, `signup of ${username}: ${res.status}`);
  return res.headers.get('set-cookie').split(';')[0];
}

async function socket(cookie) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, { headers: { cookie, origin: server.url } });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return ws;
}

/** Sends one room-changing request and resolves with its ack. */
async function request(cookie, frame) {
  const ws = await socket(cookie);
  try {
    return await new Promise((resolve, reject) => {
      ws.on('message', (data) => {
        const reply = JSON.parse(data);
        if (reply.type === 'ack' && reply.client_id === frame.client_id) resolve(reply);
        if (reply.type === 'error' && reply.client_id === frame.client_id) reject(new Error(reply.message));
      });
      ws.on('close', (code) => reject(new Error(`socket closed: ${code}`)));
      ws.send(JSON.stringify(frame));
    });
  } finally {
    ws.close();
  }
}

/**
 * Posts `count` messages into `room`, a bounded number in flight. The server may close a socket
 * whose outbound queue fills (4003, e.g. a debug server on a busy machine); then a new socket
 * resends what was not acknowledged yet, and the client ids make sure each is stored once.
 */
async function seed(cookie, room, count) {
  const inFlight = 32;
  const acked = new Set();
  let reconnects = 0;
  while (acked.size < count) {
    const unsent = [];
    for (let i = 0; i < count; i++) if (!acked.has(i)) unsent.push(i);
    const ws = await socket(cookie);
    await new Promise((resolve) => {
      let pending = 0;
      const pump = () => {
        while (pending < inFlight && unsent.length) {
          const i = unsent.shift();
          pending++;
          ws.send(JSON.stringify({
            type: 'send', room, client_id: `seed-${i}`,
            body: `m#${i}# a seeded message of ordinary length, so the stored history looks like a chat`,
          }));
        }
      };
      ws.on('message', (data) => {
        const frame = JSON.parse(data);
        if (frame.type === 'error' && frame.client_id?.startsWith('seed-')) throw new Error(`seeding: ${frame.message}`);
        if (frame.type !== 'ack' || !frame.client_id.startsWith('seed-')) return;
        acked.add(Number(frame.client_id.slice(5)));
        if (acked.size % 1000 === 0) console.log(`  seeded ${acked.size}/${count}`);
        pending--;
        if (acked.size === count) { ws.close(); resolve(); } else pump();
      });
      ws.on('close', () => resolve());
      pump();
    });
    if (acked.size < count) reconnects++;
  }
  return reconnects;
}

/** How many messages of `room` the page's IndexedDB holds (read-only look at the app's store). */
async function storedCount(page, user, room) {
  return page.evaluate(({ user, room }) => new Promise((resolve, reject) => {
    const open = indexedDB.open(`chat-${user}`);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const req = db.transaction('messages').objectStore('messages')
        .count(IDBKeyRange.bound([room, 0], [room, Infinity]));
      req.onsuccess = () => { db.close(); resolve(req.result); };
      req.onerror = () => reject(req.error);
    };
  }), { user, room });
}

/**
 * In the page: clicks the room's button and resolves with the milliseconds until the newest
 * message is in the DOM and a frame showing it has been produced.
 */
function clickAndTime(page, name, marker) {
  return page.evaluate(({ name, marker }) => new Promise((resolve, reject) => {
    const button = [...document.querySelectorAll('nav[aria-label="Rooms"] .room-link')]
      .find((b) => b.textContent.includes(name));
    if (!button) { reject(new Error(`no room button ${name}`)); return; }
    const shown = () => [...document.querySelectorAll('[role="log"] article')].some((a) => a.textContent.includes(marker));
    const start = performance.now();
    const observer = new MutationObserver(() => {
      if (!shown()) return;
      observer.disconnect();
      const inDom = performance.now() - start;
      requestAnimationFrame(() => setTimeout(() => resolve({ inDom, painted: performance.now() - start }), 0));
    });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    button.click();
    // Rarely (about 1 run in 10 in CI) the first click right after a reload does not open the
    // room. Click once more after 5 s rather than give up; the time still counts from the
    // first click, so such a run shows up in the figures as over 5 s.
    setTimeout(() => {
      if (shown()) return;
      console.warn(`${marker} not shown 5 s after the click; clicking again`);
      [...document.querySelectorAll('nav[aria-label="Rooms"] .room-link')]
        .find((b) => b.textContent.includes(name))?.click();
    }, 5_000);
    setTimeout(() => { observer.disconnect(); reject(new Error(`${marker} not shown in 20 s`)); }, 20_000);
  }), { name, marker });
}

/**
 * A room whose HISTORY messages reach the reader's IndexedDB through the real app: a second
 * user posts them over the WebSocket while the reader's page is open and syncing. Then the
 * reader reloads and opens the room (online, and offline so only IndexedDB can answer), and
 * scrolls to its very first message while the DOM size is sampled.
 */
async function longHistory() {
  const page = await newPage(browser, { label: 'reader' });
  await signUp(page, server.url, 'reader');
  const cookie = await apiSignUp('seeder');
  const created = await request(cookie, { type: 'create_room', client_id: 'room-1', name: BIG_ROOM });
  const room = created.event.room;
  await request(cookie, { type: 'add_member', room, client_id: 'add-1', user: 'reader' });
  // The app keeps (and stores) the timelines of rooms it has opened, so the reader has it open.
  await rooms(page).getByRole('button', { name: new RegExp(BIG_ROOM) }).click();
  await page.getByRole('heading', { name: `# ${BIG_ROOM}` }).waitFor();
  const seedStart = performance.now();
  const reconnects = await seed(cookie, room, HISTORY);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  console.log(`seeded ${HISTORY} messages in ${round(seedSeconds)} s (${reconnects} reconnects)`);

  // The reader stores live events (or catches up after a reconnect).
  const deadline = Date.now() + (SMOKE ? 20_000 : 180_000);
  let stored = 0;
  while ((stored = await storedCount(page, 'reader', room)) < HISTORY && Date.now() < deadline) {
    console.log(`  reader's IndexedDB: ${stored}/${HISTORY}`);
    await page.waitForTimeout(2000);
  }
  console.log(`reader's IndexedDB holds ${stored} events of the room `);
  check(stored >= HISTORY, `all ${HISTORY} messages reached IndexedDB (got ${stored})`);
  extra.seedSeconds = round(seedSeconds);

  const newest = `m#${HISTORY - 1}#`;
  // Each load starts in the lobby: without an address the app would open the room shown last.
  const lobby = new URL('/#/room/lobby', server.url).href;
  const online = [];
  const offline = [];
  for (let run = 0; run < OPEN_RUNS; run++) {
    // A fresh page each time: the room is not in memory, the app starts in the lobby.
    await page.goto(lobby);
    await waitConnected(page);
    online.push(await clickAndTime(page, BIG_ROOM, newest));
  }
  for (let run = 0; run < OPEN_RUNS; run++) {
    await page.context().setOffline(true);
    await page.goto(lobby);
    await rooms(page).getByRole('button', { name: new RegExp(BIG_ROOM) }).waitFor();
    offline.push(await clickAndTime(page, BIG_ROOM, newest));
    await page.context().setOffline(false);
    // Reconnected, the app tells the server what was read offline. Without waiting for that,
    // the next load finds the room unread and opens it at its "New messages" line, where the
    // newest message is not drawn (the app's window is 150 rows).
    await waitConnected(page);
    await page.waitForTimeout(500);
  }
  extra.openOnlineMs = online;
  extra.openOfflineMs = offline;
  const medOn = median(online.map((t) => t.painted));
  const medOff = median(offline.map((t) => t.painted));
  rows.push({ figure: `open ${HISTORY}-message room, newest shown (online, median of ${OPEN_RUNS})`, value: round(medOn), unit: 'ms', target: '<= 100 ms', met: medOn <= 100 });
  rows.push({ figure: '  same, offline (IndexedDB only)', value: round(medOff), unit: 'ms', target: '<= 100 ms', met: medOff <= 100 });

  // Scroll to the first message; older pages come from IndexedDB (and the server past it).
  await page.goto(lobby);
  await waitConnected(page);
  await clickAndTime(page, BIG_ROOM, newest);
  const baseline = await page.evaluate(() => document.getElementsByTagName('*').length);
  const scroll = await page.evaluate(async ({ limitMs }) => {
    const log = document.querySelector('[role="log"]');
    const reachedTop = () => [...log.querySelectorAll('article')].some((a) => a.textContent.includes('m#0#'));
    let maxNodes = 0;
    let maxArticles = 0;
    let steps = 0;
    const start = performance.now();
    while (!reachedTop() && performance.now() - start < limitMs) {
      log.scrollTop = 0;
      const older = [...log.querySelectorAll('button.older')][0];
      if (older) older.click();
      await new Promise((r) => setTimeout(r, 40));
      maxNodes = Math.max(maxNodes, document.getElementsByTagName('*').length);
      maxArticles = Math.max(maxArticles, log.querySelectorAll('article').length);
      steps++;
    }
    return { reached: reachedTop(), maxNodes, maxArticles, steps, seconds: (performance.now() - start) / 1000 };
  }, { limitMs: SMOKE ? 30_000 : 300_000 });
  console.log(`scrolled to the top: ${JSON.stringify(scroll)}`);
  check(scroll.reached, 'scrolling reached the first message');
  extra.scroll = { ...scroll, baselineNodes: baseline };
  rows.push({ figure: 'DOM nodes with the room open (newest)', value: baseline, unit: 'nodes', met: null });
  rows.push({ figure: `max DOM nodes scrolling through all ${HISTORY}`, value: scroll.maxNodes, unit: 'nodes', target: 'bounded', met: scroll.maxNodes < 5 * baseline });
  rows.push({ figure: '  max messages in the DOM', value: scroll.maxArticles, unit: 'articles', target: '<= 150 (window)', met: scroll.maxArticles <= 150 });
  rows.push({ figure: '  time to scroll to the first message', value: round(scroll.seconds), unit: 's', met: null });
  await page.context().close();
}
