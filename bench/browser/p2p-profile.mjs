// Where a file transfer's CPU goes (docs/BENCHMARKS.md, "The transfer ratio"): one app transfer
// through the UI between two Chromium processes with on-disk profiles, and the CPU seconds each
// kind of browser process spent on it (from /proc), with the stages each side went through.
//   node bench/browser/p2p-profile.mjs             200 MB
//   SIZE=50 PROF=1 node bench/browser/p2p-profile.mjs
// PROF=1 also records 5 s of both pages' main threads (DevTools Profiler) mid-transfer, prints
// the functions with the most self time and writes /tmp/prof-{alice,bob}.cpuprofile.
// The table's raw-page row was read the same way (/proc, both browser trees) around one run of
// p2p.mjs's raw-dc.html page.
import { rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startServer, launchProfile, aliceAndBobInDirect, descendantsOf, processKind, cpuSeconds,
  writeRandomFile, round,
} from './lib.mjs';

const MB = 1e6;
const SIZE = Number(process.env.SIZE ?? 200) * MB;
const PROFILE = process.env.PROF === '1';

/** CPU seconds so far of a browser's processes, summed per kind. */
function cpuByKind(browserPid) {
  const out = { browser: cpuSeconds(browserPid) };
  for (const pid of descendantsOf(browserPid)) {
    const kind = processKind(pid);
    out[kind] = (out[kind] ?? 0) + cpuSeconds(pid);
  }
  return out;
}

const spent = (before, after) =>
  Object.fromEntries(Object.keys(after).map((k) => [k, round(after[k] - (before[k] ?? 0), 2)]));

/** Records the transfer card's stage changes in the page, with their times. */
async function watchStages(page) {
  await page.evaluate(() => {
    window.__stages = [];
    setInterval(() => {
      const stage = document.querySelector('article.transfer')?.dataset.stage;
      if (stage && window.__stages.at(-1)?.[0] !== stage) window.__stages.push([stage, performance.now()]);
    }, 20);
  });
}

/** The main thread's functions by self time, from a DevTools CPU profile. */
function printTop(who, profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = profile.timeDeltas.reduce((x, y) => x + y, 0);
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = nodes.get(id).callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').pop()}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  console.log(`--- ${who}'s main thread, ${round(total / 1000, 0)} ms`);
  for (const [key, us] of [...self].sort((x, y) => y[1] - x[1]).slice(0, 25)) {
    console.log(`${round((us / total) * 100).toFixed(1).padStart(5)}% ${key}`);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'chat-p2p-profile-'));
const path = join(scratch, 'profiled.bin');
writeRandomFile(path, SIZE);
const server = await startServer();
const a = await launchProfile({ webrtc: true, label: 'alice' });
const b = await launchProfile({ webrtc: true, label: 'bob' });
try {
  const alice = a.page;
  const bob = b.page;
  await aliceAndBobInDirect(alice, bob, server.url);
  await watchStages(alice);
  await watchStages(bob);

  await alice.getByLabel('Attach files').setInputFiles(path);
  const offer = bob.getByRole('region', { name: 'File transfers' }).locator('article.transfer[data-stage="offered"]');
  await offer.getByText('sends you').waitFor({ timeout: 30_000 });
  // The sender's digest of the file (computed once an offer is made) is done before Accept.
  await new Promise((r) => setTimeout(r, 3000));
  const before = { alice: cpuByKind(a.pid), bob: cpuByKind(b.pid) };
  const acceptedAt = await bob.evaluate(() => performance.now());
  await offer.getByRole('button', { name: 'Accept' }).click();

  if (PROFILE) {
    const sessions = [['alice', await alice.context().newCDPSession(alice)], ['bob', await bob.context().newCDPSession(bob)]];
    await new Promise((r) => setTimeout(r, 3000));
    for (const [, cdp] of sessions) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    await new Promise((r) => setTimeout(r, 5000));
    for (const [who, cdp] of sessions) {
      const { profile } = await cdp.send('Profiler.stop');
      writeFileSync(`/tmp/prof-${who}.cpuprofile`, JSON.stringify(profile));
      printTop(who, profile);
    }
  }

  await bob.locator('article.transfer[data-stage="done"]').waitFor({ timeout: 600_000 });
  const seconds = ((await bob.evaluate(() => performance.now())) - acceptedAt) / 1000;
  console.log(`accept -> done: ${round(seconds, 2)} s = ${round(SIZE / MB / seconds)} MB/s`);
  console.log('CPU s, sender (alice):', spent(before.alice, cpuByKind(a.pid)));
  console.log('CPU s, receiver (bob):', spent(before.bob, cpuByKind(b.pid)));
  const stages = (page, from) => page.evaluate((t0) => window.__stages.map(([s, t]) => [s, Math.round(t - t0)]), from);
  console.log('stages (ms after Accept), bob:', JSON.stringify(await stages(bob, acceptedAt)));
  console.log('stages (ms since page load), alice:', JSON.stringify(await stages(alice, 0)));
} finally {
  await a.close();
  await b.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
