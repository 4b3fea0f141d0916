// The room panel (issue 17, missing features): who is in a room and whether they are around,
// roles, mutes, removals, bans, blocks, the name and topic, invite links and leaving, all
// driven as a user would through the People and Settings tabs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, waitConnected, addMember, roomPanel, createInviteLink, artifacts } from '../lib/browser.js';
import { axeProblems } from '../lib/axe.js';

const fixture = useServerAndBrowser();

const rooms = (page) => page.getByRole('navigation', { name: 'Rooms' });
const roomLink = (page, name) => rooms(page).getByRole('button', { name: new RegExp(name) });
const memberRow = (dialog, username) =>
  dialog.getByRole('list', { name: 'Members' }).getByRole('listitem').filter({ hasText: username });

async function createRoom(page, name) {
  await rooms(page).getByRole('button', { name: 'New room' }).click();
  await page.getByLabel('Room name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name: `# ${name}` }).waitFor();
}

/** Opens the actions of `username`'s row and presses `label` (twice when it asks first). */
async function memberAction(dialog, username, label, confirm) {
  const row = memberRow(dialog, username);
  await row.locator('summary').click();
  await row.getByRole('button', { name: label, exact: true }).click();
  if (confirm) await row.getByRole('button', { name: confirm }).click();
}

test('the People tab lists members with their presence, live', async () => {
  await withPages(fixture.browser, 'people-presence', 3, async ([olga, pia, quin]) => {
    await signUp(olga, fixture.server.url, 'olga');
    await signUp(pia, fixture.server.url, 'pia');
    await signUp(quin, fixture.server.url, 'quin');
    await createRoom(olga, 'Crew');
    await addMember(olga, 'pia');
    await addMember(olga, 'quin');

    const dialog = await roomPanel(olga);
    await dialog.getByText('3 people · 3 online').waitFor();
    await memberRow(dialog, 'olga').getByText('owner').waitFor();
    await memberRow(dialog, 'olga').getByText('you').waitFor();
    await memberRow(dialog, 'pia').getByText('online').waitFor();
    assert.deepEqual(await axeProblems(olga), []);
    await olga.screenshot({ path: join(artifacts, 'people-panel.png') });

    // Quin closes the app: the open panel says so without being reopened.
    await quin.close();
    await memberRow(dialog, 'quin').getByText(/last seen|offline/).waitFor({ timeout: 15_000 });
    await dialog.getByText('3 people · 2 online').waitFor();

    // Escape closes it and the focus goes back to the button that opened it.
    await olga.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await olga.evaluate(() => document.activeElement?.textContent), 'People');

    // "Message" opens the direct conversation with that member.
    const again = await roomPanel(olga);
    await memberAction(again, 'pia', 'Message');
    await again.waitFor({ state: 'hidden' });
    await olga.getByRole('heading', { name: 'pia', exact: true, level: 1 }).waitFor();
  });
});

test('an owner makes an admin, who renames the room; mute, ban and lifting a ban work', async () => {
  await withPages(fixture.browser, 'people-moderation', 3, async ([rita, sam, tess]) => {
    await signUp(rita, fixture.server.url, 'rita');
    await signUp(sam, fixture.server.url, 'sam');
    await signUp(tess, fixture.server.url, 'tess');
    await createRoom(rita, 'Ops');
    await addMember(rita, 'sam');
    await addMember(rita, 'tess');

    // Sam, a member, may not rename: the fields are read-only and say why.
    await roomLink(sam, '# Ops').click();
    let samPanel = await roomPanel(sam, 'Settings');
    await samPanel.getByText('Only admins can change the name and topic.').waitFor();
    assert.equal(await samPanel.getByRole('button', { name: 'Save name' }).isVisible(), false);
    await samPanel.getByRole('button', { name: 'Close' }).click();

    const panel = await roomPanel(rita);
    await memberAction(panel, 'sam', 'Make admin');
    await panel.getByRole('status').filter({ hasText: 'sam is now an admin.' }).waitFor();
    await memberRow(panel, 'sam').getByText('admin', { exact: true }).waitFor();

    // Now sam renames the room and sets its topic; everyone's header follows.
    samPanel = await roomPanel(sam, 'Settings');
    await samPanel.getByLabel('Name').fill('Operations');
    await samPanel.getByRole('button', { name: 'Save name' }).click();
    await samPanel.getByRole('status').filter({ hasText: 'Name saved.' }).waitFor();
    await samPanel.getByLabel('Topic').fill('Pager duty and dashboards');
    await samPanel.getByRole('button', { name: 'Save topic' }).click();
    await samPanel.getByRole('status').filter({ hasText: 'Topic saved.' }).waitFor();
    await samPanel.getByRole('heading', { name: '# Operations' }).waitFor();
    assert.equal(await samPanel.getByLabel('Topic').inputValue(), 'Pager duty and dashboards');
    assert.deepEqual(await axeProblems(sam), []);
    await sam.screenshot({ path: join(artifacts, 'room-settings.png') });
    await samPanel.getByRole('button', { name: 'Close' }).click();
    await rita.getByRole('heading', { name: '# Operations', level: 1 }).waitFor();
    await rita.getByText('Pager duty and dashboards').first().waitFor();

    // Rita mutes tess: the badge shows, and tess's message is refused.
    await memberAction(panel, 'tess', 'Mute');
    await memberRow(panel, 'tess').getByText('muted').waitFor();
    await roomLink(tess, '# Operations').click();
    await say(tess, 'can I still talk?');
    await tess.getByRole('log').getByText(/Not sent/).waitFor();
    await memberAction(panel, 'tess', 'Unmute');
    await panel.getByRole('status').filter({ hasText: 'tess can post again.' }).waitFor();

    // A ban removes tess, and an invite link cannot bring her back until it is lifted.
    await memberAction(panel, 'tess', 'Ban', 'Ban tess?');
    await panel.getByRole('status').filter({ hasText: 'Banned tess' }).waitFor();
    await memberRow(panel, 'tess').waitFor({ state: 'detached' });
    await roomLink(tess, '# Operations').waitFor({ state: 'detached' });
    await panel.getByRole('button', { name: 'Close' }).click();
    const link = await createInviteLink(rita);
    await tess.goto(link);
    await waitConnected(tess);
    await tess.getByRole('alert').filter({ hasText: /banned/i }).waitFor();

    const again = await roomPanel(rita);
    await again.getByLabel('Lift a ban').fill('tess');
    await again.getByRole('button', { name: 'Lift ban' }).click();
    await again.getByRole('status').filter({ hasText: 'tess may join again.' }).waitFor();
    await again.getByRole('button', { name: 'Close' }).click();
    await tess.goto(link);
    await waitConnected(tess);
    await tess.getByRole('heading', { name: '# Operations' }).waitFor();
  });
});

