// Where a file transfer's CPU goes (docs/BENCHMARKS.md, "The transfer ratio"): one app transfer
// through the UI between two Chromium processes with on-disk profiles, and the CPU seconds each
// kind of browser process spent on it (from /proc), with the stages each side went through.
//   node bench/browser/p2p-profile.mjs             200 MB
//   SIZE=50 PROF=1 node bench/browser/p2p-profile.mjs
// PROF=1 also records 5 s of both pages' main threads (DevTools Profiler) mid-transfer, prints
// the functions with the most self time and writes /tmp/prof-{alice,bob}.cpuprofile.
// The table's raw-page row was read the same way (/proc, both browser trees) around one run of
// p2p.mjs's raw-dc.html page.
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchProfile, signUp, openDirect, rooms, descendantsOf, cmdline } from './lib.mjs';
const MB = 1e6;
const SIZE = Number(process.env.SIZE ?? 200) * MB;
const scratch = mkdtempSync(join(tmpdir(), 'prof-'));
const path = join(scratch, 'f.bin');
{ const fd = openSync(path, 'w'); const b = Buffer.alloc(4 << 20); for (let w = 0; w < SIZE;) { const n = Math.min(b.length, SIZE - w); randomFillSync(b, 0, n); writeSync(fd, b, 0, n); w += n; } closeSync(fd); }
const ticks = (pid) => { try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return Number(f[11]) + Number(f[12]); } catch { return 0; } };
function cpu(pid) {
  const out = { browser: ticks(pid) };
  for (const p of descendantsOf(pid)) {
    const a = cmdline(p); const t = /--type=(\S+)/.exec(a)?.[1] ?? 'other'; const s = /--utility-sub-type=(\S+)/.exec(a)?.[1];
    const k = s ? s.split('.').pop() : t; out[k] = (out[k] ?? 0) + ticks(p);
  }
  return out;
}
const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, ((b[k] - (a[k] ?? 0)) / 100).toFixed(2)]));
const server = await startServer();
const a = await launchProfile({ webrtc: true, label: 'alice' });
const b = await launchProfile({ webrtc: true, label: 'bob' });
try {
  const alice = a.page, bob = b.page;
  await signUp(alice, server.url, 'alice'); await signUp(bob, server.url, 'bob');
  await openDirect(alice, 'bob');
  await rooms(bob).getByRole('button', { name: /alice/ }).click();
  await bob.getByRole('heading', { name: 'alice' }).waitFor();
  for (const [who, page] of [['alice', alice], ['bob', bob]]) {
    await page.evaluate(() => {
      window.__stages = [];
      setInterval(() => { const s = document.querySelector('article.transfer')?.dataset.stage; if (s && window.__stages.at(-1)?.[0] !== s) window.__stages.push([s, performance.now()]); }, 20);
    });
  }
  await alice.getByLabel('Attach files').setInputFiles(path);
  const offer = bob.getByRole('region', { name: 'File transfers' }).locator('article.transfer[data-stage="offered"]');
  await offer.getByText('sends you').waitFor({ timeout: 30000 });
  // The sender's digest of the file (computed once an offer is made) is done before Accept.
  await new Promise((r) => setTimeout(r, 3000));
  const cpuA0 = cpu(a.pid), cpuB0 = cpu(b.pid);
  const t0 = await bob.evaluate(() => performance.now());
  await offer.getByRole('button', { name: 'Accept' }).click();
  const cdpA = await alice.context().newCDPSession(alice), cdpB = await bob.context().newCDPSession(bob);
  const PROF = process.env.PROF === '1';
  if (PROF) {
    await new Promise((r) => setTimeout(r, 3000));
    for (const c of [cdpA, cdpB]) { await c.send('Profiler.enable'); await c.send('Profiler.setSamplingInterval', { interval: 200 }); await c.send('Profiler.start'); }
    await new Promise((r) => setTimeout(r, 5000));
    for (const [n, c] of [['alice', cdpA], ['bob', cdpB]]) {
      const { profile } = await c.send('Profiler.stop');
      writeFileSync(`/tmp/prof-${n}.cpuprofile`, JSON.stringify(profile));
      const self = new Map(); const byId = new Map(profile.nodes.map((x) => [x.id, x]));
      const dt = profile.timeDeltas; const total = dt.reduce((x, y) => x + y, 0);
      profile.samples.forEach((id, i) => { const nd = byId.get(id); const k = `${nd.callFrame.functionName || '(anon)'} ${nd.callFrame.url.split('/').pop()}`; self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0)); });
      console.log(`--- ${n} profile, ${(total / 1000).toFixed(0)} ms`);
      for (const [k, v] of [...self].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`${(v / total * 100).toFixed(1).padStart(5)}% ${k}`);
    }
  }
  await bob.locator('article.transfer[data-stage="done"]').waitFor({ timeout: 600000 });
  const t1 = await bob.evaluate(() => performance.now());
  console.log(`accept->done ${((t1 - t0) / 1000).toFixed(2)} s = ${(SIZE / MB / ((t1 - t0) / 1000)).toFixed(1)} MB/s`);
  console.log('cpu s alice', diff(cpuA0, cpu(a.pid)));
  console.log('cpu s bob', diff(cpuB0, cpu(b.pid)));
  console.log('bob stages', JSON.stringify(await bob.evaluate((t0) => window.__stages.map(([s, t]) => [s, Math.round(t - t0)]), t0)));
  console.log('alice stages', JSON.stringify(await alice.evaluate(() => window.__stages.map(([s, t]) => [s, Math.round(t)]))));
} finally { await a.close(); await b.close(); await server.stop(); rmSync(scratch, { recursive: true, force: true }); }
