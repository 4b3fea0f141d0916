// The received-file writer, run as a dedicated worker (storage.rs starts it from this source).
// A worker may open a file of the origin-private file system for synchronous access: writes go
// straight into the file. The main thread's writable stream instead sends every block to the
// browser process, which writes it to a swap file and copies that over at the end; on a busy
// machine that cost a quarter of a transfer's speed (bench/browser/p2p.mjs measures it).
//
// Messages in: {op: 'open', dir, name}, {op: 'write', at, parts: [ArrayBuffer] (transferred;
// written one after the other from `at`)},
// {op: 'close'} (flush, then the main thread reads the file), {op: 'discard'}.
// Messages out: {op: 'written', end} after each write, {op: 'failed', name, message} when a
// write fails, {op: 'done', error?: {name, message}} answering each other request in turn.
let dir = null;
let name = null;
let file = null;

function failure(e) {
  return { name: e?.name ?? 'Error', message: String(e?.message ?? e) };
}

async function handle(m) {
  switch (m.op) {
    case 'open': {
      const root = await navigator.storage.getDirectory();
      dir = await root.getDirectoryHandle(m.dir, { create: true });
      name = m.name;
      const entry = await dir.getFileHandle(name, { create: true });
      file = await entry.createSyncAccessHandle();
      file.truncate(0);
      return;
    }
    case 'write': {
      let at = m.at;
      for (const part of m.parts) {
        file.write(new Uint8Array(part), { at });
        at += part.byteLength;
      }
      return at;
    }
    case 'close':
      if (file) {
        file.flush();
        file.close();
        file = null;
      }
      return;
    case 'discard':
      if (file) {
        file.close();
        file = null;
      }
      if (dir && name) await dir.removeEntry(name).catch(() => {});
      return;
    default:
      throw new Error(`unknown request ${m.op}`);
  }
}

// One request at a time, in the order they came: `open` awaits, and writes must not overtake it.
let queue = Promise.resolve();
let failed = false;
onmessage = ({ data: m }) => {
  queue = queue.then(async () => {
    if (m.op === 'write') {
      if (failed) return;
      try {
        postMessage({ op: 'written', end: await handle(m) });
      } catch (e) {
        failed = true;
        postMessage({ op: 'failed', ...failure(e) });
      }
      return;
    }
    try {
      await handle(m);
      postMessage({ op: 'done' });
    } catch (e) {
      postMessage({ op: 'done', error: failure(e) });
    }
  });
};
