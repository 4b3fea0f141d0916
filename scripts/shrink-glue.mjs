// Trunk post-build hook (Trunk.toml), release builds only, run before precompress.mjs.
//
// wasm-bindgen names each of the ~300 imports `__wbg_<method>_<16 hex digits of hash>`, and the
// same names appear once more as keys in the JS glue. Hex digits do not compress: the names cost
// about 7 KB of the first load after brotli. This renames every import (and every export that
// the glue only uses as `wasm.<name>`) to a one- or two-letter name in both files, minifies the
// glue and index.html's inline scripts with terser. A name the glue uses in a
// way this does not recognise is left as it is, so the result is always consistent.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a Trunk hook');
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// scripts/setup.sh installs terser here (setup_build_tools).
const { minify } = createRequire(join(root, '.tools/terser/package.json'))('terser');

const wasmName = readdirSync(dir).find((n) => n.endsWith('_bg.wasm'));
const jsName = wasmName.replace(/_bg\.wasm$/, '.js');
const wasm = readFileSync(join(dir, wasmName));
let js = readFileSync(join(dir, jsName), 'utf8');

// ---- reading and writing the binary format (https://webassembly.github.io/spec/core/binary/)
function readU32(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    value |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) return [value >>> 0, pos];
    shift += 7;
  }
}
function u32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
}
function readName(buf, pos) {
  const [len, start] = readU32(buf, pos);
  return [buf.toString('utf8', start, start + len), start + len];
}
function name(text) {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([u32(bytes.length), bytes]);
}
function skipLimits(buf, pos) {
  const flags = buf[pos++];
  [, pos] = readU32(buf, pos);
  if (flags & 1) [, pos] = readU32(buf, pos);
  return pos;
}
// Returns the end of an import's description (after its kind byte).
function skipImportDesc(buf, kind, pos) {
  switch (kind) {
    case 0: return readU32(buf, pos)[1]; // function: type index
    case 1: return skipLimits(buf, pos + 1); // table: reftype, limits
    case 2: return skipLimits(buf, pos); // memory: limits
    case 3: return pos + 2; // global: valtype, mutability
    case 4: return readU32(buf, pos + 1)[1]; // tag: attribute, type index
    default: throw new Error(`unknown import kind ${kind}`);
  }
}

// ---- which names the glue uses only in a form this can rewrite
const count = (re) => (js.match(re) || []).length;
const escape = (s) => s.replace(/[$]/g, '\\$');
const word = (n) => new RegExp(`(?<![\\w$])${escape(n)}(?![\\w$])`, 'g');
// An import is a key of the imports object: `name: function` or `name: (`, exactly once.
const importRenamable = (n) => count(word(n)) === 1 && count(new RegExp(`(?<![\\w$])${escape(n)}:`, 'g')) === 1;
// An export is read as `wasm.name`, and in no other way that names it as a property (`.name`,
// a quoted "name", `name:`). A bare identifier of the same name is the glue's own function that
// wraps the export (wasm-bindgen names a closure's invoke shim after it): renaming the export
// leaves that local name alone, and terser shortens it.
const exportRenamable = (n) => {
  const viaWasm = count(new RegExp(`\\bwasm\\.${escape(n)}(?![\\w$])`, 'g'));
  const asProperty = count(new RegExp(`[.'"\`]${escape(n)}(?![\\w$])|(?<![\\w$])${escape(n)}\\s*:`, 'g'));
  return viaWasm > 0 && asProperty === viaWasm;
};

let next = 0;
function shortName() {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let n = next++;
  let out = letters[n % 52];
  n = Math.floor(n / 52);
  while (n > 0) {
    out += letters[(n - 1) % 52];
    n = Math.floor((n - 1) / 52);
  }
  return `_${out}`;
}

const renamedImports = new Map();
const renamedExports = new Map();
const parts = [wasm.subarray(0, 8)];
let pos = 8;
while (pos < wasm.length) {
  const id = wasm[pos];
  const [size, start] = readU32(wasm, pos + 1);
  const end = start + size;
  if (id === 2 || id === 7) {
    const [n, first] = readU32(wasm, start);
    const body = [u32(n)];
    let p = first;
    for (let i = 0; i < n; i++) {
      if (id === 2) {
        let module, field;
        [module, p] = readName(wasm, p);
        [field, p] = readName(wasm, p);
        const descStart = p;
        p = skipImportDesc(wasm, wasm[p], p + 1);
        let renamed = field;
        if (importRenamable(field)) {
          renamed = shortName();
          renamedImports.set(field, renamed);
        }
        body.push(name(module), name(renamed), wasm.subarray(descStart, p));
      } else {
        let field;
        [field, p] = readName(wasm, p);
        const descStart = p;
        p = readU32(wasm, p + 1)[1];
        let renamed = field;
        if (exportRenamable(field)) {
          renamed = shortName();
          renamedExports.set(field, renamed);
        }
        body.push(name(renamed), wasm.subarray(descStart, p));
      }
    }
    if (p !== end) throw new Error(`section ${id} did not parse to its end`);
    const content = Buffer.concat(body);
    parts.push(Buffer.from([id]), u32(content.length), content);
  } else {
    parts.push(wasm.subarray(pos, end));
  }
  pos = end;
}
const newWasm = Buffer.concat(parts);
// The module must still be valid; instantiation is checked by the end-to-end tests.
if (!WebAssembly.validate(newWasm)) throw new Error('the renamed wasm does not validate');

for (const [from, to] of renamedImports) js = js.replace(word(from), to);
for (const [from, to] of renamedExports) {
  js = js.replace(new RegExp(`\\bwasm\\.${escape(from)}(?![\\w$])`, 'g'), `wasm.${to}`);
}
const minified = await minify(js, { module: true, compress: true, mangle: true });
if (!minified.code) throw new Error('terser produced nothing');

writeFileSync(join(dir, wasmName), newWasm);
writeFileSync(join(dir, jsName), minified.code);

// index.html names the files without integrity hashes (frontend/index.html says why), so
// rewriting them leaves it valid.
const htmlPath = join(dir, 'index.html');
let html = readFileSync(htmlPath, 'utf8');
if (/<link\b[^>]*\sintegrity=/.test(html)) throw new Error('index.html has integrity hashes that rewriting the glue would break');
// The page's inline scripts (the wasm's loader, the parts' loader) are minified too: they are
// part of every first load. The server hashes them for its CSP when it starts, as served.
const inline = [];
for (const match of html.matchAll(/<script(\s+type=module)?>([\s\S]*?)<\/script>/g)) {
  const out = await minify(match[2], { module: Boolean(match[1]), compress: true, mangle: true });
  if (!out.code) throw new Error('terser produced nothing for an inline script');
  inline.push([match[0], `<script${match[1] ?? ''}>${out.code}</script>`]);
}
for (const [from, to] of inline) html = html.replace(from, () => to);
writeFileSync(htmlPath, html);
console.log(`shrink-glue: renamed ${renamedImports.size} imports and ${renamedExports.size} exports; ` +
  `wasm ${wasm.length} -> ${newWasm.length} B, glue ${readFileSync(join(dir, jsName)).length} B`);
