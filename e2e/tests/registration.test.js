// An invite-only server, as its people meet it: the first account signs up and runs it; a
// stranger is told sign-up needs an invite; someone with an invite link signs up and lands in
// the room; the administrator creates an account on the account page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, waitConnected, say, artifacts, createInviteLink } from '../lib/browser.js';

const fixture = useServerAndBrowser({ env: { CHAT_REGISTRATION: 'invite-only' } });

test('invite-only: the invite link is the way in; the administrator creates accounts', async () => {
  await withPages(fixture.browser, 'registration', 3, async ([ada, stranger, ben]) => {
    mkdirSync(artifacts, { recursive: true });
    await signUp(ada, fixture.server.url, 'ada');

    await stranger.goto(fixture.server.url);
    await stranger.getByLabel('Username').fill('stranger');
    await stranger.getByLabel('Password').fill('correct horse battery');
    await stranger.getByRole('button', { name: 'Sign up' }).click();
    await stranger.getByRole('alert').filter({ hasText: 'needs an invite link' }).waitFor();
    await stranger.screenshot({ path: join(artifacts, 'signup-invite-required.png') });

    await ada.getByRole('button', { name: 'New room' }).click();
    await ada.getByLabel('Room name').fill('Team');
    await ada.getByRole('button', { name: 'Create' }).click();
    await ada.getByRole('heading', { name: '# Team' }).waitFor();
    const link = await createInviteLink(ada);
    assert.match(link, /\/#\/join\//);

    // With the link, sign-up works and lands in the room.
    await ben.goto(link);
    await ben.getByLabel('Username').fill('ben');
    await ben.getByLabel('Password').fill('correct horse battery');
    await ben.getByRole('button', { name: 'Sign up' }).click();
    await waitConnected(ben);
    await ben.getByRole('heading', { name: '# Team' }).waitFor();
    await say(ben, 'in through the invite');
    await ada.getByText('in through the invite', { exact: true }).waitFor();

    // The administrator creates an account; its owner logs in with it.
    await ada.goto(`${fixture.server.url}/account.html`);
    await ada.getByRole('heading', { name: 'Create an account' }).waitFor();
    await ada.getByLabel('Username', { exact: true }).fill('cyd');
    await ada.getByLabel('Password (at least 8 characters)').fill('correct horse battery');
    await ada.getByRole('button', { name: 'Create account' }).click();
    await ada.getByText('Account cyd created').waitFor();
    await ada.screenshot({ path: join(artifacts, 'account-admin-create.png'), fullPage: true });

    await stranger.getByLabel('Username').fill('cyd');
    await stranger.getByRole('button', { name: 'Log in', exact: true }).click();
    await waitConnected(stranger);

    // Only administrators see that section.
    await ben.goto(`${fixture.server.url}/account.html`);
    await ben.getByText('Signed in as ben').waitFor();
    assert.equal(await ben.getByRole('heading', { name: 'Create an account' }).isVisible(), false);
  });
});
