// The tools the big-file benchmark runs in the page, one at a time, on the
// file chosen in #file. Each returns {seconds, rows, memory_bytes?}.
// bench/big/run.mjs drives this page with Playwright.

import * as duckdb from '/bench/node_modules/@duckdb/duckdb-wasm/dist/duckdb-browser.mjs';
import { profile } from '/www/preflight.js';

const fileInput = () => {
  const file = document.getElementById('file').files[0];
  if (!file) throw new Error('no file chosen');
  return file;
};

async function papaparse() {
  const worker = new Worker('papa-worker.js');
  try {
    const result = await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => (data.ok ? resolve(data) : reject(new Error(data.error)));
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage(fileInput());
    });
    return { seconds: result.seconds, rows: result.rows };
  } finally {
    worker.terminate();
  }
}

async function duckdbSummarize() {
  const file = fileInput();
  const base = new URL('/bench/node_modules/@duckdb/duckdb-wasm/dist/', location.href).href;
  const bundles = {
    mvp: { mainModule: base + 'duckdb-mvp.wasm', mainWorker: base + 'duckdb-browser-mvp.worker.js' },
    eh: { mainModule: base + 'duckdb-eh.wasm', mainWorker: base + 'duckdb-browser-eh.worker.js' },
  };
  // The single-threaded bundles only. DuckDB's threaded one (duckdb-coi,
  // chosen when the page is cross-origin isolated) failed in this harness
  // with 1.32.0 on both synthetic files: its parallel CSV scan split a quoted
  // field holding a newline ("Expected Number of Columns: 11 Found: 3"),
  // and read_json died with "RuntimeError: function signature mismatch".
  const bundle = await duckdb.selectBundle(bundles);
  const worker = new Worker(bundle.mainWorker);
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  try {
    await db.instantiate(bundle.mainModule, bundle.pthreadWorker);
    const started = performance.now();
    const name = file.name.endsWith('.jsonl') ? 'data.jsonl' : 'data.csv';
    await db.registerFileHandle(name, file, duckdb.DuckDBDataProtocol.BROWSER_FILEREADER, true);
    const conn = await db.connect();
    // DuckDB-wasm builds no JSON reader in: on first use it fetches its json
    // extension from extensions.duckdb.org, off this origin (and, offline, the
    // eh bundle then traps with "function signature mismatch"). The harness
    // fetches nothing off-origin, so read_json fails with DuckDB's own error.
    await conn.query('SET autoinstall_known_extensions = false');
    await conn.query('SET autoload_known_extensions = false');
    const source = name.endsWith('.jsonl') ? `read_json('${name}', format = 'newline_delimited')` : `read_csv('${name}')`;
    const summary = await conn.query(`SUMMARIZE SELECT * FROM ${source}`).catch((err) => {
      if (/exists in the json extension/.test(String(err?.message))) {
        throw new Error('no JSON reader: DuckDB-wasm 1.32 fetches its json extension from extensions.duckdb.org, off-origin (not allowed here)');
      }
      throw err;
    });
    const seconds = (performance.now() - started) / 1000;
    const count = await conn.query(`SELECT count(*) AS n FROM ${source}`);
    // The count is a second scan, not timed: only read_csv + SUMMARIZE is.
    const rows = Number(count.toArray()[0].n);
    await conn.close();
    return { seconds, rows, bundle: bundle.pthreadWorker ? 'coi (threads)' : bundle.mainModule.endsWith('eh.wasm') ? 'eh' : 'mvp', columns: summary.numRows };
  } finally {
    await db.terminate();
    worker.terminate();
  }
}

async function preflight(options = {}) {
  const file = fileInput();
  const started = performance.now();
  let readSeconds = null;
  const report = await profile(file, {
    options,
    onProgress(event) {
      if (event.stage !== 'reading' && readSeconds === null && event.stage !== 'load') {
        readSeconds = (performance.now() - started) / 1000;
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const memory = report.compute?.wasm_memory_bytes ?? null;
  return {
    seconds,
    rows: report.source.rows,
    memory_bytes: memory?.peak ?? null,
    memory_total: memory?.total ?? null,
    memory,
    timings: report.compute?.timings_ms ?? null,
    mode: report.sampling?.mode ?? 'exact',
    backend: report.compute?.backend,
    cpu_workers: report.compute?.cpu_workers ?? null,
    note: report.compute?.note ?? null,
    verdict: report.verdict?.passed,
  };
}

window.benchTools = { papaparse, duckdb: duckdbSummarize, preflight };
window.benchReady = true;
