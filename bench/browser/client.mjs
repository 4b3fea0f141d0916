// Client benchmark (issues 6 and 21, browser half): what the first load costs on the wire, how
// fast a browser that was closed shows a usable room list again, and how a room with a long
// stored history opens and scrolls, in headless Chromium against the real server.
//
// Measured as a person's browser is: an on-disk profile (target/bench-client/), and the whole
// browser closed and launched again before every warm run, so the service worker starts cold
// and IndexedDB is read from the profile. Everything goes through a proxy that delays each
// round trip and counts every byte, the service worker's fetches and the WebSocket included
// (netem.mjs says why a proxy and not DevTools' emulation): loopback, 50 and 100 ms round
// trips, and DevTools' Slow 4G. Every repeated figure is its median with min and max.
//
//   node bench/browser/client.mjs                  full measurement (about 10 minutes)
//   BENCH_SMOKE=1 node bench/browser/client.mjs    300 messages, 2 runs on loopback and 100 ms,
//                                                  for CI (exits non-zero on breakage)
//   BENCH_SCREENSHOT=/tmp/warm.png                 also saves the first warm-started page
//   BENCH_TRACE=/tmp/warm-trace.json               also records a warm start and the big room's
//                                                  opening at 100 ms in a Chromium trace (an
//                                                  extra run, not counted in the figures)
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  SMOKE, root, startServer, openProfile, signUp, waitConnected, rooms, median, round, stats, report, check,
  descendantsOf, cpuSeconds,
} from './lib.mjs';
import { CONDITIONS, startNetem } from './netem.mjs';

const CONDITION_IDS = SMOKE ? ['loopback', 'rtt100'] : ['loopback', 'rtt50', 'rtt100', 'slow4g'];
/** The targets for warm start and opening the big room hold at a 100 ms round trip. */
const TARGET_CONDITION = 'rtt100';
/** Browser launches per condition for a warm start (and the big room opened right after it). */
const RUNS = SMOKE ? 2 : 7;
/** First visits per condition, each on a new profile. */
const FIRST_RUNS = SMOKE ? 1 : 3;
const HISTORY = SMOKE ? 300 : 10_000;
const BIG_ROOM = 'Big history';

const began = performance.now();
const otherWork = watchOtherWork();
// Profiles on disk, one directory per run of this script so that two runs never share one.
const work = join(root, 'target', 'bench-client', String(process.pid));
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
// The proxy first: pages load from its origin, which the server must allow.
const net = await startNetem();
const server = await startServer({ CHAT_ALLOWED_ORIGINS: net.url });
net.setTarget(server.url);
const url = net.url;
const rows = [];
const extra = {
  network: {
    via: 'TCP proxy between Chromium and the server (bench/browser/netem.mjs): each direction delayed by half the round trip, a new connection by one round trip more, a shared link per direction for a bandwidth',
    conditions: CONDITION_IDS.map((id) => CONDITIONS[id]),
  },
  runsPerCondition: { firstLoad: FIRST_RUNS, warmStart: RUNS },
  history: HISTORY,
};
try {
  await firstLoad();
  await warmStarts();
} finally {
  await server.stop();
  await net.close();
  rmSync(work, { recursive: true, force: true });
}
extra.runSeconds = Math.round((performance.now() - began) / 1000);
extra.machine = otherWork();
if (extra.machine.otherShare > 0.1 || extra.machine.stealShare > 0.1) {
  console.warn(`\nWARNING: other work took ${Math.round(extra.machine.otherShare * 100)} % of the CPU (the hypervisor ${Math.round(extra.machine.stealShare * 100)} %) during this run: its timings are slower than this machine's own`);
}
report('client', rows, extra);

// ---------------------------------------------------------------------------------------------

/**
 * Watches how much CPU the rest of the machine uses while this runs (other work on the same
 * two cores slows every figure): once a second, every process that is not this one or one of
 * its descendants (the server, the browsers) is charged what it used since the last look; the
 * hypervisor's steal comes from /proc/stat. stop() returns both as shares of all CPU time.
 */
