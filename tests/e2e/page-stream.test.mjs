// Stream mode in the page (issue 7): big files are parsed as byte-range parts
// by nested part workers (www/part-worker.js) and merged by the worker that
// owns wasm (www/worker.js). These tests force stream mode on small
// generated files and check that:
// - the whole-file sections of the report (rows, column counts and missing,
//   exact duplicates, class balance) equal the exact path's on the same
//   file, for a CSV with quoted newlines planted where the parts are cut
//   (so a speculative cut falls inside a quoted field and a part is parsed
//   again) and for a JSON Lines file;
// - progress carries bytes that reach totalBytes (one file and a compare of
//   two, summed over both), and the page shows MB/s and rows/s;
// - when part workers cannot load, the coordinator parses the parts itself;
// - Cancel (and an aborted signal in profile()) ends the coordinator and
//   every part worker at once, and the next file is checked right after;
// - every request stays on the page's origin;
// - compute.wasm_memory_bytes names the coordinator and each part worker.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startServer } from '../../scripts/serve.mjs';
import { WWW, download, pageSession, runViaDrop, waitEngineReady, waitRunEnd } from './helpers.mjs';

const WORKERS = 3;
/** Characters of the `note` field of a CSV row, between its quotes. */
const NOTE_LENGTH = 1500;
/** The multi-line note planted at the cuts: record-like lines inside quotes, NOTE_LENGTH characters. */
const MULTILINE_NOTE = (() => {
  const line = '7,g3,1.5,x,dog\n';
  const lines = line.repeat(Math.floor((NOTE_LENGTH - 5) / line.length));
  return lines + 'a'.repeat(NOTE_LENGTH - lines.length);
})();
/** Offset, inside the note, of its last newline: a cut before it falls ahead of a quoted newline. */
const LAST_NOTE_NEWLINE = MULTILINE_NOTE.lastIndexOf('\n');

/**
 * Deterministic filler of `length` characters for row `seed`: groups of
 * digits drawn by a small LCG, so rows differ. Digits, not words: a column
 * with few letters is categorical, not free text, which keeps the text
 * checks (MinHash) out of these tests' time.
 */
function filler(seed, length) {
  let state = (seed * 2654435761 + 12345) >>> 0;
  let text = '';
  while (text.length < length) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    text += `${String(state % 100000).padStart(5, '0')} `;
  }
  return text.slice(0, length);
}

function label(i) {
  const m = i % 20;
  return m < 10 ? 'dog' : m < 17 ? 'cat' : m < 19 ? 'bird' : 'fish';
}

/**
 * The CSV's data rows (no newline): a unique id, a group with gaps, a score
 * with gaps, a quoted note of NOTE_LENGTH characters, a label; every 250th
 * row repeats the one before it (exact duplicates); every 500th note spans
 * lines. Rows keep their length whatever their note, so planting a
 * multi-line note moves no byte.
 */
function csvRows(count) {
  const rows = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % 250 === 0) {
      rows.push(rows[i - 1]);
      continue;
    }
    const note = i % 500 === 7 ? MULTILINE_NOTE : filler(i, NOTE_LENGTH);
    const group = i % 89 === 0 ? '' : `g${i % 10}`;
    const score = i % 97 === 0 ? '' : (((i * 7919) % 10000) / 100).toFixed(2);
    rows.push(`${100000 + i},${group},${score},"${note}",${label(i)}`);
  }
  return rows;
}

const CSV_HEADER = 'id,group,score,note,label';

/** The JSON Lines file's lines: keys sometimes absent or null, escaped newlines, exact duplicates. */
function jsonlLines(count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % 200 === 0) {
      lines.push(lines[i - 1]);
      continue;
    }
    const record = { id: i, group: `g${i % 7}`, label: label(i), text: `line ${i}\n${filler(i, 1400 + (i % 150))}` };
    if (i % 50 !== 3) record.score = ((i * 37) % 1000) / 10;
    if (i % 61 === 0) record.group = null;
    lines.push(JSON.stringify(record));
  }
  return lines;
}

/** The sections stream mode computes over the whole file, to compare with the exact path. */
function wholeFileSections(report) {
  const balance = report.class_balance;
  return {
    rows: report.source.rows,
    columns: report.columns.map((c) => ({ name: c.name, type: c.type, count: c.count, missing: c.missing })),
    // Not duplicates.exact.ignoring_identifiers: that one looks at the sample.
    exact_duplicates: Object.fromEntries(['redundant_rows', 'rows_in_groups', 'group_count', 'groups', 'groups_not_listed', 'normalized'].map((key) => [key, report.duplicates.exact[key]])),
    class_balance: balance ? { label_column: balance.label_column, counts: balance.counts, missing: balance.missing, labelled_rows: balance.labelled_rows } : null,
  };
}

