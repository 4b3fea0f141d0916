// Web Push in the browser (issue 18): the service worker shows what the server pushes, one
// notification per room. The push itself is delivered with the DevTools protocol
// (ServiceWorker.deliverPushMessage), as there is no push service here; the server's side
// (subscriptions, signing, encryption, who gets what) is tested against a push service written
// for the test in signaling/tests/it/push.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from '../lib/fixture.js';
import { signUp } from '../lib/browser.js';

const fixture = useServerAndBrowser();

test('a push shows a notification for its room, and a newer one replaces it', async () => {
  const context = await fixture.browser.newContext({ viewport: { width: 1000, height: 700 } });
  try {
    await context.grantPermissions(['notifications'], { origin: fixture.server.url });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const registrations = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: list }) => registrations.push(...list));
    await cdp.send('ServiceWorker.enable');
    await signUp(page, fixture.server.url, 'pia_push');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    const origin = new URL(fixture.server.url).origin;
    const registration = registrations.find((r) => r.scopeURL.startsWith(origin) && !r.isDeleted);
    assert.ok(registration, `a service worker for ${origin}`);

    const deliver = (payload) => cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: registration.registrationId,
      data: JSON.stringify(payload),
    });
    const shown = () => page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, room: n.data?.room }));
    });
    const waitShown = async (expected) => {
      let list = [];
      for (let i = 0; i < 50; i++) {
        list = await shown();
        if (JSON.stringify(list) === JSON.stringify(expected)) return;
        await page.waitForTimeout(100);
      }
      assert.deepEqual(list, expected);
    };

    await deliver({ room: 'lobby', title: 'bob in #Lobby', body: 'New message in #Lobby', kind: 'message' });
    await waitShown([{ title: 'bob in #Lobby', body: 'New message in #Lobby', tag: 'room:lobby', room: 'lobby' }]);
    // The same room again: replaced, not piled up. Another room: a second one.
    await deliver({ room: 'lobby', title: 'carl mentioned you in #Lobby', body: 'New message in #Lobby', kind: 'message' });
    await waitShown([{ title: 'carl mentioned you in #Lobby', body: 'New message in #Lobby', tag: 'room:lobby', room: 'lobby' }]);
    await deliver({ room: '00c0ffee00c0ffee', title: 'bob is calling', body: 'Voice call', kind: 'call' });
    let list = await shown();
    for (let i = 0; i < 50 && list.length < 2; i++) {
      await page.waitForTimeout(100);
      list = await shown();
    }
    assert.equal(list.length, 2);
    assert.ok(list.some((n) => n.title === 'bob is calling' && n.room === '00c0ffee00c0ffee'));
  } finally {
    await context.close();
  }
});
