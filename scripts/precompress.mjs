// Trunk post-build hook (Trunk.toml): writes `<file>.br` (brotli, quality 11) and `<file>.gz`
// (gzip -9) next to every text and wasm asset of a release build, so the server sends them as
// they are (tower-http ServeDir `precompressed_br`/`precompressed_gzip`) instead of compressing
// on the fly at its fast default level. For the wasm that is ~297 KB instead of ~366 KB on the
// wire (bench/browser/client.mjs measures it).
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a Trunk hook');
// Debug builds are large and rebuilt often; quality 11 would only slow them down.
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);

const COMPRESSIBLE = /\.(html|js|mjs|wasm|css|svg|webmanifest|json)$/;
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (!COMPRESSIBLE.test(name) || !statSync(path).isFile()) continue;
  const bytes = readFileSync(path);
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}
