#!/usr/bin/env node
// Writes the small static web site that scripts/capture-http/capture.sh serves with nginx, into
// the directory given as the only argument. Everything comes from one seeded PRNG, so every run
// writes the same bytes: HTML pages, CSS and JavaScript (text, some of it gzip-compressed by
// nginx on the way out), PNG images (real zlib-compressed PNGs of smooth noisy pictures, the
// entropy of photos on the web) and .tar.gz downloads (real gzip of generated text).
//
//   node scripts/capture-http/make-site.mjs /tmp/site
//
// Prints one line per file (size and name). Node only; no packages.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';

const root = process.argv[2];
if (!root || process.argv.length !== 3) {
  console.error('usage: node make-site.mjs OUTPUT_DIR');
  process.exit(2);
}

// mulberry32: a small seeded PRNG; the site only has to be the same on every run.
let state = 0x44757374; // "Dust"
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(rand() * list.length)];
const between = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const WORDS = (
  'the of and to in is was that for on with as by at from his her they be this have not are but had ' +
  'which one you were all their we can there been has more when will would who so no she other its ' +
  'may these about into only some could time them new two over first also after people any most ' +
  'where made through work between should years being under well back much before use right ' +
  'same another many just those how state both high city world year government system place ' +
  'during day number part public little small house report general great local without family ' +
  'water street market river school station history music train bridge garden museum library ' +
  'weather morning evening summer winter north south east west open close early late season ' +
  'council project village harbour festival company student teacher picture letter window ' +
  'mountain island forest coast travel journey recipe kitchen bread coffee guide review notes'
).split(' ');

function sentence() {
  const n = between(6, 22);
  const words = Array.from({ length: n }, () => pick(WORDS));
  if (rand() < 0.15) words.splice(between(1, n - 1), 0, String(between(2, 2024)));
  const text = words.join(' ');
  return text[0].toUpperCase() + text.slice(1) + pick(['.', '.', '.', '?', '!']);
}
const paragraph = () => Array.from({ length: between(2, 7) }, sentence).join(' ');
const slug = () => `${pick(WORDS)}-${pick(WORDS)}`;

