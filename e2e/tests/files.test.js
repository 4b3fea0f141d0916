// Files left on the server: for someone who is not online to receive them directly, chosen,
// pasted or dropped; waiting in the outbox while this browser is offline; voice notes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, withBrowsers, signUp, waitConnected, artifacts, roomPanel, say } from '../lib/browser.js';
import { axeProblems } from '../lib/axe.js';

const fixture = useServerAndBrowser();

const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });
const log = (page) => page.getByRole('log');
const transfers = (page) => page.getByRole('region', { name: 'File transfers' });
const waiting = (page) => page.getByRole('region', { name: 'Files being left on the server' });
const fileLink = (page, name) => log(page).locator('a.file', { hasText: name });

async function openDirect(page, other) {
  await rooms(page).getByRole('button', { name: 'New direct message' }).click();
  await page.getByLabel('Username').fill(other);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByRole('heading', { name: other }).waitFor();
}

/** A PNG drawn by the page's canvas. */
async function png(page, width, height) {
  const url = await page.evaluate(([w, h]) => {
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d');
    g.fillStyle = '#2f7d6b';
    g.fillRect(0, 0, w, h);
    g.fillStyle = '#ffd75e';
    g.beginPath();
    g.arc(w / 2, h / 2, Math.min(w, h) / 3, 0, 2 * Math.PI);
    g.fill();
    return canvas.toDataURL('image/png');
  }, [width, height]);
  return Buffer.from(url.split(',')[1], 'base64');
}

/** SHA-256 (hex) of what `page` downloads from `href`, with its session. */
async function digestOf(page, href) {
  return page.evaluate(async (url) => {
    const bytes = await (await fetch(url)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }, href);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

test('a file left for someone who is offline reaches them later, intact, and images show inline', async () => {
  await withPages(fixture.browser, 'files-left', 2, async ([ann, ben]) => {
    await signUp(ann, fixture.server.url, 'fl_ann');
    await signUp(ben, fixture.server.url, 'fl_ben');
    await ben.goto('about:blank');
    await openDirect(ann, 'fl_ben');
    await rooms(ann).getByRole('button', { name: /fl_ben/ }).locator('.dot.offline').waitFor({ timeout: 20_000 });

    const notes = randomBytes(300_000);
    await ann.getByLabel('Attach files').setInputFiles([{ name: 'notes.bin', mimeType: 'application/octet-stream', buffer: notes }]);
    // Pasted into the composer, an image takes the same way.
    const photo = await png(ann, 900, 600);
    await ann.getByLabel('Message', { exact: true }).focus();
    await ann.evaluate((base64) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      document.getElementById('composer').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, photo.toString('base64'));

    // Dropped on the room, a file takes the same way.
    await ann.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped words'], 'dropped.txt', { type: 'text/plain' }));
      document.querySelector('.room-pane [role=log]').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });

    // Not directly (Ben is away): left on the server, and the timeline says so.
    const link = fileLink(ann, 'notes.bin');
    await link.waitFor({ timeout: 30_000 });
    assert.match(await link.innerText(), /notes\.bin · 300\.0 KB · kept on the server/);
    const image = log(ann).locator('a.file.image img');
    await image.waitFor({ timeout: 30_000 });
    // Its place is reserved before it loads: 900 × 600 shown within 320 × 320.
    assert.equal(await image.getAttribute('width'), '320');
    assert.equal(await image.getAttribute('height'), '213');
    assert.equal(await transfers(ann).locator('article.transfer').count(), 0, 'no direct transfer');
    await waiting(ann).waitFor({ state: 'detached' });

    // Ben comes back: both are there, the file exactly as sent, the image drawn.
    await ben.goto(fixture.server.url);
    await waitConnected(ben);
    await rooms(ben).getByRole('button', { name: /fl_ann/ }).click();
    const received = fileLink(ben, 'notes.bin');
    await received.waitFor();
    await fileLink(ben, 'dropped.txt').waitFor();
    assert.equal(await digestOf(ben, await received.getAttribute('href')), sha256(notes));
    const shown = log(ben).locator('a.file.image img');
    await shown.waitFor();
    await ben.waitForFunction(() => document.querySelector('a.file.image img')?.naturalWidth > 0);
    const full = await log(ben).locator('a.file.image').getAttribute('href');
    assert.equal(await digestOf(ben, full), sha256(photo));
    // Someone else cannot fetch it.
    const outsider = await ann.context().browser().newContext();
    const stranger = await outsider.newPage();
    await signUp(stranger, fixture.server.url, 'fl_cid');
    const status = await stranger.evaluate(async (url) => (await fetch(url)).status, full);
    assert.equal(status, 404);
    await outsider.close();

    const problems = await axeProblems(ben);
    assert.deepEqual(problems, [], JSON.stringify(problems, null, 2));
    mkdirSync(artifacts, { recursive: true });
    await ben.screenshot({ path: join(artifacts, 'files-left.png') });

    // A reload shows them again (from this device, then the server).
    await ben.reload();
    await waitConnected(ben);
    await fileLink(ben, 'notes.bin').waitFor();
  });
});

