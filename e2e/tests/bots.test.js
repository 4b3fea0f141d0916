// Bots and webhooks as an administrator sets them up and people meet them: the console makes
// a bot in a room and a webhook for that room (token and secret shown once), the example bot
// in examples/bots runs as a separate process on them, and a person's "!echo" in the chat is
// answered by the bot, as a reply, once. Slash commands: the composer lists the app's and the
// bot's after "/"; /topic, /me, /invite and /help run, and /echo reaches the bot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { axeProblems } from '../lib/axe.js';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say } from '../lib/browser.js';

const fixture = useServerAndBrowser({
  env: { CHAT_WEBHOOKS_ALLOW_PRIVATE: 'true', CHAT_WEBHOOK_RETRY_BASE_MS: '300' },
});
const BOT = fileURLToPath(new URL('../../examples/bots/echo-bot.mjs', import.meta.url));

const log = (page) => page.getByRole('log');

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

test('an administrator adds a bot and a webhook, and the example bot answers in the room', async () => {
  await withPages(fixture.browser, 'bots', 1, async ([boss]) => {
    await signUp(boss, fixture.server.url, 'boss_bot');
    await boss.goto(`${fixture.server.url}/admin.html#integrations`);
    await boss.getByRole('heading', { name: 'Bots', exact: true }).waitFor();

    // A bot in the lobby; its token is shown once.
    await boss.getByRole('textbox', { name: 'Username' }).fill('echo');
    await boss.getByRole('textbox', { name: 'Display name' }).fill('Echo bot');
    await boss.getByRole('listbox', { name: 'Rooms', exact: true }).selectOption({ label: 'Lobby' });
    await boss.getByRole('button', { name: 'Create bot' }).click();
    const tokenBox = boss.locator('#bot-secret');
    await tokenBox.getByText('Copy it now').waitFor();
    const token = (await tokenBox.locator('code').textContent()).trim();
    assert.match(token, /^chatbot_/);
    const botRow = boss.getByRole('row').filter({ has: boss.getByRole('rowheader', { name: /echo/ }) });
    await botRow.waitFor();

    // A webhook for the lobby, to where the bot will listen.
    const port = await freePort();
    await boss.getByRole('combobox', { name: 'Room', exact: true }).selectOption({ label: 'Lobby' });
    await boss.getByRole('textbox', { name: 'URL' }).fill(`http://127.0.0.1:${port}/`);
    await boss.getByRole('button', { name: 'Add webhook' }).click();
    const secretBox = boss.locator('#hook-secret');
    await secretBox.getByText('Copy it now').waitFor();
    const secret = (await secretBox.locator('code').textContent()).trim();
    assert.match(secret, /^whsec_/);
    await boss.getByRole('row').filter({ hasText: `127.0.0.1:${port}` }).waitFor();
    await boss.screenshot({ path: '/tmp/bots-console.png', fullPage: true });
    assert.deepEqual(await axeProblems(boss), []);

    const bot = spawn(process.execPath, [BOT], {
      env: { ...process.env, CHAT_URL: fixture.server.url, BOT_TOKEN: token, WEBHOOK_SECRET: secret, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    bot.stdout.on('data', (chunk) => { output += chunk; });
    bot.stderr.on('data', (chunk) => { output += chunk; });
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the bot did not start: ${output}`)), 15_000);
        bot.stdout.on('data', () => {
          if (output.includes('Listening')) { clearTimeout(timer); resolve(); }
        });
      });
      await boss.goto(fixture.server.url);
      await say(boss, '!echo hello from the lobby');
      const answer = log(boss).locator('article[data-sender="echo"]').filter({ hasText: 'hello from the lobby' });
      await answer.waitFor({ timeout: 20_000 });
      // A reply to the message it answers, shown once.
      await answer.getByText('!echo hello from the lobby').waitFor();
      await boss.waitForTimeout(1500);
      assert.equal(await answer.count(), 1, 'answered once');
      await boss.screenshot({ path: '/tmp/bots-answer.png' });

      // Slash commands: "/" lists the app's and the bot's; /echo goes to the bot as a message.
      const composer = boss.getByLabel('Message', { exact: true });
      await composer.fill('');
      await composer.pressSequentially('/');
      const commands = boss.getByRole('listbox', { name: 'Commands' });
      await commands.waitFor();
      for (const name of ['/topic', '/invite', '/me', '/help', '/echo']) {
        await commands.getByRole('option', { name: new RegExp(`^${name.replace('/', '\\/')}\\b`) }).waitFor();
      }
      await commands.getByRole('option', { name: /echo.*\(echo\)/ }).waitFor();
      await boss.screenshot({ path: '/tmp/bots-commands.png' });
      assert.deepEqual(await axeProblems(boss), []);
      await composer.pressSequentially('ec');
      // Chosen from the narrowed list with the mouse (Enter on an open list runs /help below).
      const echo = commands.getByRole('option', { name: /^\/echo/ });
      await commands.getByRole('option').first().filter({ hasText: '/echo' }).waitFor();
      await echo.click();
      await boss.waitForFunction(() => document.getElementById('composer').value === '/echo ');
      await composer.pressSequentially('said with a slash');
      await boss.keyboard.press('Enter');
      await log(boss).locator('article[data-sender="echo"]').filter({ hasText: 'said with a slash' }).first().waitFor({ timeout: 20_000 });

      // The app's own: /topic sets the topic, /me posts in italics, a bad /invite says why.
      await composer.fill('/topic Where the bots live');
      await boss.keyboard.press('Enter');
      await boss.getByRole('status').filter({ hasText: 'Topic set.' }).waitFor();
      await boss.getByText('Where the bots live').first().waitFor();
      assert.equal(await composer.inputValue(), '');
      await composer.fill('/me waves at the bot');
      await boss.keyboard.press('Enter');
      await log(boss).locator('article[data-sender="boss_bot"] em').filter({ hasText: 'boss_bot waves at the bot' }).waitFor();
      await composer.fill('/invite @nobody_here');
      await boss.keyboard.press('Enter');
      await boss.getByRole('status').filter({ hasText: 'There is no user with that name.' }).waitFor();
      await composer.fill('/help');
      await boss.keyboard.press('Enter');
      await commands.getByRole('option', { name: /\/invite @username/ }).waitFor();
      await boss.keyboard.press('Escape');
      await commands.waitFor({ state: 'hidden' });

      // The console counts what was delivered.
      await boss.goto(`${fixture.server.url}/admin.html#integrations`);
      const hookRow = boss.getByRole('row').filter({ hasText: `127.0.0.1:${port}` });
      await hookRow.getByText('204 No Content').waitFor();
      await botRow.getByText(/ago|now/).waitFor();
    } finally {
      bot.kill();
    }
  });
});
