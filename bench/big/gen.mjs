#!/usr/bin/env node
// Writes a synthetic mixed table of a given size, as CSV or JSON lines, the
// same rows for both formats (seeded: the same arguments give the same bytes).
//
//   node bench/big/gen.mjs --format csv --mb 100 --out bench/out/big/mixed-100mb.csv
//   node bench/big/gen.mjs --format jsonl --mb 1024 --out bench/out/big/mixed-1gb.jsonl
//
// Columns: id (unique integer), created_at (date-time), customer_email (30%
// present: personal data to scan), country (Zipf over 40 codes), category
// (12 values), amount (log-normal, 2 decimals), quantity (1-20), rating (1-5,
// 5% missing), is_member (boolean), comment (3-15 words of free text; commas
// make it quoted, 0.5% hold a newline inside the quotes, 0.2% a doubled
// quote), label (ok 80%, review 15%, fraud 5%). 1% of rows repeat an earlier
// row exactly. About 160 bytes a row as CSV.

import fs from 'node:fs';
import path from 'node:path';

function parseArgs(argv) {
  const args = { format: 'csv', mb: 100, seed: 1, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--format') args.format = next();
    else if (a === '--mb') args.mb = Number(next());
    else if (a === '--seed') args.seed = Number(next());
    else if (a === '--out') args.out = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['csv', 'jsonl'].includes(args.format)) throw new Error('--format must be csv or jsonl');
  if (!(args.mb > 0)) throw new Error('--mb must be a positive number');
  if (!args.out) throw new Error('--out FILE is required');
  return args;
}

/** xorshift64*: small, fast, seeded. */
function rng(seed) {
  let s = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  // 53-bit floats from two 32-bit halves keep this fast without BigInt per call.
  let a = Number(s & 0xffffffffn) | 1;
  let b = Number(s >> 32n) | 1;
  return () => {
    // xorshift128-ish on two 32-bit lanes
    let t = a ^ (a << 11);
    a = b;
    b = (b ^ (b >>> 19) ^ (t ^ (t >>> 8))) | 0;
    return (b >>> 0) / 4294967296;
  };
}

const COUNTRIES = 'US GB DE FR IN BR CN JP CA AU ES IT NL SE NO DK FI PL PT IE MX AR CL CO PE ZA NG EG KE MA TR RU UA GR CZ HU RO AT CH BE'.split(' ');
const CATEGORIES = ['books', 'electronics', 'garden', 'toys', 'grocery', 'clothing', 'sports', 'beauty', 'auto', 'music', 'office', 'pets'];
const WORDS = ('the a of and to in is was for on with as by at from that this it be are not but or have had an they which one you were all we when there can been has more if no out so said what up its about into than them only other new some could time these two may first then do any like my now over such our man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three').split(' ');
const LABELS = ['ok', 'review', 'fraud'];

function zipfTable(n, s) {
  const w = Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s));
  const total = w.reduce((x, y) => x + y, 0);
  let acc = 0;
  return w.map((x) => (acc += x / total));
}

function pick(cdf, u) {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function csvField(text) {
  if (/[",\n\r]/.test(text)) return '"' + text.replace(/"/g, '""') + '"';
  return text;
}

function pad(n, width) {
  return String(n).padStart(width, '0');
}

export function* rows(seed) {
  const r = rng(seed);
  const countryCdf = zipfTable(COUNTRIES.length, 1.1);
  const start = Date.UTC(2023, 0, 1) / 1000;
  const recent = [];
  for (let id = 1; ; id++) {
    if (recent.length > 50 && r() < 0.01) {
      yield recent[Math.floor(r() * recent.length)];
      continue;
    }
    const t = new Date((start + Math.floor(r() * 2 * 365 * 86400)) * 1000);
    const created = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)} ${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`;
    const email = r() < 0.3 ? `user${Math.floor(r() * 200000)}@example.com` : null;
    // Box-Muller for a log-normal amount.
    const u1 = Math.max(r(), 1e-12);
    const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * r());
    const amount = Math.round(Math.exp(3.2 + 0.9 * normal) * 100) / 100;
    const words = [];
    const nWords = 3 + Math.floor(r() * 13);
    for (let w = 0; w < nWords; w++) words.push(WORDS[Math.floor(r() * WORDS.length)]);
    if (r() < 0.4) words[Math.floor(r() * nWords)] += ',';
    if (r() < 0.005) words[Math.floor(r() * nWords)] += '\n';
    if (r() < 0.002) words[Math.floor(r() * nWords)] = '"' + words[Math.floor(r() * nWords)] + '"';
    const u = r();
    const row = {
      id,
      created_at: created,
      customer_email: email,
      country: COUNTRIES[pick(countryCdf, r())],
      category: CATEGORIES[Math.floor(r() * CATEGORIES.length)],
      amount,
      quantity: 1 + Math.floor(r() * 20),
      rating: r() < 0.05 ? null : 1 + Math.floor(r() * 5),
      is_member: r() < 0.35,
      comment: words.join(' '),
      label: u < 0.8 ? LABELS[0] : u < 0.95 ? LABELS[1] : LABELS[2],
    };
    if (recent.length < 1000) recent.push(row);
    else recent[Math.floor(r() * 1000)] = row;
    yield row;
  }
}

const COLUMNS = ['id', 'created_at', 'customer_email', 'country', 'category', 'amount', 'quantity', 'rating', 'is_member', 'comment', 'label'];

function csvLine(row) {
  return COLUMNS.map((c) => {
    const v = row[c];
    if (v === null) return '';
    return typeof v === 'string' ? csvField(v) : String(v);
  }).join(',') + '\n';
}

function jsonLine(row) {
  return JSON.stringify(row) + '\n';
}

export function generate({ format, mb, seed, out }) {
  const target = Math.round(mb * 1024 * 1024);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = out + '.part';
  const fd = fs.openSync(tmp, 'w');
  let written = 0;
  let count = 0;
  let buffer = format === 'csv' ? COLUMNS.join(',') + '\n' : '';
  const line = format === 'csv' ? csvLine : jsonLine;
  for (const row of rows(seed)) {
    const text = line(row);
    if (written + buffer.length + text.length > target && count > 0) break;
    buffer += text;
    count++;
    if (buffer.length > 4 << 20) {
      written += fs.writeSync(fd, buffer);
      buffer = '';
    }
  }
  written += fs.writeSync(fd, buffer);
  fs.closeSync(fd);
  fs.renameSync(tmp, out);
  return { rows: count, bytes: fs.statSync(out).size };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('gen.mjs')) {
  try {
    const args = parseArgs(process.argv.slice(2));
    const started = Date.now();
    const { rows: n, bytes } = generate(args);
    console.error(`gen: ${args.out}: ${n} rows, ${(bytes / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`gen: error: ${err.message}`);
    process.exit(2);
  }
}
