// Renders a call and file transfers into docs/screenshots/ (light and dark):
//   node e2e/tools/p2p-screenshots.js   (after `trunk build --release` and `cargo build -p signaling`)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { deflateSync, crc32 } from 'node:zlib';
import { TestServer } from '../lib/server.js';
import { launch, signUp, say } from '../lib/browser.js';

const out = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
mkdirSync(out, { recursive: true });
const png = gradientPng(320, 180);
const browsers = [await launch({ webrtc: true }), await launch({ webrtc: true })];
let server;
try {
  for (const scheme of ['light', 'dark']) {
    await server?.dispose();
    server = await TestServer.start();
    const pages = [];
    for (const browser of browsers) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, colorScheme: scheme, permissions: ['camera', 'microphone'] });
      pages.push(await context.newPage());
    }
    const [alice, bob] = pages;
    await signUp(alice, server.url, 'alice');
    await signUp(bob, server.url, 'bob');
    const nav = (page) => page.getByRole('navigation', { name: 'Rooms' });
    await nav(alice).getByRole('button', { name: 'New direct message' }).click();
    await alice.getByLabel('Username').fill('bob');
    await alice.getByRole('button', { name: 'Start', exact: true }).click();
    await say(alice, 'Here are the photos from Saturday');
    await nav(bob).getByRole('button', { name: /alice/ }).click();
    await alice.getByLabel('Attach files').setInputFiles([
      { name: 'saturday.png', mimeType: 'image/png', buffer: png },
      { name: 'video.mov', mimeType: 'video/quicktime', buffer: randomBytes(3_000_000) },
    ]);
    await bob.getByRole('button', { name: 'Accept' }).click();
    await bob.locator('article.transfer[data-stage="done"]').waitFor({ timeout: 30_000 });
    await alice.getByLabel('Attach files').setInputFiles([{ name: 'notes.pdf', mimeType: 'application/pdf', buffer: randomBytes(200_000) }]);
    await bob.locator('article.transfer[data-stage="offered"]').waitFor();
    await bob.screenshot({ path: join(out, `transfer-${scheme}.png`) });

    await alice.getByRole('button', { name: 'Video call' }).click();
    await bob.getByRole('alert').filter({ hasText: 'is calling you' }).waitFor();
    await bob.screenshot({ path: join(out, `ringing-${scheme}.png`) });
    await bob.getByRole('alert').getByRole('button', { name: 'Accept' }).click();
    await bob.locator('figure.tile[data-link="connected"] video:not(.hidden)').waitFor({ timeout: 20_000 });
    await bob.waitForTimeout(1500);
    await bob.screenshot({ path: join(out, `call-${scheme}.png`) });
    for (const page of pages) await page.context().close();
  }
} finally {
  for (const browser of browsers) await browser.close();
  await server?.dispose();
}

/** A small sunset-like gradient, so the inline image preview has something to show. */
function gradientPng(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = 255 - y;
      row[2 + x * 3] = 120 + Math.round((x / width) * 100);
      row[3 + x * 3] = 80 + Math.round(y * 0.9);
    }
    rows.push(row);
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