test('invite links can be revoked, people can be removed, blocked, and can leave', async () => {
  await withPages(fixture.browser, 'people-leave', 3, async ([uma, vic, wes]) => {
    await signUp(uma, fixture.server.url, 'uma');
    await signUp(vic, fixture.server.url, 'vic');
    await signUp(wes, fixture.server.url, 'wes');
    await createRoom(uma, 'Garden');
    await addMember(uma, 'vic');

    // A revoked link lets nobody in.
    const link = await createInviteLink(uma);
    const settings = await roomPanel(uma, 'Settings');
    await settings.getByRole('button', { name: 'Revoke all invite links' }).click();
    await settings.getByRole('button', { name: 'Revoke every link?' }).click();
    await settings.getByRole('status').filter({ hasText: 'Revoked 1 invite link.' }).waitFor();
    await settings.getByRole('button', { name: 'Close' }).click();
    await wes.goto(link);
    await waitConnected(wes);
    await wes.getByRole('alert').filter({ hasText: /invite/i }).waitFor();
    await roomLink(wes, '# Garden').waitFor({ state: 'detached' });

    // Vic blocks uma from the member list; it is remembered after a reload.
    await roomLink(vic, '# Garden').click();
    let people = await roomPanel(vic);
    await memberAction(people, 'uma', 'Block', 'Block uma?');
    await people.getByRole('status').filter({ hasText: 'Blocked uma' }).waitFor();
    await vic.reload();
    await waitConnected(vic);
    people = await roomPanel(vic);
    await memberAction(people, 'uma', 'Unblock');
    await people.getByRole('status').filter({ hasText: 'Unblocked uma.' }).waitFor();

    // Vic leaves: the room goes from vic's list and uma sees it.
    await people.getByRole('tab', { name: 'Settings' }).click();
    await people.getByRole('button', { name: 'Leave room' }).click();
    await people.getByRole('button', { name: 'Leave? Press again' }).click();
    await people.waitFor({ state: 'hidden' });
    await roomLink(vic, '# Garden').waitFor({ state: 'detached' });
    await uma.getByRole('log').getByText('vic left').waitFor();

    // Uma adds wes and then removes him.
    await addMember(uma, 'wes');
    await roomLink(wes, '# Garden').waitFor();
    const panel = await roomPanel(uma);
    await memberAction(panel, 'wes', 'Remove from room', 'Remove wes?');
    await panel.getByRole('status').filter({ hasText: 'Removed wes.' }).waitFor();
    await roomLink(wes, '# Garden').waitFor({ state: 'detached' });
    await panel.getByText('1 person · 1 online').waitFor();
  });
});

test('each person chooses which messages of a room notify them, on all their devices', async () => {
  await withPages(fixture.browser, 'people-notify', 2, async ([xia, xiaPhone]) => {
    await signUp(xia, fixture.server.url, 'xia');
    await createRoom(xia, 'Quiet');
    // The same account on a second device.
    await xiaPhone.goto(fixture.server.url);
    await xiaPhone.getByLabel('Username').fill('xia');
    await xiaPhone.getByLabel('Password').fill('correct horse battery');
    await xiaPhone.getByRole('button', { name: 'Log in' }).click();
    await waitConnected(xiaPhone);
    await roomLink(xiaPhone, '# Quiet').click();
    const phonePanel = await roomPanel(xiaPhone, 'Settings');
    assert.equal(await phonePanel.getByLabel('All messages').isChecked(), true);

    const settings = await roomPanel(xia, 'Settings');
    await settings.getByLabel('Mentions only').check();
    await settings.getByRole('status').filter({ hasText: 'Notifications: Mentions only.' }).waitFor();
    // The other device follows at once, and a reload keeps it.
    await phonePanel.getByLabel('Mentions only').waitFor({ state: 'attached' });
    await xiaPhone.waitForFunction(() => document.getElementById('rp-notify-mentions')?.checked);
    await xia.reload();
    await waitConnected(xia);
    const again = await roomPanel(xia, 'Settings');
    await xia.waitForFunction(() => document.getElementById('rp-notify-mentions')?.checked);
    assert.deepEqual(await axeProblems(xia), []);
    await again.getByRole('button', { name: 'Close' }).click();
  });
});
