// Offline first: the browser's offline mode, reloads without a network, and the persistent
// outbox (service worker + IndexedDB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, waitConnected } from '../lib/browser.js';

const fixture = useServerAndBrowser();

const log = (page) => page.getByRole('log');
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });
// The lobby is shared by every test of the file: look at the newest messages.
const bodies = async (page, n) => (await log(page).locator('article .body').allInnerTexts()).slice(-n);

async function controlledByServiceWorker(page) {
  await page.evaluate(() => navigator.serviceWorker.ready);
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
    await page.reload();
    await waitConnected(page);
  }
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null));
}

test('every file the page names as immutable is named by a hash of what is served', async () => {
  // Issue 21: Trunk named the glue and the wasm by a hash taken before the post-build hook
  // rewrote them, so a change to the hook alone gave new contents the old names. Browsers and
  // the service worker keep a hashed file forever, and one holding half of the pair would
  // load it with the other half's new version.
  const page = await fetch(`${fixture.server.url}/`);
  const html = await page.text();
  const named = [...html.matchAll(/\/([\w.-]+)-([0-9a-f]{16})(_bg\.wasm|\.js|\.css)\b/g)];
  const kinds = new Set(named.map((m) => m[3]));
  assert.deepEqual([...kinds].sort(), ['.css', '.js', '_bg.wasm'], 'the page names its glue, wasm and stylesheet');
  // The wasm is named twice (preloaded and loaded): each file is checked once.
  for (const [path, hash] of new Map(named.map(([path, , hash]) => [path, hash]))) {
    const asset = await fetch(`${fixture.server.url}${path}`);
    assert.equal(asset.status, 200, path);
    assert.match(asset.headers.get('cache-control'), /immutable/, path);
    const bytes = Buffer.from(await asset.arrayBuffer());
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    assert.equal(hash, digest, `${path} holds other contents than its name says`);
  }
});

test('messages sent while someone is offline reach them once and in order', async () => {
  await withPages(fixture.browser, 'offline-receive', 2, async ([mia, ned]) => {
    await signUp(mia, fixture.server.url, 'mia');
    await signUp(ned, fixture.server.url, 'ned');
    await say(mia, 'before');
    await messageFrom(ned, 'mia', 'before').waitFor();

    await ned.context().setOffline(true);
    for (const text of ['one', 'two', 'three']) {
      await say(mia, text);
      await messageFrom(mia, 'mia', text).locator('.delivery').waitFor({ state: 'detached' });
    }
    await ned.context().setOffline(false);
    await messageFrom(ned, 'mia', 'three').waitFor({ timeout: 30_000 });
    await waitConnected(ned);
    assert.deepEqual(await bodies(ned, 4), ['before', 'one', 'two', 'three']);
  });
});

test('the installed app keeps every file the page uses, the stylesheet included', async () => {
  // Issue 17 #11: the worker looked for quoted paths, and the minified index.html has none for
  // the stylesheet, so the app started unstyled offline once the HTTP cache was gone.
  await withPages(fixture.browser, 'offline-shell', 1, async ([page]) => {
    await signUp(page, fixture.server.url, 'quinn');
    await controlledByServiceWorker(page);
    const used = await page.evaluate(() => [
      ...[...document.querySelectorAll('link[rel=stylesheet], link[rel=modulepreload], link[rel=preload]')]
        .map((l) => new URL(l.href).pathname),
    ]);
    assert.ok(used.some((p) => p.endsWith('.css')), `a stylesheet among ${used}`);
    const cachedPaths = () => page.evaluate(async () => {
      const cache = await caches.open('chat-shell-v1');
      return (await cache.keys()).map((r) => new URL(r.url).pathname);
    });
    // The worker fills its cache as it installs; give it a moment.
    let cached = await cachedPaths();
    for (let i = 0; i < 50 && !used.every((p) => cached.includes(p)); i++) {
      await page.waitForTimeout(100);
      cached = await cachedPaths();
    }
    for (const path of used) assert.ok(cached.includes(path), `${path} in ${cached}`);
  });
});

