// Browser <-> native peer: the `peer` binary (webrtc-rs) speaks the same signaling and
// data-channel protocol as the browser. Files of 10 MB go both ways, once straight through and
// once with the connection cut mid-way, and must arrive byte for byte (SHA-256).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withBrowsers, signUp, say } from '../lib/browser.js';

const fixture = useServerAndBrowser();
const root = fileURLToPath(new URL('../..', import.meta.url));
const PEER_BIN = process.env.PEER_BIN ?? join(root, 'target', 'debug', 'peer');
const PASSWORD = 'correct horse battery';
const MB = 1024 * 1024;

const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });
const transfers = (page) => page.getByRole('region', { name: 'File transfers' });
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A running `peer` process; `next(name)` waits for its next stdout event of that name. */
function startPeer(user, args) {
  const child = spawn(PEER_BIN, ['--server', fixture.server.url, '--username', user, '--signup', ...args], {
    env: { ...process.env, PEER_PASSWORD: PASSWORD, RUST_LOG: process.env.PEER_LOG ?? 'peer=info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = [];
  const waiters = [];
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line);
    events.push(event);
    for (const w of [...waiters]) w.check();
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => {
    for (const w of [...waiters]) w.check(code);
    resolve(code);
  }));
  let seen = 0;
  const next = (name, timeout = 60_000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`timed out waiting for "${name}"`), timeout);
    const fail = (why) => {
      clearTimeout(timer);
      waiters.splice(waiters.indexOf(waiter), 1);
      reject(new Error(`peer ${user} ${why}; events ${JSON.stringify(events)}\n${stderr.join('')}`));
    };
    const waiter = {
      check(exitCode) {
        while (seen < events.length) {
          const event = events[seen++];
          if (event.event === name) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(waiter), 1);
            resolve(event);
            return;
          }
        }
        if (exitCode !== undefined) fail(`exited (${exitCode}) before "${name}"`);
      },
    };
    waiters.push(waiter);
    waiter.check(child.exitCode ?? undefined);
  });
  return { child, events, next, exited, kill: () => child.kill('SIGKILL') };
}

async function openDirect(page, other) {
  await rooms(page).getByRole('button', { name: 'New direct message' }).click();
  await page.getByLabel('Username').fill(other);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByRole('heading', { name: other }).waitFor();
}

/** The bytes behind the download link of `name` in the page's finished transfer. */
async function downloaded(page, name) {
  return page.evaluate(async (n) => {
    const link = [...document.querySelectorAll('.transfer a[download]')].find((a) => a.download === n);
    const bytes = await (await fetch(link.href)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return { size: bytes.byteLength, sha: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('') };
  }, name);
}

/** Browser sends `buffer` as `name` to the native `peer`, which stores it in `dir`. */
async function browserSends(page, peerUser, dir, name, buffer, dropAfter) {
  const args = ['receive', '--dir', dir, '--count', '1'];
  if (dropAfter) args.push('--drop-after', String(dropAfter));
  const receiver = startPeer(peerUser, args);
  try {
    await receiver.next('ready');
    await page.getByLabel('Attach files').setInputFiles([{ name, mimeType: 'application/octet-stream', buffer }]);
    await receiver.next('offer');
    if (dropAfter) {
      await receiver.next('dropped');
      await receiver.next('resumed');
    }
    const got = await receiver.next('received');
    assert.equal(got.size, buffer.length);
    assert.equal(got.sha256, sha256(buffer));
    assert.equal(sha256(readFileSync(got.path)), sha256(buffer), 'the bytes on disk are the bytes sent');
    await transfers(page).locator('article.transfer[data-stage="done"]').filter({ hasText: name })
      .getByText(`Delivered to ${peerUser} and verified`).waitFor({ timeout: 30_000 });
    assert.equal(await receiver.exited, 0);
  } finally {
    receiver.kill();
  }
}

/** The native peer sends `buffer` as `name`; the browser accepts it and must verify it. */
async function peerSends(page, peerUser, webUser, dir, name, buffer, dropAfter) {
  const path = join(dir, name);
  writeFileSync(path, buffer);
  const args = ['send', '--to', webUser, path];
  if (dropAfter) args.splice(3, 0, '--drop-after', String(dropAfter));
  const sender = startPeer(peerUser, args);
  try {
    const offer = transfers(page).locator('article.transfer[data-stage="offered"]');
    await offer.getByText(`${peerUser} sends you`).waitFor({ timeout: 30_000 });
    await offer.getByRole('button', { name: 'Accept' }).click();
    if (dropAfter) await sender.next('dropped');
    await sender.next('sent');
    await transfers(page).locator('article.transfer[data-stage="done"]').filter({ hasText: name })
      .first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await downloaded(page, name), { size: buffer.length, sha: sha256(buffer) });
    assert.equal(await sender.exited, 0);
  } finally {
    sender.kill();
  }
}

test('10 MB files go between a browser and the native peer, both ways, also across a dropped connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-native-'));
  try {
    await withBrowsers('native', 1, async ([web]) => {
      await signUp(web, fixture.server.url, 'webby');
      // The native user exists before the browser opens the conversation with them.
      const first = startPeer('natty', ['receive', '--dir', dir, '--count', '0']);
      assert.equal(await first.exited, 0);
      await openDirect(web, 'natty');
      await say(web, 'files for the native peer');

      await browserSends(web, 'natty', join(dir, 'in1'), 'straight.bin', randomBytes(10 * MB));
      await browserSends(web, 'natty', join(dir, 'in2'), 'cut.bin', randomBytes(10 * MB), 4 * MB);
      await peerSends(web, 'natty', 'webby', dir, 'from-native.bin', randomBytes(10 * MB));
      await peerSends(web, 'natty', 'webby', dir, 'from-native-cut.bin', randomBytes(10 * MB), 3 * MB);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