function watchOtherWork() {
  const ticks = (stat) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]), start: Number(fields[19]) };
  };
  const steal = () => Number(readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)[8]);
  const began = { at: performance.now(), steal: steal() };
  let last = new Map();
  let other = 0;
  const look = () => {
    const now = new Map();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try { now.set(Number(entry), ticks(readFileSync(`/proc/${entry}/stat`, 'utf8'))); } catch { /* gone */ }
    }
    const ours = new Set([process.pid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, p] of now) if (!ours.has(pid) && ours.has(p.ppid)) { ours.add(pid); grew = true; }
    }
    for (const [pid, p] of now) {
      const before = last.get(pid);
      if (ours.has(pid) || !before || before.start !== p.start) continue;
      other += p.cpu - before.cpu;
    }
    last = now;
  };
  look();
  const timer = setInterval(look, 1000);
  timer.unref();
  return () => {
    clearInterval(timer);
    look();
    const hz = 100;
    const capacity = ((performance.now() - began.at) / 1000) * availableParallelism() * hz;
    return {
      cores: availableParallelism(),
      otherShare: round(other / capacity, 2),
      stealShare: round((steal() - began.steal) / capacity, 2),
    };
  };
}

/**
 * Waits for the page's "Connected" status; if it does not come, fails with what the page
 * shows instead (and a screenshot in the system's temporary directory) and the proxy's counts.
 */