test('a part loaded on first use opens offline once it was used', async () => {
  await withPages(fixture.browser, 'offline-part', 1, async ([page]) => {
    await signUp(page, fixture.server.url, 'rhea');
    await controlledByServiceWorker(page);
    await page.getByRole('button', { name: 'People', exact: true }).click();
    await page.getByRole('dialog').getByText(/1 person|people/).waitFor();
    await page.keyboard.press('Escape');
    // The worker keeps it in the background; give it a moment.
    await page.waitForFunction(async () => {
      const cache = await caches.open('chat-shell-v1');
      return Boolean(await cache.match('/room-panel.js')) && Boolean(await cache.match('/room-panel.css'));
    }, null, { timeout: 10_000 });
    await page.context().setOffline(true);
    await page.reload();
    await page.getByRole('status').filter({ hasText: /Offline|Connecting/ }).waitFor();
    await page.getByRole('button', { name: 'People', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('tab', { name: 'People', selected: true }).waitFor();
    await dialog.getByRole('status').filter({ hasText: 'offline' }).waitFor();
    await page.context().setOffline(false);
  });
});

test('a reload while offline shows the history, and the outbox survives it', async () => {
  await withPages(fixture.browser, 'offline-reload', 2, async ([ola, pat]) => {
    await signUp(ola, fixture.server.url, 'ola');
    await signUp(pat, fixture.server.url, 'pat');
    await say(pat, 'hello ola');
    await say(ola, 'hi pat');
    await messageFrom(ola, 'ola', 'hi pat').locator('.delivery').waitFor({ state: 'detached' });
    await messageFrom(ola, 'pat', 'hello ola').waitFor();
    await controlledByServiceWorker(ola);

    await ola.context().setOffline(true);
    await ola.reload();
    await messageFrom(ola, 'pat', 'hello ola').waitFor();
    await messageFrom(ola, 'ola', 'hi pat').waitFor();
    await ola.getByRole('status').filter({ hasText: /Offline|Connecting/ }).waitFor();

    // Typed offline, then the page is reloaded, still offline: the message waits.
    await say(ola, 'written offline');
    await messageFrom(ola, 'ola', 'written offline').getByText('Sending…').waitFor();
    await ola.waitForTimeout(300); // let the outbox write land
    await ola.reload();
    await messageFrom(ola, 'ola', 'written offline').getByText('Sending…').waitFor();

    await ola.context().setOffline(false);
    await waitConnected(ola);
    await messageFrom(ola, 'ola', 'written offline').locator('.delivery').waitFor({ state: 'detached' });
    await messageFrom(pat, 'ola', 'written offline').waitFor();
    assert.equal(await messageFrom(pat, 'ola', 'written offline').count(), 1);
    assert.deepEqual(await bodies(pat, 3), ['hello ola', 'hi pat', 'written offline']);
    // And a later reload (online) still shows each message once.
    await ola.reload();
    await waitConnected(ola);
    await messageFrom(ola, 'ola', 'written offline').waitFor();
    assert.deepEqual(await bodies(ola, 4), ['three', 'hello ola', 'hi pat', 'written offline']);
  });
});

test('a restart draws the stored chats at once; a session that ended meanwhile goes to the sign-in form', async () => {
  await withPages(fixture.browser, 'warm-start', 1, async ([uri]) => {
    await signUp(uri, fixture.server.url, 'uri');
    await say(uri, 'kept on this device');
    await messageFrom(uri, 'uri', 'kept on this device').locator('.delivery').waitFor({ state: 'detached' });
    await controlledByServiceWorker(uri);

    // The stored room and its messages are drawn before the server answers for the session.
    let release;
    let held = 0;
    const answered = new Promise((resolve) => { release = resolve; });
    await uri.route('**/api/session', async (route) => { held += 1; await answered; await route.continue(); });
    await uri.reload();
    await messageFrom(uri, 'uri', 'kept on this device').waitFor();
    assert.equal(held, 1, 'the session was still being asked for');
    release();
    await waitConnected(uri);
    await uri.unroute('**/api/session');

    // The session ends behind the app's back (its cookie is gone): the reload may draw the
    // stored chats while it asks, but lands on the sign-in form, never connects, and forgets
    // who was signed in.
    await uri.context().clearCookies();
    let sockets = 0;
    uri.on('websocket', () => { sockets += 1; });
    await uri.reload();
    await uri.getByRole('button', { name: 'Log in' }).waitFor();
    assert.equal(await log(uri).count(), 0, 'no chat on the sign-in form');
    assert.equal(await uri.evaluate(() => localStorage.getItem('chat.lastUser')), null);
    assert.equal(await uri.title(), 'Chat');
    await uri.waitForTimeout(300);
    assert.equal(sockets, 0, 'no socket for a session that ended');
  });
});

test('the app is installable: Chromium reports no installability errors', async () => {
  await withPages(fixture.browser, 'installable', 1, async ([page]) => {
    await signUp(page, fixture.server.url, 'installer');
    await controlledByServiceWorker(page);
    const cdp = await page.context().newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    // Playwright's contexts are off-the-record profiles, where Chromium never offers to install
    // anything; that one error is about the test browser, every other one would be ours.
    const ours = installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
    assert.deepEqual(ours, []);
    const manifest = await (await page.request.get(`${fixture.server.url}/manifest.webmanifest`)).json();
    assert.equal(manifest.display, 'standalone');
    // Issue 17 #11: an id, PNG icons (some platforms take no SVG), a maskable one, and the
    // icon iOS asks for.
    assert.equal(manifest.id, '/');
    const png = (size, purpose) =>
      manifest.icons.find((i) => i.type === 'image/png' && i.sizes === size && i.purpose === purpose);
    for (const icon of [png('192x192', 'any'), png('512x512', 'any'), png('512x512', 'maskable')]) {
      assert.ok(icon, JSON.stringify(manifest.icons));
      const response = await page.request.get(`${fixture.server.url}${icon.src}`);
      assert.equal(response.status(), 200);
      assert.equal(response.headers()['content-type'], 'image/png');
    }
    const touch = await page.locator('link[rel=apple-touch-icon]').getAttribute('href');
    assert.equal((await page.request.get(`${fixture.server.url}${touch}`)).status(), 200);
  });
});

test('opening the account page does not replace the app kept for offline use', async () => {
  await withPages(fixture.browser, 'offline-account', 1, async ([uma]) => {
    await signUp(uma, fixture.server.url, 'uma');
    await say(uma, 'before the account page');
    await messageFrom(uma, 'uma', 'before the account page').locator('.delivery').waitFor({ state: 'detached' });
    await controlledByServiceWorker(uma);
    // Visited online, through the worker: the account page must not become the offline start.
    await uma.goto(`${fixture.server.url}/account.html`);
    await uma.getByRole('heading', { name: 'Your account' }).waitFor();
    await uma.waitForTimeout(500); // whatever the worker stores after a navigation
    await uma.context().setOffline(true);
    await uma.goto(fixture.server.url);
    await messageFrom(uma, 'uma', 'before the account page').waitFor();
    await uma.getByLabel('Message', { exact: true }).waitFor();
    await uma.context().setOffline(false);
  });
});
