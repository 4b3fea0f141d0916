// Threads (issue 17): replies gathered in a side panel, with their own count of new replies,
// a composer of their own, and replies arriving live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, artifacts } from '../lib/browser.js';
import { axeProblems } from '../lib/axe.js';

const fixture = useServerAndBrowser();

const log = (page) => page.getByRole('log');
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });
const panel = (page) => page.getByRole('complementary', { name: /Thread/ });

test('a reply in a thread reaches the room, the list counts what is new, replies arrive live', async () => {
  await withPages(fixture.browser, 'threads', 2, async ([gil, hana]) => {
    await signUp(gil, fixture.server.url, 'gil');
    await signUp(hana, fixture.server.url, 'hana');
    await say(gil, 'Which logo do we pick?');
    await say(gil, 'unrelated chatter');

    // Hana answers in the thread of gil's question.
    const question = messageFrom(hana, 'gil', 'Which logo do we pick?');
    await question.hover();
    await question.getByRole('button', { name: 'Open thread' }).click();
    const hanaThread = panel(hana);
    await hanaThread.getByRole('heading', { name: 'Thread' }).waitFor();
    await hanaThread.getByText('No replies').waitFor();
    await hanaThread.getByLabel('Reply in thread').fill('the **blue** one');
    await hanaThread.getByLabel('Reply in thread').press('Enter');
    await hanaThread.getByRole('list', { name: 'Thread' }).locator('strong', { hasText: 'blue' }).waitFor();
    await hanaThread.getByText('1 reply').waitFor();
    // It is a message of the room too, quoting what it answers.
    await messageFrom(gil, 'hana', 'blue one').locator('.quote').filter({ hasText: 'Which logo' }).waitFor();

    // Gil's list of threads says one reply is new; opening the thread reads it.
    await gil.getByRole('button', { name: 'Threads', exact: true }).click();
    const gilPanel = panel(gil);
    const item = gilPanel.getByRole('button', { name: /Which logo do we pick\?/ });
    await item.getByText('1 reply').waitFor();
    await item.getByText('1 new').waitFor();
    assert.deepEqual(await axeProblems(gil), []);
    await item.click();
    await gilPanel.getByRole('list', { name: 'Thread' }).getByText('the blue one').waitFor();
    await gil.screenshot({ path: join(artifacts, 'thread.png') });

    // A reply from hana's side arrives while gil has the thread open.
    await hanaThread.getByLabel('Reply in thread').fill('or the green');
    await hanaThread.getByRole('button', { name: 'Reply', exact: true }).click();
    await gilPanel.getByRole('list', { name: 'Thread' }).getByText('or the green').waitFor();
    await gilPanel.getByText('2 replies').waitFor();

    // Back in the list nothing is new any more; Escape closes the panel.
    await gilPanel.getByRole('button', { name: '← All threads' }).click();
    const again = gilPanel.getByRole('button', { name: /Which logo do we pick\?/ });
    await again.getByText('2 replies').waitFor();
    assert.equal(await again.getByText(/new/).count(), 0);
    await gil.keyboard.press('Escape');
    await gilPanel.waitFor({ state: 'hidden' });
    assert.equal(await gil.evaluate(() => document.activeElement?.textContent), 'Threads');
  });
});
