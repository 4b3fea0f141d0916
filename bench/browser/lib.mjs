// Shared pieces of the browser benchmarks: the real server, headless Debian Chromium, the UI
// steps every scenario needs, statistics and the results file.
import { spawn, execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const SMOKE = process.env.BENCH_SMOKE === '1';

/** A release server measures the client, not an unoptimised server; debug is the fallback. */
export function serverBinary() {
  if (process.env.SIGNALING_BIN) return process.env.SIGNALING_BIN;
  const release = join(root, 'target', 'release', 'signaling');
  return existsSync(release) ? release : join(root, 'target', 'debug', 'signaling');
}

/** Starts `signaling` on a free loopback port with a fresh data directory. */
export async function startServer(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  const bin = serverBinary();
  const proc = spawn(bin, [
    '--bind', '127.0.0.1:0',
    '--data-dir', dataDir,
    '--static-dir', process.env.DIST_DIR ?? join(root, 'dist'),
  ], {
    env: {
      ...process.env,
      RUST_LOG: 'warn,signaling=info',
      // Benchmarks sign up many users and seed rooms faster than people type.
      CHAT_AUTH_ATTEMPTS_PER_MINUTE: '1000',
      CHAT_SOCKET_FRAMES_PER_SECOND: '100000',
      CHAT_USER_EVENTS_PER_SECOND: '100000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /Chat is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (match) { clearTimeout(timer); resolve(match[1]); }
      if (log.length > 1e6) log = log.slice(-1e5);
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}:\n${log}`)); });
  });
  return {
    url,
    bin,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Flags from /work/shared TOOLCHAIN.md; `webrtc` adds loopback candidates and fake media. */
function launchOptions(webrtc) {
  return {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      ...(webrtc ? ['--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream'] : []),
    ],
  };
}

export async function launch({ webrtc = false } = {}) {
  return chromium.launch(launchOptions(webrtc));
}

/**
 * A browser with a real profile on disk, as a person has. Playwright's `newContext()` is an
 * off-the-record profile, whose origin-private file system lives in the browser process's
 * memory: received files would count as memory there (measured: +300 MiB of anonymous memory
 * in the browser process per 300 MB written), while a normal profile writes them to disk.
 * Returns { context, page, pid (the browser's main process), close() }.
 */
export async function launchProfile({ webrtc = false, label = 'page' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-profile-'));
  const browser = await openProfile(dir, { webrtc, label });
  return {
    ...browser,
    async close() {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Launches Chromium on the profile in `dir` (created if missing, kept when closed), so a later
 * launch finds what this one left there: the service worker, its cache, IndexedDB, cookies.
 * Returns { context, page, pid, close() }; close() ends the whole browser.
 */
export async function openProfile(dir, { webrtc = false, label = 'page' } = {}) {
  const before = new Set(childrenOf(process.pid));
  const context = await chromium.launchPersistentContext(dir, {
    ...launchOptions(webrtc),
    viewport: { width: 1000, height: 760 },
    ...(webrtc ? { permissions: ['camera', 'microphone'] } : {}),
  });
  const pid = childrenOf(process.pid).find((p) => !before.has(p) && /chrom/.test(cmdline(p)));
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => console.error(`[${label}] ${e}`));
  return {
    context, page, pid,
    async close() { await context.close().catch(() => {}); },
  };
}

export async function newPage(browser, { webrtc = false, label = 'page' } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1000, height: 760 },
    ...(webrtc ? { permissions: ['camera', 'microphone'] } : {}),
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${label}] ${e}`));
  return page;
}

export async function signUp(page, url, username, password = 'correct horse battery') {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await waitConnected(page);
}

export async function waitConnected(page, timeout = 30_000) {
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout });
}

export const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });

export async function openDirect(page, other) {
  await rooms(page).getByRole('button', { name: 'New direct message' }).click();
  await page.getByLabel('Username').fill(other);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByRole('heading', { name: other }).waitFor();
}

/** Signs up alice and bob on their pages and opens their direct conversation on both. */
export async function aliceAndBobInDirect(alice, bob, url) {
  await signUp(alice, url, 'alice');
  await signUp(bob, url, 'bob');
  await openDirect(alice, 'bob');
  await rooms(bob).getByRole('button', { name: /alice/ }).click();
  await bob.getByRole('heading', { name: 'alice' }).waitFor();
}

/** PIDs of the processes whose parent is `pid`. */
export function childrenOf(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch { /* the process ended meanwhile */ }
  }
  return out;
}

export function descendantsOf(pid) {
  const all = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of childrenOf(queue.shift())) { all.push(child); queue.push(child); }
  }
  return all;
}

/** Resident bytes of a process: `VmRSS` (all), or `RssAnon` (its own heap, not mapped files). */
export function rssBytes(pid, field = 'VmRSS') {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch { return 0; }
}

export function cmdline(pid) {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '); } catch { return ''; }
}

/**
 * What a Chromium child process is: its --type (renderer, gpu-process, zygote, ...), or for a
 * utility process `utility:<service>` (NetworkService, StorageService, ...).
 */
export function processKind(pid) {
  const args = cmdline(pid);
  const service = /--utility-sub-type=(\S+)/.exec(args)?.[1];
  return service ? `utility:${service.split('.').pop()}` : /--type=(\S+)/.exec(args)?.[1] ?? 'other';
}

/** CPU time a process has used so far (user + system), in seconds; 0 once it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return 0; }
}

/** Writes `size` random bytes to `path` (files are handed to pages by path, not over CDP). */
export function writeRandomFile(path, size) {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4 * 1024 * 1024);
  for (let written = 0; written < size;) {
    const n = Math.min(block.length, size - written);
    randomFillSync(block, 0, n);
    writeSync(fd, block, 0, n);
    written += n;
  }
  closeSync(fd);
}

/** Launches a browser and finds its main process: the one new child of this Node process. */
export async function launchTracked(options) {
  const before = new Set(childrenOf(process.pid));
  const browser = await launch(options);
  const main = childrenOf(process.pid).find((p) => !before.has(p) && /chrom/.test(cmdline(p)));
  return { browser, pid: main };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A repeated figure: its median, min and max, and the runs themselves (rounded). */
export const stats = (xs, digits = 1) => ({
  median: round(median(xs), digits),
  min: round(Math.min(...xs), digits),
  max: round(Math.max(...xs), digits),
  runs: xs.map((x) => round(x, digits)),
});

/**
 * Prints the figures as a table and writes them to bench/results/<name>.json. Each row:
 * { figure, value, unit, range?, target?, met? } (range: "min–max" of a repeated figure whose
 * value is the median; met: true/false, or null when only informative).
 */
export function report(name, rows, extra = {}) {
  const header = ['figure', 'value', 'target', 'result'];
  const lines = rows.map((r) => [
    r.figure,
    `${r.value} ${r.unit ?? ''}`.trim() + (r.range ? ` (${r.range})` : ''),
    r.target ?? '',
    r.met === undefined || r.met === null ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const fmt = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  console.log(`\n${name}${SMOKE ? ' (SMOKE mode: tiny sizes, figures not meaningful)' : ''}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(fmt(l));
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}${SMOKE ? '-smoke' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({
    name, smoke: SMOKE, at: new Date().toISOString(), server: serverBinary(),
    chromium: safeVersion(), rows, ...extra,
  }, null, 2)}\n`);
  console.log(`\nwritten: ${file}`);
}

function safeVersion() {
  try { return execFileSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return null; }
}

/** Fails the run (non-zero exit) with a message, after `cleanup`. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
