// Shared pieces of the browser tests: the browser, the server, the CLI, and
// comparisons between the page's report and the command line's.
//
// Environment:
//   PREFLIGHT_BIN       the native CLI (default target/release/preflight, then target/debug/preflight)
//   PREFLIGHT_CHROMIUM  the browser (default /usr/bin/chromium)
//   PREFLIGHT_WWW       the site root to serve (default www/)

import assert from 'node:assert/strict';
import { CHROMIUM_ARGS, WEBGPU_ARG } from '../../scripts/chromium-flags.mjs';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO, 'tests', 'fixtures');
export const WWW = process.env.PREFLIGHT_WWW ? path.resolve(process.env.PREFLIGHT_WWW) : path.join(REPO, 'www');
export const CHROMIUM = process.env.PREFLIGHT_CHROMIUM || '/usr/bin/chromium';

/** Time allowed for one profile run in the page (SwiftShader WebGPU is slow). */
export const RUN_TIMEOUT_MS = Number(process.env.PREFLIGHT_E2E_RUN_TIMEOUT_MS || 120_000);

const BASE_ARGS = CHROMIUM_ARGS;

/** Fails loudly when something the tests need is missing: nothing is skipped. */
export function requirePrerequisites() {
  const missing = [];
  if (!fs.existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM} (set PREFLIGHT_CHROMIUM or run scripts/setup)`);
  if (!fs.existsSync(path.join(WWW, 'pkg', 'preflight.js'))) missing.push(`${path.join(WWW, 'pkg', 'preflight.js')} (run scripts/build-web)`);
  if (!fs.existsSync(FIXTURES)) missing.push(`the fixtures in ${FIXTURES}`);
  try {
    cliPath();
  } catch (err) {
    missing.push(err.message);
  }
  if (missing.length) throw new Error(`browser tests cannot run; missing:\n  - ${missing.join('\n  - ')}`);
}

/** The native CLI's path. */
export function cliPath() {
  const candidates = process.env.PREFLIGHT_BIN
    ? [path.resolve(process.env.PREFLIGHT_BIN)]
    : [path.join(REPO, 'target', 'release', 'preflight'), path.join(REPO, 'target', 'debug', 'preflight')];
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`the preflight CLI (looked for ${candidates.join(', ')}; build it with cargo build --release or set PREFLIGHT_BIN)`);
}

export function makeTempDir(prefix = 'preflight-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Runs `preflight profile FILE --json OUT --rows OUT`. Resolves to
 * {status, report, rowsCsv, stderr}; report and rowsCsv are null when the CLI
 * refused the input (exit status 2).
 */
export function runCli(file, extraArgs = []) {
  const dir = makeTempDir('preflight-cli-');
  const jsonOut = path.join(dir, 'report.json');
  const rowsOut = path.join(dir, 'rows.csv');
  const result = spawnSync(cliPath(), ['profile', file, '--json', jsonOut, '--rows', rowsOut, ...extraArgs], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  try {
    if (result.error) throw result.error;
    if (result.status === 0 || result.status === 1) {
      assert.ok(fs.existsSync(jsonOut), `CLI exited ${result.status} on ${file} without writing ${jsonOut}; stderr:\n${result.stderr}`);
      return {
        status: result.status,
        report: JSON.parse(fs.readFileSync(jsonOut, 'utf8')),
        rowsCsv: fs.existsSync(rowsOut) ? fs.readFileSync(rowsOut, 'utf8') : null,
        stderr: result.stderr,
      };
    }
    if (result.status === 2) return { status: 2, report: null, rowsCsv: null, stderr: result.stderr };
    throw new Error(`CLI exited with ${result.status} (signal ${result.signal}) on ${file}; stderr:\n${result.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- browser

/**
 * Starts the server and a fresh Chromium. `webgpu` adds --enable-unsafe-webgpu
 * (SwiftShader adapter); without it there is no adapter and the CPU path runs.
 * Every request the browser makes and every request the server sees is logged.
 */
export async function startSession({ webgpu }) {
  const serverLog = [];
  const server = await startServer({ port: 0, root: WWW, onRequest: (method, urlPath) => serverLog.push({ method, urlPath, at: Date.now() }) });
  const userDataDir = makeTempDir('preflight-chromium-');
  const downloadsDir = makeTempDir('preflight-downloads-');
  // A fresh profile each time; Playwright passes it as --user-data-dir.
  const args = [...BASE_ARGS];
  if (webgpu) args.push(WEBGPU_ARG);
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args,
      acceptDownloads: true,
      downloadsPath: downloadsDir,
      serviceWorkers: 'block',
      viewport: { width: 1280, height: 900 },
    });
  } catch (err) {
    await server.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.rmSync(downloadsDir, { recursive: true, force: true });
    throw err;
  }
  const requests = [];
  const record = (source) => (request) => {
    requests.push({ source, url: request.url(), method: request.method(), resourceType: request.resourceType(), at: Date.now() });
  };
  context.on('request', record('context'));
  const watchPage = (page) => {
    page.on('request', record('page'));
    page.on('worker', (worker) => requests.push({ source: 'worker-created', url: worker.url(), method: '', resourceType: 'worker', at: Date.now() }));
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  const pageErrors = [];
  const session = {
    server,
    context,
    requests,
    serverLog,
    pageErrors,
    webgpu,
    async newPage() {
      const page = context.pages().find((p) => p.url() === 'about:blank') ?? (await context.newPage());
      page.on('pageerror', (err) => pageErrors.push(err));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(new Error(`console: ${message.text()}`));
      });
      await page.goto(server.url, { waitUntil: 'load' });
      await waitEngineReady(page);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await server.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
      fs.rmSync(downloadsDir, { recursive: true, force: true });
    },
  };
  return session;
}

