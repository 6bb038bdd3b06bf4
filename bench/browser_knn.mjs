#!/usr/bin/env node
// Benchmark (not a test): the kNN graph stage in headless Chromium, WebGPU
// path against the wasm CPU path, both driven through the real page.
//
//   node bench/browser_knn.mjs [--rows 2000,5000,10000] [--dims 64,384] [--runs 3]
//                              [--chromium /usr/bin/chromium] [--timeout-s 900] [--www www]
//                              [--fixed-rows 100]   (0: skip the GPU fixed-cost runs)
//   node bench/browser_knn.mjs --configs 2000x64,5000x384,10000x64   (instead of the rows x dims grid)
//
// For every (N rows, d columns) it writes a seeded numeric CSV (a few
// Gaussian clusters plus a sprinkling of far points, no label column, so no
// label stage runs) to a temp dir, serves www/ with scripts/serve.mjs, and in
// ONE Chromium launched with --enable-unsafe-webgpu (so the SwiftShader WebGPU
// adapter exists) drops the file on the page's file input twice per repetition:
// once with the page's Options > Compute set to "GPU (WebGPU)", once set to
// "CPU" (the backend the worker passes to the wasm Profiler). The order
// alternates between repetitions to spread machine noise over both. Each run
// waits for [data-testid=report-ready], downloads the report JSON through the
// page's own "download-json" button and reads report.compute.timings_ms.knn,
// report.compute.backend/adapter and report.outliers.flagged.
//
// What "knn ms" contains: the whole kNN stage as the report times it. On the
// GPU path that is requesting an adapter and device, building the pipeline,
// uploading, the dispatches and the read-back (a new device every run); on
// the CPU path, the wasm (simd128) brute-force k-NN. k is the page's default
// (10; the page has no k option) and the default maxKnnRows (20000) means
// N <= 20000 is never sampled; the script checks both in the report.
//
// The GPU here is SwiftShader, a CPU implementation of Vulkan: these numbers
// say how the GPU path behaves on a machine without a GPU, not how fast a
// real GPU is. Only dependency: playwright-core.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../scripts/serve.mjs';
import { CHROMIUM_ARGS, WEBGPU_ARG } from '../scripts/chromium-flags.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    rows: [2000, 5000, 10000],
    dims: [64, 384],
    runs: 3,
    chromium: process.env.PREFLIGHT_CHROMIUM || '/usr/bin/chromium',
    timeoutS: 900,
    www: path.join(REPO, 'www'),
    configs: null,
    fixedRows: 100,
    k: 10,
  };
  const list = (s, flag) => {
    const out = String(s).split(',').filter(Boolean).map(Number);
    if (!out.length || out.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`${flag}: want integers >= 2, got ${s}`);
    return out;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--rows') opts.rows = list(value(), flag);
    else if (flag === '--dims') opts.dims = list(value(), flag);
    else if (flag === '--runs') opts.runs = Math.max(1, Number(value()) | 0);
    else if (flag === '--chromium') opts.chromium = value();
    else if (flag === '--timeout-s') opts.timeoutS = Number(value());
    else if (flag === '--www') opts.www = path.resolve(value());
    else if (flag === '--configs') {
      opts.configs = String(value()).split(',').filter(Boolean).map((c) => {
        const m = /^(\d+)x(\d+)$/.exec(c.trim());
        if (!m || Number(m[1]) < 2 || Number(m[2]) < 1) throw new Error(`--configs: want NxD[,NxD...], got ${c}`);
        return [Number(m[1]), Number(m[2])];
      });
    } else if (flag === '--fixed-rows') opts.fixedRows = Math.max(0, Number(value()) | 0);
    else if (flag === '--help' || flag === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 9).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument: ${argv[i]}`);
  }
  opts.configs ??= opts.rows.flatMap((n) => opts.dims.map((d) => [n, d]));
  return opts;
}

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12);

// ---------------------------------------------------------------- data

/** mulberry32: small seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes N rows x d numeric columns: 6 clusters, 0.5% far points. Returns the path. */
function writeCsv(dir, n, d) {
  const file = path.join(dir, `knn_${n}x${d}.csv`);
  const rand = prng(0x5eed ^ (n * 7919) ^ (d * 104729));
  const gauss = () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const clusters = 6;
  const centers = Array.from({ length: clusters }, () => Float64Array.from({ length: d }, () => (rand() - 0.5) * 10));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, Array.from({ length: d }, (_, j) => `f${j}`).join(',') + '\n');
    let buf = [];
    for (let i = 0; i < n; i++) {
      const c = centers[i % clusters];
      const far = rand() < 0.005 ? 6 : 1;
      const row = new Array(d);
      for (let j = 0; j < d; j++) row[j] = (c[j] + far * gauss()).toFixed(4);
      buf.push(row.join(','));
      if (buf.length === 500) {
        fs.writeSync(fd, buf.join('\n') + '\n');
        buf = [];
      }
    }
    if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n');
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

// ---------------------------------------------------------------- page

async function waitForEngine(page, timeoutMs) {
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="engine-status"]')?.dataset.state;
    return s === 'ready' || s === 'failed';
  }, null, { timeout: timeoutMs });
  const state = await page.getAttribute('[data-testid="engine-status"]', 'data-state');
  if (state !== 'ready') throw new Error(`the page's checker failed to load: ${await page.textContent('[data-testid="engine-status"]')}`);
}

