// Everyday conveniences from issue 17: the emoji picker (reactions and the composer), keyboard
// shortcuts and their list, ↑ to edit my last message, and full dates on message times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, addMember, artifacts } from '../lib/browser.js';
import { axeProblems } from '../lib/axe.js';

const fixture = useServerAndBrowser();

const log = (page) => page.getByRole('log');
const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });
const roomLink = (page, name) => rooms(page).getByRole('button', { name: new RegExp(name) });
const messageFrom = (page, sender, text) =>
  log(page).locator(`article[data-sender="${sender}"]`).filter({ hasText: text });

async function createRoom(page, name) {
  await rooms(page).getByRole('button', { name: 'New room' }).click();
  await page.getByLabel('Room name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: `# ${name}` }).waitFor();
}

test('any emoji can be a reaction or go into a message, found by name, recent ones first', async () => {
  await withPages(fixture.browser, 'emoji', 2, async ([amy, ben]) => {
    await signUp(amy, fixture.server.url, 'amy_e');
    await signUp(ben, fixture.server.url, 'ben_e');
    await say(ben, 'the deploy went fine');
    const message = messageFrom(amy, 'ben_e', 'the deploy went fine');
    await message.waitFor();

    // React with an emoji that is not among the quick four, found by a keyword.
    await message.hover();
    await message.getByRole('button', { name: 'More reactions' }).click();
    const picker = amy.getByRole('dialog', { name: 'React with an emoji' });
    await picker.getByRole('button', { name: 'rocket' }).waitFor();
    assert.deepEqual(await axeProblems(amy), []);
    await amy.screenshot({ path: join(artifacts, 'emoji-picker.png') });
    await picker.getByLabel('Search emoji').fill('rocket');
    await picker.getByRole('button', { name: 'rocket', exact: true }).click();
    await picker.waitFor({ state: 'hidden' });
    await messageFrom(ben, 'ben_e', 'the deploy went fine').getByRole('button', { name: /🚀 1, by amy_e/ }).waitFor();

    // In the composer: Enter takes the first match; it lands where the cursor is.
    await amy.getByLabel('Message', { exact: true }).fill('ship it ');
    await amy.getByRole('button', { name: 'Emoji', exact: true }).click();
    const insert = amy.getByRole('dialog', { name: 'Insert an emoji' });
    // What was used last comes first.
    await insert.getByRole('group', { name: 'Recently used' }).getByRole('button', { name: 'rocket' }).waitFor();
    await insert.getByLabel('Search emoji').fill('party popper');
    await insert.getByLabel('Search emoji').press('Enter');
    await insert.waitFor({ state: 'hidden' });
    assert.equal(await amy.getByLabel('Message', { exact: true }).inputValue(), 'ship it 🎉');
    // The focus is back in the composer, and the app took the text as typed.
    await amy.keyboard.press('Enter');
    await messageFrom(ben, 'amy_e', 'ship it 🎉').waitFor();

    // A skin tone is remembered and applies to emoji that have one.
    await amy.getByRole('button', { name: 'Emoji', exact: true }).click();
    await insert.getByLabel('Skin tone').selectOption({ index: 5 });
    await insert.getByLabel('Search emoji').fill('waving hand');
    await insert.getByRole('button', { name: 'waving hand' }).click();
    assert.equal(await amy.getByLabel('Message', { exact: true }).inputValue(), '👋🏿');
  });
});

test('keyboard: switch rooms, jump to unread, search, the list of shortcuts, ↑ to edit', async () => {
  await withPages(fixture.browser, 'shortcuts', 2, async ([cal, dot]) => {
    await signUp(cal, fixture.server.url, 'cal_k');
    await signUp(dot, fixture.server.url, 'dot_k');
    await createRoom(cal, 'alpha');
    await createRoom(cal, 'beta');
    await addMember(cal, 'dot_k');
    await roomLink(cal, '# alpha').click();
    await cal.getByRole('heading', { name: '# alpha' }).waitFor();

    // Alt+↓ and Alt+↑ walk the room list.
    const order = await rooms(cal).locator('.room-link .label').allTextContents();
    const at = order.indexOf('# alpha');
    await cal.keyboard.press('Alt+ArrowDown');
    await cal.getByRole('heading', { name: order[(at + 1) % order.length] }).waitFor();
    await cal.keyboard.press('Alt+ArrowUp');
    await cal.getByRole('heading', { name: '# alpha' }).waitFor();

    // Alt+Shift+↓ goes to the next room with something unread.
    await roomLink(dot, '# beta').click();
    await say(dot, 'news in beta');
    await roomLink(cal, '# beta').getByText('1 unread').waitFor();
    await cal.getByLabel('Message', { exact: true }).focus();
    await cal.keyboard.press('Alt+Shift+ArrowDown');
    await cal.getByRole('heading', { name: '# beta' }).waitFor();

    // Ctrl+K goes to the search box.
    await cal.keyboard.press('Control+k');
    // (Shortcuts run in a module loaded on first use: the focus moves a moment later.)
    await cal.waitForFunction(() => document.activeElement?.id === 'search', null, { timeout: 5000 });

    // ? (outside a text field) lists the shortcuts; Escape closes the list.
    await cal.getByRole('heading', { name: '# beta' }).click();
    await cal.keyboard.press('Shift+?');
    const help = cal.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.getByRole('cell', { name: 'Previous or next room', exact: true }).waitFor();
    assert.deepEqual(await axeProblems(cal), []);
    await cal.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    await cal.getByRole('button', { name: 'Keyboard shortcuts' }).click();
    await help.waitFor();
    await help.getByRole('button', { name: 'Close' }).click();

    // ↑ in the empty composer edits my newest message.
    await say(cal, 'frist message');
    await messageFrom(dot, 'cal_k', 'frist message').waitFor();
    await cal.getByLabel('Message', { exact: true }).focus();
    await cal.keyboard.press('ArrowUp');
    assert.equal(await cal.getByLabel('Message', { exact: true }).inputValue(), 'frist message');
    await cal.getByLabel('Message', { exact: true }).fill('first message');
    await cal.keyboard.press('Enter');
    await messageFrom(dot, 'cal_k', 'first message').getByText('(edited)').waitFor();

    // Every message time carries its full date.
    const time = messageFrom(dot, 'cal_k', 'first message').locator('time');
    const datetime = await time.getAttribute('datetime');
    assert.ok(Math.abs(Date.parse(datetime) - Date.now()) < 120_000, datetime);
    assert.match(await time.getAttribute('title'), new RegExp(String(new Date().getFullYear())));
  });
});

test('@ suggests the room\'s members; Enter or a click puts the name in without sending', async () => {
  await withPages(fixture.browser, 'mention', 2, async ([eve, fay]) => {
    await signUp(eve, fixture.server.url, 'eve_m');
    await signUp(fay, fixture.server.url, 'fay_m');
    await createRoom(eve, 'desk');
    await addMember(eve, 'fay_m');

    const composer = eve.getByLabel('Message', { exact: true });
    await composer.pressSequentially('thanks @f');
    const list = eve.getByRole('listbox', { name: 'People to mention' });
    await list.getByRole('option', { name: 'fay_m' }).waitFor();
    assert.equal(await list.getByRole('option').count(), 1);
    assert.equal(await composer.getAttribute('aria-activedescendant'), 'mention-option-0');
    await eve.keyboard.press('Enter');
    await list.waitFor({ state: 'hidden' });
    assert.equal(await composer.inputValue(), 'thanks @fay_m ');
    // Nothing was sent by that Enter; this one sends, and fay is mentioned.
    await composer.pressSequentially('for the review');
    await eve.keyboard.press('Enter');
    await roomLink(fay, '# desk').locator('.badge.mention').waitFor();

    // Escape closes the list and leaves the text; a name that matches nobody shows none.
    await composer.pressSequentially('@zz');
    await eve.waitForTimeout(300);
    assert.equal(await list.isVisible(), false);
    await composer.fill('');
    await composer.pressSequentially('@fa');
    await list.getByRole('option', { name: 'fay_m' }).click();
    assert.equal(await composer.inputValue(), '@fay_m ');
    assert.deepEqual(await axeProblems(eve), []);
  });
});

test('a file pasted into the composer or dropped on the room is offered like an attached one', async () => {
  await withPages(fixture.browser, 'paste-drop', 2, async ([ida, jay]) => {
    await signUp(ida, fixture.server.url, 'ida_p');
    await signUp(jay, fixture.server.url, 'jay_p');
    await rooms(ida).getByRole('button', { name: 'New direct message' }).click();
    await ida.getByLabel('Username').fill('jay_p');
    await ida.getByRole('button', { name: 'Start', exact: true }).click();
    await ida.getByRole('heading', { name: 'jay_p' }).waitFor();
    const transfers = ida.getByRole('region', { name: 'File transfers' });

    // A screenshot pasted into the composer.
    await ida.getByLabel('Message', { exact: true }).focus();
    await ida.evaluate(() => {
      const list = new DataTransfer();
      list.items.add(new File([new Uint8Array([137, 80, 78, 71])], 'screenshot.png', { type: 'image/png' }));
      document.getElementById('composer').dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: list, bubbles: true, cancelable: true }));
    });
    await transfers.getByText('Sending a file to jay_p').waitFor();
    await transfers.getByText('screenshot.png').waitFor();

    // Two files dropped on the conversation.
    await ida.evaluate(() => {
      const list = new DataTransfer();
      list.items.add(new File(['a'], 'a.txt', { type: 'text/plain' }));
      list.items.add(new File(['b'], 'b.txt', { type: 'text/plain' }));
      const log = document.querySelector('[role=log]');
      log.dispatchEvent(new DragEvent('dragover', { dataTransfer: list, bubbles: true, cancelable: true }));
      log.dispatchEvent(new DragEvent('drop', { dataTransfer: list, bubbles: true, cancelable: true }));
    });
    await transfers.getByText('Sending 2 files to jay_p').waitFor();
    // Text pasted stays text.
    await ida.getByLabel('Message', { exact: true }).fill('plain words');
    assert.equal(await ida.getByLabel('Message', { exact: true }).inputValue(), 'plain words');
  });
});
