// Renders the app's PNG icons from public/icon.svg with the e2e suite's Playwright and Debian's
// Chromium (after `npm ci` in e2e/: node e2e/tools/make-icons.mjs). The PNGs are
// committed; run this again when the icon changes. The maskable and Apple icons are full
// bleed with the glyph inside the maskable safe zone (the platform rounds or crops them).
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public');
const icon = readFileSync(join(publicDir, 'icon.svg'), 'utf8');
const glyph = icon.replace(/^[\s\S]*?<rect[^>]*\/>/, '').replace(/<\/svg>\s*$/, '');
const fullBleed = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <rect width="64" height="64" fill="#4f46e5"/>
  <g transform="translate(32 32) scale(0.7) translate(-32 -31)">${glyph}</g>
</svg>`;
const jobs = [
  [icon, 192, 'icon-192.png', true],
  [icon, 512, 'icon-512.png', true],
  [fullBleed, 512, 'icon-maskable-512.png', false],
  [fullBleed, 180, 'apple-touch-icon.png', false],
];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' });
for (const [svg, size, name, transparent] of jobs) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  await page.setContent(`<body style="margin:0;background:transparent"><img src="${src}" width=${size} height=${size} style="display:block"></body>`);
  await page.waitForFunction(() => document.images[0].complete);
  await page.screenshot({ path: join(publicDir, name), omitBackground: transparent });
  await page.close();
}
await browser.close();
