// Moderation and administration as people use them: reporting a message from the chat, the
// moderators' report queue, deactivating an account, retention, the insight charts, and what
// a non-administrator sees of admin.html. The first account of the server is its administrator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { axeProblems } from '../lib/axe.js';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, waitConnected, addMember, artifacts } from '../lib/browser.js';

// A retention "day" lasts a second here, so messages can grow old within a test.
const fixture = useServerAndBrowser({ env: { CHAT_RETENTION_DAY_SECS: '1' } });
const ADMIN = 'boss_adm';
const PASSWORD = 'correct horse battery';

const log = (page) => page.getByRole('log');
const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });

async function logIn(page, username, password = PASSWORD) {
  await page.goto(fixture.server.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The administration page, open on `section` (its address's hash). */
async function adminPage(page, section) {
  await page.goto(`${fixture.server.url}/admin.html#${section}`);
  await page.getByRole('heading', { name: 'Administration' }).waitFor();
  await page.getByText(/^Signed in as /).waitFor();
}

let adminMade;
/** The first account made on a fresh server is its administrator: made before anyone else's. */
function ensureAdmin() {
  adminMade ??= withPages(fixture.browser, 'admin-first', 1, async ([page]) => {
    mkdirSync(artifacts, { recursive: true });
    await signUp(page, fixture.server.url, ADMIN);
  });
  return adminMade;
}

test('a reported message is deleted from the report queue, and the reporter is told', async () => {
  await withPages(fixture.browser, 'admin-report', 3, async ([rita, sam, boss]) => {
    await ensureAdmin();
    await signUp(rita, fixture.server.url, 'rita_adm');
    await signUp(sam, fixture.server.url, 'sam_adm');
    await say(sam, 'buy cheap pills at example dot com');
    const message = messageFrom(rita, 'sam_adm', 'buy cheap pills');
    await message.waitFor();

    // Rita reports it from the message's ⚑ button.
    await message.hover();
    await message.getByRole('button', { name: 'Report' }).click();
    const dialog = rita.getByRole('dialog', { name: 'Report this message' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Report', exact: true }).click();
    await dialog.getByRole('alert').filter({ hasText: 'Choose why' }).waitFor();
    await dialog.getByLabel('Spam').check();
    await dialog.getByLabel('Details (optional)').fill('the same link in every room');
    await dialog.getByRole('button', { name: 'Report', exact: true }).click();
    await dialog.getByText('Thanks. The room\'s moderators and the server\'s administrators will look at it').waitFor();
    await rita.screenshot({ path: '/tmp/admin-report-dialog.png' });
    assert.deepEqual(await axeProblems(rita), []);
    await dialog.getByRole('button', { name: 'Show your reports' }).click();
    await dialog.getByRole('listitem').filter({ hasText: 'buy cheap pills' }).getByText('Waiting').waitFor();
    // A second report of the same message is refused with a clear reason.
    await dialog.getByRole('button', { name: 'Close', exact: true }).first().click();
    await dialog.waitFor({ state: 'hidden' });
    await message.hover();
    await message.getByRole('button', { name: 'Report' }).click();
    await dialog.getByLabel('Harassment or hate').check();
    await dialog.getByRole('button', { name: 'Report', exact: true }).click();
    await dialog.getByRole('alert').filter({ hasText: /already/ }).waitFor();
    await rita.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // The administrator sees it in the queue and deletes the message.
    await logIn(boss, ADMIN);
    await waitConnected(boss);
    await adminPage(boss, 'reports');
    const report = boss.getByRole('listitem').filter({ hasText: 'buy cheap pills' });
    await report.getByText('the same link in every room').waitFor();
    await report.getByText('rita_adm').waitFor();
    await boss.screenshot({ path: '/tmp/admin-reports.png', fullPage: true });
    assert.deepEqual(await axeProblems(boss), []);
    await report.getByRole('button', { name: 'Delete message' }).click();
    await report.getByText('Handled: Message deleted.').waitFor();

    // Rita's open chat tells her, and the message is gone for her too.
    const toast = rita.getByRole('status').filter({ hasText: /deleted/i });
    await toast.waitFor();
    await rita.screenshot({ path: '/tmp/admin-notice.png' });
    await log(rita).getByText('This message was deleted.').waitFor();
    assert.equal(await messageFrom(rita, 'sam_adm', 'buy cheap pills').count(), 0);
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    await toast.waitFor({ state: 'hidden' });

    // Handled reports are out of the open queue, and listed with their outcome.
    await boss.reload();
    await boss.getByText('No open reports.').waitFor();
    await boss.getByLabel('Show handled reports').check();
    await boss.getByRole('listitem').filter({ hasText: 'buy cheap pills' }).getByText(/Message deleted/).waitFor();
  });
});

test('a deactivated account is signed out at once and cannot log in until reactivated', async () => {
  await withPages(fixture.browser, 'admin-deactivate', 2, async ([vic, boss]) => {
    await ensureAdmin();
    await signUp(vic, fixture.server.url, 'vic_adm');
    await logIn(boss, ADMIN);
    await waitConnected(boss);
    await adminPage(boss, 'users');
    await boss.getByLabel('Search users').fill('vic_');
    const row = boss.getByRole('row').filter({ hasText: 'vic_adm' });
    await row.waitFor();
    await boss.getByRole('row').filter({ hasText: ADMIN }).waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Sessions' }).click();
    await boss.getByRole('heading', { name: 'Sessions of vic_adm' }).waitFor();
    await boss.getByRole('list', { name: 'Sessions of vic_adm' }).getByRole('listitem').first().waitFor();
    await boss.screenshot({ path: '/tmp/admin-users.png', fullPage: true });
    assert.deepEqual(await axeProblems(boss), []);

    // Deactivating asks for a second press.
    await row.getByRole('button', { name: 'Deactivate' }).click();
    await row.getByRole('button', { name: 'Confirm deactivate' }).click();
    await row.getByText('Deactivated').waitFor();
    await row.getByRole('button', { name: 'Reactivate' }).waitFor();

    // Vic's open chat is signed out, and logging in again is refused.
    await vic.getByText('Your session ended. Log in again.').waitFor();
    await logIn(vic, 'vic_adm');
    const refusal = vic.getByRole('alert').filter({ hasText: /deactivated/i });
    await refusal.waitFor();

    // Reactivated, Vic logs in again.
    await row.getByRole('button', { name: 'Reactivate' }).click();
    await row.getByRole('button', { name: 'Deactivate' }).waitFor();
    assert.equal(await row.getByText('Deactivated').count(), 0);
    await vic.getByRole('button', { name: 'Log in' }).click();
    await waitConnected(vic);

    // The audit log tells who did it.
    await adminPage(boss, 'audit');
    const entry = boss.getByRole('row').filter({ hasText: 'vic_adm' });
    await entry.first().waitFor();
    assert.ok(await entry.filter({ hasText: ADMIN }).count() >= 2);
    await boss.screenshot({ path: '/tmp/admin-audit.png', fullPage: true });
    assert.deepEqual(await axeProblems(boss), []);
  });
});

test('retention deletes old messages, and a device that was away drops its copies when it catches up', async () => {
  await withPages(fixture.browser, 'admin-retention', 3, async ([wes, xia, boss]) => {
    await ensureAdmin();
    await signUp(wes, fixture.server.url, 'wes_adm');
    await signUp(xia, fixture.server.url, 'xia_adm');
    await rooms(wes).getByRole('button', { name: 'New room' }).click();
    await wes.getByLabel('Room name').fill('Ephemera');
    await wes.getByRole('button', { name: 'Create' }).click();
    await wes.getByRole('heading', { name: '# Ephemera' }).waitFor();
    await addMember(wes, 'xia_adm');
    await rooms(xia).getByRole('button', { name: /# Ephemera/ }).click();
    await xia.getByRole('heading', { name: '# Ephemera' }).waitFor();
    for (const text of ['old news one', 'old news two']) {
      await say(wes, text);
      await messageFrom(xia, 'wes_adm', text).waitFor();
    }

    const posted = Date.now();

    // Xia goes away. The administrator keeps Ephemera's messages for 4 days (seconds here).
    await xia.context().setOffline(true);
    await logIn(boss, ADMIN);
    await waitConnected(boss);
    await adminPage(boss, 'rooms');
    await boss.getByLabel('Search rooms').fill('Ephem');
    const row = boss.getByRole('row').filter({ hasText: 'Ephemera' });
    await row.waitFor();
    await boss.getByRole('row').filter({ hasText: 'Lobby' }).waitFor({ state: 'detached' });
    await row.getByLabel('Days to keep messages in Ephemera').fill('4');
    await row.getByRole('button', { name: 'Save' }).click();
    await boss.getByRole('status').filter({ hasText: 'Ephemera keeps messages for 4 days.' }).waitFor();

    // Once the first two are older than that, a new one is written and retention runs.
    await boss.waitForTimeout(Math.max(0, posted + 5000 - Date.now()));
    await say(wes, 'fresh news');
    await messageFrom(wes, 'wes_adm', 'fresh news').locator('.delivery').waitFor({ state: 'detached' });
    await boss.getByRole('tab', { name: 'Retention & abuse' }).click();
    await boss.getByRole('button', { name: 'Run retention now' }).click();
    const done = boss.getByRole('status').filter({ hasText: /^Deleted \d+ messages? in \d+ rooms?\.$/ });
    await done.waitFor();
    assert.match(await done.textContent(), /^Deleted ([2-9]|\d\d+) messages in [1-9]\d* rooms?\./);

    // Xia, once back, sees only what is left.
    await xia.context().setOffline(false);
    await waitConnected(xia);
    await messageFrom(xia, 'wes_adm', 'old news two').waitFor({ state: 'detached', timeout: 30_000 });
    await messageFrom(xia, 'wes_adm', 'fresh news').waitFor();
    assert.equal(await messageFrom(xia, 'wes_adm', 'old news one').count(), 0);
    // A reload reads this device's store: the old messages are gone from it too.
    await xia.reload();
    await waitConnected(xia);
    await messageFrom(xia, 'wes_adm', 'fresh news').waitFor();
    assert.equal(await messageFrom(xia, 'wes_adm', 'old news').count(), 0);
    // Wes was online all along: his open app is told, and drops them at once.
    await messageFrom(wes, 'wes_adm', 'old news one').waitFor({ state: 'detached', timeout: 15_000 });
    await messageFrom(wes, 'wes_adm', 'fresh news').waitFor();
    // And from this device's store: a reload does not bring them back.
    await wes.reload();
    await waitConnected(wes);
    await messageFrom(wes, 'wes_adm', 'fresh news').waitFor();
    assert.equal(await messageFrom(wes, 'wes_adm', 'old news').count(), 0);

    // The room's list shows its own time now.
    await adminPage(boss, 'rooms');
    await boss.getByLabel('Days to keep messages in Ephemera').waitFor();
    assert.equal(await boss.getByLabel('Days to keep messages in Ephemera').inputValue(), '4');
  });
});

test('the insight charts show the server\'s activity, and the page has no serious accessibility problem', async () => {
  await withPages(fixture.browser, 'admin-insight', 1, async ([boss]) => {
    await ensureAdmin();
    await logIn(boss, ADMIN);
    await waitConnected(boss);
    await say(boss, 'a message for the charts');
    await messageFrom(boss, ADMIN, 'a message for the charts').locator('.delivery').waitFor({ state: 'detached' });
    await adminPage(boss, 'insight');
    const hourly = boss.getByRole('img', { name: /^Messages per hour over the last 48 hours/ });
    await hourly.waitFor();
    assert.ok(await hourly.locator('rect.fill').count() >= 1, 'bars for the hours with messages');
    assert.match(await hourly.getAttribute('aria-label'), /peak \d+ messages at/);
    await boss.getByRole('img', { name: /^Busiest rooms/ }).getByText('Lobby', { exact: true }).waitFor();
    await boss.getByRole('img', { name: /^Daily active users/ }).waitFor();
    await boss.getByRole('img', { name: /^Weekly active users/ }).waitFor();
    const signups = boss.getByRole('img', { name: /^Sign-ups per day/ });
    assert.ok(await signups.locator('rect.fill[height]:not([height="0.0"])').count() >= 1, 'today has sign-ups');
    await boss.getByText('Median delivery time (p50)').waitFor();
    const p50 = await boss.locator('.figure .big').first().textContent();
    assert.match(p50, /\d+(\.\d+)? m?s/, `p50 shown: ${p50}`);
    await boss.screenshot({ path: '/tmp/admin-insight.png', fullPage: true });
    assert.deepEqual(await axeProblems(boss), []);

    // Every other section passes too.
    for (const [section, ready] of [['rooms', 'Lobby'], ['settings', 'Keep messages for (days)']]) {
      await adminPage(boss, section);
      await boss.getByText(ready).first().waitFor();
      await boss.screenshot({ path: `/tmp/admin-${section}.png`, fullPage: true });
      assert.deepEqual(await axeProblems(boss), [], section);
    }
    await boss.emulateMedia({ colorScheme: 'dark' });
    await adminPage(boss, 'insight');
    await boss.getByRole('img', { name: /^Messages per hour/ }).waitFor();
    await boss.screenshot({ path: '/tmp/admin-insight-dark.png', fullPage: true });
    assert.deepEqual(await axeProblems(boss), [], 'dark');

    // The sections are tabs: arrow keys move between them, and the address follows.
    await boss.getByRole('tab', { name: 'Insight' }).focus();
    await boss.keyboard.press('ArrowLeft');
    await boss.getByRole('tab', { name: 'Audit log', selected: true }).waitFor();
    await boss.getByRole('heading', { name: 'Audit log' }).waitFor();
    assert.ok(boss.url().endsWith('#audit'), boss.url());
    await boss.keyboard.press('End');
    await boss.getByRole('tab', { name: 'Bots & webhooks', selected: true }).waitFor();
  });
});

test('someone who is not an administrator sees only the reports of the rooms they moderate', async () => {
  await withPages(fixture.browser, 'admin-member', 3, async ([una, yan, zed]) => {
    await ensureAdmin();
    await signUp(una, fixture.server.url, 'una_adm');
    await una.goto(`${fixture.server.url}/account.html`);
    await una.getByRole('link', { name: 'Reports in rooms you moderate' }).waitFor();
    assert.equal(await una.getByRole('link', { name: 'Server administration' }).isVisible(), false);
    await una.getByRole('link', { name: 'Reports in rooms you moderate' }).click();
    await una.getByRole('heading', { name: 'Moderation' }).waitFor();
    await una.getByRole('heading', { name: 'Reports', exact: true }).waitFor();
    await una.getByText('No open reports.').waitFor();
    assert.equal(await una.getByRole('tab').count(), 0, 'no tabs: one section');
    for (const heading of ['Users', 'Rooms', 'Retention & abuse', 'Audit log', 'Insight']) {
      assert.equal(await una.getByRole('heading', { name: heading }).isVisible(), false, heading);
    }
    // An address naming another section still shows the reports.
    await una.goto(`${fixture.server.url}/admin.html#users`);
    await una.getByRole('heading', { name: 'Reports', exact: true }).waitFor();
    assert.equal(await una.getByLabel('Search users').isVisible(), false);
    await una.screenshot({ path: '/tmp/admin-member.png', fullPage: true });
    assert.deepEqual(await axeProblems(una), []);

    // Una owns a room: a report about it reaches her, and she mutes the sender.
    await signUp(yan, fixture.server.url, 'yan_adm');
    await signUp(zed, fixture.server.url, 'zed_adm');
    await una.goto(fixture.server.url);
    await waitConnected(una);
    await rooms(una).getByRole('button', { name: 'New room' }).click();
    await una.getByLabel('Room name').fill('Una corner');
    await una.getByRole('button', { name: 'Create' }).click();
    await una.getByRole('heading', { name: '# Una corner' }).waitFor();
    await addMember(una, 'yan_adm');
    await addMember(una, 'zed_adm');
    await rooms(zed).getByRole('button', { name: /# Una corner/ }).click();
    await say(zed, 'rude words in the corner');
    await rooms(yan).getByRole('button', { name: /# Una corner/ }).click();
    const message = messageFrom(yan, 'zed_adm', 'rude words in the corner');
    await message.hover();
    await message.getByRole('button', { name: 'Report' }).click();
    const dialog = yan.getByRole('dialog', { name: 'Report this message' });
    await dialog.getByLabel('Harassment or hate').check();
    await dialog.getByRole('button', { name: 'Report', exact: true }).click();
    await dialog.getByText(/^Thanks\./).waitFor();
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();

    await una.goto(`${fixture.server.url}/admin.html`);
    const report = una.getByRole('listitem').filter({ hasText: 'rude words in the corner' });
    await report.getByText('Harassment or hate').waitFor();
    await report.getByRole('button', { name: 'Mute sender' }).click();
    await report.getByText('Handled: Sender muted.').waitFor();
    await yan.getByRole('status').filter({ hasText: /muted/ }).waitFor();
    // Una moderates only her room: the Lobby's reports are not hers.
    await una.getByLabel('Show handled reports').check();
    await una.getByRole('listitem').filter({ hasText: 'rude words' }).waitFor();
    assert.equal(await una.getByRole('listitem').filter({ hasText: 'buy cheap pills' }).count(), 0);
  });
});

test('an administrator takes over and deletes a room, and a word list set in the console holds in the app', async () => {
  await withPages(fixture.browser, 'admin-rooms', 2, async ([owen, boss]) => {
    await ensureAdmin();
    await signUp(owen, fixture.server.url, 'owen_adm');
    await rooms(owen).getByRole('button', { name: 'New room' }).click();
    await owen.getByLabel('Room name').fill('Abandoned garden');
    await owen.getByRole('button', { name: 'Create' }).click();
    await owen.getByRole('heading', { name: '# Abandoned garden' }).waitFor();

    await logIn(boss, ADMIN);
    await waitConnected(boss);
    await adminPage(boss, 'rooms');
    const row = boss.getByRole('row').filter({ hasText: 'Abandoned garden' });
    await row.getByText('owen_adm').waitFor();
    await row.getByRole('button', { name: 'Take over' }).click();
    await boss.getByText('You now own Abandoned garden.').waitFor();
    await row.getByText(ADMIN).waitFor();
    // The administrator is in the room now, as its owner.
    await boss.goto(fixture.server.url);
    await waitConnected(boss);
    await rooms(boss).getByText('Abandoned garden').waitFor();

    // A word list saved in the console: the app's next message with the word is refused.
    await adminPage(boss, 'settings');
    await boss.getByLabel('Words, one per line').fill('forbiddenword');
    await boss.getByLabel('Refuse the message').check();
    await boss.getByRole('button', { name: 'Save settings' }).click();
    await boss.locator('#settings-done').waitFor();
    await say(owen, 'a forbiddenword here');
    const refused = messageFrom(owen, 'owen_adm', 'a forbiddenword here');
    await refused.getByText(/does not allow/).waitFor();
    await refused.getByRole('button', { name: 'Retry' }).waitFor();
    await say(owen, 'a polite message');
    await messageFrom(owen, 'owen_adm', 'a polite message').locator('.delivery').waitFor({ state: 'detached' });

    // Deleted: the room leaves the owner's open app at once.
    await adminPage(boss, 'rooms');
    const again = boss.getByRole('row').filter({ hasText: 'Abandoned garden' });
    await again.getByRole('button', { name: 'Delete' }).click();
    await again.getByRole('button', { name: 'Confirm delete' }).click();
    await boss.getByText('Abandoned garden is deleted.').waitFor();
    await rooms(owen).getByText('Abandoned garden').waitFor({ state: 'detached' });

    await adminPage(boss, 'audit');
    for (const action of ['take over room', 'change settings', 'delete room']) {
      await boss.getByRole('cell', { name: action, exact: true }).first().waitFor();
    }
    // The other tests of this file run without a word list.
    const cleared = await boss.evaluate(async () => (await fetch('/api/admin/settings', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ blocked_words: [] }),
    })).status);
    assert.equal(cleared, 200);
  });
});