/** Sets the options panel's big-file controls (read when a run starts). */
async function setStreamOptions(page, { stream, workers = '', sampleRows = '' }) {
  await page.evaluate(
    ({ stream, workers, sampleRows }) => {
      document.querySelector('[data-testid="stream-select"]').value = stream;
      document.querySelector('[data-testid="workers-input"]').value = String(workers);
      document.querySelector('[data-testid="sample-rows-input"]').value = String(sampleRows);
      document.querySelector('[data-testid="backend-select"]').value = 'cpu';
    },
    { stream, workers, sampleRows },
  );
}

/** Records every state of the progress element (its data-* attributes and text) in window.__progress. */
async function recordProgress(page) {
  await page.evaluate(() => {
    window.__progress = [];
    const node = document.querySelector('[data-testid="progress"]');
    window.__progressObserver?.disconnect();
    window.__progressObserver = new MutationObserver(() => {
      window.__progress.push({ ...node.dataset, text: document.querySelector('[data-testid="progress-stage"]').textContent });
    });
    window.__progressObserver.observe(node, { attributes: true, subtree: true, childList: true, characterData: true });
  });
}

/** Drops `file` with the given stream settings; resolves to the report the page offers for download. */
async function checkInPage(page, file, settings) {
  await setStreamOptions(page, settings);
  await recordProgress(page);
  await runViaDrop(page, file);
  const report = JSON.parse((await download(page, 'download-json')).text);
  const progress = await page.evaluate(() => window.__progress);
  return { report, progress };
}

function partWorkers(page) {
  return page.workers().filter((w) => new URL(w.url()).pathname.endsWith('/part-worker.js'));
}

