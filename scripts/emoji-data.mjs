// Trunk post-build hook step (scripts/post-build.mjs): writes /emoji-data.json, the emoji
// picker's data (public/emoji.js), from the `emojibase-data` npm package (MIT) that
// scripts/setup.sh installs into .tools/emojibase. The picker loads it on first use only.
//
// Shape, kept small (about 32 KB after brotli): [[groupName, [[emoji, label, tags, skins?], …]], …]
// in Unicode's order; `skins` are the five skin-tone variants, light to dark, where the emoji
// has exactly those. Regional indicators and the component group (bare skin-tone and hair
// modifiers) are left out: nobody picks them alone.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run this as a Trunk hook');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, '.tools/emojibase/package.json'));
let emojis;
let messages;
try {
  emojis = require('emojibase-data/en/compact.json');
  messages = require('emojibase-data/en/messages.json');
} catch {
  throw new Error('emojibase-data is missing: run setup_build_tools from scripts/setup.sh');
}

const COMPONENT = 2;
const groups = new Map();
for (const emoji of [...emojis].sort((a, b) => a.order - b.order)) {
  if (emoji.group === undefined || emoji.group === COMPONENT) continue;
  const entry = [emoji.unicode, emoji.label, (emoji.tags ?? []).join(' ')];
  if (emoji.skins?.length === 5) entry.push(emoji.skins.map((s) => s.unicode));
  if (!groups.has(emoji.group)) groups.set(emoji.group, []);
  groups.get(emoji.group).push(entry);
}
const names = new Map(messages.groups.map((g) => [g.order, g.message]));
const data = [...groups].map(([group, list]) => [names.get(group) ?? '', list]);
writeFileSync(join(dir, 'emoji-data.json'), JSON.stringify(data));
