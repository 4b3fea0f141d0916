// The account page as a person uses it: see my devices, sign one out, change my password
// (which signs the others out), sign out everywhere. Two browser contexts are two devices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { axeProblems } from '../lib/axe.js';
import { totp } from '../lib/totp.js';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, waitConnected, artifacts } from '../lib/browser.js';

const fixture = useServerAndBrowser();

async function logIn(page, username, password) {
  await page.goto(fixture.server.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const devices = (page) => page.getByRole('list').locator('li');

test('my devices: sign one out, change the password, sign out everywhere', async () => {
  await withPages(fixture.browser, 'account', 2, async ([laptop, phone]) => {
    const cspViolations = [];
    laptop.on('console', (m) => {
      if (m.text().includes('Content Security Policy')) cspViolations.push(m.text());
    });
    mkdirSync(artifacts, { recursive: true });
    await signUp(laptop, fixture.server.url, 'kim');
    await logIn(phone, 'kim', 'correct horse battery');
    await waitConnected(phone);

    await laptop.screenshot({ path: join(artifacts, 'chat-account-link.png') });
    await laptop.getByRole('link', { name: 'Account' }).click();
    await laptop.getByRole('heading', { name: 'Your account' }).waitFor();
    await laptop.getByText('Signed in as kim').waitFor();
    await devices(laptop).nth(1).waitFor();
    assert.equal(await devices(laptop).count(), 2);
    assert.equal(await laptop.getByText('This device').count(), 1);
    await laptop.getByText('Chrome on Linux').first().waitFor();
    await laptop.screenshot({ path: join(artifacts, 'account-devices.png'), fullPage: true });
    assert.deepEqual(await axeProblems(laptop), []);

    // The other device is signed out at once, and its app says so.
    await devices(laptop).filter({ hasNotText: 'This device' }).getByRole('button', { name: /Sign out/ }).click();
    await phone.getByText('Your session ended. Log in again.').waitFor();
    await laptop.waitForFunction(() => document.querySelectorAll('#devices li').length === 1);

    // A new password signs every other device out; this one stays.
    await logIn(phone, 'kim', 'correct horse battery');
    await waitConnected(phone);
    await laptop.reload();
    await devices(laptop).nth(1).waitFor();
    await laptop.getByLabel('Current password').fill('not my password');
    await laptop.getByLabel('New password', { exact: true }).fill('a new long passphrase');
    await laptop.getByLabel('New password again').fill('a new long passphrase');
    await laptop.getByRole('button', { name: 'Change password' }).click();
    await laptop.getByRole('alert').filter({ hasText: 'Your current password is not right.' }).waitFor();
    await laptop.getByLabel('Current password').fill('correct horse battery');
    await laptop.getByRole('button', { name: 'Change password' }).click();
    await laptop.getByText('Password changed. Every other device was signed out.').waitFor();
    await phone.getByText('Your session ended. Log in again.').waitFor();
    await logIn(phone, 'kim', 'correct horse battery');
    await phone.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await phone.getByLabel('Password').fill('a new long passphrase');
    await phone.getByRole('button', { name: 'Log in' }).click();
    await waitConnected(phone);

    // My data, as a file.
    const [download] = await Promise.all([
      laptop.waitForEvent('download'),
      laptop.getByRole('link', { name: 'Download my data' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'chat-export-kim.json');
    const data = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(data.username, 'kim');
    assert.ok(data.rooms.some((r) => r.room.name === 'Lobby'));

    // Everywhere: both devices end up at the log-in screen.
    laptop.once('dialog', (dialog) => dialog.accept());
    await laptop.getByRole('button', { name: 'Sign out everywhere' }).click();
    await laptop.getByLabel('Username').waitFor();
    await phone.getByText('Your session ended. Log in again.').waitFor();
    assert.deepEqual(cspViolations, [], 'no Content Security Policy violation');
  });
});

test('two-factor: set up with an authenticator, log in with a code, then with a recovery code; then delete the account', async () => {
  await withPages(fixture.browser, 'two-factor', 1, async ([page]) => {
    await signUp(page, fixture.server.url, 'lee');
    await page.goto(`${fixture.server.url}/account.html`);
    await page.getByText('Off. Add a second step').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Turn off two-factor authentication' }).isVisible(), false);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByLabel('Code from the app').waitFor();
    const key = await page.locator('#two-factor-secret').getAttribute('data-key');
    assert.match(key, /^[A-Z2-7]{32}$/);
    assert.match(await page.getByRole('link', { name: 'Open in authenticator app' }).getAttribute('href'), /^otpauth:\/\/totp\/Chat:lee\?/);
    await page.getByLabel('Code from the app').fill('000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
    await page.getByLabel('Code from the app').fill(totp(key));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('Two-factor authentication is on.').waitFor();
    const codes = await page.locator('#recovery-codes li').allTextContents();
    assert.equal(codes.length, 10);
    await page.getByText('Recovery codes left: 10').waitFor();
    // What no longer applies is off the screen: no set-up button or code form once it is on.
    assert.equal(await page.getByRole('button', { name: 'Set up two-factor authentication' }).isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Turn on' }).isVisible(), false);
    await page.screenshot({ path: join(artifacts, 'account-two-factor.png'), fullPage: true });
    assert.deepEqual(await axeProblems(page), []);

    // Log out; the password alone now leads to a code field.
    await page.goto(fixture.server.url);
    await waitConnected(page);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Username').fill('lee');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Enter the code from your authenticator app' }).waitFor();
    await page.screenshot({ path: join(artifacts, 'login-two-factor.png') });
    await page.getByLabel('Authentication code').fill(totp(key, Date.now() / 1000 + 30));
    await page.getByRole('button', { name: 'Log in' }).click();
    await waitConnected(page);

    // A recovery code stands in for the app, once.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Username').fill('lee');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Authentication code').fill(codes[0]);
    await page.getByRole('button', { name: 'Log in' }).click();
    await waitConnected(page);
    await page.goto(`${fixture.server.url}/account.html`);
    await page.getByText('Recovery codes left: 9').waitFor();

    // Turning it off needs the password.
    await page.getByLabel('Password, to turn two-factor off').fill('correct horse battery');
    await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await page.getByText('Off. Add a second step').waitFor();

    // Deleting the account: confirmed, then back at the log-in screen, and the password is gone.
    await page.getByLabel('Password, to delete your account').fill('correct horse battery');
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await page.getByLabel('Username').fill('lee');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
  });
});

test('a display name shows beside the username on my messages', async () => {
  await withPages(fixture.browser, 'display-name', 2, async ([noa, ola]) => {
    await signUp(noa, fixture.server.url, 'noa');
    await signUp(ola, fixture.server.url, 'ola');
    await noa.goto(`${fixture.server.url}/account.html`);
    await noa.getByLabel('Display name').fill('Noa Navarro');
    await noa.getByRole('button', { name: 'Save' }).click();
    await noa.getByText('Saved. Others see "Noa Navarro"').waitFor();
    assert.deepEqual(await axeProblems(noa), []);
    await noa.reload();
    await noa.getByText('Signed in as noa').waitFor();
    assert.equal(await noa.getByLabel('Display name').inputValue(), 'Noa Navarro', 'kept');

    // Push notifications show no message text unless I say so; the choice is kept.
    const pushText = noa.getByLabel("Show the message's text in notifications");
    assert.equal(await pushText.isChecked(), false);
    await pushText.check();
    await noa.getByText('Notifications will show the text of messages.').waitFor();
    await noa.reload();
    await noa.getByText('Signed in as noa').waitFor();
    await noa.waitForFunction(() => document.getElementById('push-text').checked);
    assert.deepEqual(await axeProblems(noa), []);

    await noa.goto(fixture.server.url);
    await waitConnected(noa);
    await noa.getByLabel('Message', { exact: true }).fill('hello from noa');
    await noa.getByRole('button', { name: 'Send' }).click();
    // Ola opens the lobby afresh, so its member list (with the name) is fetched.
    await ola.reload();
    await waitConnected(ola);
    const row = ola.locator('article[data-sender="noa"]').filter({ hasText: 'hello from noa' });
    await row.locator('.sender').filter({ hasText: 'Noa Navarro @noa' }).waitFor();
    await ola.screenshot({ path: join(artifacts, 'chat-display-name.png') });
  });
});
