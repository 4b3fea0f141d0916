import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
const url = readFileSync('/tmp/interop/url', 'utf8');
const peerBin = '/work/main/target/debug/peer';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
const page = await context.newPage();
page.on('console', (m) => console.log('[page]', m.text()));
await page.goto(url + '/');
console.log('signup web', await page.evaluate(() => login('webuser')));
function runPeer(args) {
  const child = spawn(peerBin, ['--server', url, '--username', 'natuser', '--password', 'password123', '--signup', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: process.env.PEER_LOG ?? 'peer=info' } });
  let out = ''; child.stdout.on('data', (d) => { out += d; process.stdout.write('[peer] ' + d); });
  return new Promise((res) => child.on('exit', (code) => res({ code, out })));
}
// 1. native sends, browser receives
const file = '/tmp/interop/native.bin';
const data = randomBytes(3 * 1024 * 1024 + 123); writeFileSync(file, data);
const expected = createHash('sha256').update(data).digest('hex');
const received = page.evaluate(() => receiveOne());
const sender = await runPeer(['send', '--to', 'webuser', file]);
const r1 = await received;
console.log('native->browser', JSON.stringify(r1), 'expected', expected, 'sender exit', sender.code);
console.log('cands', JSON.stringify(await page.evaluate(() => ({l: localCands, r: remoteCands, e: candErrors}))));
if (process.env.ONLY1) { await browser.close(); process.exit(0); }
// 2. browser sends, native receives
mkdirSync('/tmp/interop/out', { recursive: true });
const receiver = runPeer(['receive', '--dir', '/tmp/interop/out', '--count', '1']);
await new Promise((r) => setTimeout(r, 1500));
const r2 = await page.evaluate(() => sendRandom('natuser', 2 * 1024 * 1024 + 5));
const rec = await receiver;
const stored = createHash('sha256').update(readFileSync('/tmp/interop/out/from-browser.bin')).digest('hex');
console.log('browser->native', JSON.stringify(r2), 'stored', stored, 'receiver exit', rec.code);
await browser.close();
