// Service worker: serves the app shell when the network is gone and keeps it current.
//
// - The app (`/`, `/index.html`) opens from the cached shell at once, without waiting for the
//   network, and the shell is fetched again in the background (stale-while-revalidate): a new
//   deployment is picked up on the next load. Without a cached shell (a first visit) it comes
//   from the network. Other pages go to the network first and fall back to the shell offline.
// - The shell's files (content-hashed JS, WASM, CSS, and the icon and manifest) are cached when
//   the worker installs and whenever a newer shell is fetched. Files that neither the new shell
//   nor the one it replaces name are dropped: the replaced shell may be the one a page is
//   loading right now, and its hashed files are gone from the server after a deployment.
// - The API and the WebSocket are never cached: chat data lives in IndexedDB.
const CACHE = 'chat-shell-v1';
const SHELL = '/';
// With the parts that must work offline: the outbox of files to leave on the server, and
// searching this device's history.
const ALWAYS = ['/manifest.webmanifest', '/icon.svg', '/parts.js', '/upload.js', '/upload.css', '/search.js'];
// The parts loaded on first use (docs/ARCHITECTURE.md, "What loads when"), and the styles of
// calls and file transfers, loaded once the app has drawn: fetched from the
// network first (a deployment's new version with its new server), and kept once used, so they
// open offline too.
const PART = /^\/(?:room-panel|emoji|emoji-data|shortcuts|mention|slash|threads|push|parts|upload|search|previews|calls)\.(?:js|css|json)$/;

self.addEventListener('install', (event) => {
  event.waitUntil(refreshShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

/**
 * The files an index.html needs, by the absolute paths it names, quoted or not: the release
 * build's minified HTML leaves attribute values unquoted (`href=/style-….css`).
 */
function assetsOf(html) {
  const found = new Set(ALWAYS);
  const pattern = /(?:=|["'(])(\/[A-Za-z0-9_./-]+\.(?:js|wasm|css|svg|png|webmanifest))(?=[\s"'>)]|$)/g;
  for (const match of html.matchAll(pattern)) found.add(match[1]);
  return [...found];
}

/**
 * Caches `response` as the shell together with every file it needs. The files are fetched
 * first; if any is missing the old shell stays, so the cache never holds a shell whose files
 * it cannot serve. Then files that neither this shell nor the one it replaces needs are
 * dropped (a page opened from the replaced shell may still be fetching them).
 */
async function storeShell(response) {
  const cache = await caches.open(CACHE);
  const html = await response.clone().text();
  const assets = assetsOf(html);
  const replaced = await cache.match(SHELL);
  const previous = replaced ? assetsOf(await replaced.text()) : [];
  const fetched = [];
  for (const path of assets) {
    // Hashed files never change, so a cached copy is current; the rest are fetched again.
    const hashed = /-[0-9a-f]{16}(_bg)?\./.test(path);
    if (hashed && (await cache.match(path))) continue;
    const asset = await fetch(path, { cache: 'no-cache' });
    if (!asset.ok) return;
    fetched.push([path, asset]);
  }
  for (const [path, asset] of fetched) await cache.put(path, asset);
  await cache.put(SHELL, response);
  const keep = new Set([SHELL, ...assets, ...previous]);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (!keep.has(path) && !PART.test(path)) await cache.delete(request);
  }
}

async function refreshShell() {
  try {
    const response = await fetch(SHELL, { cache: 'no-cache' });
    if (response.ok) await storeShell(response);
  } catch {
    // Offline during install: the next navigation fills the cache.
  }
}

function bypass(url) {
  return url.origin !== self.location.origin
    || url.pathname.startsWith('/api/')
    || url.pathname === '/ws'
    || url.pathname === '/healthz'
    || url.pathname === '/sw.js';
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || bypass(url)) return;
  if (request.mode === 'navigate') {
    // Fetches the page; an answer that is the app becomes the cached shell (with its files).
    const fromNetwork = async () => {
      const response = await fetch(request, { cache: 'no-cache' });
      // Only the app is the shell: a page of its own (the account page, administration)
      // must not take its place, or the app would not open offline afterwards.
      const page = url.pathname.endsWith('.html') && url.pathname !== '/index.html';
      if (!page && response.ok && response.headers.get('content-type')?.includes('text/html')) {
        event.waitUntil(storeShell(response.clone()));
      }
      return response;
    };
    const app = url.pathname === '/' || url.pathname === '/index.html';
    event.respondWith((async () => {
      const shell = app && (await caches.match(SHELL));
      if (shell) {
        // Stale-while-revalidate: the cached shell now (after a restart that saves a new
        // connection and the request), a newer one for the next load.
        event.waitUntil(fromNetwork().catch(() => {}));
        return shell;
      }
      try {
        return await fromNetwork();
      } catch {
        return (await caches.match(SHELL)) ?? Response.error();
      }
    })());
    return;
  }
  if (PART.test(url.pathname)) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request, { cache: 'no-cache' });
        if (response.ok) event.waitUntil(cache.put(url.pathname, response.clone()));
        return response;
      } catch {
        return (await cache.match(url.pathname)) ?? Response.error();
      }
    })());
    return;
  }
  event.respondWith((async () => {
    const cached = await caches.match(url.pathname);
    if (cached) return cached;
    return fetch(request);
  })());
});

// ---- Web Push (signaling/src/push): the server pushes when no tab of this user is open. ----

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data?.json() ?? {};
  } catch {
    // Not ours to read: still show something, as the Push API requires.
  }
  const room = typeof data.room === 'string' ? data.room : '';
  event.waitUntil(self.registration.showNotification(String(data.title || 'Chat'), {
    body: String(data.body || ''),
    // One per room: a newer push replaces the one shown, as the room's Topic does at the
    // push service.
    tag: room ? `room:${room}` : 'chat',
    renotify: true,
    icon: '/icon-192.png',
    data: { room },
  }));
});

// A click opens that room: in a window of the app that is already open (focused, moved to the
// room), or a new one.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const room = event.notification.data?.room;
  const target = room ? `/#/room/${encodeURIComponent(room)}` : '/';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
    if (!open) return self.clients.openWindow(target);
    // A click on the notification allows focusing; without one the window still goes to the room.
    await open.focus().catch(() => {});
    return open.navigate(new URL(target, self.location.origin).href).catch(() => {});
  })());
});

// The push service replaced the subscription: subscribe again and tell the server.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const key = await fetch('/api/push').then((r) => (r.ok ? r.json() : null));
    if (!key) return;
    const subscription = await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key.public_key,
    });
    await fetch('/api/push/subscriptions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(subscription),
    });
  })().catch(() => {}));
});
