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

test('a click on a notification brings the open window to its room', async () => {
  const context = await fixture.browser.newContext({ viewport: { width: 1000, height: 700 } });
  try {
    await context.grantPermissions(['notifications'], { origin: fixture.server.url });
    const page = await context.newPage();
    await signUp(page, fixture.server.url, 'pia_click');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: 'New room' }).click();
    await page.getByLabel('Room name').fill('Planning');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: '# Planning' }).waitFor();
    const room = decodeURIComponent(new URL(page.url()).hash.replace('#/room/', ''));
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /# Lobby/ }).click();
    await page.getByRole('heading', { name: '# Lobby' }).waitFor();

    // The worker shows a push for the room, then gets the click (dispatched in the worker: there
    // is no notification centre to click here).
    const [worker] = context.serviceWorkers();
    assert.ok(worker, 'the page has a service worker');
    await worker.evaluate(async (id) => {
      await self.registration.showNotification('ann in #Planning', { tag: `room:${id}`, data: { room: id } });
      const [shown] = await self.registration.getNotifications({ tag: `room:${id}` });
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: shown }));
    }, room);
    await page.getByRole('heading', { name: '# Planning' }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/room/${encodeURIComponent(room)}`);
    const left = await worker.evaluate(async () => (await self.registration.getNotifications()).length);
    assert.equal(left, 0, 'the clicked notification is closed');
  } finally {
    await context.close();
  }
});
