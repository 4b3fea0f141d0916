// A TCP proxy between Chromium and the server that makes the network slow for real, and counts
// every byte that crosses it.
//
// Why a proxy and not Chrome DevTools' network emulation (`Network.emulateNetworkConditions`):
// emulation set through a page's CDP session applies to that page's requests only. The
// service worker's fetches (a controlled navigation is fetched *by the worker*, network first,
// and so are its install fetches) are not delayed, and neither is a new connection's handshake:
// DevTools adds latency per request, not per round trip. Between Chromium and the server,
// everything is delayed the same way: the page, the worker, the WebSocket, the connection
// setup. The same place counts bytes in both directions (HTTP headers and WebSocket frames
// included; not TCP/IP headers), whoever asked for them.
//
// The model: each direction delays every chunk by half the round trip; a new connection's first
// bytes leave one round trip after the browser dialled (SYN, SYN-ACK; no TLS here, which
// would add one more); with a bandwidth, one link per direction is shared by all connections (one
// radio) and a chunk leaves when the link has sent what was queued before it. Not modelled: TCP
// slow start and packet loss.
import { createServer, connect } from 'node:net';

/**
 * The conditions the client benchmark runs under. "Slow 4G" is Chrome DevTools' preset of that
 * name (front_end/core/sdk/NetworkManager.ts, formerly "Fast 3G"): 1.6 Mbit/s × 0.9 down,
 * 750 kbit/s × 0.9 up, and `targetLatency` 150 ms. DevTools itself applies 150 × 3.75 = 562.5 ms
 * per *request*, a stand-in for the round trips (handshake, slow start) a request-level
 * throttle cannot see; this proxy delays each round trip and the handshake itself, so it uses
 * the 150 ms round trip the preset stands for.
 */
export const CONDITIONS = {
  loopback: { id: 'loopback', label: 'loopback', rttMs: 0 },
  rtt50: { id: 'rtt50', label: '50 ms RTT', rttMs: 50 },
  rtt100: { id: 'rtt100', label: '100 ms RTT', rttMs: 100 },
  slow4g: {
    id: 'slow4g', label: 'Slow 4G (150 ms RTT, 1.44 Mbit/s down, 675 kbit/s up)', rttMs: 150,
    downBytesPerSec: (1.6e6 / 8) * 0.9, upBytesPerSec: (750e3 / 8) * 0.9,
  },
};

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/;
const END = Symbol('end');
const RESET = Symbol('reset');

/** One direction of the shared link: when it is free to send again. */
class Link {
  constructor(bytesPerSec) {
    this.bytesPerSec = bytesPerSec;
    this.free = 0;
  }

  /** When a chunk of `bytes` handed over at `now` has left (now, without a bandwidth). */
  sent(bytes, now) {
    if (!this.bytesPerSec) return now;
    this.free = Math.max(now, this.free) + (bytes * 1000) / this.bytesPerSec;
    return this.free;
  }
}

/**
 * Starts the proxy on a free loopback port; `setTarget(url)` names the server behind it (the
 * proxy's address comes first, since the server must allow the origin pages load from it).
 * Returns { url, setTarget, setConditions, counters, trace, bytesBefore, requests, waitIdle,
 * close }.
 */
export async function startNetem() {
  let target = null;
  let conditions = CONDITIONS.loopback;
  let down = new Link(0);
  let up = new Link(0);
  const totals = { down: 0, up: 0, connections: 0 };
  let lastActivity = Date.now();
  let tracing = null; // [epoch ms, bytes delivered to the browser since tracing began]
  let traceBase = 0;
  let requests = null; // [{ at, method, path }] seen while tracing
  const sockets = new Set();

  /** Forwards `from` to `to`, each chunk delayed; delivered bytes count in `totals[dir]`. */
  function forward(from, to, link, dir, notBefore) {
    const queue = [];
    let timer = null;
    let lastAt = 0;
    const flush = () => {
      timer = null;
      const now = Date.now();
      while (queue.length && queue[0].at <= now) {
        const { chunk } = queue.shift();
        if (chunk === END) { to.end(); continue; }
        if (chunk === RESET) { to.destroy(); continue; }
        if (to.destroyed) continue;
        to.write(chunk);
        totals[dir] += chunk.length;
        lastActivity = now;
        if (tracing && dir === 'down') tracing.push([now, totals.down - traceBase]);
        if (requests && dir === 'up') {
          // Chromium does not pipeline: a request's head starts a chunk. (A WebSocket frame is
          // masked binary, so it does not look like one.)
          const head = REQUEST_LINE.exec(chunk.toString('latin1', 0, 2048));
          if (head) requests.push({ at: now, method: head[1], path: head[2] });
        }
      }
      if (queue.length) timer = setTimeout(flush, queue[0].at - now);
    };
    const push = (chunk) => {
      const now = Date.now();
      const leaves = link.sent(chunk.length ?? 0, Math.max(now, notBefore));
      // Within a connection chunks arrive in order even when the conditions change meanwhile.
      lastAt = Math.max(lastAt, leaves + conditions.rttMs / 2);
      queue.push({ at: lastAt, chunk });
      lastActivity = now;
      if (conditions.rttMs === 0 && !link.bytesPerSec) { flush(); return; }
      if (!timer) timer = setTimeout(flush, Math.max(0, queue[0].at - now));
    };
    let ended = false;
    from.on('data', push);
    from.on('end', () => { ended = true; push(END); });
    from.on('error', () => {});
    // Closed without an end (reset, or an error): the other side is cut off after what was
    // already on its way.
    from.on('close', () => { if (!ended) push(RESET); });
  }

  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    totals.connections++;
    const dialled = Date.now();
    const upstream = connect({ host: target.hostname, port: Number(target.port), allowHalfOpen: true, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    // The browser's first bytes can leave once the handshake's round trip is over.
    forward(client, upstream, up, 'up', dialled + conditions.rttMs);
    forward(upstream, client, down, 'down', 0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    setTarget(url) { target = new URL(url); },
    get conditions() { return conditions; },
    setConditions(next) {
      conditions = next;
      down = new Link(next.downBytesPerSec ?? 0);
      up = new Link(next.upBytesPerSec ?? 0);
    },
    /** Bytes delivered so far in each direction, connections accepted and still open. */
    counters: () => ({ ...totals, open: sockets.size / 2 }),
    /** Starts (or stops) keeping a timeline of the bytes delivered to the browser. */
    trace(on) { tracing = on ? [] : null; requests = on ? [] : null; traceBase = totals.down; },
    /** The HTTP requests that reached the server while tracing: { at (epoch ms), method, path }. */
    requests: () => [...(requests ?? [])],
    /** Bytes delivered to the browser from the trace's start to the epoch time `t`. */
    bytesBefore(t) {
      let bytes = 0;
      for (const [at, total] of tracing ?? []) { if (at > t) break; bytes = total; }
      return bytes;
    },
    /** Resolves once nothing has crossed the proxy for `quietMs`, or after `timeoutMs`. */
    async waitIdle(quietMs, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() - lastActivity < quietMs && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
