// The account page as a person uses it: see my devices, sign one out, change my password
// (which signs the others out), sign out everywhere. Two browser contexts are two devices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, waitConnected, artifacts } from '../lib/browser.js';

const fixture = useServerAndBrowser();
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function logIn(page, username, password) {
  await page.goto(fixture.server.url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const devices = (page) => page.getByRole('list').locator('li');

/** Serious and critical accessibility problems axe-core finds on the page. */
async function axeProblems(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run());
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('my devices: sign one out, change the password, sign out everywhere', async () => {
  await withPages(fixture.browser, 'account', 2, async ([laptop, phone]) => {
    const cspViolations = [];
    laptop.on('console', (m) => {
      if (m.text().includes('Content Security Policy')) cspViolations.push(m.text());
    });
    await signUp(laptop, fixture.server.url, 'kim');
    await logIn(phone, 'kim', 'correct horse battery');
    await waitConnected(phone);

    await laptop.getByRole('link', { name: 'Account' }).click();
    await laptop.getByRole('heading', { name: 'Your account' }).waitFor();
    await laptop.getByText('Signed in as kim').waitFor();
    await devices(laptop).nth(1).waitFor();
    assert.equal(await devices(laptop).count(), 2);
    assert.equal(await laptop.getByText('This device').count(), 1);
    await laptop.getByText('Chrome on Linux').first().waitFor();
    mkdirSync(artifacts, { recursive: true });
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

    // Everywhere: both devices end up at the log-in screen.
    laptop.once('dialog', (dialog) => dialog.accept());
    await laptop.getByRole('button', { name: 'Sign out everywhere' }).click();
    await laptop.getByLabel('Username').waitFor();
    await phone.getByText('Your session ended. Log in again.').waitFor();
    assert.deepEqual(cspViolations, [], 'no Content Security Policy violation');
  });
});
