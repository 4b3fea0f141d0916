// Headless Debian Chromium through playwright-core, with screenshots of every page on failure.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const artifacts = fileURLToPath(new URL('../artifacts', import.meta.url));

/**
 * `webrtc: true` adds what WebRTC between pages on loopback needs here (see TOOLCHAIN.md):
 * loopback candidates, and fake camera and microphone (a test pattern and a beep).
 */
export async function launch({ webrtc = false } = {}) {
  const media = webrtc
    ? ['--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']
    : [];
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...media,
    ],
  });
}

/**
 * Like `withPages`, but each person gets their own Chromium process (as two people on two
 * machines would), with camera and microphone allowed.
 */
export async function withBrowsers(name, count, body) {
  const browsers = [];
  const pages = [];
  for (let i = 0; i < count; i++) {
    const browser = await launch({ webrtc: true });
    browsers.push(browser);
    const context = await browser.newContext({
      viewport: { width: 1000, height: 760 },
      permissions: ['camera', 'microphone'],
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`[${name} browser ${i}] ${e}`));
    pages.push(page);
  }
  try {
    await body(pages);
  } catch (error) {
    mkdirSync(artifacts, { recursive: true });
    for (const [i, page] of pages.entries()) {
      const path = join(artifacts, `${name}-${i}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => {});
      console.error(`screenshot saved: ${path}`);
    }
    throw error;
  } finally {
    for (const browser of browsers) await browser.close().catch(() => {});
  }
}

/**
 * Runs `body(pages)` and, if it throws, saves a screenshot of every page it opened into
 * e2e/artifacts/<name>-<n>.png before rethrowing.
 */
export async function withPages(browser, name, count, body) {
  const contexts = [];
  const pages = [];
  for (let i = 0; i < count; i++) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error(`[${name} page ${i}] ${e}`));
    pages.push(page);
  }
  try {
    await body(pages, contexts);
  } catch (error) {
    mkdirSync(artifacts, { recursive: true });
    for (const [i, page] of pages.entries()) {
      const path = join(artifacts, `${name}-${i}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => {});
      console.error(`screenshot saved: ${path}`);
    }
    throw error;
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
  }
}

/** Signs a new user up through the form and waits until the chat is connected. */
export async function signUp(page, baseUrl, username, password = 'correct horse battery') {
  await page.goto(baseUrl);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await waitConnected(page);
}

export async function waitConnected(page) {
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 15_000 });
}

export async function say(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** The room panel (People and Settings), opened on `tab` for the room on screen. */
export async function roomPanel(page, tab = 'People') {
  await page.getByRole('button', { name: tab, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('tab', { name: tab, selected: true }).waitFor();
  return dialog;
}

/** Adds `username` to the room on screen through the People tab, then closes the panel. */
export async function addMember(page, username) {
  const dialog = await roomPanel(page);
  await dialog.getByLabel('Add someone').fill(username);
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await dialog.getByRole('status').filter({ hasText: `Added ${username}.` }).waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/** Makes an invite link for the room on screen (Settings tab) and returns it. */
export async function createInviteLink(page) {
  const dialog = await roomPanel(page, 'Settings');
  await dialog.getByRole('button', { name: 'Create invite link' }).click();
  const input = dialog.getByLabel('Invite link');
  for (let i = 0; i < 50 && !(await input.inputValue()).includes('/#/join/'); i++) {
    await page.waitForTimeout(100);
  }
  const link = await input.inputValue();
  await dialog.getByRole('button', { name: 'Close' }).click();
  return link;
}