async function connected(page, what) {
  try {
    await waitConnected(page);
  } catch (e) {
    const shown = await page.getByRole('status').allTextContents().catch(() => []);
    const shot = join(tmpdir(), `bench-client-${what}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    throw new Error(`${what}: not connected in 30 s; the page shows ${JSON.stringify(shown)} (${shot}); proxy ${JSON.stringify(net.counters())}`, { cause: e });
  }
}

/** Bytes as KB (1000 bytes, as the targets count them). */
function kb(bytes) { return bytes / 1000; }

/** A row of a repeated figure: the median as its value, min–max beside it. */
function statRow(figure, s, unit, target, met) {
  return { figure, value: s.median, range: `${s.min}–${s.max}`, unit, ...(target ? { target, met } : { met: null }) };
}

/**
 * Launches the browser on the profile in `dir` and waits until it has settled: a newly started
 * Chromium loads its own pages for a while (the omnibox popup's WebUI, measured at over a
 * second of CPU on this machine), and a person opens the app after that, not during it. Quiet
 * means the browser's processes together used under 10 % of a core for half a second.
 */
async function launchSettled(dir, label) {
  const browser = await openProfile(dir, { label });
  const cpu = () => [browser.pid, ...descendantsOf(browser.pid)].reduce((sum, p) => sum + cpuSeconds(p), 0);
  const deadline = Date.now() + 10_000;
  let quiet = 0;
  let last = cpu();
  while (quiet < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpu();
    quiet = now - last < 0.025 ? quiet + 1 : 0;
    last = now;
  }
  return browser;
}

/**
 * In the page (an init script): when the sign-up form, drawn by the running wasm, is in the
 * DOM (`interactive`, ms since the navigation began, and `interactiveAt`, epoch ms to compare
 * with the proxy's clock).
 */
function interactiveProbe() {
  window.__bench = {};
  const observer = new MutationObserver(() => {
    if (!document.querySelector('.auth #username')) return;
    observer.disconnect();
    window.__bench.interactive = performance.now();
    window.__bench.interactiveAt = performance.timeOrigin + performance.now();
  });
  observer.observe(document, { childList: true, subtree: true });
}

/**
 * A first visit on a new profile under each condition: the time until the sign-up form is
 * there, and the bytes on the wire (proxy counts, headers included): those the server sent
 * before that moment (the figure for the 250 KB target), and everything until the network
 * is quiet, the service worker's script and its install fetches included. The page's own
 * responses are listed once (CDP, loopback) to show what the bytes are.
 */
async function firstLoad() {
  const byCondition = {};
  const runsOf = Object.fromEntries(CONDITION_IDS.map((id) => [id, []]));
  // The conditions take turns, as for the warm runs.
  for (let run = 0; run < FIRST_RUNS; run++) {
    for (const id of CONDITION_IDS) {
      const condition = CONDITIONS[id];
      net.setConditions(condition);
      const runs = runsOf[id];
      const dir = join(work, `first-${id}-${run}`);
      const browser = await launchSettled(dir, 'first-load');
      try {
        const { page, context } = browser;
        await context.addInitScript(interactiveProbe);
        const listed = extra.firstLoad === undefined ? await listResponses(page) : null;
        const before = net.counters();
        net.trace(true);
        await page.goto(url);
        await page.waitForFunction(() => window.__bench?.interactive !== undefined, null, { timeout: 60_000 });
        const t = await page.evaluate(() => window.__bench);
        // The worker registers after `load`, installs (fetching the shell for its cache) and
        // takes over; then nothing more is fetched.
        await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
        await net.waitIdle(Math.max(1_000, 6 * condition.rttMs));
        const after = net.counters();
        runs.push({
          interactiveMs: t.interactive,
          beforeInteractive: net.bytesBefore(t.interactiveAt),
          down: after.down - before.down,
          up: after.up - before.up,
          connections: after.connections - before.connections,
        });
        const requests = net.requests();
        net.trace(false);
        if (listed) {
          const files = listed();
          const wasm = files.find((f) => f.url.endsWith('.wasm'));
          check(wasm && wasm.bytes > 0, 'the first load fetched the wasm');
          const raw = Object.fromEntries(readdirSync(join(root, 'dist')).map((f) => [`/${f}`, statSync(join(root, 'dist', f)).size]));
          const named = (r) => `${r.method} ${r.path}`;
          extra.firstLoad = {
            pageResponses: files.map((f) => ({ ...f, rawBytes: raw[f.url === '/' ? '/index.html' : f.url] ?? null })),
            // What reached the server, in order, the worker's requests included (proxy).
            requestsBeforeInteractive: requests.filter((r) => r.at <= t.interactiveAt).map(named),
            requestsAfterInteractive: requests.filter((r) => r.at > t.interactiveAt).map(named),
          };
          console.log(`requests before the form was there: ${extra.firstLoad.requestsBeforeInteractive.join(', ')}`);
          console.log(`requests after it, until idle: ${extra.firstLoad.requestsAfterInteractive.join(', ')}`);
          console.log('first load, the page\'s own responses (bytes on the wire incl. headers, encoding, raw size in dist/):');
          for (const f of extra.firstLoad.pageResponses) console.log(`  ${f.url.padEnd(42)} ${String(f.bytes).padStart(8)}  ${f.encoding.padEnd(8)} ${f.rawBytes ?? ''}`);
        }
      } finally {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  for (const id of CONDITION_IDS) {
    const runs = runsOf[id];
    check(runs.every((r) => r.down > 0 && r.beforeInteractive > 0), `the proxy counted the first loads (${id})`);
    byCondition[id] = {
      interactiveMs: stats(runs.map((r) => r.interactiveMs)),
      beforeInteractiveKB: stats(runs.map((r) => kb(r.beforeInteractive))),
      untilIdleKB: stats(runs.map((r) => kb(r.down))),
      untilIdleUpKB: stats(runs.map((r) => kb(r.up))),
      connections: stats(runs.map((r) => r.connections), 0),
    };
    console.log(`first load, ${CONDITIONS[id].label}: ${JSON.stringify(byCondition[id])}`);
  }
  extra.firstLoad.byCondition = byCondition;
  // The bytes hardly depend on the conditions; the target is judged on the runs at loopback,
  // the others are in the JSON.
  const base = byCondition.loopback;
  rows.push(statRow(`first load before interactive, bytes from the server (median of ${FIRST_RUNS})`, base.beforeInteractiveKB, 'KB', '<= 250 KB', base.beforeInteractiveKB.median <= 250));
  rows.push(statRow('  everything until the network is idle, worker\'s install included', base.untilIdleKB, 'KB'));
  rows.push(statRow('  sent by the browser meanwhile (requests)', base.untilIdleUpKB, 'KB'));
  const wasm = extra.firstLoad.pageResponses.find((f) => f.url.endsWith('.wasm'));
  rows.push({ figure: '  of which wasm', value: round(kb(wasm.bytes)), unit: `KB (${wasm.encoding})`, met: null });
  // The figure as it was counted before issue 21, for comparison: the page's files that came
  // before the form was there (a stylesheet asked for once the app has drawn is not).
  const before = new Set(extra.firstLoad.requestsBeforeInteractive.map((r) => r.replace(/^GET /, '')));
  const shell = extra.firstLoad.pageResponses.filter((f) =>
    /\.(js|wasm|css|html)$|^\/$/.test(f.url) && f.url !== '/sw.js' && before.has(f.url));
  extra.firstLoad.shellKB = round(kb(shell.reduce((sum, f) => sum + f.bytes, 0)));
  rows.push({ figure: '  the page\'s HTML, JS, wasm and CSS alone (CDP, as counted before)', value: extra.firstLoad.shellKB, unit: 'KB', met: null });
  for (const id of CONDITION_IDS) {
    rows.push(statRow(`first load to the sign-up form, ${CONDITIONS[id].label}`, byCondition[id].interactiveMs, 'ms'));
  }
}

/**
 * Records the page's responses through CDP (encodedDataLength: headers included, as sent);
 * returns a function that lists those finished so far.
 */
async function listResponses(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const seen = new Map();
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    seen.set(requestId, {
      url: new URL(response.url).pathname,
      encoding: response.headers['content-encoding'] ?? response.headers['Content-Encoding'] ?? 'identity',
    });
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const entry = seen.get(requestId);
    if (entry) entry.bytes = encodedDataLength;
  });
  return () => [...seen.values()].filter((f) => f.bytes !== undefined);
}

/**
 * In the page (an init script): "usable" is the room list's buttons in the DOM (rendered by
 * the running wasm, so their handlers are attached) and the frame that shows them produced.
 */
function roomListProbe() {
  window.__bench = {};
  // When the app asks for its database and when it is open (from the profile on disk).
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (name, ...rest) {
    const request = open.call(this, name, ...rest);
    if (String(name).startsWith('chat-') && window.__bench.dbOpenStart === undefined) {
      window.__bench.dbOpenStart = performance.now();
      request.addEventListener('success', () => { window.__bench.dbOpenEnd = performance.now(); });
    }
    return request;
  };
  const seen = () => document.querySelector('nav[aria-label="Rooms"] .room-list .room-link');
  const observer = new MutationObserver(() => {
    if (window.__bench.roomList || !seen()) return;
    window.__bench.roomList = performance.now();
    observer.disconnect();
    requestAnimationFrame(() => setTimeout(() => { window.__bench.painted = performance.now(); }, 0));
  });
  observer.observe(document, { childList: true, subtree: true });
}

/**
 * In the page, after a warm start: its figures and where the time went (ms since the
 * navigation began): the HTML through the worker and the network, the shell from the worker's
 * cache until the app asks the server who is signed in, that answer, the app's IndexedDB
 * database opened, and the stored room list read and drawn.
 */
function warmTimings() {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const session = resources.find((r) => new URL(r.name).pathname === '/api/session');
  const wasm = resources.find((r) => r.name.endsWith('.wasm'));
  return {
    ...window.__bench,
    controlled: navigator.serviceWorker.controller !== null,
    workerStart: nav.workerStart,
    htmlEnd: nav.responseEnd,
    wasmEnd: wasm?.responseEnd ?? null,
    sessionStart: session?.startTime ?? null,
    sessionEnd: session?.responseEnd ?? null,
  };
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
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, { headers: { cookie, origin: url } });
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
 * One reader on one on-disk profile, with a room of HISTORY messages in its IndexedDB. Then,
 * per condition and run, the whole browser is launched on that profile: warm start to a usable
 * room list, and the big room opened from it; the browser is closed again. Then opening the
 * room offline (IndexedDB only), and scrolling it to its first message.
 */
async function warmStarts() {
  const dir = join(work, 'profile');
  net.setConditions(CONDITIONS.loopback);
  await seedReader(dir);
  const newest = `m#${HISTORY - 1}#`;
  // Each load starts in the lobby: without an address the app would open the room shown last.
  const lobby = new URL('/#/room/lobby', url).href;
  // Not counted: the first launch after the seeding opens an IndexedDB whose LevelDB still has
  // the 10,000 writes in its log, which it turns into tables on that open; a person's browser
  // did that long ago.
  await warmRun(dir, lobby, newest, 'loopback', 'settle');
  if (process.env.BENCH_TRACE) {
    // A run of its own (tracing slows what it records), not counted in the figures.
    net.setConditions(CONDITIONS[TARGET_CONDITION]);
    extra.trace = { condition: TARGET_CONDITION, ...await traceRun(dir, lobby, newest, process.env.BENCH_TRACE) };
    console.log(`traced warm start (${process.env.BENCH_TRACE}): ${JSON.stringify(extra.trace)}`);
  }
  // The conditions take turns, run by run, so that a drift during the benchmark (the machine,
  // the profile) falls on all of them alike.
  const runs = Object.fromEntries(CONDITION_IDS.map((id) => [id, []]));
  const offline = [];
  for (let run = 0; run < RUNS; run++) {
    for (const id of CONDITION_IDS) runs[id].push(await warmRun(dir, lobby, newest, id, run));
    offline.push(await offlineRun(dir, lobby, newest, run));
  }
  const warm = {};
  const open = {};
  for (const id of CONDITION_IDS) {
    const phase = (f) => round(median(runs[id].map(f)));
    warm[id] = {
      ms: stats(runs[id].map((r) => r.painted)),
      // Milestones, not durations: the app opens IndexedDB while /api/session is on its way,
      // so the phases overlap.
      milestones: {
        htmlMs: phase((r) => r.htmlEnd),
        sessionStartMs: phase((r) => r.sessionStart),
        sessionEndMs: phase((r) => r.sessionEnd),
        dbOpenStartMs: phase((r) => r.dbOpenStart),
        dbOpenEndMs: phase((r) => r.dbOpenEnd),
        paintedMs: phase((r) => r.painted),
      },
    };
    open[id] = { ms: stats(runs[id].map((r) => r.open.painted)), inDomMs: stats(runs[id].map((r) => r.open.inDom)) };
    console.log(`${CONDITIONS[id].label}: warm ${JSON.stringify(warm[id])}; open ${JSON.stringify(open[id].ms)}`);
  }
  open.offline = { ms: stats(offline.map((t) => t.painted)), inDomMs: stats(offline.map((t) => t.inDom)) };
  extra.warmStart = warm;
  extra.openRoom = open;

  for (const id of CONDITION_IDS) {
    const judged = id === TARGET_CONDITION;
    rows.push(statRow(`warm start to a usable room list, ${CONDITIONS[id].label} (median of ${RUNS})`, warm[id].ms, 'ms', judged ? '<= 300 ms' : null, warm[id].ms.median <= 300));
  }
  for (const id of CONDITION_IDS) {
    const judged = id === TARGET_CONDITION;
    rows.push(statRow(`open ${HISTORY}-message room, newest shown, ${CONDITIONS[id].label}`, open[id].ms, 'ms', judged ? '<= 100 ms' : null, open[id].ms.median <= 100));
  }
  rows.push(statRow('  same, offline (IndexedDB only)', open.offline.ms, 'ms', '<= 100 ms', open.offline.ms.median <= 100));

  await scrollToFirst(dir, lobby, newest);
}

/**
 * One warm run under condition `id`: the browser launched on the profile, the app opened in
 * the lobby until its room list is usable, then (connected, caught up) the big room opened.
 * Returns the page's timings and the room's.
 */
async function warmRun(dir, lobby, newest, id, run) {
  const condition = CONDITIONS[id];
  net.setConditions(condition);
  const browser = await launchSettled(dir, `warm-${id}`);
  try {
    const { page, context } = browser;
    await context.addInitScript(roomListProbe);
    await page.goto(lobby);
    await page.waitForFunction(() => window.__bench?.painted !== undefined, null, { timeout: 60_000 });
    // The list may be drawn before the session check has answered (the app draws the stored
    // chats meanwhile); its timing entry exists only once it has, so wait for it before reading.
    await page.waitForFunction(
      () => performance.getEntriesByType('resource').some((r) => new URL(r.name).pathname === '/api/session'),
      null, { timeout: 30_000 });
    const t = await page.evaluate(warmTimings);
    check(t.controlled, 'the warm load was served under the service worker');
    if (process.env.BENCH_SCREENSHOT && id === TARGET_CONDITION && run === 0) {
      await page.screenshot({ path: process.env.BENCH_SCREENSHOT });
    }
    await connected(page, `warm-${id}-${run}`);
    // The app catches up with the server after connecting; the room is opened after that.
    await net.waitIdle(500);
    const opened = await clickAndTime(page, BIG_ROOM, newest);
    // The read marker goes out before the browser closes (an unread room would open at its
    // "New messages" line instead of the newest message).
    await net.waitIdle(500 + condition.rttMs);
    console.log(`  ${id} run ${run}: usable ${round(t.painted)} ms (html ${round(t.htmlEnd)}, session ${round(t.sessionStart)}–${round(t.sessionEnd)}, database ${round(t.dbOpenStart)}–${round(t.dbOpenEnd)}); room ${round(opened.painted)} ms`);
    return { ...t, open: opened };
  } finally {
    await browser.close();
  }
}

/** The browser launched offline on the profile: the big room opened from IndexedDB alone. */
async function offlineRun(dir, lobby, newest, run) {
  net.setConditions(CONDITIONS.loopback);
  const browser = await launchSettled(dir, 'offline');
  try {
    const { page, context } = browser;
    await context.setOffline(true);
    await page.goto(lobby);
    await rooms(page).getByRole('button', { name: new RegExp(BIG_ROOM) }).waitFor();
    const opened = await clickAndTime(page, BIG_ROOM, newest);
    await context.setOffline(false);
    // Reconnected, the app tells the server what was read offline.
    await connected(page, `offline-${run}`);
    await net.waitIdle(500);
    console.log(`  offline run ${run}: room ${round(opened.painted)} ms`);
    return opened;
  } finally {
    await browser.close();
  }
}

/**
 * One warm start and the big room opened after it, recorded in a Chromium performance trace
 * (written to `path`, for Perfetto or chrome://tracing) and summed up by what the app's
 * renderer spent its time on in each.
 */
async function traceRun(dir, lobby, newest, path) {
  const browser = await launchSettled(dir, 'trace');
  try {
    const { page, context } = browser;
    await context.addInitScript(roomListProbe);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Tracing.start', {
      transferMode: 'ReturnAsStream',
      categories: 'devtools.timeline,disabled-by-default-devtools.timeline,v8,v8.wasm,blink,loading,toplevel,ServiceWorker',
    });
    await page.goto(lobby);
    await page.waitForFunction(() => window.__bench?.painted !== undefined, null, { timeout: 60_000 });
    const painted = await page.evaluate(() => { console.timeStamp('bench:started'); return window.__bench.painted; });
    await connected(page, 'traced');
    await net.waitIdle(500);
    await page.evaluate(() => console.timeStamp('bench:open'));
    const opened = await clickAndTime(page, BIG_ROOM, newest);
    const complete = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.end');
    const { stream } = await complete;
    const chunks = [];
    for (;;) {
      const chunk = await cdp.send('IO.read', { handle: stream });
      chunks.push(chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString() : chunk.data);
      if (chunk.eof) break;
    }
    const text = chunks.join('');
    writeFileSync(path, text);
    const events = JSON.parse(text).traceEvents;
    const mark = (name) => events.find((e) => e.name === 'TimeStamp' && e.args?.data?.message === name)?.ts;
    await net.waitIdle(500);
    return {
      warmStart: { ms: round(painted), ...summariseTrace(events, 0, mark('bench:started')) },
      openRoom: { ms: round(opened.painted), ...summariseTrace(events, mark('bench:open'), Infinity) },
    };
  } finally {
    await browser.close();
  }
}

