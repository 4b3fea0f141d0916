// What keyboard and screen-reader users rely on: rows that change in place (so nothing is
// read out twice and the focus stays), one tab stop for a message's actions,
// a skip link, the focus after signing up, new messages read out once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say } from '../lib/browser.js';

const fixture = useServerAndBrowser();

const log = (page) => page.getByRole('log');
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });
const focusedLabel = (page) =>
  page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent);
/** Elements the Tab key stops at inside the first element `locator` matches. */
const tabStops = (locator) =>
  locator.evaluate((el) => [...el.querySelectorAll('button, a[href], input, textarea, [tabindex]')]
    .filter((e) => e.tabIndex >= 0 && !e.disabled).length);

test('a message row changes in place, keeps the focus, and is read out once', async () => {
  // Issue 17 #12: a reaction, an edit or a delivery change drew the row again, so the log read
  // old messages out again with every button label, and the focus fell to the page.
  await withPages(fixture.browser, 'rows-in-place', 2, async ([eve, fay]) => {
    await signUp(eve, fixture.server.url, 'eve_s');
    assert.equal(await eve.evaluate(() => document.activeElement?.id), 'composer',
      'after signing up the keyboard is in the composer');
    await signUp(fay, fixture.server.url, 'fay_s');

    await say(fay, 'hello there');
    const row = messageFrom(eve, 'fay_s', 'hello there');
    await row.waitFor();
    const announcer = eve.locator('p[aria-live=polite].visually-hidden');
    await announcer.filter({ hasText: 'fay_s: hello there' }).waitFor();
    assert.equal(await log(eve).getAttribute('aria-live'), 'off', 'the log itself reads nothing out');
    await row.evaluate((el) => { window.probeRow = el; });

    // One tab stop for the message's actions; arrow keys move along them.
    assert.equal(await tabStops(row), 1);
    await row.getByRole('button', { name: 'Reply to fay_s' }).focus();
    assert.equal(await row.getByRole('toolbar', { name: 'Actions' }).count(), 1);
    await eve.keyboard.press('ArrowRight');
    assert.equal(await focusedLabel(eve), 'React with 👍');
    await eve.keyboard.press('Enter');
    await row.getByRole('button', { name: '👍 1, by eve_s' }).waitFor();
    assert.equal(await focusedLabel(eve), 'React with 👍', 'the focus stays on the button pressed');
    assert.ok(await eve.evaluate(() => window.probeRow.isConnected && window.probeRow.contains(document.activeElement)),
      'the same row, focus inside it');
    assert.equal(await tabStops(row), 2, 'the reaction is a tab stop of its own');

    // Taking the reaction back with the keyboard keeps the focus on the chip's row.
    await row.getByRole('button', { name: '👍 1, by eve_s' }).focus();
    await eve.keyboard.press('Enter');
    await row.locator('.reaction').waitFor({ state: 'detached' });
    assert.ok(await eve.evaluate(() => window.probeRow.isConnected));

    // An edit by the sender changes the text in the same row.
    const fayRow = messageFrom(fay, 'fay_s', 'hello there');
    await fayRow.hover();
    await fayRow.getByRole('button', { name: 'Edit' }).click();
    await fay.getByLabel('Message', { exact: true }).fill('hello there, edited');
    await fay.keyboard.press('Enter');
    await messageFrom(eve, 'fay_s', 'hello there, edited').getByText('(edited)').waitFor();
    assert.ok(await eve.evaluate(() => window.probeRow.isConnected), 'the edited row was not drawn again');
    assert.equal(await announcer.textContent(), 'fay_s: hello there', 'nothing old was read out again');

    // My own message: pending, then sent, in the same row.
    await eve.getByLabel('Message', { exact: true }).fill('mine, soon sent');
    await eve.keyboard.press('Enter');
    const mine = messageFrom(eve, 'eve_s', 'mine, soon sent');
    await mine.waitFor();
    await mine.evaluate((el) => { window.probeMine = el; });
    await eve.waitForFunction(() => window.probeMine.dataset.seq !== undefined);
    assert.ok(await eve.evaluate(() => window.probeMine.isConnected));
  });
});

test('the first tab stop, before the sidebar, skips to the composer', async () => {
  await withPages(fixture.browser, 'skip-link', 1, async ([gus]) => {
    await signUp(gus, fixture.server.url, 'gus_s');
    // The sidebar's first link; the skip link comes before it.
    await gus.getByRole('link', { name: 'Account' }).focus();
    await gus.keyboard.press('Shift+Tab');
    assert.equal(await focusedLabel(gus), 'Skip to message composer',
      await gus.evaluate(() => document.activeElement?.outerHTML.slice(0, 200)));
    await gus.keyboard.press('Enter');
    assert.equal(await gus.evaluate(() => document.activeElement?.id), 'composer');
    // Near the size limit the composer counts down what is left (and not before).
    const counter = gus.locator('.composer .counter');
    assert.equal(await counter.isVisible(), false);
    await gus.getByLabel('Message', { exact: true }).fill('x'.repeat(16 * 1024 - 50));
    await counter.filter({ hasText: '50' }).waitFor();
  });
});
