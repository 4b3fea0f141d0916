// Peer-to-peer benchmark (issue 6, browser half), two separate headless Chromium processes on
// loopback against the real server:
//   - the app's file transfer (through the UI) against a raw RTCDataChannel (raw-dc.html),
//   - the receiving browser's memory while 500 MB arrive,
//   - from the "Video call" click to the first decoded remote frame.
//
//   node bench/browser/p2p.mjs                  full measurement (several minutes)
//   BENCH_SMOKE=1 node bench/browser/p2p.mjs    tiny sizes, for CI (exits non-zero on breakage)
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SMOKE, startServer, launchTracked, launchProfile, newPage, aliceAndBobInDirect, median, round, report, check,
  descendantsOf, rssBytes, processKind, writeRandomFile,
} from './lib.mjs';

const MB = 1_000_000;
const TRANSFER_BYTES = SMOKE ? 8 * MB : 200 * MB;
const MEMORY_BYTES = SMOKE ? 16 * MB : 500 * MB;
const CALL_RUNS = SMOKE ? 1 : 7;
const ROUNDS = SMOKE ? 1 : 5;
// A raw run of 200 MB takes 10-25 s here.
const RAW_ATTEMPT_MS = SMOKE ? 30_000 : 90_000;
const RAW_ATTEMPTS = 3;

const transfers = (page) => page.getByRole('region', { name: 'File transfers' });
const rows = [];
const extra = {};
const scratch = mkdtempSync(join(tmpdir(), 'chat-bench-files-'));
const cleanups = [() => rmSync(scratch, { recursive: true, force: true })];
try {
  await appScenarios();
} finally {
  for (const c of cleanups.reverse()) await c();
}
report('p2p', rows, extra);

// ---------------------------------------------------------------------------------------------

/** A file of random bytes in the scratch folder. */
function randomFile(name, size) {
  const path = join(scratch, name);
  writeRandomFile(path, size);
  return path;
}

/**
 * MB/s of one raw data channel between two Chromium processes. The minimal page has no
 * recovery of its own: a run that has not finished within RAW_ATTEMPT_MS (seen twice on
 * 2026-11-29: a run that never finished, cause not found) is abandoned and run again with new
 * browsers, at most RAW_ATTEMPTS times, instead of hanging the benchmark.
 */