/**
 * The set-up of a page test file's `describe`: registers the hooks that
 * start a session (`webgpu` as for startSession) with the page open and a
 * fresh temporary folder, then `prepare(page)`, and that close and remove
 * them. Returns the object whose `session`, `page` and `dir` the `before`
 * hook fills.
 */
export function pageSession({ webgpu = false, prepare } = {}) {
  const ctx = {};
  before(async () => {
    requirePrerequisites();
    ctx.dir = makeTempDir();
    ctx.session = await startSession({ webgpu });
    ctx.page = await ctx.session.newPage();
    if (prepare) await prepare(ctx.page);
  });
  after(async () => {
    await ctx.session?.close();
    if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

/** Waits until the worker has loaded the wasm module (or failed to). */
export async function waitEngineReady(page) {
  const handle = await page.waitForFunction(
    () => {
      const state = document.querySelector('[data-testid="engine-status"]')?.dataset.state;
      return state === 'ready' || state === 'failed' ? state : null;
    },
    null,
    { timeout: 60_000 },
  );
  const state = await handle.jsonValue();
  if (state !== 'ready') {
    const error = await page.locator('[data-testid="error"]').textContent();
    throw new Error(`the page's checker failed to load: ${error}`);
  }
}

async function currentRun(page) {
  return page.evaluate(() => Number(document.body.dataset.run || 0));
}

/**
 * Waits for the run after `previousRun` to end. Resolves to
 * {ok: true} when the report is shown or {ok: false, error} when the error
 * element is shown.
 */
export async function waitRunEnd(page, previousRun, timeout = RUN_TIMEOUT_MS) {
  const handle = await page.waitForFunction(
    (prev) => {
      const run = Number(document.body.dataset.run || 0);
      if (run <= prev) return null;
      const ready = document.querySelector(`[data-testid="report-ready"][data-run="${run}"]`);
      if (ready) return { ok: true, run };
      const error = document.querySelector('[data-testid="error"]');
      if (error && !error.hidden && error.dataset.run === String(run)) return { ok: false, run, error: error.textContent };
      return null;
    },
    previousRun,
    { timeout, polling: 50 },
  );
  return handle.jsonValue();
}

/** Runs a file through the page's file input. */
export async function runViaInput(page, file, { expectError = false } = {}) {
  const before = await currentRun(page);
  await page.locator('[data-testid="file-input"]').setInputFiles(file);
  return checkOutcome(await waitRunEnd(page, before), file, expectError);
}

/** Runs a file through a real drop event on the drop zone. */
export async function runViaDrop(page, file, { expectError = false, name = path.basename(file), type = '' } = {}) {
  const before = await currentRun(page);
  await dropFile(page, file, { name, type });
  return checkOutcome(await waitRunEnd(page, before), file, expectError);
}

function checkOutcome(outcome, file, expectError) {
  if (expectError && outcome.ok) throw new Error(`expected an error for ${file}, but the page showed a report`);
  if (!expectError && !outcome.ok) throw new Error(`the page showed an error for ${file}: ${outcome.error}`);
  return outcome;
}

/** Builds a DataTransfer holding the file's bytes and dispatches dragenter, dragover and drop. */
export async function dropFile(page, file, { name = path.basename(file), type = '' } = {}) {
  const base64 = fs.readFileSync(file).toString('base64');
  const dataTransfer = await page.evaluateHandle(
    ({ base64, name, type }) => {
      const binary = atob(base64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type }));
      return transfer;
    },
    { base64, name, type },
  );
  const zone = page.locator('[data-testid="dropzone"]');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await dataTransfer.dispose();
}

/** What the page looked like around a download button: for a click that started no download. */
async function downloadButtonState(page, testid) {
  return page
    .evaluate((id) => {
      const node = document.querySelector(`[data-testid="${id}"]`);
      const box = node?.getBoundingClientRect();
      const over = box && box.width > 0 ? document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) : null;
      return {
        button: node ? { hidden: node.hidden, insideHidden: Boolean(node.closest('[hidden]')), box: box && [box.x, box.y, box.width, box.height].map(Math.round), onTop: over === node } : 'missing',
        clicksSeen: Number(node?.dataset.e2eClicks || 0),
        run: document.body.dataset.run,
        ready: [...document.querySelectorAll('[data-testid="report-ready"]')].map((n) => n.dataset.run),
        status: document.querySelector('[data-testid="status"]')?.textContent,
        error: document.querySelector('[data-testid="error"]:not([hidden])')?.textContent ?? null,
      };
    }, testid)
    .catch((e) => `(page state unreadable: ${e.message})`);
}

