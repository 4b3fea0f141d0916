// Service worker: serves the app shell when the network is gone and keeps it current.
//
// - Navigations go to the network first (so a new deployment is picked up on the next load)
//   and fall back to the cached shell offline.
// - The shell's files (content-hashed JS, WASM, CSS, and the icon and manifest) are cached when
//   the worker installs and whenever a newer shell is fetched; files no longer referenced are
//   dropped, so old versions do not pile up.
// - The API and the WebSocket are never cached: chat data lives in IndexedDB.
const CACHE = 'chat-shell-v1';
const SHELL = '/';
const ALWAYS = ['/manifest.webmanifest', '/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(refreshShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

/** The files an index.html needs, by the absolute paths it names. */
function assetsOf(html) {
  const found = new Set(ALWAYS);
  const pattern = /["'](\/[A-Za-z0-9_./-]+\.(?:js|wasm|css|svg|png|webmanifest))["']/g;
  for (const match of html.matchAll(pattern)) found.add(match[1]);
  return [...found];
}

/** Caches `response` as the shell, then every file it needs, then forgets the rest. */
async function storeShell(response) {
  const cache = await caches.open(CACHE);
  const html = await response.clone().text();
  await cache.put(SHELL, response);
  const assets = assetsOf(html);
  await Promise.all(assets.map(async (path) => {
    if (await cache.match(path)) return;
    const asset = await fetch(path);
    if (asset.ok) await cache.put(path, asset);
  }));
  const keep = new Set([SHELL, ...assets]);
  for (const request of await cache.keys()) {
    if (!keep.has(new URL(request.url).pathname)) await cache.delete(request);
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
    event.respondWith((async () => {
      try {
        const response = await fetch(request);
        if (response.ok && response.headers.get('content-type')?.includes('text/html')) {
          event.waitUntil(storeShell(response.clone()));
        }
        return response;
      } catch {
        return (await caches.match(SHELL)) ?? Response.error();
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
