// Link previews: a message with a link shows the page's card, made by the server from a site
// written for the test on loopback (the server runs with the test-only allowance).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, artifacts } from '../lib/browser.js';
import { axeProblems } from '../lib/axe.js';

const fixture = useServerAndBrowser({
  env: { CHAT_LINK_PREVIEWS: 'true', CHAT_LINK_PREVIEWS_ALLOW_PRIVATE: 'true' },
});

// A 1×1 PNG is enough for the server to recognise and re-encode.
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYPgPAAEDAQAIicLsAAAAAElFTkSuQmCC',
  'base64',
);
let site;
let siteUrl;
let pageHits = 0;

before(async () => {
  site = createServer((request, response) => {
    if (request.url === '/notes') {
      pageHits++;
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><title>Fallback</title>
        <meta property="og:title" content="Quarterly planning notes">
        <meta property="og:description" content="Goals, owners and dates for the next three months.">
        <meta property="og:site_name" content="Team Wiki">
        <meta property="og:image" content="/cover.png">`);
    } else if (request.url === '/cover.png') {
      response.writeHead(200, { 'Content-Type': 'image/png' });
      response.end(PIXEL);
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}`;
});

after(() => site?.close());

test('a link in a message shows a preview card made by the server', async () => {
  await withPages(fixture.browser, 'previews', 2, async ([pia, quin]) => {
    await signUp(pia, fixture.server.url, 'pv_pia');
    await signUp(quin, fixture.server.url, 'pv_quin');
    await say(pia, `the plan is at ${siteUrl}/notes`);
    for (const page of [pia, quin]) {
      const card = page.getByRole('log').locator('a.link-preview');
      await card.waitFor({ timeout: 20_000 });
      assert.equal(await card.getAttribute('href'), `${siteUrl}/notes`);
      assert.match(await card.innerText(), /Team Wiki\s+Quarterly planning notes\s+Goals, owners and dates/);
      await page.waitForFunction(() => document.querySelector('a.link-preview img')?.naturalWidth > 0);
      // The image comes from this server, not the site.
      const src = await card.locator('img').getAttribute('src');
      assert.ok(src.startsWith('/api/previews/image?url='), src);
    }
    assert.equal(pageHits, 1, 'the server fetched the page once for both readers');
    const problems = await axeProblems(quin);
    assert.deepEqual(problems, [], JSON.stringify(problems, null, 2));
    mkdirSync(artifacts, { recursive: true });
    await quin.screenshot({ path: join(artifacts, 'previews.png') });
  });
});