function htmlPage(title, paragraphs, assets) {
  const links = Array.from({ length: between(5, 12) }, () => `      <li><a href="/blog/${slug()}.html">${pick(WORDS)} ${pick(WORDS)}</a></li>`);
  const body = [];
  for (let i = 0; i < paragraphs; i++) {
    if (i % 4 === 0) body.push(`    <h2>${sentence().slice(0, -1)}</h2>`);
    body.push(`    <p>${paragraph()}</p>`);
    if (i % 5 === 2 && assets.images.length) {
      body.push(`    <figure><img src="/img/${pick(assets.images)}" alt="${pick(WORDS)}" loading="lazy"><figcaption>${sentence()}</figcaption></figure>`);
    }
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '  <meta charset="utf-8">',
    '  <meta name="viewport" content="width=device-width, initial-scale=1">',
    `  <title>${title}</title>`,
    ...assets.css.map((c) => `  <link rel="stylesheet" href="/static/${c}">`),
    ...assets.js.map((j) => `  <script src="/static/${j}" defer></script>`),
    '</head>',
    '<body>',
    '  <header><nav><ul>',
    ...links,
    '  </ul></nav></header>',
    '  <main>',
    `    <h1>${title}</h1>`,
    ...body,
    '  </main>',
    `  <footer><p>${sentence()}</p></footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function css(rules) {
  const props = ['margin', 'padding', 'color', 'background', 'font-size', 'line-height', 'border', 'display', 'width', 'max-width'];
  const values = ['0', '1rem', '0 auto', '#333', '#f5f5f5', '1.5', '2px solid #ccc', 'block', 'flex', '100%', '48rem', 'none'];
  const out = [];
  for (let i = 0; i < rules; i++) {
    const selector = pick(['.', '#', '']) + pick(WORDS) + (rand() < 0.3 ? ` ${pick(['a', 'p', 'li', 'img', 'span'])}` : '');
    const decls = Array.from({ length: between(2, 6) }, () => `  ${pick(props)}: ${pick(values)};`);
    out.push(`${selector} {\n${decls.join('\n')}\n}`);
  }
  return out.join('\n\n') + '\n';
}

/** Minified-looking JavaScript: short names, few spaces, long lines. */
function js(functions) {
  const out = ['"use strict";'];
  for (let i = 0; i < functions; i++) {
    const name = pick(WORDS) + between(0, 99);
    const a = pick('abcdefghijklmnopqrstuvwxyz'.split(''));
    const stmts = Array.from({ length: between(3, 10) }, () =>
      pick([
        `var ${pick('xyzuvw'.split(''))}=${a}.${pick(WORDS)}||${between(0, 999)};`,
        `if(${a}.${pick(WORDS)}===${JSON.stringify(pick(WORDS))})return ${between(0, 9)};`,
        `${a}.${pick(WORDS)}(${JSON.stringify(sentence().slice(0, between(8, 40)))});`,
        `for(var i=0;i<${a}.length;i++){${a}[i]=${a}[i]*${between(2, 9)}+${between(0, 99)}}`,
        `document.querySelector(".${pick(WORDS)}").addEventListener("click",function(e){e.preventDefault()});`,
      ]),
    );
    out.push(`function ${name}(${a}){${stmts.join('')}}`);
  }
  return out.join('') + '\n';
}

/** A real PNG (8-bit RGB, zlib level 6, filter 'Sub') of a smooth picture with noise. */
function png(width, height) {
  const crcTable = new Uint32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(data).copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const f = [rand() * 0.05, rand() * 0.05, rand() * 0.05];
  const noise = between(6, 24);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 1; // filter type Sub: each byte minus the one 3 bytes to its left
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 60 * Math.sin(x * f[c] + y * f[(c + 1) % 3]) + 40 * Math.cos((x + y) * f[(c + 2) % 3]) + (rand() - 0.5) * noise;
        raw[row + 1 + x * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    // Apply the Sub filter right to left, so that each byte still sees its unfiltered neighbour.
    for (let i = width * 3; i > 3; i--) raw[row + i] = (raw[row + i] - raw[row + i - 3]) & 0xff;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits per sample, truecolour, deflate, filter method 0, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', Buffer.alloc(0))]);
}

const files = new Map();
const images = [];
for (const [name, w, h] of [
  ['logo.png', 96, 48],
  ['icon-search.png', 32, 32],
  ['thumb-1.png', 160, 120],
  ['thumb-2.png', 160, 120],
  ['photo-small.png', 320, 240],
  ['photo-medium.png', 640, 400],
  ['photo-large.png', 1024, 640],
]) {
  files.set(`img/${name}`, png(w, h));
  images.push(name);
}
const assets = { css: ['site.css'], js: ['app.js', 'vendor.js'], images };
files.set('static/site.css', css(260));
files.set('static/print.css', css(40));
files.set('static/app.js', js(180));
files.set('static/vendor.js', js(1400));
files.set('index.html', htmlPage('Harbour Street Notes', 14, assets));
files.set('about.html', htmlPage('About this site', 5, assets));
files.set('contact.html', htmlPage('Contact', 2, { ...assets, images: [] }));
for (let i = 1; i <= 12; i++) files.set(`blog/post-${i}.html`, htmlPage(sentence().slice(0, -1), between(3, 60), assets));
files.set('robots.txt', 'User-agent: *\nDisallow: /downloads/\n');
const bigText = (paragraphs) => Array.from({ length: paragraphs }, paragraph).join('\n\n') + '\n';
files.set('downloads/notes.txt', bigText(120));
files.set('downloads/archive-small.tar.gz', gzipSync(bigText(1500), { level: 9 }));
files.set('downloads/archive-medium.tar.gz', gzipSync(bigText(6000), { level: 9 }));
files.set('downloads/dataset.tar.gz', gzipSync(bigText(24000), { level: 9 }));

for (const [name, content] of files) {
  const path = join(root, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  console.log(`${String(Buffer.byteLength(content)).padStart(9)}  ${name}`);
}
