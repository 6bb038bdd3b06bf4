// preflight's embedding API: the ES module a host page imports to check a
// file before it is uploaded. The checks run in a dedicated worker
// (worker.js, which owns the wasm module), on this machine: the file's bytes
// never leave the tab.
//
//   import { profile } from './preflight.js';
//   const report = await profile(file, { rules: 'rules.json', onProgress, signal });
//   if (!report.verdict.passed) showWhy(report.verdict.failures);
//
// Every URL here (the worker, and through it the wasm module) is resolved
// against this module's own URL, so the files work from any sub-path
// (https://intranet/tools/preflight/) without configuration. Rules given as
// a URL string are resolved against the host page (document.baseURI), like
// an <a href>, and must be on the page's origin.

/** Names of the progress stages, for showing them to people. */
export const STAGE_NAMES = Object.freeze({
  model: 'Loading the text model (all-MiniLM-L6-v2)',
  decompressing: 'Decompressing (gzip)',
  reading: 'Reading the file',
  reparse: 'Re-reading a part from its first record',
  merge: 'Merging the parts',
  parse: 'Parsing the last rows',
  profile: 'Profiling columns',
  duplicates: 'Finding duplicates',
  text: 'Comparing texts (MinHash)',
  embedding: 'Turning rows into vectors',
  knn: 'Finding nearest neighbours',
  outliers: 'Scoring outliers',
  labels: 'Checking labels',
  checks: 'Running checks',
  verdict: 'Applying rules',
  done: 'Finishing the report',
});

const WORKER_URL = new URL('./worker.js', import.meta.url);
const BACKENDS = ['auto', 'gpu', 'cpu'];
const STREAM_MODES = ['auto', 'on', 'off'];
const EMBED_MODES = ['hashed', 'semantic'];