/**
 * Clicks a download button; resolves to {name, url, text}.
 *
 * Over a few hundred downloads per CI run, one click in about two runs gave
 * no download event in 30 s (sessions 19-20, different fixtures each time,
 * never reproduced in isolation). A click that starts no download within
 * 15 s is logged with the page's state (was the button shown, on top, did
 * the click reach it) and clicked once more; a second miss fails the test.
 */
export async function download(page, testid) {
  const button = page.locator(`[data-testid="${testid}"]`);
  // Counts the clicks that reach the button, for the log below.
  await button.evaluate((node) => {
    if (node.dataset.e2eCounted) return;
    node.dataset.e2eCounted = '1';
    node.addEventListener('click', () => (node.dataset.e2eClicks = String(Number(node.dataset.e2eClicks || 0) + 1)), { capture: true });
  });
  let event;
  for (let attempt = 1; !event; attempt++) {
    try {
      [event] = await Promise.all([page.waitForEvent('download', { timeout: attempt === 1 ? 15_000 : 30_000 }), button.click({ timeout: 30_000 })]);
    } catch (err) {
      const state = JSON.stringify(await downloadButtonState(page, testid));
      if (attempt > 1) throw new Error(`download ${testid}: ${err.message}\npage state: ${state}`);
      console.error(`# warning: clicking ${testid} started no download in 15 s; clicking again. ${err.message.split('\n')[0]}; page state: ${state}`);
    }
  }
  const failure = await event.failure();
  if (failure) throw new Error(`download ${testid} failed: ${failure}`);
  const file = await event.path();
  return { name: event.suggestedFilename(), url: event.url(), text: fs.readFileSync(file, 'utf8') };
}

