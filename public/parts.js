// What the parts loaded on first use (room-panel.js, emoji.js, threads.js) share: building
// elements, and the client ids of the requests they send over the app's socket.

/**
 * An element with `props` (`on…` become listeners, known properties are set, the rest are
 * attributes, `role` always as one) and `children` (null and false are left out).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== 'role') node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c != null && c !== false));
  return node;
}

/** A request's client id: 128 random bits in hex (shared/src/ids.rs allows 64 of [A-Za-z0-9_-]). */
export function clientId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
