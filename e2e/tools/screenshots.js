// Renders the main screens into docs/screenshots/ so a person can look at them:
//   node e2e/tools/screenshots.js     (after `trunk build --release` and `cargo build -p signaling`)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestServer } from '../lib/server.js';
import { launch, signUp, say, addMember, roomPanel } from '../lib/browser.js';

const out = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
mkdirSync(out, { recursive: true });
let server;
const browser = await launch();
try {
  for (const scheme of ['light', 'dark']) {
    await server?.dispose();
    server = await TestServer.start();
    const alice = await (await browser.newContext({ viewport: { width: 1000, height: 640 }, colorScheme: scheme })).newPage();
    const bob = await (await browser.newContext({ viewport: { width: 390, height: 700 }, colorScheme: scheme })).newPage();
    await alice.goto(server.url);
    await alice.getByLabel('Username').waitFor();
    await alice.screenshot({ path: join(out, `login-${scheme}.png`) });
    const [a, b] = [`alice_${scheme}`, `bob_${scheme}`];
    await signUp(alice, server.url, a);
    await signUp(bob, server.url, b);
    const inLog = (page, text) => page.getByRole('log').getByText(text).waitFor();
    // A little history elsewhere, so the room list has something to show.
    await say(bob, 'Lunch at noon, anyone?');
    await inLog(alice, 'Lunch at noon');
    const nav = (page) => page.getByRole('navigation', { name: 'Rooms' });
    await nav(alice).getByRole('button', { name: 'New direct message' }).click();
    await alice.getByLabel('Username').fill(b);
    await alice.getByRole('button', { name: 'Start', exact: true }).click();
    await say(alice, 'Can you review my PR later?');
    await nav(alice).getByRole('button', { name: 'New room' }).click();
    await alice.getByLabel('Room name').fill('deploys');
    await alice.getByRole('button', { name: 'Create' }).click();
    await alice.getByRole('heading', { name: '# deploys' }).waitFor();
    await addMember(alice, b);
    await say(alice, 'Morning! Did the deploy go out?');
    await bob.goto(server.url);
    await bob.getByRole('button', { name: 'Rooms' }).click();
    await nav(bob).getByRole('button', { name: /# deploys/ }).click();
    await inLog(bob, 'Did the deploy go out?');
    await say(bob, 'Yes, 10 minutes ago.\nMetrics look fine so far.');
    await inLog(alice, 'Metrics look fine');
    await say(bob, 'Rollback plan is ready if we need it.');
    await inLog(alice, 'Rollback plan');
    await say(alice, 'Great, thanks 🙌');
    await inLog(bob, 'Great, thanks');
    await alice.getByText(`Seen by ${b}`).waitFor();
    await alice.screenshot({ path: join(out, `chat-${scheme}.png`) });
    await bob.screenshot({ path: join(out, `chat-mobile-${scheme}.png`) });
    await bob.getByRole('button', { name: 'Rooms' }).click();
    await bob.screenshot({ path: join(out, `rooms-mobile-${scheme}.png`) });
    // Unread messages: the room opens at the "New messages" line, with a way to the newest.
    await nav(alice).getByRole('button', { name: /# Lobby/ }).click();
    await nav(bob).getByRole('button', { name: /# deploys/ }).click();
    const updates = ['Canary at 5 %', 'Error rate flat', 'Canary at 25 %', 'p99 steady at 41 ms',
      'Canary at 50 %', 'One 502 from the old pool, draining it', 'Canary at 100 %',
      'Old pool drained', 'Dashboards attached to the ticket', 'Closing the deploy window',
      'Thanks all 👋', 'Post-mortem not needed'];
    for (const text of updates) await say(bob, text);
    await nav(alice).getByRole('button', { name: /# deploys/ }).getByText('12 unread').waitFor();
    await nav(alice).getByRole('button', { name: /# deploys/ }).click();
    await alice.getByRole('button', { name: /Jump to latest/ }).waitFor();
    await alice.mouse.move(0, 0);
    await alice.screenshot({ path: join(out, `new-messages-${scheme}.png`) });
    // The room's people, a thread, the emoji picker.
    const people = await roomPanel(alice);
    await people.getByText('2 people · 2 online').waitFor();
    await alice.screenshot({ path: join(out, `people-${scheme}.png`) });
    await people.getByRole('button', { name: 'Close' }).click();
    const rollback = alice.getByRole('log').locator('article').filter({ hasText: 'Rollback plan' });
    await rollback.hover();
    await rollback.getByRole('button', { name: 'Open thread' }).click();
    const thread = alice.getByRole('complementary', { name: 'Thread' });
    await thread.getByLabel('Reply in thread').fill('Keep it warm until Friday, please.');
    await thread.getByLabel('Reply in thread').press('Enter');
    await thread.getByRole('list', { name: 'Thread' }).getByText('Keep it warm').waitFor();
    await alice.mouse.move(0, 0);
    await alice.screenshot({ path: join(out, `thread-${scheme}.png`) });
    await alice.keyboard.press('Escape');
    await alice.getByRole('button', { name: 'Emoji', exact: true }).click();
    const picker = alice.getByRole('dialog', { name: 'Insert an emoji' });
    await picker.getByRole('button', { name: 'rocket' }).waitFor();
    await alice.screenshot({ path: join(out, `emoji-${scheme}.png`) });
    await alice.keyboard.press('Escape');
    // Files left on the server for someone who went away: an image inline, a download.
    await bob.context().close();
    await alice.waitForTimeout(6500); // the presence grace: Bob shows offline
    const chart = Buffer.from((await alice.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 960;
      canvas.height = 540;
      const g = canvas.getContext('2d');
      g.fillStyle = '#f4f6fb';
      g.fillRect(0, 0, 960, 540);
      g.strokeStyle = '#5b5bd6';
      g.lineWidth = 8;
      g.beginPath();
      [420, 380, 400, 300, 320, 220, 240, 160, 150, 120].forEach((y, i) => g.lineTo(60 + i * 95, y));
      g.stroke();
      g.fillStyle = '#2f7d6b';
      g.font = 'bold 44px sans-serif';
      g.fillText('p99 latency after the deploy', 60, 80);
      return canvas.toDataURL('image/png');
    })).split(',')[1], 'base64');
    await alice.getByLabel('Attach files').setInputFiles([
      { name: 'latency.png', mimeType: 'image/png', buffer: chart },
      { name: 'deploy-log.txt', mimeType: 'text/plain', buffer: Buffer.from('deploy 2026-12-06 10:02 ok\n'.repeat(400)) },
    ]);
    await alice.getByRole('log').locator('a.file', { hasText: 'deploy-log.txt' }).waitFor({ timeout: 30_000 });
    await alice.waitForFunction(() => document.querySelector('[role=log] a.file.image img')?.naturalWidth > 0);
    const jump = alice.getByRole('button', { name: /Jump to latest/ });
    if (await jump.isVisible()) await jump.click();
    await alice.getByRole('log').evaluate((log) => { log.scrollTop = log.scrollHeight; });
    await alice.mouse.move(0, 0);
    await alice.screenshot({ path: join(out, `files-${scheme}.png`) });
    await alice.context().close();
  }
  const page = await (await browser.newContext({ viewport: { width: 1000, height: 640 } })).newPage();
  await signUp(page, server.url, 'offline_demo');
  await server.stop();
  await say(page, 'This waits in the outbox until the server is back');
  await page.getByText('Sending…').waitFor();
  await page.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
  await page.screenshot({ path: join(out, 'offline.png') });
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await server.dispose();
}