/** data-value of the rendered stat elements. */
export async function renderedStats(page) {
  return page.evaluate(() => {
    const out = {};
    for (const node of document.querySelectorAll('[data-testid^="stat-"]')) {
      if ('value' in node.dataset) out[node.dataset.testid] = node.dataset.value;
    }
    return out;
  });
}

// ---------------------------------------------------------------- comparisons

/**
 * Runs `file` through the CLI (`runCli(file, cliArgs)`) and through the page
 * (a drop); asserts that the page's JSON report and rows CSV downloads equal
 * the CLI's. Resolves to {cli, json, report, rowsCsv}: the CLI's result, and
 * the page's JSON text, report and rows CSV.
 */
export async function dropAndCompare(page, file, cliArgs = []) {
  const name = path.basename(file);
  const cli = runCli(file, cliArgs);
  assert.ok(cli.report, `the CLI refused ${name}: ${cli.stderr}`);
  await runViaDrop(page, file);
  const json = (await download(page, 'download-json')).text;
  const rowsCsv = (await download(page, 'download-rows')).text;
  const report = JSON.parse(json);
  assertSameReport(report, cli.report, name);
  assert.deepEqual(rowsCsvDifferences(rowsCsv, cli.rowsCsv), [], 'rows CSV differs from the CLI');
  return { cli, json, report, rowsCsv };
}

/** Paths ignored when comparing the page's report with the CLI's. */
export const IGNORED_PATHS = new Set([
  'compute.timings_ms',
  'compute.backend',
  'compute.adapter',
  'compute.note',
  // Threads (CLI) or the page's workers that built the kNN graph on the CPU.
  'compute.cpu_workers',
  // The page's text duplicates run beside its kNN helpers; the CLI's after.
  'compute.concurrent_ms',
  // Added by the page's worker (www/worker.js): the CLI has no wasm memory.
  'compute.wasm_memory_bytes',
  'outliers.backend',
  'source.name',
]);

/** Paths ignored by pattern: where each text column's MinHash ran (GPU or CPU), and why. */
export const IGNORED_PATTERNS = [/^text_duplicates\[\d+\]\.engine(_note)?$/];

export function closeEnough(a, b, tolerance = 1e-4) {
  if (Object.is(a, b)) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(a - b);
  return diff <= tolerance || diff <= tolerance * Math.max(Math.abs(a), Math.abs(b));
}

