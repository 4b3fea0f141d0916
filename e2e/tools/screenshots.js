// Renders the main screens into docs/screenshots/ so a person can look at them:
//   node e2e/tools/screenshots.js     (after `trunk build --release` and `cargo build -p signaling`)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestServer } from '../lib/server.js';
import { launch, signUp, say } from '../lib/browser.js';

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
    await signUp(alice, server.url, `alice_${scheme}`);
    await signUp(bob, server.url, `bob_${scheme}`);
    await say(alice, 'Morning! Did the deploy go out?');
    await bob.getByText('Did the deploy go out?').waitFor();
    await say(bob, 'Yes, 10 minutes ago.\nMetrics look fine so far.');
    await alice.getByText('Metrics look fine').waitFor();
    await say(bob, 'Rollback plan is ready if we need it.');
    await alice.getByText('Rollback plan').waitFor();
    await say(alice, 'Great, thanks 🙌');
    await bob.getByText('Great, thanks').waitFor();
    await alice.screenshot({ path: join(out, `chat-${scheme}.png`) });
    await bob.screenshot({ path: join(out, `chat-mobile-${scheme}.png`) });
    await alice.context().close();
    await bob.context().close();
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
