// Finding one's place: the "New messages" line, "Jump to latest", and rooms with addresses
// (reload, links, back and forward, the room shown last).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, waitConnected } from '../lib/browser.js';

const fixture = useServerAndBrowser();

const log = (page) => page.getByRole('log');
const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });
const roomLink = (page, name) => rooms(page).getByRole('button', { name: new RegExp(name) });
const heading = (page, name) => page.getByRole('heading', { name, exact: true });

async function createRoom(page, name) {
  await rooms(page).getByRole('button', { name: 'New room' }).click();
  await page.getByLabel('Room name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await heading(page, `# ${name}`).waitFor();
}

/** Whether `locator`'s element is inside the visible part of the log. */
async function onScreen(page, locator) {
  const box = await locator.boundingBox();
  const area = await log(page).boundingBox();
  return box !== null && box.y >= area.y - 1 && box.y + box.height <= area.y + area.height + 1;
}

test('unread messages open at a "New messages" line, and new ones below offer a jump', async () => {
  // Issue 17 #1: a room with unread messages opened at the bottom with no line, and nothing
  // said that messages arrived while one read older ones.
  await withPages(fixture.browser, 'new-messages', 2, async ([ann, ben]) => {
    await signUp(ann, fixture.server.url, 'ann_n');
    await signUp(ben, fixture.server.url, 'ben_n');
    await say(ben, 'already read');
    await messageFrom(ann, 'ben_n', 'already read').waitFor();
    await createRoom(ann, 'Elsewhere');

    for (let i = 1; i <= 30; i++) await say(ben, `unread number ${i}`);
    await roomLink(ann, '# Lobby').getByText('30 unread').waitFor({ timeout: 20_000 });
    await roomLink(ann, '# Lobby').click();
    await heading(ann, '# Lobby').waitFor();

    const line = log(ann).locator('.new-messages');
    await line.waitFor();
    assert.equal(await line.textContent(), 'New messages');
    const after = await line.evaluate((el) => el.nextElementSibling?.textContent ?? '');
    assert.match(after, /unread number 1(?!\d)/, 'the line sits above the first unread message');
    const before = await line.evaluate((el) => el.previousElementSibling?.textContent ?? '');
    assert.match(before, /already read/);
    await ann.waitForFunction(() => {
      const line = document.querySelector('.new-messages');
      const log = document.querySelector('[role=log]');
      const a = line.getBoundingClientRect();
      const b = log.getBoundingClientRect();
      return a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
    });
    assert.ok(await onScreen(ann, line), 'the log opens at the line');
    assert.equal(await onScreen(ann, messageFrom(ann, 'ben_n', 'unread number 30')), false);

    const jump = ann.getByRole('button', { name: /Jump to latest/ });
    await jump.waitFor();
    assert.match(await jump.textContent(), /30 new messages/);
    await jump.click();
    await jump.waitFor({ state: 'hidden' });
    await ann.waitForFunction(() => {
      const log = document.querySelector('[role=log]');
      return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    });

    // Reading older messages while more arrive (a reader's scroll, not in the instant after the
    // page's own, which the log takes for its own).
    await ann.waitForTimeout(400);
    await log(ann).evaluate((el) => { el.scrollTop = 0; });
    await jump.waitFor();
    await say(ben, 'while you were reading');
    await ann.getByRole('button', { name: '1 new message · Jump to latest' }).waitFor();
    await jump.click();
    await ann.waitForFunction(() => {
      const log = document.querySelector('[role=log]');
      return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    });
    assert.ok(await onScreen(ann, messageFrom(ann, 'ben_n', 'while you were reading')));

    // Read now: opening the room again shows no line.
    await roomLink(ann, '# Elsewhere').click();
    await heading(ann, '# Elsewhere').waitFor();
    await roomLink(ann, '# Lobby').click();
    await messageFrom(ann, 'ben_n', 'while you were reading').waitFor();
    assert.equal(await log(ann).locator('.new-messages').count(), 0);
  });
});

test('a room has an address: reload, back and forward, a link, the room shown last', async () => {
  // Issue 17 #4: reload, logging in again and the offline start always opened the lobby;
  // back and forward did nothing; a room could not be linked.
  await withPages(fixture.browser, 'addresses', 2, async ([cat, dan]) => {
    await signUp(cat, fixture.server.url, 'cat_n');
    await signUp(dan, fixture.server.url, 'dan_n');
    await heading(cat, '# Lobby').waitFor();
    await cat.waitForFunction(() => location.hash.startsWith('#/room/'));
    const lobbyAddress = cat.url();
    await createRoom(cat, 'Deep');
    await cat.waitForFunction((lobby) => location.href !== lobby, lobbyAddress);
    const deepAddress = cat.url();
    assert.match(deepAddress, /#\/room\/./);

    await cat.reload();
    await waitConnected(cat);
    await heading(cat, '# Deep').waitFor();

    await cat.goBack();
    await heading(cat, '# Lobby').waitFor();
    assert.equal(cat.url(), lobbyAddress);
    await cat.goForward();
    await heading(cat, '# Deep').waitFor();

    // A link opened in another tab of the same person.
    const tab = await cat.context().newPage();
    await tab.goto(deepAddress);
    await heading(tab, '# Deep').waitFor();
    await tab.close();

    // The same link for someone who is not in the room shows their lobby instead.
    await dan.goto(deepAddress);
    await waitConnected(dan);
    await heading(dan, '# Lobby').waitFor();
    await dan.waitForFunction((deep) => location.href !== deep, deepAddress);

    // The installed app starts at "/": the room shown last opens.
    await cat.goto(fixture.server.url);
    await waitConnected(cat);
    await heading(cat, '# Deep').waitFor();

    // Logging in again opens the room in the address.
    await cat.getByRole('button', { name: 'Log out' }).click();
    await cat.getByLabel('Username').fill('cat_n');
    await cat.getByLabel('Password').fill('correct horse battery');
    await cat.getByRole('button', { name: 'Log in' }).click();
    await waitConnected(cat);
    await heading(cat, '# Deep').waitFor();
  });
});

test('a search hit opens its room at the message and points it out', async () => {
  // Issue 17 #8: a hit opened its room at the bottom, with nothing pointed out.
  await withPages(fixture.browser, 'search-hit', 2, async ([hal, ivy]) => {
    await signUp(hal, fixture.server.url, 'hal_n');
    await signUp(ivy, fixture.server.url, 'ivy_n');
    await say(hal, 'the needle is under the blue rug');
    for (let i = 1; i <= 30; i++) {
      await say(hal, `hay from hal ${i}`);
      await say(ivy, `hay from ivy ${i}`);
    }
    await messageFrom(hal, 'ivy_n', 'hay from ivy 30').waitFor();
    await log(hal).getByText('Sending…').first().waitFor({ state: 'detached' });
    // After a reload only the newest messages are loaded: the hit must be fetched.
    await hal.reload();
    await waitConnected(hal);
    await createRoom(hal, 'Elsewhere');

    await hal.getByRole('searchbox', { name: 'Search' }).fill('needle');
    const results = hal.getByRole('list', { name: 'Search results' });
    await results.getByRole('button', { name: /the needle is under the blue rug/ }).click();
    await heading(hal, '# Lobby').waitFor();
    const hit = messageFrom(hal, 'hal_n', 'the needle is under the blue rug');
    await hal.locator('article[data-hit]').filter({ hasText: 'the needle' }).waitFor();
    assert.ok(await onScreen(hal, hit), 'the log is scrolled to the hit');
    assert.equal(await hit.evaluate((el) => document.activeElement === el), true, 'the hit has the focus');
    assert.equal(await onScreen(hal, messageFrom(hal, 'ivy_n', 'hay from ivy 30')), false);
    await hal.getByRole('button', { name: /Jump to latest/ }).click();
    await hal.waitForFunction(() => {
      const log = document.querySelector('[role=log]');
      return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    });
  });
});
