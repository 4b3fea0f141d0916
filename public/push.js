// Web Push for this browser: subscribes with the server's key and gives the server the
// subscription, filed under this session (it ends with it). Loaded by index.html at start when
// notifications are allowed (a new session files it again), and by "Enable notifications"
// (`data-part="push"`), whose prompt the app opens; the service worker shows what arrives.

const WAIT_MS = 5 * 60 * 1000;
let filed = false;
let running = null;

/** "Enable notifications": once the person has answered the prompt, subscribe if allowed. */
export function open() {
  const asked = Date.now();
  const wait = setInterval(() => {
    if (Notification.permission !== 'default' || Date.now() - asked > WAIT_MS) {
      clearInterval(wait);
      subscribe();
    }
  }, 500);
}

function signedIn() {
  return window.chatSocket?.readyState === WebSocket.OPEN;
}

/** Subscribes (or reuses the subscription) and files it with the server, once per page. */
function subscribe() {
  if (filed || running || !('PushManager' in window) || Notification.permission !== 'granted') return;
  running = (async () => {
    // The server files it under a session: wait until the app is signed in and connected.
    const started = Date.now();
    while (!signedIn()) {
      if (Date.now() - started > WAIT_MS) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const registration = await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      const key = await fetch('/api/push').then((r) => (r.ok ? r.json() : null));
      if (!key) return;
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key.public_key,
      });
    }
    const response = await fetch('/api/push/subscriptions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(subscription),
    });
    filed = response.ok;
  })().catch(() => {
    // No push service in this browser (some private modes, headless builds): the in-app
    // notifications still work while a tab is open.
  }).finally(() => {
    running = null;
  });
}

subscribe();
