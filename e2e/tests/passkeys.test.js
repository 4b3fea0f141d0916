// Passkeys as a person uses them: add one on the account page (the DevTools virtual
// authenticator plays the phone or security key), log in with it without a password, and use
// it in place of the two-factor code. WebAuthn needs a domain name, so these pages are opened
// on localhost rather than 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { totp } from '../lib/totp.js';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, waitConnected, artifacts } from '../lib/browser.js';

const fixture = useServerAndBrowser();
const local = () => fixture.server.url.replace('127.0.0.1', 'localhost');

/** A platform authenticator with user verification (a fingerprint reader) for `page`. */
async function addAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function addPasskey(page, name) {
  await page.goto(`${local()}/account.html`);
  await page.getByLabel('Name of the new passkey').fill(name);
  await page.getByLabel('Password, to add a passkey').fill('correct horse battery');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByText(`Passkey "${name}" added`).waitFor();
}

async function logOut(page) {
  await page.getByRole('button', { name: /Log out/ }).click();
  await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
}

test('add a passkey, then log in with it and no password', async () => {
  await withPages(fixture.browser, 'passkey-login', 1, async ([page]) => {
    mkdirSync(artifacts, { recursive: true });
    const { cdp, authenticatorId } = await addAuthenticator(page);
    await signUp(page, local(), 'pia');
    await addPasskey(page, 'My laptop');
    const listed = page.locator('#passkeys li');
    // "added" shows before the list is drawn again: wait for the row, then count.
    await listed.getByText('not used yet').waitFor();
    assert.equal(await listed.count(), 1);
    await page.screenshot({ path: join(artifacts, 'account-passkeys.png'), fullPage: true });
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds the new passkey');
    assert.equal(credentials[0].rpId, 'localhost');

    await page.goto(local());
    await waitConnected(page);
    await logOut(page);
    await page.getByLabel('Username').fill('pia');
    await page.screenshot({ path: join(artifacts, 'login-passkey.png') });
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    await waitConnected(page);
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(after.credentials[0].signCount >= 1, 'the passkey signed the log-in');

    // The account page shows it used; removing it ends passkey log-in.
    await page.goto(`${local()}/account.html`);
    await page.locator('#passkeys li').getByText('last used').waitFor();
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Remove the passkey My laptop' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#passkeys li').length === 0);
    await page.goto(local());
    await waitConnected(page);
    await logOut(page);
    await page.getByLabel('Username').fill('pia');
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    await page.getByRole('alert').filter({ hasText: 'no passkey' }).waitFor();
  });
});

test('a passkey stands in for the two-factor code; a cancelled one says so', async () => {
  await withPages(fixture.browser, 'passkey-2fa', 1, async ([page]) => {
    const { cdp, authenticatorId } = await addAuthenticator(page);
    await signUp(page, local(), 'quin');
    await addPasskey(page, 'Phone');
    // Two-factor on: the test plays the authenticator app (RFC 6238) only to turn it on.
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByLabel('Code from the app').waitFor();
    const secret = await page.locator('#two-factor-secret').getAttribute('data-key');
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('Keep these recovery codes').waitFor();

    await page.goto(local());
    await waitConnected(page);
    await logOut(page);
    await page.getByLabel('Username').fill('quin');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByLabel('Authentication code').waitFor();
    // No code typed: the passkey answers instead.
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    await waitConnected(page);

    // A person who cancels the browser's prompt is told, and can try again.
    await logOut(page);
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    await page.getByLabel('Username').fill('quin');
    await page.getByRole('button', { name: 'Log in with a passkey' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /\w/ });
    await alert.waitFor();
    const shown = await alert.textContent();
    assert.match(shown, /cancelled|not accepted/, shown);
    await page.screenshot({ path: join(artifacts, 'login-passkey-cancelled.png') });
  });
});