async function rawDataChannel(bytes) {
  for (let attempt = 1; ; attempt++) {
    let timer;
    const stalled = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`raw data channel: no result after ${RAW_ATTEMPT_MS} ms`)), RAW_ATTEMPT_MS);
    });
    const browsers = [];
    const run = rawDataChannelOnce(bytes, browsers);
    run.catch(() => {}); // reported through the race below
    try {
      return await Promise.race([run, stalled]);
    } catch (e) {
      // Closing the browsers ends the stalled run's pending page calls; browsers it launches
      // from now on close at once.
      browsers.abandoned = true;
      await Promise.all(browsers.map((b) => b.close().catch(() => {})));
      if (attempt >= RAW_ATTEMPTS) throw e;
      console.log(`${e.message}; attempt ${attempt + 1} of ${RAW_ATTEMPTS}`);
      extra.rawRetries = (extra.rawRetries ?? 0) + 1;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function rawDataChannelOnce(bytes, browsers) {
  const page = readFileSync(fileURLToPath(new URL('raw-dc.html', import.meta.url)));
  // Served over http://127.0.0.1 (a secure context), like the app.
  const http = createServer((req, res) => { res.setHeader('content-type', 'text/html'); res.end(page); });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${http.address().port}/`;
  const a = await launchTracked({ webrtc: true });
  const b = await launchTracked({ webrtc: true });
  browsers.push(a.browser, b.browser);
  try {
    if (browsers.abandoned) throw new Error('abandoned');
    const sender = await newPage(a.browser, { webrtc: true, label: 'raw sender' });
    const receiver = await newPage(b.browser, { webrtc: true, label: 'raw receiver' });
    await sender.goto(url);
    await receiver.goto(url);
    const offer = await sender.evaluate(() => window.bench.offer());
    const answer = await receiver.evaluate((o) => window.bench.answer(o), offer);
    await sender.evaluate((a) => window.bench.accept(a), answer);
    await Promise.all([sender.evaluate(() => window.bench.open()), receiver.evaluate(() => window.bench.open())]);
    const received = receiver.evaluate((n) => window.bench.receive(n), bytes);
    received.catch(() => {}); // a failing send() is the error to report, not this one
    const start = await sender.evaluate((n) => window.bench.send(n), bytes);
    const end = await received;
    const mbps = bytes / MB / ((end - start) / 1000);
    console.log(`raw data channel: ${bytes / MB} MB in ${round((end - start) / 1000, 2)} s = ${round(mbps, 1)} MB/s`);
    return mbps;
  } finally {
    await a.browser.close();
    await b.browser.close();
    http.close();
  }
}

/**
 * Sends the file at `path` from alice to bob through the UI; resolves with the seconds from
 * bob's Accept to the transfer being done and verified on his side. `during` runs meanwhile.
 */
async function sendThroughUi(alice, bob, path, size, during = async () => {}) {
  const name = path.split('/').pop();
  await alice.getByLabel('Attach files').setInputFiles(path);
  const offer = transfers(bob).locator('article.transfer[data-stage="offered"]');
  await offer.getByText('sends you').waitFor({ timeout: 30_000 });
  // Baseline samples are taken while nothing moves.
  await during('before');
  const done = transfers(bob).locator('article.transfer[data-stage="done"]').filter({ hasText: name });
  const start = performance.now();
  await offer.getByRole('button', { name: 'Accept' }).click();
  const sampling = during('during', done);
  await done.waitFor({ timeout: 600_000 });
  const seconds = (performance.now() - start) / 1000;
  await sampling;
  await transfers(alice).locator('article.transfer[data-stage="done"]').filter({ hasText: name })
    .filter({ hasText: 'verified' }).waitFor({ timeout: 30_000 });
  // The receiver's copy has the file's size (the app compared SHA-256 itself before "done").
  const got = await bob.evaluate(async (n) => {
    const link = [...document.querySelectorAll('.transfer a[download]')].find((a) => a.download === n);
    return link ? (await (await fetch(link.href)).blob()).size : -1;
  }, name);
  check(got === size, `received ${name}: ${got} bytes, expected ${size}`);
  return seconds;
}

/** Smoke mode also compares the received bytes with the file on disk. */
async function receivedSha(bob, name) {
  return bob.evaluate(async (n) => {
    const link = [...document.querySelectorAll('.transfer a[download]')].find((a) => a.download === n);
    const digest = await crypto.subtle.digest('SHA-256', await (await fetch(link.href)).arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, name);
}

/** The receiving browser's memory: JS heap of the page and RSS of its processes. */
function memorySampler(bob, pid) {
  const samples = [];
  let running = false;
  let cdp;
  const sample = async (phase) => {
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const procs = descendantsOf(pid);
    // RSS per kind of process (--type=renderer, utility such as the network and storage
    // services, gpu-process, zygote; the main process is "browser").
    const byType = { browser: rssBytes(pid), 'browser (anon)': rssBytes(pid, 'RssAnon') };
    for (const p of procs) {
      const key = processKind(p);
      byType[key] = (byType[key] ?? 0) + rssBytes(p);
      byType[`${key} (anon)`] = (byType[`${key} (anon)`] ?? 0) + rssBytes(p, 'RssAnon');
    }
    samples.push({
      phase, t: performance.now(),
      jsHeap: metrics.JSHeapUsedSize,
      rendererRss: byType.renderer ?? 0,
      browserTreeRss: Object.entries(byType).filter(([k]) => !k.endsWith('(anon)')).reduce((a, [, v]) => a + v, 0),
      byType,
    });
  };
  return {
    samples,
    async during(phase, done) {
      if (!cdp) {
        cdp = await bob.context().newCDPSession(bob);
        await cdp.send('Performance.enable');
      }
      if (phase === 'before') {
        for (let i = 0; i < 3; i++) { await sample('before'); await new Promise((r) => setTimeout(r, 200)); }
        running = true;
        return;
      }
      // Until the transfer is done (sendThroughUi awaits this after "done" appears).
      const stop = done.waitFor({ timeout: 600_000 }).then(() => { running = false; });
      while (running) {
        await sample('during');
        await Promise.race([new Promise((r) => setTimeout(r, 500)), stop]);
      }
      await sample('after');
    },
  };
}

async function appScenarios() {
  const server = await startServer();
  cleanups.push(() => server.stop());
  // Real on-disk profiles (see launchProfile): received files go to disk, as for a person.
  const a = await launchProfile({ webrtc: true, label: 'alice' });
  const b = await launchProfile({ webrtc: true, label: 'bob' });
  cleanups.push(() => a.close(), () => b.close());
  check(b.pid, 'found the receiving browser process');
  const alice = a.page;
  await alice.addInitScript(() => {
    // Keep a handle on every connection the app makes, to read its stats in videoCalls().
    const Base = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Base {
      constructor(...args) { super(...args); window.__pcs.push(this); }
    };
  });
  const bob = b.page;
  await aliceAndBobInDirect(alice, bob, server.url);

  // Throughput: raw and app runs alternate, so that the load other processes put on this
  // shared machine meanwhile weighs on both figures alike; medians of the rounds are compared.
  const raws = [];
  const apps = [];
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    raws.push(await rawDataChannel(TRANSFER_BYTES));
    const name = `transfer-${round_}.bin`;
    const file = randomFile(name, TRANSFER_BYTES);
    const seconds = await sendThroughUi(alice, bob, file, TRANSFER_BYTES);
    apps.push(TRANSFER_BYTES / MB / seconds);
    console.log(`app transfer: ${TRANSFER_BYTES / MB} MB in ${round(seconds, 2)} s = ${round(apps.at(-1), 1)} MB/s`);
    if (SMOKE) {
      const expected = createHash('sha256').update(readFileSync(file)).digest('hex');
      check(await receivedSha(bob, name) === expected, 'the received file is byte for byte the sent one');
    }
    rmSync(file);
  }
  raws.push(await rawDataChannel(TRANSFER_BYTES));
  extra.rawMBps = raws.map((x) => round(x, 2));
  extra.appMBps = apps.map((x) => round(x, 2));
  const raw = median(raws);
  const app = median(apps);
  rows.push(
    { figure: `raw RTCDataChannel, ${TRANSFER_BYTES / MB} MB (median of ${raws.length})`, value: round(raw, 1), unit: 'MB/s', met: null },
    { figure: `app file transfer through the UI, ${TRANSFER_BYTES / MB} MB (median of ${apps.length})`, value: round(app, 1), unit: 'MB/s', met: null },
    { figure: '  app / raw', value: `${round((app / raw) * 100)}`, unit: '%', target: '>= 80 %', met: app / raw >= 0.8 },
  );

  // Memory while a big file arrives.
  const big = randomFile('big.bin', MEMORY_BYTES);
  const sampler = memorySampler(bob, b.pid);
  const bigSeconds = await sendThroughUi(alice, bob, big, MEMORY_BYTES, (phase, done) => sampler.during(phase, done));
  rmSync(big);
  const before = sampler.samples.filter((s) => s.phase === 'before');
  const start = (key) => Math.max(...before.map((s) => s[key]));
  const peak = (key) => Math.max(...sampler.samples.map((s) => s[key]));
  const start2 = (key) => Math.max(...before.map((s) => s.byType[key] ?? 0));
  const peak2 = (key) => Math.max(...sampler.samples.map((s) => s.byType[key] ?? 0));
  const mib = (x) => round(x / 2 ** 20);
  extra.memorySamples = sampler.samples.map((s) => ({ ...s, t: round(s.t) }));
  const heapGrowth = peak('jsHeap') - start('jsHeap');
  const rssGrowth = peak('rendererRss') - start('rendererRss');
  const types = Object.keys(sampler.samples.at(-1).byType);
  extra.rssGrowthByProcessType = Object.fromEntries(types.map((k) => [k, {
    startMiB: mib(Math.max(...before.map((s) => s.byType[k] ?? 0))),
    peakMiB: mib(Math.max(...sampler.samples.map((s) => s.byType[k] ?? 0))),
  }]));
  console.log('receiving browser RSS by process type (MiB, start -> peak):');
  for (const [k, v] of Object.entries(extra.rssGrowthByProcessType)) console.log(`  ${k.padEnd(30)} ${v.startMiB} -> ${v.peakMiB}`);
  console.log(`app transfer of ${MEMORY_BYTES / MB} MB: ${round(bigSeconds, 2)} s = ${round(MEMORY_BYTES / MB / bigSeconds, 1)} MB/s, ${sampler.samples.length} memory samples`);
  rows.push(
    { figure: `app transfer, ${MEMORY_BYTES / MB} MB`, value: round(MEMORY_BYTES / MB / bigSeconds, 1), unit: 'MB/s', met: null },
    { figure: `receiver JS heap: start -> peak (${MEMORY_BYTES / MB} MB)`, value: `${mib(start('jsHeap'))} -> ${mib(peak('jsHeap'))}`, unit: 'MiB', target: 'bounded (growth < 64 MiB)', met: heapGrowth < 64 * 2 ** 20 },
    { figure: '  receiver renderer RSS: start -> peak', value: `${mib(start('rendererRss'))} -> ${mib(peak('rendererRss'))}`, unit: 'MiB', target: 'bounded (growth < 100 MiB)', met: rssGrowth < 100 * 2 ** 20 },
    { figure: '  receiving browser, all processes RSS: start -> peak', value: `${mib(start('browserTreeRss'))} -> ${mib(peak('browserTreeRss'))}`, unit: 'MiB', met: null },
    { figure: '  browser main process RSS / of it anonymous: start -> peak', value: `${mib(start2('browser'))} -> ${mib(peak2('browser'))} / ${mib(start2('browser (anon)'))} -> ${mib(peak2('browser (anon)'))}`, unit: 'MiB', met: null },
  );

  await videoCalls(alice, bob);
}

/**
 * Alice clicks "Video call"; Bob's page accepts the moment the ring appears (an in-page observer,
 * standing in for a person who answers at once). Measured in Alice's page from the click:
 * the first remote video frame decoded (polling her connection's getStats every 10 ms), and the
 * tile showing it (the app's own data-frames-decoded).
 */
async function videoCalls(alice, bob) {
  const results = [];
  for (let run = 0; run < CALL_RUNS; run++) {
    // Only this call's connections are polled.
    await alice.evaluate(() => { window.__pcs.length = 0; });
    await bob.evaluate(() => {
      const observer = new MutationObserver(() => {
        const ring = [...document.querySelectorAll('[role="alert"]')].find((e) => e.textContent.includes('is calling you'));
        const accept = ring && [...ring.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Accept');
        if (!accept) return;
        observer.disconnect();
        window.__accepted = performance.timeOrigin + performance.now();
        accept.click();
      });
      observer.observe(document.body, { childList: true, subtree: true });
    });
    const timing = await alice.evaluate(() => new Promise((resolve, reject) => {
      const button = [...document.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === 'Video call' || b.textContent.trim() === 'Video call');
      if (!button) { reject(new Error('no Video call button')); return; }
      const start = performance.now();
      const result = { clickedAt: performance.timeOrigin + start };
      const poll = setInterval(async () => {
        if (result.firstFrame === undefined) {
          for (const pc of window.__pcs) {
            if (pc.connectionState === 'closed') continue;
            const stats = await pc.getStats().catch(() => new Map());
            for (const s of stats.values()) {
              if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && result.firstFrame === undefined) {
                result.firstFrame = performance.now() - start;
              }
            }
          }
        }
        const tile = document.querySelector('figure.tile[data-user="bob"]');
        if (result.tile === undefined && Number(tile?.dataset.framesDecoded) > 0) result.tile = performance.now() - start;
        if (result.firstFrame !== undefined && result.tile !== undefined) { clearInterval(poll); resolve(result); }
        if (performance.now() - start > 20_000) { clearInterval(poll); reject(new Error(`no remote frame in 20 s: ${JSON.stringify(result)}`)); }
      }, 10);
      button.click();
    }));
    timing.acceptAfter = (await bob.evaluate(() => window.__accepted)) - timing.clickedAt;
    console.log(`video call ${run + 1}: first remote frame decoded ${round(timing.firstFrame)} ms, shown by the tile ${round(timing.tile)} ms (callee accepted at ${round(timing.acceptAfter)} ms)`);
    results.push(timing);
    // Both hang up; wait until neither has a call before the next run.
    await alice.getByRole('button', { name: 'Hang up' }).click();
    const bobHangUp = bob.getByRole('button', { name: 'Hang up' });
    if (await bobHangUp.isVisible()) await bobHangUp.click().catch(() => {});
    await alice.getByRole('region', { name: 'Call' }).waitFor({ state: 'detached', timeout: 15_000 });
    await bob.getByRole('region', { name: 'Call' }).waitFor({ state: 'detached', timeout: 15_000 });
    await alice.waitForTimeout(500);
  }
  extra.calls = results.map((r) => ({ firstFrame: round(r.firstFrame), tile: round(r.tile), acceptAfter: round(r.acceptAfter) }));
  const first = median(results.map((r) => r.firstFrame));
  rows.push(
    { figure: `video call click -> first remote frame decoded (median of ${CALL_RUNS})`, value: round(first), unit: 'ms', target: '<= 1500 ms', met: first <= 1500 },
    { figure: '  click -> tile reports frames (app polls stats)', value: round(median(results.map((r) => r.tile))), unit: 'ms', met: null },
    { figure: '  click -> callee accepted (automatic)', value: round(median(results.map((r) => r.acceptAfter))), unit: 'ms', met: null },
  );
}