test('files chosen while offline wait in the outbox, survive a reload, and go once', async () => {
  await withPages(fixture.browser, 'files-outbox', 2, async ([cat, dan]) => {
    await signUp(cat, fixture.server.url, 'fo_cat');
    await signUp(dan, fixture.server.url, 'fo_dan');
    await openDirect(cat, 'fo_dan');
    await rooms(dan).getByRole('button', { name: /fo_cat/ }).click();
    // The service worker keeps the app (and the outbox's module) available offline.
    await cat.evaluate(() => navigator.serviceWorker.ready);
    await cat.reload();
    await waitConnected(cat);

    await cat.context().setOffline(true);
    await cat.getByRole('status').filter({ hasText: 'Offline.' }).waitFor();
    const plan = randomBytes(50_000);
    await cat.getByLabel('Attach files').setInputFiles([{ name: 'plan.pdf', mimeType: 'application/pdf', buffer: plan }]);
    await waiting(cat).getByText('plan.pdf').waitFor();
    await waiting(cat).getByText(/Waiting for a connection/).waitFor();

    await cat.reload();
    await waiting(cat).getByText('plan.pdf').waitFor({ timeout: 15_000 });

    await cat.context().setOffline(false);
    const arrived = fileLink(dan, 'plan.pdf');
    await arrived.waitFor({ timeout: 30_000 });
    assert.equal(await digestOf(dan, await arrived.getAttribute('href')), sha256(plan));
    await waiting(cat).waitFor({ state: 'detached', timeout: 15_000 });
    await fileLink(cat, 'plan.pdf').waitFor();
    // Once: a reload after it went sends nothing again.
    await cat.reload();
    await waitConnected(cat);
    await cat.waitForTimeout(1500);
    assert.equal(await fileLink(dan, 'plan.pdf').count(), 1);
  });
});

test('a voice note is recorded, left for the room and played back', async () => {
  await withBrowsers('files-voice', 1, async ([eve]) => {
    await signUp(eve, fixture.server.url, 'fv_eve');
    const record = eve.getByRole('button', { name: 'Record a voice note' });
    await record.click();
    await eve.getByRole('button', { name: /Stop and send the voice note/ }).waitFor();
    await eve.waitForTimeout(2200);
    await eve.getByRole('button', { name: /Stop and send the voice note/ }).click();
    const player = log(eve).locator('audio.file');
    await player.waitFor({ timeout: 30_000 });
    const src = await player.getAttribute('src');
    const served = await eve.evaluate(async (url) => {
      const response = await fetch(url);
      return { type: response.headers.get('content-type'), size: (await response.arrayBuffer()).byteLength };
    }, src);
    assert.match(served.type, /^audio\//);
    assert.ok(served.size > 1000, `recorded ${served.size} bytes`);
    assert.match(await player.getAttribute('aria-label'), /^Voice note .* · kept on the server$/);
    // The browser can decode and play it.
    const played = await player.evaluate(async (audio) => {
      audio.muted = true;
      await audio.play();
      await new Promise((resolve) => setTimeout(resolve, 500));
      return audio.currentTime > 0;
    });
    assert.ok(played, 'the note plays');
  });
});

test('pictures: mine on the account page shows beside my messages, a room\'s in the list', async () => {
  await withPages(fixture.browser, 'files-pictures', 1, async ([ava]) => {
    await signUp(ava, fixture.server.url, 'fp_ava');
    await say(ava, 'hello with a picture');
    const rowPicture = log(ava).locator('article[data-sender="fp_ava"] img.avatar').first();
    await rowPicture.waitFor({ state: 'attached' });
    const loaded = (locator) => locator.evaluate((img) => img.complete && img.naturalWidth > 0);
    await ava.waitForFunction(() => [...document.querySelectorAll('[role=log] img.avatar')].some((i) => i.complete && i.naturalWidth > 0));
    // Without a picture: the drawn initial.
    const drawn = await ava.evaluate(async () => (await fetch('/api/avatars/fp_ava')).headers.get('content-type'));
    assert.equal(drawn, 'image/svg+xml');

    await ava.goto(`${fixture.server.url}/account.html`);
    const picture = await png(ava, 600, 400);
    await ava.getByLabel('Choose a picture').setInputFiles([{ name: 'me.png', mimeType: 'image/png', buffer: picture }]);
    await ava.getByText('Saved. Others see your new picture.').waitFor();
    await ava.waitForFunction(() => document.getElementById('picture').naturalWidth === 256);
    const problems = await axeProblems(ava);
    assert.deepEqual(problems, [], JSON.stringify(problems, null, 2));

    await ava.goto(fixture.server.url);
    await waitConnected(ava);
    await ava.waitForFunction(() => [...document.querySelectorAll('[role=log] img.avatar')].some((i) => i.naturalWidth === 256));
    assert.ok(await loaded(rowPicture));

    // A room's picture, set in its Settings by its owner, shows in the room list.
    await rooms(ava).getByRole('button', { name: 'New room' }).click();
    await ava.getByLabel('Room name').fill('Pictures');
    await ava.getByRole('button', { name: 'Create' }).click();
    await ava.getByRole('heading', { name: '# Pictures' }).waitFor();
    const settings = await roomPanel(ava, 'Settings');
    await settings.getByLabel('Choose a picture').setInputFiles([{ name: 'room.png', mimeType: 'image/png', buffer: await png(ava, 300, 300) }]);
    await settings.getByRole('status').filter({ hasText: 'Picture saved.' }).waitFor();
    await settings.getByRole('button', { name: 'Close' }).click();
    const listed = rooms(ava).getByRole('button', { name: /# Pictures/ }).locator('img.avatar');
    await ava.waitForFunction((img) => img.naturalWidth === 256, await listed.elementHandle());
    mkdirSync(artifacts, { recursive: true });
    await ava.screenshot({ path: join(artifacts, 'files-pictures.png') });
  });
});