/** A byte count in decimal units, as rates are given: "812 kB", "1.2 GB". */
function decimalBytes(bytes) {
  const n = Math.max(0, Number(bytes) || 0);
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** A count with a k / M / G suffix: "2.1 M". */
function shortCount(count) {
  const n = Math.max(0, Number(count) || 0);
  if (n < 1000) return String(Math.round(n));
  const units = ['k', 'M', 'G'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Seconds as "7 s", "2 min 5 s", "1 h 3 min". */
function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Rates of the reading stage from progress messages: feed it every
 * message (`update`), read `text` for the line the page shows, e.g.
 * "1.2 GB of 3.4 GB · 310 MB/s · 2.1 M rows/s · 7 s left". Rates are
 * averages since the first reading message; time left needs half a second
 * of reading first.
 */
export class ReadingRate {
  constructor(now = () => performance.now()) {
    this.now = now;
    this.startedAt = null;
    this.startBytes = 0;
    this.startRows = 0;
    this.last = null;
  }

  /** Takes a progress message ({stage, bytes, totalBytes, rows}); returns its rates (see `rates`). */
  update(p) {
    if (p?.stage !== 'reading') return this.rates();
    const bytes = Number(p.bytes ?? p.bytesRead) || 0;
    const rows = Number(p.rows ?? p.rowsRead) || 0;
    if (this.startedAt === null) {
      this.startedAt = this.now();
      this.startBytes = bytes;
      this.startRows = rows;
    }
    this.last = { bytes, rows, totalBytes: Number(p.totalBytes) || 0, at: this.now() };
    return this.rates();
  }

  /** {bytes, totalBytes, rows, bytesPerSecond, rowsPerSecond, secondsLeft} (rates null until measurable). */
  rates() {
    if (!this.last) return null;
    const { bytes, rows, totalBytes, at } = this.last;
    const seconds = (at - this.startedAt) / 1000;
    const measurable = seconds >= 0.5 && bytes > this.startBytes;
    const bytesPerSecond = measurable ? (bytes - this.startBytes) / seconds : null;
    const rowsPerSecond = measurable ? (rows - this.startRows) / seconds : null;
    const secondsLeft = bytesPerSecond ? Math.max(0, totalBytes - bytes) / bytesPerSecond : null;
    return { bytes, totalBytes, rows, bytesPerSecond, rowsPerSecond, secondsLeft };
  }

  /** The reading line: "1.2 GB of 3.4 GB · 310 MB/s · 2.1 M rows/s · 7 s left" (rates once measurable). */
  text() {
    const r = this.rates();
    if (!r) return '';
    const pieces = [`${decimalBytes(r.bytes)} of ${decimalBytes(r.totalBytes)}`];
    if (r.bytesPerSecond !== null) {
      pieces.push(`${decimalBytes(r.bytesPerSecond)}/s`);
      if (r.rowsPerSecond > 0) pieces.push(`${shortCount(r.rowsPerSecond)} rows/s`);
      if (r.secondsLeft !== null && r.bytes < r.totalBytes) pieces.push(`${duration(r.secondsLeft)} left`);
    } else if (r.rows > 0) {
      pieces.push(`${shortCount(r.rows)} rows`);
    }
    return pieces.join(' · ');
  }
}

/**
 * A worker that has loaded (or is loading) the wasm module, for the next
 * call of `profile` to take: see `preload`.
 */
let spare = null;

/** Starts a worker and tracks its loading: {worker, ready: Promise<{version, webgpu}>, fatal}. */
function spawnWorker() {
  const worker = new Worker(WORKER_URL, { type: 'module', name: 'preflight' });
  const entry = { worker, fatal: null, info: null, ready: null };
  entry.ready = new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const { type, data } = event.data ?? {};
      if (type === 'ready') {
        entry.info = { version: String(data?.version ?? ''), webgpu: Boolean(data?.webgpu) };
        resolve(entry.info);
      } else if (type === 'fatal') {
        entry.fatal = String(data?.message ?? 'the checker could not be loaded');
        reject(new Error(entry.fatal));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      entry.fatal = `the checker's worker could not be loaded from ${WORKER_URL.href}${event.message ? `: ${event.message}` : ''}`;
      reject(new Error(entry.fatal));
    };
  });
  // Whoever awaits `ready` sees the failure; an unawaited spare must not
  // raise an unhandled rejection.
  entry.ready.catch(() => {});
  return entry;
}

/**
 * Starts loading the checker now (a worker with the wasm module), so that
 * the next `profile` call starts at once and fetches nothing. Resolves to
 * `{version, webgpu}` once loaded (`webgpu`: whether this browser offers a
 * WebGPU adapter); rejects when the checker cannot be loaded. The loaded
 * worker waits, idle, for the next `profile` call, which takes it; `release`
 * ends it. Calling `preload` again while one waits reuses it.
 */
export function preload() {
  if (!spare || spare.fatal) {
    spare?.worker.terminate();
    spare = spawnWorker();
  }
  return spare.ready;
}

/** Ends the worker `preload` started, if no `profile` call took it. */
export function release() {
  spare?.worker.terminate();
  spare = null;
}

/** The checker's version (loads it, as `preload` does, when needed). */
export async function version() {
  return (await preload()).version;
}

function abortReason(signal) {
  return signal.reason ?? new DOMException('The check was aborted.', 'AbortError');
}

function errorMessage(err) {
  if (err === null || err === undefined) return 'unknown error';
  if (typeof err === 'string') return err;
  if (typeof err.message === 'string' && err.message !== '') return err.message;
  return String(err);
}

/**
 * Fetches and parses a rules file (the JSON of www/rules.schema.json) from
 * `url`, resolved against the host page; it must be on the page's origin.
 * Rejects with an Error naming the URL when it cannot be fetched or parsed.
 */
export async function fetchRules(url, { signal } = {}) {
  const base = typeof document !== 'undefined' ? document.baseURI : self.location.href;
  const resolved = new URL(String(url), base);
  const origin = new URL(base).origin;
  if (resolved.origin !== origin) {
    throw new Error(`rules ${resolved.href}: not on this page's origin (${origin}); preflight fetches rules from the page's own origin only (pass the parsed object to use others)`);
  }
  let response;
  try {
    response = await fetch(resolved, { credentials: 'same-origin', signal });
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    throw new Error(`rules ${resolved.href}: could not be fetched: ${errorMessage(err)}`);
  }
  if (!response.ok) throw new Error(`rules ${resolved.href}: the server answered ${response.status} ${response.statusText}`.trimEnd());
  const text = await response.text();
  let rules;
  try {
    rules = JSON.parse(text);
  } catch (err) {
    throw new Error(`rules ${resolved.href}: not valid JSON: ${errorMessage(err)}`);
  }
  checkRulesShape(rules, resolved.href);
  return rules;
}

/** The one check done here: a rules file is a JSON object; the checker validates the rest. */
function checkRulesShape(rules, where) {
  if (rules === null || typeof rules !== 'object' || Array.isArray(rules)) {
    throw new Error(`rules ${where}: a rules file is a JSON object ({"rules": [...]}), not ${Array.isArray(rules) ? 'an array' : rules === null ? 'null' : typeof rules}`);
  }
}

/**
 * Checks `fileOrBlob` (a File or Blob holding CSV, TSV or JSON Lines) in a
 * worker and resolves to the report (the JSON object of DESIGN section 4).
 * See `profileWithRows` for the options; this is the same without the
 * per-row CSV.
 */
export async function profile(fileOrBlob, options = {}) {
  // The worker leaves the per-row CSV out: nobody would read it.
  return (await check(fileOrBlob, options, false)).report;
}

/**
 * Like `profile`, and resolves to `{report, rowsCsv}`: `rowsCsv` is the
 * per-row findings CSV (one line per data row, DESIGN section 4).
 *
 * Options, all optional:
 * - `label`: the label column ('' or absent: detected).
 * - `rules`: the rules a verdict applies, as the parsed JSON object of a
 *   rules file (www/rules.schema.json), or a URL string of one, resolved
 *   against the host page and fetched from its own origin.
 * - `onProgress({stage, fraction, bytes, totalBytes, rows, bytesRead,
 *   rowsRead, mode, parts, workers})`: called as the file is read (stage
 *   "reading": `bytes` of `totalBytes` read so far, summed over the parts
 *   parsed at once; `rows` data rows; `mode` "stream" or "exact"; `parts`
 *   the byte-range parts of a streamed file, `workers` the part workers
 *   parsing them) and as each later stage starts (`STAGE_NAMES`).
 *   `bytesRead` and `rowsRead` are the older names of `bytes` and `rows`.
 *   `ReadingRate` turns these into MB/s, rows/s and time left.
 * - `signal`: an AbortSignal; aborting ends the worker at once and rejects
 *   with the signal's reason (a DOMException named "AbortError" unless the
 *   caller gave another), as fetch does. An already aborted signal rejects
 *   before anything starts.
 * - `name`: the file name the report shows when `fileOrBlob` is a Blob
 *   without one (default "data"; the format is sniffed when it has no
 *   known extension).
 * - `options`: more checker options: `{backend: 'auto' | 'gpu' | 'cpu',
 *   normalize: boolean, stream: 'auto' | 'on' | 'off', streamAboveBytes,
 *   workers, sampleRows}`. Stream mode (big files) parses byte ranges of
 *   the file in parallel part workers and merges them: whole-file column
 *   profiles, duplicates, class counts and PII; the other checks on a
 *   uniform sample of `sampleRows` rows (default 100000). `stream` 'auto'
 *   (the default) streams files larger than `streamAboveBytes` (default
 *   64 MiB); `workers`: part workers (default: cores, at most 8).
 *   `format: 'csv' | 'tsv' | 'jsonl'` and `delimiter` (one ASCII
 *   character, or 'tab') overrule the file name's extension and the
 *   sniffer, as the CLI's `--format` and `--delimiter` do (JSON lines
 *   named .txt); any other value rejects as invalid options.
 *
 * The report's `compute.wasm_memory_bytes` is `{coordinator, workers,
 * peak, total}`: the WebAssembly memory in bytes of the worker that ran the
 * checks and of each part worker (at its largest), the largest of them and
 * their sum.
 *
 * Each call runs in a worker of its own (the one `preload` readied, else a
 * new one) and ends that worker, and the part workers it started, when it
 * settles, so nothing stays behind.
 * Rejects with an Error whose message names the file when the file cannot
 * be checked (empty, binary, unreadable), and with one naming the rules
 * when they are invalid.
 */
export async function profileWithRows(fileOrBlob, options = {}) {
  return check(fileOrBlob, options, true);
}

/**
 * `{report, rowsCsv}` of the worker's result: `rowsCsv` decoded from its
 * UTF-8 pieces when first read (a big file's CSV is a line per row), and
 * absent when the pieces are.
 */
function withRows(report, pieces) {
  const result = { report };
  if (!pieces) return result;
  let text;
  Object.defineProperty(result, 'rowsCsv', {
    enumerable: true,
    configurable: true,
    get() {
      if (pieces) {
        const decoder = new TextDecoder();
        text = pieces.map((piece, i) => decoder.decode(piece, { stream: i + 1 < pieces.length })).join('');
        pieces = null;
      }
      return text;
    },
    // A value set by the caller replaces it, as on a plain property.
    set(value) {
      text = value;
      pieces = null;
    },
  });
  return result;
}

/** profileWithRows, the per-row CSV in the result only when `wantRows`. */
async function check(fileOrBlob, { label, rules, onProgress, signal, name, options = {} } = {}, wantRows) {
  if (signal?.aborted) throw abortReason(signal);
  if (!(fileOrBlob instanceof Blob)) {
    throw new TypeError(`profile: expected a File or Blob, got ${fileOrBlob === null ? 'null' : typeof fileOrBlob}`);
  }
  const file = fileOrBlob instanceof File ? fileOrBlob : new File([fileOrBlob], name ?? 'data', { type: fileOrBlob.type });
  const backend = options?.backend ?? 'auto';
  if (!BACKENDS.includes(backend)) throw new TypeError(`profile: options.backend must be one of ${BACKENDS.join(', ')}, not ${JSON.stringify(backend)}`);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('profile: onProgress must be a function');

  let rulesObject;
  let rulesFrom = null;
  if (typeof rules === 'string' || rules instanceof URL) {
    rulesFrom = new URL(String(rules), typeof document !== 'undefined' ? document.baseURI : self.location.href).href;
    rulesObject = await fetchRules(rules, { signal });
  } else if (rules !== undefined && rules !== null) {
    checkRulesShape(rules, '(object given)');
    rulesObject = rules;
  }
  if (signal?.aborted) throw abortReason(signal);

  const stream = options?.stream ?? 'auto';
  if (!STREAM_MODES.includes(stream)) throw new TypeError(`profile: options.stream must be one of ${STREAM_MODES.join(', ')}, not ${JSON.stringify(stream)}`);
  const counts = {};
  for (const [key, min] of [['streamAboveBytes', 0], ['workers', 1], ['sampleRows', 1]]) {
    const value = options?.[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new TypeError(`profile: options.${key} must be a whole number of at least ${min}, not ${JSON.stringify(value)}`);
    }
    counts[key] = value;
  }

  // 'semantic': a sentence model on the text column; the worker fetches its weights from this site's
  // models/ folder once and keeps them in the Cache API.
  const embed = options?.embed ?? 'hashed';
  if (!EMBED_MODES.includes(embed)) throw new TypeError(`profile: options.embed must be one of ${EMBED_MODES.join(', ')}, not ${JSON.stringify(embed)}`);

  // The file's format and delimiter: strings the wasm side checks (a bad one rejects as invalid options).
  for (const key of ['format', 'delimiter']) {
    const value = options?.[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new TypeError(`profile: options.${key} must be a string, not ${JSON.stringify(value)}`);
    }
  }
  const workerOptions = { backend, normalize: options?.normalize === true, stream, embed, ...counts };
  for (const key of ['format', 'delimiter']) {
    if (typeof options?.[key] === 'string' && options[key] !== '') workerOptions[key] = options[key];
  }
  if (typeof label === 'string' && label.trim() !== '') workerOptions.label = label.trim();
  if (rulesObject !== undefined) workerOptions.rules = rulesObject;

  // Take the preloaded worker when there is a healthy one.
  let entry;
  if (spare && !spare.fatal) {
    entry = spare;
    spare = null;
  } else {
    entry = spawnWorker();
  }
  const { worker } = entry;

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (settle, value) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      signal?.removeEventListener('abort', onAbort);
      settle(value);
    };
    const onAbort = () => finish(reject, abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });

    const fail = (message) => {
      const text = String(message);
      // Messages from the core name the file; one that does not gets it here.
      finish(reject, new Error(text.includes(file.name) ? text : `${file.name}: ${text}`));
    };
    if (entry.fatal) {
      fail(entry.fatal);
      return;
    }
    entry.ready.catch((err) => fail(errorMessage(err)));

    const id = 1;
    worker.onmessage = (event) => {
      const { id: replyTo, type, data } = event.data ?? {};
      if (type === 'ready') return;
      if (type === 'fatal') {
        fail(data?.message ?? 'the checker could not be loaded');
      } else if (type === 'progress') {
        if (!onProgress || settled) return;
        const { stage, fraction, bytes, totalBytes, rows, mode, parts, workers } = data ?? {};
        const event = { stage: String(stage), fraction: Number(fraction), bytes: Number(bytes), totalBytes: Number(totalBytes), rows: Number(rows) };
        event.bytesRead = event.bytes;
        event.rowsRead = event.rows;
        if (mode !== undefined) event.mode = String(mode);
        if (parts !== undefined) event.parts = Number(parts);
        if (workers !== undefined) event.workers = Number(workers);
        try {
          onProgress(event);
        } catch (err) {
          // A failing progress handler is the host's bug: report it, keep checking.
          (globalThis.reportError ?? console.error)(err);
        }
      } else if (replyTo !== id) {
        return;
      } else if (type === 'result') {
        try {
          const decoder = new TextDecoder();
          const report = JSON.parse(decoder.decode(data.report));
          finish(resolve, withRows(report, data.rows));
        } catch (err) {
          fail(`the report could not be read: ${errorMessage(err)}`);
        }
      } else if (type === 'error') {
        const message = data?.message ?? 'unknown error';
        if (data?.name === 'OptionsError') {
          finish(reject, new Error(`${file.name}: invalid options${rulesFrom ? ` (rules from ${rulesFrom})` : rulesObject ? ' (rules object given)' : ''}: ${message}`));
        } else {
          fail(message);
        }
      }
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      fail(`the checker's worker failed${event.message ? `: ${event.message}` : ''}`);
    };
    worker.onmessageerror = () => fail('a message from the checker could not be read');
    // The File is a handle: cloning it into the worker copies no bytes.
    worker.postMessage({ id, type: 'profile', data: { file, options: workerOptions, rows: wantRows } });
  });
}