async function waitFor(condition, what, timeout = 5000) {
  const until = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function assertMemory(report, workers, label) {
  const memory = report.compute.wasm_memory_bytes;
  assert.ok(memory, `${label}: compute.wasm_memory_bytes`);
  assert.ok(memory.coordinator > 0, `${label}: coordinator memory ${memory.coordinator}`);
  assert.equal(memory.workers.length, workers, `${label}: one entry per part worker`);
  for (const bytes of memory.workers) assert.ok(bytes >= 65536 && bytes % 65536 === 0, `${label}: part worker memory ${bytes} is whole wasm pages`);
  assert.equal(memory.peak, Math.max(memory.coordinator, ...memory.workers), `${label}: peak is the largest instance`);
  assert.equal(memory.total, memory.workers.reduce((a, b) => a + b, memory.coordinator), `${label}: total is their sum`);
  if (workers > 0) {
    assert.ok(memory.coordinator_after_merge > 0 && memory.coordinator_after_merge <= memory.coordinator, `${label}: coordinator memory after the merge`);
    const timings = report.compute.timings_ms;
    assert.ok(timings.read_parts > 0 && timings.merge_parts >= 0, `${label}: read_parts and merge_parts timed: ${JSON.stringify(timings)}`);
  }
}

/** Reading states of the progress element: bytes never go back and end at totalBytes. */
function assertReadingProgress(progress, totalBytes, label) {
  const reading = progress.filter((p) => p.stage === 'reading' && p.bytes !== undefined);
  assert.ok(reading.length >= 1, `${label}: reading progress shown`);
  let last = 0;
  for (const p of reading) {
    assert.equal(Number(p.totalBytes), totalBytes, `${label}: totalBytes`);
    assert.ok(Number(p.bytes) >= last, `${label}: bytes went back from ${last} to ${p.bytes}`);
    last = Number(p.bytes);
  }
  assert.equal(last, totalBytes, `${label}: reading ends at totalBytes`);
}

describe('page, stream mode: parts parsed in parallel workers (CPU backend)', { concurrency: false }, () => {
  const ctx = pageSession({ webgpu: false });
  const files = { otherOrigins: [] };

  test('a CSV with quoted newlines at the part cuts: the same whole-file sections as the exact path', async () => {
    const { page, dir } = ctx;
    // The parts are planned from the file's size and head only: find a row
    // count whose cuts each fall inside a note, ahead of a quoted newline,
    // and plant the multi-line note there (same length: no byte moves).
    // Parts are at least 1 MiB (src/stream/plan.rs MIN_PART_BYTES): about 3.5 MB makes three.
    const rows = csvRows(2400);
    const headText = `${CSV_HEADER}\n${rows.slice(0, 400).join('\n')}\n`.slice(0, 65536);
    const sizes = [];
    let size = CSV_HEADER.length + 1;
    const starts = [];
    for (let i = 0; i < rows.length; i++) {
      starts.push(size);
      size += rows[i].length + 1;
      if (i + 1 >= 2250) sizes.push({ count: i + 1, size });
    }
    const plans = await page.evaluate(
      async ({ headText, sizes, workers }) => {
        const wasm = await import(new URL('pkg/preflight.js', document.baseURI).href);
        await wasm.default();
        const head = wasm.readHead('planted.csv', new TextEncoder().encode(headText), false);
        return sizes.map(({ size }) => Array.from(wasm.planParts(size, head, workers)).map((p) => Number(p.start)));
      },
      { headText, sizes, workers: WORKERS },
    );
    let chosen = null;
    for (let s = 0; s < sizes.length && !chosen; s++) {
      const cuts = plans[s].slice(1);
      const planted = [];
      for (const cut of cuts) {
        const row = starts.findIndex((start, i) => start <= cut && (i + 1 === starts.length || starts[i + 1] > cut));
        if (row < 0 || row >= sizes[s].count) break;
        // A cut before the note's last newline (with room to spare) lands ahead of a quoted newline.
        if (cut - starts[row] > rows[row].indexOf('"') + LAST_NOTE_NEWLINE - 2) break;
        planted.push(row);
      }
      if (planted.length === cuts.length && cuts.length === WORKERS - 1) chosen = { count: sizes[s].count, size: sizes[s].size, planted };
    }
    assert.ok(chosen, 'a row count whose cuts fall inside notes');
    const body = rows.slice(0, chosen.count);
    for (const row of chosen.planted) {
      const quote = body[row].indexOf('"');
      body[row] = `${body[row].slice(0, quote + 1)}${MULTILINE_NOTE}${body[row].slice(quote + 1 + NOTE_LENGTH)}`;
    }
    const text = `${CSV_HEADER}\n${body.join('\n')}\n`;
    assert.equal(Buffer.byteLength(text), chosen.size, 'planting moved no byte');
    files.csv = path.join(dir, 'planted.csv');
    fs.writeFileSync(files.csv, text);

    const exact = await checkInPage(page, files.csv, { stream: 'off' });
    assert.equal(exact.report.sampling, undefined, 'the exact path has no sampling section');
    assert.ok(exact.progress.some((p) => p.mode === 'exact'), 'exact mode said while reading');
    const streamed = await checkInPage(page, files.csv, { stream: 'on', workers: WORKERS });
    assert.equal(streamed.report.sampling?.mode, 'stream', 'the report says it streamed');
    assert.equal(streamed.report.sampling.rows_total, exact.report.source.rows);
    assert.deepEqual(wholeFileSections(streamed.report), wholeFileSections(exact.report));
    files.csvStreamed = streamed.report;
    assert.equal(exact.report.source.rows, chosen.count, 'one row a record, the planted notes included');
    assert.ok(exact.report.duplicates.exact.redundant_rows > 0, 'the file has exact duplicates');

    // Progress: by bytes, in stream mode with the part workers, up to the file's size.
    assertReadingProgress(streamed.progress, chosen.size, 'planted.csv');
    assert.ok(streamed.progress.some((p) => p.mode === 'stream' && p.parts === String(WORKERS)), 'stream mode and its workers shown');
    assert.ok(streamed.progress.some((p) => p.stage === 'reparse'), 'a part cut inside a quoted field was parsed again');
    assert.ok(streamed.progress.some((p) => p.stage === 'merge'), 'the parts were merged');
    assertMemory(streamed.report, WORKERS, 'streamed CSV');
    assertMemory(exact.report, 0, 'exact CSV');
    const shown = await page.locator('[data-testid="compute-wasm-memory"]').textContent();
    assert.match(shown, new RegExp(`${WORKERS} part workers`), `peak memory shown: ${shown}`);
  });

  test('a JSON Lines file: the same whole-file sections as the exact path', async () => {
    const { page, dir } = ctx;
    files.jsonl = path.join(dir, 'records.jsonl');
    fs.writeFileSync(files.jsonl, `${jsonlLines(2300).join('\n')}\n`);
    const exact = await checkInPage(page, files.jsonl, { stream: 'off' });
    const streamed = await checkInPage(page, files.jsonl, { stream: 'on', workers: WORKERS });
    assert.equal(streamed.report.sampling?.mode, 'stream');
    assert.deepEqual(wholeFileSections(streamed.report), wholeFileSections(exact.report));
    files.jsonlExact = exact.report;
    assert.ok(exact.report.columns.some((c) => c.name === 'score' && c.missing > 0), 'absent keys count as missing');
    assertReadingProgress(streamed.progress, fs.statSync(files.jsonl).size, 'records.jsonl');
    assert.ok(!streamed.progress.some((p) => p.stage === 'reparse'), 'JSON Lines parts always meet at a line');
    assertMemory(streamed.report, WORKERS, 'streamed JSONL');
  });

  test('part workers that cannot load (part-worker.js missing): the coordinator parses the parts itself', async () => {
    const { session, dir } = ctx;
    // A copy of the site without part-worker.js, on a server of its own.
    const root = path.join(dir, 'site-without-part-worker');
    fs.cpSync(WWW, root, { recursive: true, filter: (source) => !source.startsWith(path.join(WWW, 'models')) });
    fs.rmSync(path.join(root, 'part-worker.js'));
    const server = await startServer({ port: 0, root });
    files.otherOrigins.push(new URL(server.url).origin);
    const page = await session.context.newPage();
    try {
      await page.goto(server.url, { waitUntil: 'load' });
      await waitEngineReady(page);
      const { report } = await checkInPage(page, files.jsonl, { stream: 'on', workers: WORKERS, sampleRows: 1000 });
      assert.equal(report.sampling?.mode, 'stream');
      assert.deepEqual(report.compute.wasm_memory_bytes.workers, [], 'no part worker ran');
      assert.deepEqual(wholeFileSections(report), wholeFileSections(files.jsonlExact));
    } finally {
      await page.close();
      await server.close();
    }
  });

  test('profile(): progress carries bytes, rows and the mode; the report equals the page\'s', async () => {
    const { page } = ctx;
    const text = fs.readFileSync(files.csv, 'utf8');
    const result = await page.evaluate(
      async ({ text, workers }) => {
        const { profile } = await import(new URL('preflight.js', document.baseURI).href);
        const events = [];
        const report = await profile(new File([text], 'planted.csv', { type: 'text/csv' }), {
          // A small sample: the whole-file sections do not depend on it.
          options: { backend: 'cpu', stream: 'on', workers, sampleRows: 1000 },
          onProgress: (p) => events.push(p),
        });
        return { events, report, size: new Blob([text]).size };
      },
      { text, workers: WORKERS },
    );
    const reading = result.events.filter((e) => e.stage === 'reading');
    assert.ok(reading.length >= 2, 'reading progress');
    for (const e of result.events) {
      for (const key of ['bytes', 'totalBytes', 'rows', 'fraction']) assert.equal(typeof e[key], 'number', `${e.stage}: ${key}`);
      assert.equal(e.totalBytes, result.size);
      assert.equal(e.bytesRead, e.bytes, 'the older name agrees');
      assert.ok(e.fraction >= 0 && e.fraction <= 1, `fraction ${e.fraction}`);
    }
    for (let i = 1; i < reading.length; i++) assert.ok(reading[i].bytes >= reading[i - 1].bytes, 'bytes never go back');
    const last = reading.at(-1);
    assert.equal(last.bytes, result.size, 'reading reaches totalBytes');
    assert.equal(last.fraction, 1);
    assert.equal(last.rows, result.report.source.rows, 'rows read: every record');
    assert.ok(reading.every((e) => e.mode === 'stream'), 'stream mode');
    assert.ok(reading.some((e) => e.parts === WORKERS) && reading.every((e) => e.parts === undefined || e.parts === WORKERS), 'its part workers, once planned');
    assert.ok(result.events.some((e) => e.stage === 'merge'));
    assert.ok(result.events.some((e) => e.stage === 'done' || e.stage === 'checks'), 'later stages reported');
    assert.equal(result.report.sampling.rows_sampled, 1000, 'sampleRows reached the checker');
    // The page's streamed report of the same file (the first test's).
    assert.deepEqual(wholeFileSections(result.report), wholeFileSections(files.csvStreamed));
    assertMemory(result.report, WORKERS, 'profile()');
  });

  test('compare: both files streamed; progress over both', async () => {
    const { page } = ctx;
    await checkInPage(page, files.jsonl, { stream: 'on', workers: 2, sampleRows: 1000 });
    await recordProgress(page);
    const before = await page.evaluate(() => Number(document.body.dataset.run || 0));
    await page.locator('[data-testid="compare-input"]').setInputFiles(files.jsonl);
    const outcome = await waitRunEnd(page, before);
    assert.ok(outcome.ok, `the comparison failed: ${outcome.error}`);
    const report = JSON.parse((await download(page, 'download-compare-json')).text);
    const progress = await page.evaluate(() => window.__progress);
    const size = fs.statSync(files.jsonl).size;
    assertReadingProgress(progress, 2 * size, 'compare');
    assert.ok(progress.some((p) => p.stage === 'reading' && Number(p.bytes) > size), 'the candidate counts after the reference');
    for (const which of ['reference', 'candidate']) {
      assert.equal(report[which].sampling?.mode, 'stream', `${which} streamed`);
      assert.deepEqual(wholeFileSections(report[which]), wholeFileSections(files.jsonlExact), `${which}: the exact path's whole-file sections`);
      assertMemory(report[which], 2, which);
    }
  });

  test('Cancel mid-parse ends the coordinator and every part worker; the next file is checked right after', async () => {
    const { page, session } = ctx;
    await setStreamOptions(page, { stream: 'on', workers: WORKERS });
    await waitFor(() => partWorkers(page).length === 0, 'the part workers of earlier runs to end');
    const baseline = page.workers().length; // the page's worker and its loaded spare
    assert.equal(baseline, 2, 'the page keeps a worker and a loaded spare');
    const created = () => session.requests.filter((r) => r.source === 'worker-created' && r.url.endsWith('/part-worker.js')).length;
    const createdBefore = created();
    // About 96 MB, made in the page: parsing it takes long enough to cancel mid-way.
    const cancelled = await page.evaluate(async () => {
      const rows = [];
      for (let i = 0; i < 20000; i++) rows.push(`${i},g${i % 10},${(i * 31) % 1000},"note ${i}\nsecond line",${i % 3 ? 'dog' : 'cat'}`);
      const chunk = `${rows.join('\n')}\n`;
      const file = new File(['id,group,score,note,label\n', ...new Array(Math.ceil(96e6 / chunk.length)).fill(chunk)], 'big.csv', { type: 'text/csv' });
      const transfer = new DataTransfer();
      transfer.items.add(file);
      const zone = document.querySelector('[data-testid="dropzone"]');
      for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
      const progress = document.querySelector('[data-testid="progress"]');
      // Cancel once the parts are being read (the click is in this same task).
      return new Promise((resolve, reject) => {
        const started = performance.now();
        const check = () => {
          const d = progress.dataset;
          if (d.mode === 'stream' && Number(d.bytes) > 0 && Number(d.bytes) < Number(d.totalBytes)) {
            document.querySelector('[data-testid="cancel"]').click();
            resolve({ bytes: Number(d.bytes), totalBytes: Number(d.totalBytes), hidden: progress.hidden, status: document.querySelector('[data-testid="status"]').textContent });
          } else if (performance.now() - started > 20_000) {
            reject(new Error(`no stream progress: ${JSON.stringify({ ...d })}`));
          } else {
            setTimeout(check, 5);
          }
        };
        check();
      });
    });
    assert.ok(cancelled.bytes < cancelled.totalBytes, 'cancelled mid-parse');
    assert.equal(cancelled.hidden, true, 'the progress bar went away at once');
    assert.match(cancelled.status, /Cancelled the check of big\.csv/);
    // The part workers had started (nested workers are the page's too) and end with their coordinator.
    await waitFor(() => created() - createdBefore >= WORKERS, 'the part workers to have started');
    assert.equal(created() - createdBefore, WORKERS, 'one part worker a part');
    await waitFor(() => partWorkers(page).length === 0, 'the part workers to end');
    await waitFor(() => page.workers().length === baseline, `the page's workers back to ${baseline}`);
    assert.equal(partWorkers(page).length, 0, 'no part worker remains');

    // The next file is checked at once, by the promoted spare.
    const small = path.join(ctx.dir, 'small.jsonl');
    fs.writeFileSync(small, `${jsonlLines(300).join('\n')}\n`);
    const { report } = await checkInPage(page, small, { stream: 'on', workers: WORKERS });
    assert.equal(report.sampling?.mode, 'stream');
    assert.equal(report.source.rows, 300);
    await waitFor(() => partWorkers(page).length === 0, 'the part workers of the finished run to end');
  });

  test('profile() with an aborted signal mid-parse ends every worker', async () => {
    const { page } = ctx;
    const baseline = page.workers().length;
    const outcome = await page.evaluate(async (workers) => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      const chunk = '1,2,"three\nlines"\n'.repeat(50_000);
      const file = new File(['a,b,c\n', ...new Array(Math.ceil(64e6 / chunk.length)).fill(chunk)], 'abort.csv');
      const controller = new AbortController();
      let abortedAt = null;
      try {
        await profile(file, {
          signal: controller.signal,
          // A small sample: the whole-file sections do not depend on it.
          options: { backend: 'cpu', stream: 'on', workers, sampleRows: 1000 },
          onProgress: (p) => {
            if (abortedAt === null && p.stage === 'reading' && p.mode === 'stream' && p.bytes > 0 && p.bytes < p.totalBytes) {
              abortedAt = performance.now();
              controller.abort();
            }
          },
        });
        return { resolved: true };
      } catch (err) {
        return { name: err.name, afterAbortMs: abortedAt === null ? null : performance.now() - abortedAt };
      }
    }, WORKERS);
    assert.equal(outcome.name, 'AbortError', JSON.stringify(outcome));
    assert.notEqual(outcome.afterAbortMs, null, 'aborted while the parts were read');
    assert.ok(outcome.afterAbortMs < 250, `rejected ${outcome.afterAbortMs} ms after abort`);
    await waitFor(() => partWorkers(page).length === 0 && page.workers().length === baseline, 'every worker of the call to end');
  });

  test('profile() with format and delimiter: JSON lines named .txt and a semicolon file, streamed and whole; bad values are invalid options', async () => {
    const { page } = ctx;
    const outcome = await page.evaluate(async (workers) => {
      const { profile } = await import(new URL('preflight.js', document.baseURI).href);
      const jsonl = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i, kind: ['a', 'b', 'c'][i % 3], x: i * 0.5 })).join('\n') + '\n';
      // Semicolons and commas in turn: the sniffer alone would pick the comma.
      const csv = 'a;b,c\n' + Array.from({ length: 300 }, (_, i) => `${i};${i % 7},${i % 3}`).join('\n') + '\n';
      const run = async (text, name, options) => {
        try {
          const report = await profile(new File([text], name), { options: { backend: 'cpu', workers, sampleRows: 1000, ...options } });
          return { format: report.source.format, columns: report.columns.map((c) => c.name), rows: report.source.rows };
        } catch (err) {
          return { message: err.message };
        }
      };
      const out = {};
      for (const stream of ['off', 'on']) {
        out[`jsonl-${stream}`] = await run(jsonl, 'events.txt', { format: 'jsonl', stream });
        out[`plain-${stream}`] = await run(jsonl, 'events.txt', { stream });
        out[`semicolon-${stream}`] = await run(csv, 'data.csv', { delimiter: ';', stream });
        out[`bad-format-${stream}`] = await run(csv, 'data.csv', { format: 'xml', stream });
        out[`bad-delimiter-${stream}`] = await run(csv, 'data.csv', { format: 'jsonl', delimiter: ';', stream });
      }
      return out;
    }, WORKERS);
    for (const stream of ['off', 'on']) {
      const jsonl = outcome[`jsonl-${stream}`];
      assert.deepEqual(jsonl, { format: 'jsonl', columns: ['id', 'kind', 'x'], rows: 300 }, `${stream}: ${JSON.stringify(jsonl)}`);
      assert.notEqual(outcome[`plain-${stream}`].format, 'jsonl', `${stream}: without the option a .txt is CSV`);
      assert.deepEqual(outcome[`semicolon-${stream}`], { format: 'csv', columns: ['a', 'b,c'], rows: 300 }, stream);
      assert.equal(outcome[`bad-format-${stream}`].message, 'data.csv: invalid options: format must be csv, tsv or jsonl, not "xml"', stream);
      assert.equal(outcome[`bad-delimiter-${stream}`].message, 'data.csv: invalid options: delimiter is for CSV: not with format jsonl', stream);
    }
  });

  test('no request left the origin', () => {
    const { session } = ctx;
    // The page's server, and the one that served a copy of the site without part-worker.js.
    const origins = [new URL(session.server.url).origin, ...files.otherOrigins];
    const elsewhere = session.requests.filter((r) => !/^(data|blob):/.test(r.url) && !origins.includes(new URL(r.url).origin));
    assert.deepEqual(elsewhere, []);
    const partScript = session.serverLog.filter((r) => r.urlPath === '/part-worker.js');
    assert.ok(partScript.length >= 1, 'part-worker.js came from this server');
  });
});
