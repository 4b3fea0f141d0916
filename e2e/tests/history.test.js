// Long histories: the DOM holds a bounded window of messages while the reader scrolls through
// all of them, loaded from memory, local storage and the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, waitConnected } from '../lib/browser.js';

// Generous limits: the bulk of the history is posted by one socket in one go.
const fixture = useServerAndBrowser({
  env: { CHAT_SOCKET_FRAMES_PER_SECOND: '10000', CHAT_USER_EVENTS_PER_SECOND: '10000' },
});
const WINDOW = 150;

/** Posts `count` messages over a socket of the page's own session, as fast as acks come. */
async function postMany(page, room, count) {
  await page.evaluate(async ({ room, count }) => {
    const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/ws`);
    await new Promise((resolve) => { ws.onopen = resolve; });
    let acked = 0;
    const done = new Promise((resolve, reject) => {
      ws.onmessage = (e) => {
        const frame = JSON.parse(e.data);
        if (frame.type === 'error') reject(new Error(frame.message));
        if (frame.type === 'ack' && ++acked === count) resolve();
      };
    });
    for (let i = 0; i < count; i++) {
      ws.send(JSON.stringify({ type: 'send', room, client_id: `bulk-${i}`, body: `bulk message ${i}` }));
    }
    await done;
    ws.close();
  }, { room, count });
}

test('a long history keeps the DOM bounded while scrolling through all of it', async () => {
  await withPages(fixture.browser, 'long-history', 1, async ([reader]) => {
    await signUp(reader, fixture.server.url, 'reader');
    // From here on (the session check before sign-up logs a 401), nothing may go wrong in the
    // page: reading pages from IndexedDB used to leave a stray callback that threw "closure
    // invoked recursively or after being dropped" on every page read.
    const pageErrors = [];
    reader.on('pageerror', (error) => pageErrors.push(error.message));
    reader.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    const total = 400;
    await postMany(reader, 'lobby', total);
    const articles = reader.getByRole('log').locator('article');
    await reader.getByRole('log').getByText(`bulk message ${total - 1}`, { exact: true }).waitFor();
    assert.ok((await articles.count()) <= WINDOW, `at most ${WINDOW} messages in the DOM`);

    // Reload: the newest messages come from IndexedDB, then the reader scrolls to the start.
    await reader.reload();
    await waitConnected(reader);
    await reader.getByRole('log').getByText(`bulk message ${total - 1}`, { exact: true }).waitFor();
    let most = 0;
    for (let step = 0; step < 80; step++) {
      if (await reader.getByRole('log').getByText('bulk message 0', { exact: true }).count()) break;
      await reader.getByRole('log').evaluate((el) => { el.scrollTop = 0; });
      const older = reader.getByRole('button', { name: 'Load older messages' });
      if (await older.isVisible()) await older.click();
      await reader.waitForTimeout(100);
      most = Math.max(most, await articles.count());
    }
    await reader.getByRole('log').getByText('bulk message 0', { exact: true }).waitFor();
    assert.ok(most <= WINDOW, `the DOM held ${most} messages at most`);
    // And back down to the newest, still bounded.
    for (let step = 0; step < 40; step++) {
      if (await reader.getByRole('log').getByText(`bulk message ${total - 1}`, { exact: true }).count()) break;
      await reader.getByRole('log').evaluate((el) => { el.scrollTop = el.scrollHeight; });
      await reader.waitForTimeout(100);
    }
    await reader.getByRole('log').getByText(`bulk message ${total - 1}`, { exact: true }).waitFor();
    assert.ok((await articles.count()) <= WINDOW);
    assert.deepEqual(pageErrors, [], 'no errors in the page');
  });
});

test('search finds messages in the history stored on this device', async () => {
  await withPages(fixture.browser, 'search', 1, async ([sam]) => {
    await signUp(sam, fixture.server.url, 'sam');
    await sam.getByLabel('Message', { exact: true }).fill('the quarterly numbers are in');
    await sam.getByLabel('Message', { exact: true }).press('Enter');
    await sam.getByRole('log').locator('article .delivery').waitFor({ state: 'detached' });
    await sam.getByRole('searchbox', { name: 'Search' }).fill('QUARTERLY');
    const results = sam.getByRole('list', { name: 'Search results' });
    await results.getByText('sam: the quarterly numbers are in').waitFor();
    await sam.getByRole('searchbox', { name: 'Search' }).fill('no such words anywhere');
    await sam.getByText('Nothing found on this device.').waitFor();
    // Case is folded by Unicode's rules, not only ASCII's.
    await sam.getByLabel('Message', { exact: true }).fill('Été à Ørsted');
    await sam.getByLabel('Message', { exact: true }).press('Enter');
    await sam.getByRole('log').locator('article .delivery').waitFor({ state: 'detached' });
    await sam.getByRole('searchbox', { name: 'Search' }).fill('ÉTÉ À ør');
    await results.getByText('sam: Été à Ørsted').waitFor();
    // Escape clears the search; deleted text is not found any more.
    await sam.getByRole('searchbox', { name: 'Search' }).press('Escape');
    await results.waitFor({ state: 'detached' });
    const own = sam.getByRole('log').locator('article[data-sender="sam"]').filter({ hasText: 'the quarterly numbers' });
    await own.hover();
    await own.getByRole('button', { name: 'Delete', exact: true }).click();
    await own.getByRole('button', { name: 'Confirm delete' }).click();
    await sam.getByRole('log').getByText('This message was deleted.').waitFor();
    await sam.getByRole('searchbox', { name: 'Search' }).fill('quarterly');
    await sam.getByText('Nothing found on this device.').waitFor();
  });
});