/**
 * Milliseconds the app's renderer processes (not Chromium's own WebUI) spent, by kind, in the
 * trace's events from `from` to `to` (trace clock); an event inside another of the same name
 * on its thread is not counted twice.
 */
function summariseTrace(events, from = 0, to = Infinity) {
  const processes = new Map();
  const threads = new Map();
  for (const e of events) {
    if (e.ph !== 'M') continue;
    if (e.name === 'process_name') processes.set(e.pid, e.args.name);
    if (e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, e.args.name);
  }
  const timed = events
    .filter((e) => e.ph === 'X' && e.dur && e.ts >= from && e.ts <= to && processes.get(e.pid) === 'Renderer')
    .sort((a, b) => a.ts - b.ts);
  const sum = (thread, names) => {
    const ends = new Map();
    let total = 0;
    for (const e of timed) {
      const key = `${e.pid}:${e.tid}`;
      if (threads.get(key) !== thread || !names.includes(e.name)) continue;
      if (e.ts < (ends.get(key) ?? 0)) continue;
      ends.set(key, e.ts + e.dur);
      total += e.dur / 1000;
    }
    return round(total);
  };
  return {
    mainThreadBusyMs: sum('CrRendererMain', ['ThreadControllerImpl::RunTask']),
    scriptMs: sum('CrRendererMain', ['FunctionCall', 'EvaluateScript', 'v8.callFunction']),
    wasmLazyCompileMs: sum('CrRendererMain', ['wasm.CompileLazy']),
    styleMs: sum('CrRendererMain', ['UpdateLayoutTree']),
    layoutMs: sum('CrRendererMain', ['Layout']),
    paintMs: sum('CrRendererMain', ['Paint']),
    serviceWorkerBusyMs: sum('ServiceWorker thread', ['ThreadControllerImpl::RunTask']),
  };
}

