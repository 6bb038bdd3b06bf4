#!/usr/bin/env node
// Where a page run's time goes across threads: one preflight run on FILE in
// headless Chromium (the benchmark page, a fresh browser), recorded with
// Chromium's tracing; prints, per thread, the share of each time bin it was
// busy running tasks (a part worker, the coordinator, a kNN helper, V8's
// compile threads), the cores busy in all, and how long V8 spent compiling
// wasm functions with its optimising tier (TurboFan) in the background.
//
//   node bench/big/trace.mjs FILE [--bin-ms 100] [--options JSON] [--out TRACE.json]
//
// Found with it: a 159 KB function that V8 compiled for 0.6 s of a core
// (wasm-pack.toml's inlining limit), kNN helpers idle a fifth of the time
// on nested zero-delay timers, and a whole-file run's second core idle
// before the kNN graph. Busy means a task was running on the thread: with
// more threads than cores, a thread can be busy and still wait for a core,
// so the sum of a bin can pass the cores. The web module must be built
// (scripts/build-web) and bench/node_modules installed (run.mjs does it).
import fs from 'node:fs';
import path from 'node:path';
import { startBenchServer } from '../server.mjs';

const TASKS = new Set(['ThreadControllerImpl::RunTask', 'RunTask', 'ThreadPool_RunTask']);
const CATEGORIES = ['toplevel', 'v8', 'v8.wasm', 'disabled-by-default-v8.wasm.detailed', 'devtools.timeline', 'disabled-by-default-devtools.timeline'];

function parseArgs(argv) {
  const args = { file: null, binMs: 100, options: {}, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--bin-ms') args.binMs = Number(argv[++i]);
    else if (a === '--options') args.options = JSON.parse(argv[++i]);
    else if (a === '--out') args.out = argv[++i];
    else if (!args.file && !a.startsWith('--')) args.file = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!args.file || !fs.existsSync(args.file)) throw new Error('usage: node bench/big/trace.mjs FILE [--bin-ms 100] [--options JSON] [--out TRACE.json]');
  if (!(args.binMs > 0)) throw new Error('--bin-ms takes a number of milliseconds above 0');
  return args;
}

/** Each thread's busy intervals (top-level tasks, nested ones merged), in microseconds. */
function busyIntervals(events) {
  const names = new Map();
  const spans = new Map();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph === 'M' && e.name === 'thread_name') names.set(key, e.args?.name ?? key);
    else if (e.ph === 'X' && TASKS.has(e.name) && e.dur > 0) {
      if (!spans.has(key)) spans.set(key, []);
      spans.get(key).push([e.ts, e.ts + e.dur]);
    }
  }
  const threads = [];
  for (const [key, list] of spans) {
    list.sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const [s, e] of list) {
      const last = merged[merged.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    threads.push({ name: names.get(key) ?? key, spans: merged, busy: merged.reduce((t, [s, e]) => t + e - s, 0) });
  }
  return threads;
}

function table(threads, binUs) {
  const start = Math.min(...threads.map((t) => t.spans[0][0]));
  const end = Math.max(...threads.map((t) => t.spans[t.spans.length - 1][1]));
  const bins = Math.ceil((end - start) / binUs);
  const shown = threads.filter((t) => t.busy >= 50_000).sort((a, b) => b.busy - a.busy);
  const sums = new Array(bins).fill(0);
  const lines = [];
  const pad = (text, width) => String(text).padStart(width);
  lines.push(`${'thread'.padEnd(26)}${pad('busy s', 8)} ${Array.from({ length: bins }, (_, i) => pad(((i * binUs) / 1e6).toFixed(1), 5)).join('')}`);
  for (const t of shown) {
    const share = new Array(bins).fill(0);
    for (let [s, e] of t.spans) {
      while (s < e) {
        const b = Math.floor((s - start) / binUs);
        const stop = Math.min(e, start + (b + 1) * binUs);
        share[b] += stop - s;
        s = stop;
      }
    }
    share.forEach((v, i) => {
      sums[i] += v / binUs;
    });
    lines.push(`${t.name.slice(0, 25).padEnd(26)}${pad((t.busy / 1e6).toFixed(2), 8)} ${share.map((v) => pad(Math.round((100 * v) / binUs), 5)).join('')}`);
  }
  lines.push(`${'cores busy'.padEnd(26)}${pad('', 8)} ${sums.map((v) => pad(v.toFixed(1), 5)).join('')}`);
  return { lines, seconds: (end - start) / 1e6 };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = await import('../../scripts/chromium-flags.mjs');
  const server = await startBenchServer();
  const browser = await chromium.launch({ executablePath: process.env.PREFLIGHT_CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/bench/big/peers.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    await page.setInputFiles('#file', args.file);
    await browser.startTracing(page, { categories: CATEGORIES });
    const run = await page.evaluate((options) => window.benchTools.preflight(options), args.options);
    const trace = await browser.stopTracing();
    if (args.out) fs.writeFileSync(args.out, trace);
    const events = JSON.parse(trace.toString('utf8')).traceEvents ?? [];
    const threads = busyIntervals(events);
    if (!threads.length) throw new Error('the trace holds no tasks');
    const { lines, seconds } = table(threads, args.binMs * 1000);
    const compile = events.filter((e) => e.ph === 'X' && e.name === 'wasm.TopTierCompilation').reduce((t, e) => t + (e.dur ?? 0), 0);
    const stages = Object.entries(run.timings ?? {}).filter(([, ms]) => ms >= 10).sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)}`);
    console.log(`${path.basename(args.file)}: ${run.seconds.toFixed(2)} s (${run.mode}), traced ${seconds.toFixed(2)} s; % of each ${args.binMs} ms a thread was busy`);
    console.log(lines.join('\n'));
    console.log(`optimising compiles of wasm functions (wasm.TopTierCompilation): ${(compile / 1e6).toFixed(2)} s of threads`);
    console.log(`stages (compute.timings_ms, s): ${stages.join(', ')}`);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