async function loadPage(page, url) {
  await page.goto(url);
  await waitForEngine(page, 120_000);
  // The backend select sits inside the Options <details>: open it like a user.
  const open = await page.$eval('[data-testid="options"]', (d) => d.open);
  if (!open) await page.click('[data-testid="options"] > summary');
}

/** One run through the page: pick the backend, drop the file, read the downloaded report. */
async function runOnce(page, file, backend, timeoutMs) {
  await page.selectOption('[data-testid="backend-select"]', backend);
  const before = Number(await page.evaluate(() => document.body.dataset.run || 0));
  await page.setInputFiles('[data-testid="file-input"]', file);
  const id = Number(await page.evaluate(() => document.body.dataset.run || 0));
  if (!(id > before)) throw new Error('dropping the file did not start a run');
  const ready = `[data-testid="report-ready"][data-run="${id}"]`;
  const error = `[data-testid="error"][data-run="${id}"]:not([hidden])`;
  await page.waitForSelector(`${ready}, ${error}`, { timeout: timeoutMs, state: 'attached' });
  if (await page.$(error)) throw new Error(`the page reported an error (${backend}): ${await page.textContent(error)}`);
  const pageSeconds = Number(await page.getAttribute(ready, 'data-seconds'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="download-json"]')]);
  const report = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  await download.delete().catch(() => {});
  return { report, pageSeconds };
}

// ---------------------------------------------------------------- stats

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => '| ' + r.map((v, c) => String(v).padStart(widths[c])).join(' | ') + ' |';
  const sep = '|' + widths.map((w) => '-'.repeat(w + 1) + ':').join('|') + '|';
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pkg = path.join(opts.www, 'pkg', 'preflight_bg.wasm');
  if (!fs.existsSync(opts.chromium)) throw new Error(`no Chromium at ${opts.chromium} (set --chromium or PREFLIGHT_CHROMIUM)`);
  if (!fs.existsSync(pkg)) throw new Error(`no ${pkg}: run scripts/build-web first`);

  // The module is hashed now and at the end: a rebuild of www/pkg during
  // the run would mix two builds in one table.
  const wasmHash = sha256(pkg);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-bench-knn-'));
  const userDataDir = path.join(tmp, 'profile');
  const downloads = path.join(tmp, 'downloads');
  fs.mkdirSync(userDataDir);
  fs.mkdirSync(downloads);
  const server = await startServer({ port: 0, root: opts.www });
  let context;
  const log = (...a) => console.error(...a);
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.chromium,
      headless: true,
      args: [...CHROMIUM_ARGS, WEBGPU_ARG],
      acceptDownloads: true,
      downloadsPath: downloads,
      serviceWorkers: 'block',
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await loadPage(page, server.url);
    const env = await page.evaluate(async () => {
      let adapter = null;
      try {
        const a = await navigator.gpu?.requestAdapter();
        if (a) {
          const i = a.info ?? {};
          adapter = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ') || 'unnamed';
        }
      } catch {
        /* none */
      }
      return { userAgent: navigator.userAgent, adapter, cores: navigator.hardwareConcurrency };
    });
    // The user agent string is reduced (156.0.0.0); the DevTools protocol has the full version.
    let browserVersion = env.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? env.userAgent;
    try {
      const cdp = await context.newCDPSession(page);
      browserVersion = (await cdp.send('Browser.getVersion')).product;
      await cdp.detach();
    } catch {
      /* keep the user agent's */
    }
    const wasmBytes = fs.statSync(pkg).size;
    const header = [
      `kNN stage in headless Chromium, via the page (${server.url}), k=${opts.k}, ${opts.runs} run(s) per backend, medians`,
      `browser: ${browserVersion}; WebGPU adapter in the page: ${env.adapter ?? 'NONE'}`,
      `machine: ${os.cpus().length} vCPU (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
      `wasm: ${path.relative(REPO, pkg)} (${(wasmBytes / 1e6).toFixed(2)} MB, sha256 ${wasmHash}…, modified ${new Date(fs.statSync(pkg).mtimeMs).toISOString()})`,
      'NOTE: shared, noisy machine with 2 cores; SwiftShader is a CPU rasteriser, not a GPU: compare paths, not absolute speed.',
    ];
    log(header.join('\n'));
    if (!env.adapter) log('WARNING: no WebGPU adapter in the page: the "GPU" runs will fail or fall back');

    // The GPU path's fixed cost: the knn stage on a tiny input, where the
    // arithmetic is nothing and adapter/device/pipeline setup is everything.
    // These runs also warm both paths up before anything is measured.
    let fixed = null;
    if (opts.fixedRows > 0) {
      const d = opts.configs[0][1];
      const file = writeCsv(tmp, opts.fixedRows, d);
      fixed = { n: opts.fixedRows, d, times: [] };
      for (let r = 0; r < opts.runs; r++) {
        try {
          const { report } = await runOnce(page, file, 'gpu', opts.timeoutS * 1000);
          if (report.compute?.backend === 'gpu') fixed.times.push(report.compute.timings_ms.knn);
        } catch (err) {
          log(`  fixed-cost run: FAILED: ${err.message.split('\n')[0]}`);
          await loadPage(page, server.url).catch(() => {});
        }
      }
      // Also warms the CPU path once (wasm tier-up), untimed.
      await runOnce(page, file, 'cpu', opts.timeoutS * 1000).catch(() => loadPage(page, server.url).catch(() => {}));
      log(`\nGPU fixed cost, N=${fixed.n} d=${d}: knn ${fixed.times.map((t) => fmt(t)).join(', ')} ms`);
      if (!fixed.times.length) fixed = null;
    }

    const results = [];
    for (const [n, d] of opts.configs) {
      {
        const t0 = Date.now();
        const file = writeCsv(tmp, n, d);
        log(`\nN=${n} d=${d}: ${path.basename(file)} ${(fs.statSync(file).size / 1e6).toFixed(1)} MB written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const runs = { gpu: [], cpu: [] };
        for (let r = 0; r < opts.runs; r++) {
          const order = r % 2 === 0 ? ['gpu', 'cpu'] : ['cpu', 'gpu'];
          for (const backend of order) {
            let out;
            try {
              out = await runOnce(page, file, backend, opts.timeoutS * 1000);
            } catch (err) {
              log(`  run ${r + 1} ${backend}: FAILED: ${err.message.split('\n')[0]}`);
              runs[backend].push({ error: err.message.split('\n')[0] });
              await loadPage(page, server.url).catch(() => {});
              continue;
            }
            const { report, pageSeconds } = out;
            const c = report.compute ?? {};
            const run = {
              knn: c.timings_ms?.knn,
              total: Object.values(c.timings_ms ?? {}).reduce((a, b) => a + b, 0) - (c.concurrent_ms ?? 0),
              pageSeconds,
              backend: c.backend,
              adapter: c.adapter ?? null,
              note: c.note ?? null,
              flagged: report.outliers?.flagged,
              threshold: report.outliers?.distance_threshold,
              metric: report.outliers?.metric,
              k: report.outliers?.k,
              dim: report.embedding?.dimension,
              embedded: report.embedding?.rows,
              sampled: report.embedding?.sampled,
              label: report.class_balance?.label_column ?? null,
            };
            runs[backend].push(run);
            const warn = [];
            if (run.backend !== backend) warn.push(`asked ${backend}, report says ${run.backend}${run.note ? ` (${run.note})` : ''}`);
            if (run.embedded !== n || run.sampled) warn.push(`embedded ${run.embedded} of ${n} rows (sampled: ${run.sampled})`);
            if (run.dim !== d) warn.push(`embedding dimension ${run.dim}, not ${d}`);
            if (run.k !== opts.k) warn.push(`k = ${run.k}`);
            if (run.label) warn.push(`a label column was detected: ${run.label}`);
            log(
              `  run ${r + 1} ${backend}: knn ${fmt(run.knn, 1)} ms (all stages ${fmt(run.total)} ms, page ${fmt(pageSeconds, 2)} s), ` +
                `backend ${run.backend}${run.adapter ? ` [${run.adapter}]` : ''}, ${run.metric}, flagged ${run.flagged}` +
                (warn.length ? `  WARNING: ${warn.join('; ')}` : ''),
            );
          }
        }
        results.push({ n, d, runs });
      }
    }

    // ------------------------------------------------------------ summary
    const rowsOut = [['N', 'd', 'GPU ms (SwiftShader)', 'CPU ms (wasm)', 'CPU/GPU', 'GPU GFLOP/s', 'CPU GFLOP/s', 'flagged GPU/CPU']];
    const problems = [];
    for (const { n, d, runs } of results) {
      const ok = (b) => runs[b].filter((r) => r.knn !== undefined && r.backend === b);
      const g = median(ok('gpu').map((r) => r.knn));
      const c = median(ok('cpu').map((r) => r.knn));
      const flops = 2 * n * n * d;
      const flagsG = [...new Set(ok('gpu').map((r) => r.flagged))];
      const flagsC = [...new Set(ok('cpu').map((r) => r.flagged))];
      const same = flagsG.length === 1 && flagsC.length === 1 && flagsG[0] === flagsC[0];
      if (!same) problems.push(`N=${n} d=${d}: outlier flag counts differ: GPU ${flagsG.join('/') || 'none'}, CPU ${flagsC.join('/') || 'none'}`);
      for (const b of ['gpu', 'cpu']) {
        const failed = runs[b].length - ok(b).length;
        if (failed) problems.push(`N=${n} d=${d}: ${failed} of ${runs[b].length} ${b} run(s) failed or ran on another backend`);
      }
      rowsOut.push([
        n,
        d,
        fmt(g),
        fmt(c),
        fmt(c / g, 2),
        fmt(flops / g / 1e6, 2),
        fmt(flops / c / 1e6, 2),
        `${flagsG.join('/') || '-'} / ${flagsC.join('/') || '-'}${same ? '' : ' MISMATCH'}`,
      ]);
    }
    const adapters = [...new Set(results.flatMap((r) => r.runs.gpu.filter((x) => x.backend === 'gpu').map((x) => JSON.stringify(x.adapter))))];
    console.log('');
    console.log(header.join('\n'));
    console.log(`GPU path adapter (report.compute.adapter): ${adapters.join(', ') || '-'}`);
    if (fixed) console.log(`GPU path fixed cost (knn stage at N=${fixed.n}, d=${fixed.d}, median of ${fixed.times.length}): ${fmt(median(fixed.times))} ms (adapter, device, pipeline, dispatch, read-back); it is inside every GPU number below`);
    console.log(`GFLOP/s = 2*N^2*d / knn time (the distance matrix only; top-k selection and, on the GPU path, device setup are in the time).`);
    console.log('');
    console.log(table(rowsOut));
    console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const wasmHashEnd = fs.existsSync(pkg) ? sha256(pkg) : 'missing';
    if (wasmHashEnd !== wasmHash) problems.push(`${path.relative(REPO, pkg)} changed during the run (sha256 ${wasmHash}… -> ${wasmHashEnd}…): the table may mix two builds`);
    if (pageErrors.length) problems.push(`page errors: ${pageErrors.join(' | ')}`);
    if (problems.length) {
      console.log(`\nPROBLEMS:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    } else {
      console.log('sanity: both backends flagged the same number of outliers in every configuration.');
    }
  } finally {
    await context?.close().catch(() => {});
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(2);
});