/**
 * Signs the reader up on the profile and fills its IndexedDB with a room of HISTORY messages
 * through the real app: a second user posts them while the reader has the room open. Leaves
 * the profile with the service worker installed and in control. Returns the room's id.
 */
async function seedReader(dir) {
  const browser = await openProfile(dir, { label: 'reader' });
  try {
    const { page } = browser;
    await signUp(page, url, 'reader');
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
    console.log(`reader's IndexedDB holds ${stored} events of the room`);
    check(stored >= HISTORY, `all ${HISTORY} messages reached IndexedDB (got ${stored})`);
    extra.seedSeconds = round(seedSeconds);
    // The service worker installed after the first load; a reload puts the page under it.
    await page.goto(new URL('/#/room/lobby', url).href);
    await connected(page, 'seeded');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    await net.waitIdle(500);
    return room;
  } finally {
    await browser.close();
  }
}

/** Scrolls the big room to its first message (loopback) while the DOM size is sampled. */
async function scrollToFirst(dir, lobby, newest) {
  const browser = await launchSettled(dir, 'scroll');
  try {
    const { page } = browser;
    // Older pages come from IndexedDB (and the server past it).
    await page.goto(lobby);
    await connected(page, 'scroll');
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
      return { reached: reachedTop(), maxNodes, maxArticles, steps, seconds: round1((performance.now() - start) / 1000) };
      function round1(x) { return Math.round(x * 10) / 10; }
    }, { limitMs: SMOKE ? 30_000 : 300_000 });
    console.log(`scrolled to the top: ${JSON.stringify(scroll)}`);
    check(scroll.reached, 'scrolling reached the first message');
    extra.scroll = { ...scroll, baselineNodes: baseline };
    rows.push({ figure: 'DOM nodes with the room open (newest)', value: baseline, unit: 'nodes', met: null });
    rows.push({ figure: `max DOM nodes scrolling through all ${HISTORY}`, value: scroll.maxNodes, unit: 'nodes', target: 'bounded', met: scroll.maxNodes < 5 * baseline });
    rows.push({ figure: '  max messages in the DOM', value: scroll.maxArticles, unit: 'articles', target: '<= 150 (window)', met: scroll.maxArticles <= 150 });
    rows.push({ figure: '  time to scroll to the first message', value: scroll.seconds, unit: 's', met: null });
  } finally {
    await browser.close();
  }
}
