// Trunk post-build step, after every step that rewrites a file (post-build.mjs): names each
// content-hashed file (`<stem>-<hex digits>` + `.js`, `_bg.wasm` or `.css`) by the first 16
// hex digits of the SHA-256 of what it holds now, and rewrites the names where other files give them.
//
// Why: Trunk hashes the glue and the wasm before the post-build hooks run, and shrink-glue.mjs
// rewrites both afterwards. The server serves hashed names as immutable and the service worker
// never fetches a hashed file it has cached again, so a change to that hook alone would put
// new contents under the old names: a browser holding one of the pair would load it with the
// other's new version. e2e/tests/offline.test.js checks every name against what is served.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a Trunk hook');

// Trunk writes its hash without leading zeros: one build in 16 names a file with 15 digits,
// which neither the server (`routes::is_hashed_asset`) nor the service worker took for a hash.
const HASHED = /^(.+)-[0-9a-f]{12,16}(_bg\.wasm|\.js|\.css)$/;
// The glue names its wasm (the default URL it loads), so the files a JS file may name are
// renamed first; index.html, which names them all, is rewritten last.
const rank = (name) => (name.endsWith('.js') ? 1 : 0);
const hashed = readdirSync(dir)
  .filter((name) => HASHED.test(name))
  .sort((a, b) => rank(a) - rank(b));

const renames = new Map();
const renamedIn = (text) => {
  for (const [from, to] of renames) text = text.replaceAll(from, to);
  return text;
};
for (const name of hashed) {
  const [, stem, ending] = name.match(HASHED);
  let bytes = readFileSync(join(dir, name));
  if (ending === '.js') {
    const text = bytes.toString('utf8');
    const rewritten = renamedIn(text);
    if (rewritten !== text) {
      bytes = Buffer.from(rewritten, 'utf8');
      writeFileSync(join(dir, name), bytes);
    }
  }
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const renamed = `${stem}-${digest}${ending}`;
  if (renamed !== name) {
    renameSync(join(dir, name), join(dir, renamed));
    renames.set(name, renamed);
  }
}

for (const page of readdirSync(dir).filter((name) => name.endsWith('.html'))) {
  const text = readFileSync(join(dir, page), 'utf8');
  const rewritten = renamedIn(text);
  if (rewritten !== text) writeFileSync(join(dir, page), rewritten);
}
console.log(`name-by-content: ${hashed.length} hashed files, ${renames.size} renamed`);
