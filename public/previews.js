// Previews of links in messages, where the server makes them (`--link-previews`): the first
// link of each message gets a card below it with the page's site, title, description and
// image, all served by this server (GET /api/previews?url=, /api/previews/image?url=), so the
// reader's browser never contacts the linked site until the link is opened.
//
// index.html loads this module when a message with a link is on screen, unless the server said
// previews are off (kept for a day in `chat.previews`).

import { el } from '/parts.js';

const OFF_KEY = 'chat.previews';
const DAY_MS = 24 * 3600 * 1000;
const LINKS = '.message .body a[href^="http"]:not([data-previewed])';
const cards = new Map(); // url → Promise of the card's JSON, or null
let off = false;
let observer;

export function start() {
  if (observer) return;
  observer = new MutationObserver(scan);
  observer.observe(document.body, { childList: true, subtree: true });
  scan();
}

function scan() {
  if (off) return;
  for (const link of document.querySelectorAll(LINKS)) {
    link.dataset.previewed = '';
    const body = link.closest('.body');
    if (body.dataset.previewing !== undefined) continue;
    body.dataset.previewing = '';
    show(body, link.href);
  }
}

function cardFor(url) {
  if (!cards.has(url)) {
    cards.set(url, fetch(`/api/previews?url=${encodeURIComponent(url)}`).then((response) => {
      if (response.status === 404) {
        // Previews are off on this server: stop looking for a day.
        off = true;
        observer?.disconnect();
        localStorage.setItem(OFF_KEY, String(Date.now() + DAY_MS));
        return null;
      }
      return response.status === 200 ? response.json() : null;
    }).catch(() => {
      cards.delete(url);
      return null;
    }));
  }
  return cards.get(url);
}

async function show(body, url) {
  const card = await cardFor(url);
  if (!card || !body.isConnected) return;
  const log = body.closest('[role=log]');
  const atBottom = log && log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  body.closest('article')?.querySelector('.link-preview')?.remove();
  const image = card.image
    ? el('img', { src: `/api/previews/image?url=${encodeURIComponent(url)}`, alt: '', loading: 'lazy' })
    : null;
  body.after(el('a', { className: 'link-preview', href: url, target: '_blank', rel: 'noopener noreferrer nofollow' },
    image,
    el('span', { className: 'lp-text' },
      el('span', { className: 'lp-site' }, card.site),
      el('strong', { className: 'lp-title' }, card.title),
      card.description ? el('span', { className: 'lp-description' }, card.description) : null)));
  if (!document.querySelector('link[href="/previews.css"]')) {
    document.head.append(el('link', { rel: 'stylesheet', href: '/previews.css' }));
  }
  if (atBottom) log.scrollTop = log.scrollHeight;
}