function describeValue(value) {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/**
 * Every difference between two JSON values, as "path: page X, cli Y" lines.
 * Two integers must be equal; other numbers agree within 1e-4 (absolute or
 * relative); a key present in
 * one and absent in the other is a difference, even when its value is null.
 */
export function jsonDifferences(actual, expected, { ignored = IGNORED_PATHS, patterns = IGNORED_PATTERNS, tolerance = 1e-4 } = {}) {
  const isIgnored = (where) => ignored.has(where) || patterns.some((p) => p.test(where));
  const differences = [];
  const walk = (a, e, where) => {
    if (isIgnored(where)) return;
    if (typeof a === 'number' && typeof e === 'number') {
      // Counts and ids are exact; other numbers within the tolerance.
      const same = Number.isInteger(a) && Number.isInteger(e) ? a === e : closeEnough(a, e, tolerance);
      if (!same) differences.push(`${where}: page ${a}, cli ${e}`);
      return;
    }
    if (Array.isArray(a) && Array.isArray(e)) {
      if (a.length !== e.length) differences.push(`${where}: page has ${a.length} items, cli ${e.length}`);
      for (let i = 0; i < Math.min(a.length, e.length); i++) walk(a[i], e[i], `${where}[${i}]`);
      return;
    }
    if (a && e && typeof a === 'object' && typeof e === 'object' && !Array.isArray(a) && !Array.isArray(e)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
      for (const key of [...keys].sort()) {
        const child = where ? `${where}.${key}` : key;
        if (isIgnored(child)) continue;
        if (!(key in a)) differences.push(`${child}: missing in the page's report (cli ${describeValue(e[key])})`);
        else if (!(key in e)) differences.push(`${child}: missing in the cli's report (page ${describeValue(a[key])})`);
        else walk(a[key], e[key], child);
      }
      return;
    }
    if (a !== e) differences.push(`${where || '(root)'}: page ${describeValue(a)}, cli ${describeValue(e)}`);
  };
  walk(actual, expected, '');
  return differences;
}

export function assertSameReport(pageReport, cliReport, label) {
  const differences = jsonDifferences(pageReport, cliReport);
  assert.deepEqual(differences, [], `${label}: the page's report differs from the CLI's:\n  ${differences.join('\n  ')}`);
}

/** Splits the per-row CSV into lines (no trailing empty line). */
export function csvLines(text) {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** DESIGN section 4's per-row columns; more may follow at the end. */
export const ROWS_HEADER_PROMISED = 'row,line,outlier_score,is_outlier,exact_group,near_group,label_issue_score,is_label_issue';

/** The whole per-row CSV header: src/rows.rs's HEADER, which must start with the promised columns. */
export const ROWS_HEADER = (() => {
  const source = fs.readFileSync(path.join(REPO, 'src', 'rows.rs'), 'utf8');
  const list = source.match(/pub const HEADER: \[&str; \d+\] =\s*\[([^\]]*)\]/);
  if (!list) throw new Error('HEADER not found in src/rows.rs');
  const header = [...list[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]).join(',');
  if (header !== ROWS_HEADER_PROMISED && !header.startsWith(`${ROWS_HEADER_PROMISED},`)) {
    throw new Error(`src/rows.rs HEADER ${header} does not start with DESIGN's ${ROWS_HEADER_PROMISED}`);
  }
  return header;
})();

/** Differences between two per-row CSVs; score columns within 1e-4. */
export function rowsCsvDifferences(pageCsv, cliCsv) {
  const differences = [];
  const a = csvLines(pageCsv);
  const e = csvLines(cliCsv);
  if (a[0] !== e[0]) differences.push(`header: page ${JSON.stringify(a[0])}, cli ${JSON.stringify(e[0])}`);
  if (a.length !== e.length) differences.push(`page has ${a.length} lines, cli ${e.length}`);
  const header = (e[0] ?? '').split(',');
  for (let i = 1; i < Math.min(a.length, e.length); i++) {
    const fa = a[i].split(',');
    const fe = e[i].split(',');
    if (fa.length !== fe.length) {
      differences.push(`line ${i + 1}: page ${JSON.stringify(a[i])}, cli ${JSON.stringify(e[i])}`);
      continue;
    }
    for (let j = 0; j < fe.length; j++) {
      if (fa[j] === fe[j]) continue;
      const na = Number(fa[j]);
      const ne = Number(fe[j]);
      const isScore = /score/.test(header[j] ?? '');
      if (isScore && fa[j] !== '' && fe[j] !== '' && closeEnough(na, ne)) continue;
      differences.push(`line ${i + 1}, ${header[j] ?? `field ${j + 1}`}: page ${JSON.stringify(fa[j])}, cli ${JSON.stringify(fe[j])}`);
    }
    if (differences.length > 40) {
      differences.push('… (stopped after 40 differences)');
      break;
    }
  }
  return differences;
}

/** Fixture files the browser tests run through both the page and the CLI. */
export function fixtureFiles() {
  return fs
    .readdirSync(FIXTURES)
    .filter((name) => /\.(csv|tsv|txt|jsonl|ndjson|json|bin)$/i.test(name))
    .filter((name) => fs.statSync(path.join(FIXTURES, name)).isFile())
    .sort()
    .map((name) => path.join(FIXTURES, name));
}
