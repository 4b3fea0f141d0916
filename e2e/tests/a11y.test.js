// Accessibility scans of the chat itself (the account page is scanned in account.test.js):
// axe-core must report no serious or critical problem on the log-in screen, a room with my own
// messages, a mention of me and unread badges, and the phone layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, waitConnected, addMember } from '../lib/browser.js';
import { axeProblems } from '../lib/axe.js';

const fixture = useServerAndBrowser();

test('the log-in screen has no serious accessibility problem', async () => {
  await withPages(fixture.browser, 'a11y-login', 1, async ([page]) => {
    await page.goto(fixture.server.url);
    await page.getByLabel('Username').waitFor();
    assert.deepEqual(await axeProblems(page), []);
  });
});

test('a room with my messages, a mention of me and unread badges has none either', async () => {
  // Issue 17 #3: the mention badge and grey text on my messages' tint and on the active room
  // failed the contrast check.
  await withPages(fixture.browser, 'a11y-room', 2, async ([ann, ben]) => {
    await signUp(ann, fixture.server.url, 'ann_a');
    await signUp(ben, fixture.server.url, 'ben_a');
    await ben.getByRole('button', { name: 'New room' }).click();
    await ben.getByLabel('Room name').fill('side');
    await ben.getByRole('button', { name: 'Create' }).click();
    await ben.getByRole('heading', { name: '# side' }).waitFor();
    await addMember(ben, 'ann_a');
    await say(ben, 'hey @ann_a, look here');
    await say(ann, 'my own message in the lobby');
    await ann.getByRole('log').getByText('my own message in the lobby').waitFor();
    await ann.getByRole('navigation', { name: 'Rooms' }).locator('.badge.mention').waitFor();
    assert.deepEqual(await axeProblems(ann), []);
  });
});

test('the phone layout has none', async () => {
  await withPages(fixture.browser, 'a11y-phone', 1, async ([page]) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signUp(page, fixture.server.url, 'cal_a');
    await waitConnected(page);
    await say(page, 'small screen');
    assert.deepEqual(await axeProblems(page), []);
  });
});

test('on a phone the header is compact and a message shows its actions when tapped', async () => {
  // Issue 17 #13: the header took 154 of 844 px and every message showed its actions.
  const context = await fixture.browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
  });
  try {
    const page = await context.newPage();
    await signUp(page, fixture.server.url, 'tap_a');
    await say(page, 'tap me');
    const row = page.getByRole('log').locator('article').filter({ hasText: 'tap me' });
    await page.locator('article[data-seq]').filter({ hasText: 'tap me' }).waitFor();
    const header = await page.locator('.topbar').boundingBox();
    assert.ok(header.height <= 110, `header ${header.height} px high`);
    const opacity = () => row.locator('.actions').evaluate((el) => getComputedStyle(el).opacity);
    assert.equal(await opacity(), '0', 'actions hidden until asked for');
    await row.locator('.body').tap();
    assert.equal(await opacity(), '1');
    await row.getByRole('button', { name: 'React with 👍' }).tap();
    await row.getByRole('button', { name: /👍 1/ }).waitFor();
    assert.deepEqual(await axeProblems(page), []);
  } finally {
    await context.close();
  }
});
