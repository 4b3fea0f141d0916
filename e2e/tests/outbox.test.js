// The in-memory outbox against a strict server: a burst of resends after a reconnect hits the
// per-socket rate limit, and every message must still arrive, once, without the user's help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from '../lib/fixture.js';
import { withPages, signUp, say, waitConnected } from '../lib/browser.js';

const fixture = useServerAndBrowser({
  // 2 frames/s with a burst of 6: far below what the resend burst needs.
  env: { CHAT_SOCKET_FRAMES_PER_SECOND: '2' },
});

test('rate-limited resends are retried until every queued message is stored', async () => {
  await withPages(fixture.browser, 'outbox-rate-limit', 2, async ([kim, lee]) => {
    await signUp(kim, fixture.server.url, 'kim');
    await signUp(lee, fixture.server.url, 'lee');
    await fixture.server.stop();
    await kim.getByRole('status').filter({ hasText: /Offline|Connecting/ }).waitFor();
    const queued = 12;
    for (let i = 0; i < queued; i++) await say(kim, `queued ${i}`);
    await fixture.server.boot();
    await waitConnected(kim);

    const log = (page) => page.getByRole('log');
    await log(lee).getByText(`queued ${queued - 1}`).waitFor({ timeout: 20_000 });
    await log(kim).getByText('Sending…').first().waitFor({ state: 'detached', timeout: 20_000 });
    assert.equal(await log(kim).getByText('Not sent').count(), 0, 'nothing gave up');
    // Each exactly once. (Order across retries is not promised: a token can refill between two
    // frames of a resend burst, letting a later message in before an earlier one.)
    const seen = await log(lee).locator('article[data-sender="kim"] .body').allTextContents();
    const expected = Array.from({ length: queued }, (_, i) => `queued ${i}`);
    assert.deepEqual([...seen].sort(), [...expected].sort());
  });
});
