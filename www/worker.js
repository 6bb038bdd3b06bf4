// preflight's worker: owns the wasm module and, through it, the GPU.
//
// Protocol (DESIGN section 2): every message is {id, type, data}.
//   page -> worker  {id, type: 'profile', data: {file, options: {label, backend, normalize, rules}, rows}}
//                                                          rules: a rules file's parsed JSON (optional);
//                                                          rows: false leaves the per-row CSV out of the
//                                                          result (default true; relabel and rerun take it too)
//                   {id, type: 'relabel', data: {label}}   re-runs the checks of the last file
//                                                          profiled here, on its parsed table,
//                                                          with another label column ('' = detect)
//                   {id, type: 'check-rules', data: {rules, fileName}}   checks a rules file's parsed JSON
//                   {id, type: 'rerun', data: {options}}   like relabel, with an options object: {label,
//                                                          annotators, verified, reviewPerClass, reviewFraction,
//                                                          reviewSeed, reviewEnrich}; those given replace the
//                                                          last run's
//                   {id, type: 'compare', data: {reference, candidate, options, thresholds}}
//                                                          both files read in slices, then the
//                                                          wasm compare (a CompareReport)
//                   {id, type: 'html', data: {report, includeRows}}   the shareable HTML report of a
//                                                          report object (single-file or comparison)
//   options (profile, compare) may also carry the stream settings: {stream: 'auto' | 'on' | 'off',
//                   streamAboveBytes, sampleRows, workers}; see "Stream mode" below
//                   and embed: 'hashed' (default) | 'semantic': a sentence model on the text column;
//                   its weights (model-cache.js) come from this site's models/ folder the first
//                   time, from the Cache API after that, with progress stage 'model'
//   worker -> page  {type: 'ready', data: {version, webgpu}}          (no id)
//                   {type: 'fatal', data: {message}}                  (no id: the module failed to load)
//                   {type: 'progress', data: {stage, fraction, bytes, totalBytes, rows, bytesRead, rowsRead,
//                                             mode, parts}} (no id): bytes and rows read so far (bytesRead and
//                                                          rowsRead: the same, their older names); in a compare,
//                                                          over both files; mode 'stream' | 'exact' while
//                                                          reading; parts: the part workers parsing
//                   {id, type: 'result', data: {report, rows, review}}  report and review (the review sample
//                                                          CSV, absent without a label): UTF-8 bytes; rows: the
//                                                          per-row CSV as an array of UTF-8 pieces (Uint8Array;
//                                                          absent when not wanted); all transferred
//                   {id, type: 'result', data: {report, kind: 'compare'}}   the comparison (UTF-8 bytes)
//                   progress of a compare also carries {file: 'reference' | 'candidate'} while reading
//                   {id, type: 'rules-checked', data: {summary} | {error}}   answer to 'check-rules'
//                   {id, type: 'html', data: {html} | {error}}          answer to 'html': the document text
//                   {id, type: 'error', data: {message, name}}          name 'OptionsError': the options
//                                                          (or rules) were refused
// The page cancels a run by terminating this worker and starting a new one;
// the part workers this worker started end with it.
//
// Stream mode (big files): when options.stream is 'on', or 'auto' (the
// default) and the file is larger than options.streamAboveBytes (64 MiB),
// this worker is the coordinator: it reads the head (first 64 KiB), plans
// byte-range parts of at most 32 MiB (PART_BYTES), at least one per part
// worker, starts N part workers (N = options.workers, else min(cores, 8);
// part-worker.js) that take the parts in turn and parse them into
// mergeable parts, checks that neighbouring parts meet at a record boundary
// (re-parsing a part from the right boundary when a speculative cut fell
// inside a quoted field), merges them in file order as they come in
// (PartMerger; Profiler.fromParts for all at once) and runs the
// checks. Otherwise the file is pushed here in slices (exact mode).
// Every report gets compute.wasm_memory_bytes = {coordinator, workers, peak,
// total}: each wasm instance's largest WebAssembly.Memory size in bytes.

import { loadModel, forgetModel } from './model-cache.js';

const CHUNK_BYTES = 4 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 50;
/** Stream mode: bytes of the head read before planning the parts. */
const HEAD_BYTES = 64 * 1024;
/** Stream mode 'auto' streams files larger than this (options.streamAboveBytes). */
const STREAM_ABOVE_BYTES = 64 * 1024 * 1024;
/**
 * Stream mode: bytes of the file in one part at most. A file has at least
 * as many parts as part workers, and more when it is big: the workers take
 * the parts in turn, so that what one worker holds (its part's row hashes
 * and sample) and what the coordinator copies in at a time stay small
 * however big the file.
 */
const PART_BYTES = 32 * 1024 * 1024;
/** Part workers at most, unless options.workers asks for more. */
const MAX_PART_WORKERS = 8;
const STREAM_MODES = ['auto', 'on', 'off'];

let wasm = null;
/** The compiled module, handed to part workers so that they neither fetch nor compile it again. */
let compiled = null;

/**
 * Compiles pkg/preflight_bg.wasm, while it downloads where the server sends
 * it as application/wasm; otherwise from the downloaded bytes, with the
 * same console warning as wasm-bindgen's loader. Compiled here (not by the
 * loader) so that part workers can be handed the module.
 */
async function compileModule() {
  const url = new URL('./pkg/preflight_bg.wasm', import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`failed to fetch Wasm: ${response.status} ${response.statusText} fetching '${url.href}'`);
  if (typeof WebAssembly.compileStreaming === 'function') {
    const fallback = response.clone();
    try {
      return await WebAssembly.compileStreaming(response);
    } catch (err) {
      if ((response.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase() === 'application/wasm') throw err;
      console.warn('`WebAssembly.compileStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.compile` which is slower. Original error:\n', err);
      return WebAssembly.compile(await fallback.arrayBuffer());
    }
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/** Whether this browser offered a WebGPU adapter when the worker loaded. */
let webgpuSeen = false;

// Load and instantiate the module now, at page load, so that nothing is
// fetched once the user has chosen a file.
const ready = (async () => {
  try {
    const module = await import('./pkg/preflight.js');
    compiled = await compileModule();
    await module.default({ module_or_path: compiled });
    wasm = module;
    if (typeof module.setKnnHelper === 'function') module.setKnnHelper(knnOnWorkers);
    webgpuSeen = await hasWebGpuAdapter();
    self.postMessage({ type: 'ready', data: { version: String(module.version()), webgpu: webgpuSeen } });
  } catch (err) {
    self.postMessage({ type: 'fatal', data: { message: `The checker could not be loaded: ${errorMessage(err)}` } });
    throw err;
  }
})();
ready.catch(() => {}); // reported above; handlers re-await it

// Only for telling the user what to expect: the wasm side makes its own
// choice (backend 'auto' tries WebGPU and falls back to the CPU).
async function hasWebGpuAdapter() {
  if (typeof navigator === 'undefined' || !navigator.gpu) return false;
  try {
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 5000));
    return Boolean(await Promise.race([navigator.gpu.requestAdapter(), timeout]));
  } catch {
    return false;
  }
}

function errorMessage(err) {
  if (err === null || err === undefined) return 'unknown error';
  if (typeof err === 'string') return err;
  if (typeof err.message === 'string' && err.message !== '') return err.message;
  try {
    return String(err);
  } catch {
    return 'unknown error';
  }
}


let lastProgressAt = 0;
let lastStage = '';
// At most one message per PROGRESS_INTERVAL_MS, except that a new stage is always sent.
// `data`: {stage, fraction, bytes, totalBytes, rows, ...}; bytesRead and rowsRead are
// added, the names of bytes and rows before stream mode.
function progress(data, force = false) {
  const now = performance.now();
  if (!force && data.stage === lastStage && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
  lastProgressAt = now;
  lastStage = data.stage;
  self.postMessage({ type: 'progress', data: { ...data, bytesRead: data.bytes, rowsRead: data.rows } });
}

/** Milliseconds to a tenth, as the report's other timings. */
function round(ms) {
  return Math.round(ms * 10) / 10;
}

/** This instance's WebAssembly.Memory size in bytes (it only grows: this is its peak so far). */
function memoryBytes() {
  if (typeof wasm?.wasmMemoryBytes === 'function') return Number(wasm.wasmMemoryBytes());
  return Number(wasm?.__wasm?.memory?.buffer?.byteLength ?? 0);
}

/**
 * compute.wasm_memory_bytes of a report: the coordinator's memory (this
 * worker's), each part worker's largest, `peak` the largest single instance
 * (the number to hold against a tab's per-memory limit) and `total` their sum
 * (an upper bound of the wasm memory the run held at once); `knn_workers`
 * the kNN helpers' (knnOnWorkers), when they ran; in stream mode
 * also `coordinator_after_merge`, the coordinator's memory once the parts
 * were merged, before the checks.
 */
function memoryReport(read) {
  const coordinator = memoryBytes();
  const list = (read?.workerMemory ?? []).map((n) => Number(n) || 0);
  const sum = (l) => l.reduce((a, n) => a + n, coordinator);
  const out = { coordinator, workers: list, peak: Math.max(coordinator, ...list), total: sum(list) };
  // The kNN helpers run after the part workers have ended.
  if (knnHelperMemory.length) {
    out.knn_workers = [...knnHelperMemory];
    out.peak = Math.max(out.peak, ...knnHelperMemory);
    out.total = Math.max(out.total, sum(knnHelperMemory));
  }
  if (read?.afterMerge !== undefined) out.coordinator_after_merge = read.afterMerge;
  return out;
}

/**
 * Adds what only this worker knows to a single-file report object:
 * compute.wasm_memory_bytes and, for a streamed file, the time the parts
 * took to read (compute.timings_ms.read_parts: head, parallel parse and any
 * re-parse) and to merge (merge_parts). `read`: what readStreamed or the
 * exact path returned (absent for a re-run).
 */
function addComputeFacts(report, read) {
  if (report && typeof report === 'object') {
    report.compute ??= {};
    report.compute.wasm_memory_bytes = memoryReport(read);
    if (read?.timings) report.compute.timings_ms = { ...(report.compute.timings_ms ?? {}), ...read.timings };
  }
  return report;
}

function profilerOptions(options) {
  const backend = ['auto', 'gpu', 'cpu'].includes(options?.backend) ? options.backend : 'auto';
  const out = { backend };
  const label = typeof options?.label === 'string' ? options.label.trim() : '';
  if (label !== '') out.label = label;
  if (options?.normalize === true) out.normalize = true;
  // 'hashed' or 'semantic'; the wasm side refuses anything else.
  if (typeof options?.embed === 'string') out.embed = options.embed;
  // A rules file's parsed JSON (the embedding API, preflight.js): the wasm side validates it.
  if (options?.rules !== undefined && options?.rules !== null) out.rules = options.rules;
  const sampleRows = Number(options?.sampleRows);
  if (options?.sampleRows !== undefined && options?.sampleRows !== null && options?.sampleRows !== '' && Number.isFinite(sampleRows)) out.sampleRows = sampleRows;
  // The file's format and CSV delimiter over what its name says (the CLI's
  // --format and --delimiter); the wasm side refuses anything else.
  for (const key of ['format', 'delimiter']) {
    if (typeof options?.[key] === 'string' && options[key] !== '') out[key] = options[key];
  }
  return { ...out, ...auditOptions(options) };
}

/**
 * The stream settings of `options`: {mode, above, workers}; throws an
 * OptionsError naming the option at fault.
 */
function streamSettings(options) {
  const refuse = (message) => {
    const err = new Error(message);
    err.name = 'OptionsError';
    throw err;
  };
  const given = (key) => options?.[key] !== undefined && options?.[key] !== null && options?.[key] !== '';
  const mode = given('stream') ? String(options.stream) : 'auto';
  if (!STREAM_MODES.includes(mode)) refuse(`stream must be one of ${STREAM_MODES.join(', ')}, not ${JSON.stringify(options.stream)}`);
  let above = STREAM_ABOVE_BYTES;
  if (given('streamAboveBytes')) {
    above = Number(options.streamAboveBytes);
    if (!Number.isFinite(above) || above < 0) refuse(`streamAboveBytes must be a number of bytes (0 or more), not ${JSON.stringify(options.streamAboveBytes)}`);
  }
  let workers = Math.min(Number(self.navigator?.hardwareConcurrency) || 2, MAX_PART_WORKERS);
  if (given('workers')) {
    workers = Number(options.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) refuse(`workers must be a whole number from 1 to 64, not ${JSON.stringify(options.workers)}`);
  }
  return { mode, above, workers };
}

/** Whether `file` goes the stream way under `settings` (streamSettings). */
function streams(file, settings) {
  return settings.mode === 'on' || (settings.mode === 'auto' && file.size > settings.above);
}

/**
 * The options a 'rerun' may change besides the label (the label audits):
 * {annotators: [column], verified: column, reviewPerClass, reviewFraction,
 * reviewSeed, reviewEnrich}; only those given, the wasm side validates them.
 */
function auditOptions(options) {
  const out = {};
  if (Array.isArray(options?.annotators)) out.annotators = options.annotators.map(String);
  if (typeof options?.verified === 'string') out.verified = options.verified;
  for (const key of ['reviewPerClass', 'reviewFraction', 'reviewSeed', 'reviewEnrich']) {
    const value = options?.[key];
    if (value !== undefined && value !== null && value !== '' && Number.isFinite(Number(value))) out[key] = Number(value);
  }
  return out;
}

/** Wraps an error about the options (or rules) as an OptionsError. */
function optionsError(err) {
  const wrapped = new Error(errorMessage(err));
  wrapped.name = 'OptionsError';
  return wrapped;
}

/** A wasm Profiler for `name` (exact mode); an error here is about the options (or rules), named OptionsError. */
function newProfiler(name, options) {
  try {
    return new wasm.Profiler(name, { ...profilerOptions(options), stream: 'off' });
  } catch (err) {
    throw optionsError(err);
  }
}

function freeProfiler(profiler) {
  try {
    profiler?.free?.();
  } catch {
    /* already freed */
  }
}

// The profiler of the last file that finished here, parsed table and all,
// kept for 'relabel' until the next file arrives.
let kept = null;

function dropKept() {
  try {
    kept?.free?.();
  } catch {
    /* already freed */
  }
  kept = null;
}

function onStage(totalBytes, rows) {
  return (stage, fraction) => {
    progress({ stage: String(stage), fraction: Number(fraction), bytes: totalBytes, totalBytes, rows });
  };
}

/** The kept parsed file, once the module is ready: its profiler, size and rows read; a NoTable error when none is kept. */
async function keptTable() {
  await ready;
  if (!kept) {
    const err = new Error('no parsed file is kept in this worker');
    err.name = 'NoTable';
    throw err;
  }
  const { profiler, totalBytes, rows } = kept;
  return { profiler, totalBytes, rows };
}

async function relabel(label, wantRows) {
  const { profiler, totalBytes, rows } = await keptTable();
  profiler.setRowsWanted(wantRows);
  const result = await profiler.relabel(typeof label === 'string' ? label : '', onStage(totalBytes, rows));
  return { report: addComputeFacts(result.report), rowsCsvParts: result.rowsCsvParts, reviewCsv: result.reviewCsv };
}

/** Re-runs the checks of the kept file with some options changed (`label`, and those of auditOptions). */
async function rerun(options, wantRows) {
  const { profiler, totalBytes, rows } = await keptTable();
  profiler.setRowsWanted(wantRows);
  const changed = auditOptions(options);
  if (typeof options?.label === 'string') changed.label = options.label.trim();
  let result;
  try {
    result = await profiler.rerun(changed, onStage(totalBytes, rows));
  } catch (err) {
    throw optionsError(err);
  }
  return { report: addComputeFacts(result.report), rowsCsvParts: result.rowsCsvParts, reviewCsv: result.reviewCsv };
}

/**
 * Loads the semantic model into this worker's wasm module when the options
 * ask for semantic embeddings and it is not loaded yet: from the Cache API,
 * else downloaded from this site (progress stage 'model'). A cached copy
 * that does not load is forgotten and downloaded again, once.
 */
async function ensureModel(options) {
  if (options?.embed !== 'semantic' || wasm.hasModel()) return;
  for (let attempt = 0; ; attempt++) {
    progress({ stage: 'model', fraction: 0 }, true);
    const { bytes, cached } = await loadModel(({ loaded, total }) => {
      progress({ stage: 'model', fraction: total ? loaded / total : 0, bytes: loaded, totalBytes: total ?? undefined });
    });
    progress({ stage: 'model', fraction: 1, bytes: bytes.length, totalBytes: bytes.length }, true);
    try {
      wasm.setModel(bytes);
      return;
    } catch (err) {
      if (!cached || attempt > 0) throw err;
      await forgetModel();
    }
  }
}

/**
 * `file` itself, or for a name ending in .gz its decompressed content as a
 * File named without the suffix (as the CLI reads it). The browser keeps a
 * large Blob on disk, so the page's memory holds none of it; the checks
 * then read it as any file, streamed in parts when it is big.
 */
async function gunzipped(file) {
  if (!/\.gz$/i.test(file.name)) return file;
  if (typeof DecompressionStream !== 'function') {
    throw new Error(`${file.name}: this browser cannot decompress gzip (no DecompressionStream); decompress the file first`);
  }
  progress({ stage: 'decompressing', fraction: 0 }, true);
  let blob;
  try {
    blob = await new Response(file.stream().pipeThrough(new DecompressionStream('gzip'))).blob();
  } catch (err) {
    throw new Error(`${file.name}: not a readable gzip file (${errorMessage(err)})`);
  }
  return new File([blob], file.name.slice(0, -3), { lastModified: file.lastModified });
}

async function profile(file, options, wantRows) {
  await ready;
  file = await gunzipped(file);
  dropKept();
  await ensureModel(options);
  const settings = streamSettings(options);
  const totalBytes = file.size;
  const meter = new ReadMeter(totalBytes);
  let read;
  if (streams(file, settings)) {
    read = await readStreamed(file, options, settings, meter);
  } else {
    const profiler = newProfiler(file.name, options);
    try {
      await pushFile(profiler, file, meter);
    } catch (err) {
      freeProfiler(profiler);
      throw err;
    }
    read = { profiler, workerMemory: [] };
  }
  meter.done();
  const { profiler } = read;
  let keep = false;
  try {
    const rows = meter.rows;
    warmKnnHelpers(rows, options);
    profiler.setRowsWanted(wantRows);
    const result = await profiler.finish(onStage(totalBytes, rows));
    // Kept: a new label column re-runs the checks without reading the file again.
    kept = { profiler, totalBytes, rows, free: () => profiler.free() };
    keep = true;
    // The wasm edge serialises the report JSON-compatibly: plain objects.
    return { report: addComputeFacts(result.report, read), rowsCsvParts: result.rowsCsvParts, reviewCsv: result.reviewCsv };
  } finally {
    dropWarmHelpers();
    if (!keep) freeProfiler(profiler);
  }
}

/**
 * Progress of reading one file or two (a compare): bytes and rows summed
 * over the files and, in stream mode, over the parts being parsed at once.
 * `extra` goes into every message (the file being read in a compare).
 */
class ReadMeter {
  constructor(totalBytes) {
    this.totalBytes = totalBytes;
    /** Bytes and rows of the files read before the current one. */
    this.baseBytes = 0;
    this.baseRows = 0;
    /** Bytes and rows of the current file. */
    this.fileBytes = 0;
    this.fileRows = 0;
    this.extra = {};
  }

  get bytes() {
    return this.baseBytes + this.fileBytes;
  }

  get rows() {
    return this.baseRows + this.fileRows;
  }

  /** Starts the next file; `extra` goes into its messages. */
  startFile(extra = {}) {
    this.baseBytes += this.fileBytes;
    this.baseRows += this.fileRows;
    this.fileBytes = 0;
    this.fileRows = 0;
    this.extra = extra;
  }

  /** The current file has read `bytes` and `rows` so far. */
  update(bytes, rows, data = {}, force = false) {
    this.fileBytes = bytes;
    this.fileRows = rows;
    const total = this.totalBytes;
    progress({ stage: 'reading', fraction: total > 0 ? Math.min(1, this.bytes / total) : 1, bytes: this.bytes, totalBytes: total, rows: this.rows, ...this.extra, ...data }, force);
  }

  /** The current file is read. */
  done() {
    this.extra = {};
  }
}

/** Pushes `file` into `profiler` in slices (exact mode), reporting through `meter`. */
async function pushFile(profiler, file, meter) {
  const totalBytes = file.size;
  meter.update(0, 0, { mode: 'exact' }, true);
  for (let offset = 0; offset < totalBytes; offset += CHUNK_BYTES) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
    profiler.push(chunk);
    meter.update(Math.min(offset + CHUNK_BYTES, totalBytes), Number(profiler.rowsRead()), { mode: 'exact' });
  }
  meter.update(totalBytes, Number(profiler.rowsRead()), { mode: 'exact' }, true);
}

/**
 * The part workers of one streamed file: `count` module workers running
 * part-worker.js, each fed the compiled module. `run` sends one part to a
 * worker and resolves to {part, bytesRead, rows, memoryBytes}; `terminate`
 * ends them all and rejects what is pending.
 */
class PartWorkers {
  constructor(count, fileName) {
    this.fileName = fileName;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, onProgress, worker}
    this.memory = new Array(count).fill(0);
    /** Workers that have sent a message: they loaded. */
    this.started = new Set();
    /** Workers that could not load: their parts are parsed by the coordinator. */
    this.broken = new Set();
    this.workers = [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./part-worker.js', import.meta.url), { type: 'module', name: `preflight-part-${i}` });
      worker.onmessage = (event) => {
        this.started.add(worker);
        this.onMessage(event.data);
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        // Before its first message: the script (or the glue it imports) did not load.
        const notStarted = !this.started.has(worker);
        this.failWorker(worker, `a part worker failed${event.message ? `: ${event.message}` : notStarted ? ' (part-worker.js could not be loaded)' : ''}`, notStarted);
      };
      worker.onmessageerror = () => this.failWorker(worker, 'a message from a part worker could not be read');
      this.workers.push(worker);
    }
  }

  /** Parses `spec` in worker `slot`; `onProgress(bytes, rows)` as it goes. */
  run(slot, job, onProgress) {
    const worker = this.workers[slot];
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        worker,
        onProgress,
        reject,
        resolve: (data) => {
          this.memory[slot] = Math.max(this.memory[slot], Number(data.memoryBytes) || 0);
          resolve(data);
        },
      });
      worker.postMessage({ id, type: 'part', data: { module: compiled, ...job } });
    });
  }

  /** Sends a job of another `type` ('knn') to worker `slot`; resolves to the answer's data. */
  request(slot, type, job) {
    const worker = this.workers[slot];
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.postMessage({ id, type, data: { module: compiled, ...job } });
    });
  }

  onMessage(message) {
    const { id, type, data } = message ?? {};
    const job = this.pending.get(id);
    if (!job) return;
    if (type === 'progress') {
      job.onProgress?.(Number(data?.bytes) || 0, Number(data?.rows) || 0);
      return;
    }
    this.pending.delete(id);
    if (type === 'part' || type === 'knn') {
      job.resolve(data);
      return;
    }
    // Messages from the core name the file; one that does not gets it here.
    const text = String(data?.message ?? 'a part could not be parsed');
    job.reject(new Error(text.includes(this.fileName) ? text : `${this.fileName}: ${text}`));
  }

  /** Rejects the jobs of `worker`; `notLoaded`: the errors say so (loadFailure), and it takes no more. */
  failWorker(worker, message, notLoaded = false) {
    if (notLoaded) this.broken.add(worker);
    for (const [id, job] of this.pending) {
      if (job.worker !== worker) continue;
      this.pending.delete(id);
      const err = new Error(`${this.fileName}: ${message}`);
      err.loadFailure = notLoaded;
      job.reject(err);
    }
  }

  /** Whether worker `slot` can take a part (it has not failed to load). */
  usable(slot) {
    return !this.broken.has(this.workers[slot]);
  }

  terminate() {
    for (const worker of this.workers) worker.terminate();
    for (const job of this.pending.values()) job.reject(new Error(`${this.fileName}: the part workers were stopped`));
    this.pending.clear();
  }
}

/** Graphs of fewer rows are built by this worker alone: starting helpers costs more. */
const KNN_SHARED_MIN_ROWS = 4096;
/** Rows the embedding keeps at most (the wasm side's default maxKnnRows). */
const KNN_EMBEDDED_ROWS = 20000;
/** kNN helper workers at most. */
const MAX_KNN_WORKERS = 8;
/** The wasm memory of the last kNN helpers, for the report (memoryReport). */
let knnHelperMemory = [];

/**
 * The wasm side's kNN helper (setKnnHelper): when the CPU builds the graph
 * (no WebGPU) and it is big enough, one part worker per core (up to
 * MAX_KNN_WORKERS) each takes a contiguous share of the symmetric search's
 * block pairs (knnPairs: each pair of rows computed once, offered to both
 * rows) into its own top-k lists of all rows; the wasm side merges the
 * lists: the same graph, bit for bit, as one thread's one-way search.
 * Resolves to null (build it here) on one core or for a small graph.
 */
async function knnOnWorkers(data, n, d, k, metric) {
  knnHelperMemory = [];
  const pairs = Number(wasm.knnBlockPairs(n, d));
  const count = Math.min(knnHelperCount(n), pairs);
  let pool = warmHelpers;
  warmHelpers = null;
  if (n < KNN_SHARED_MIN_ROWS || count < 2) {
    pool?.terminate();
    return null;
  }
  // Warm helpers serve when there are enough and none failed to load (a job
  // sent to one that failed before it would never be answered).
  if (!pool || pool.workers.length < count || pool.broken.size > 0) {
    pool?.terminate();
    pool = new PartWorkers(count, 'kNN graph');
  }
  try {
    const jobs = [];
    for (let slot = 0; slot < count; slot++) {
      const first = Math.floor((slot * pairs) / count);
      const end = Math.floor(((slot + 1) * pairs) / count);
      // Each worker gets its own copy of the rows (structured clone).
      jobs.push(pool.request(slot, 'knn', { data, n, d, k, metric, first, count: end - first }));
    }
    const lists = await Promise.all(jobs);
    const kk = Math.min(k, n - 1);
    for (const list of lists) {
      if (Number(list.k) !== kk) throw new Error(`a kNN helper searched for ${list.k} neighbours, not ${kk}`);
    }
    knnHelperMemory = lists.map((list) => Number(list.memoryBytes) || 0);
    return { workers: jobs.length, lists };
  } finally {
    pool.terminate();
  }
}

/** Helpers a CPU graph of `n` rows is shared among: one a core, each with 1,024 rows at least, at most MAX_KNN_WORKERS. */
function knnHelperCount(n) {
  const cores = Math.max(1, Number(self.navigator?.hardwareConcurrency) || 1);
  return Math.min(cores, MAX_KNN_WORKERS, Math.ceil(n / 1024));
}

/** kNN helpers started ahead of the graph (warmKnnHelpers), for knnOnWorkers. */
let warmHelpers = null;

/**
 * Starts the kNN helpers of a file of `rows` rows while the checks before
 * the graph run (duplicates, conflicts, embedding): a worker takes
 * about 0.2 s to start, which the graph would otherwise wait for. Only when
 * the graph will likely be shared among helpers: enough rows (at most the
 * 20,000 the embedding keeps), 2 cores or more, and the CPU building it
 * (backend 'cpu', or 'auto' without a WebGPU adapter). knnOnWorkers takes
 * them; a run that does not ends them (dropWarmHelpers).
 */
function warmKnnHelpers(rows, options) {
  dropWarmHelpers();
  const { backend, sampleRows } = profilerOptions(options);
  // A streamed file's graph is built on its row sample.
  const n = Math.min(Number(rows) || 0, KNN_EMBEDDED_ROWS, sampleRows > 0 ? sampleRows : Infinity);
  const cpuGraph = backend === 'cpu' || (backend === 'auto' && !webgpuSeen);
  const count = knnHelperCount(n);
  if (n < KNN_SHARED_MIN_ROWS || count < 2 || !cpuGraph) return;
  try {
    warmHelpers = new PartWorkers(count, 'kNN graph');
  } catch {
    // No workers here (a policy, an old browser): knnOnWorkers tries again
    // and, failing, the graph is built in this worker.
    warmHelpers = null;
  }
}

/** Ends the warm kNN helpers no graph took. */
function dropWarmHelpers() {
  warmHelpers?.terminate();
  warmHelpers = null;
}

/**
 * Parses one part here, in the coordinator: when there is one part worker
 * only, or when part workers cannot start (part-worker.js unreachable, say
 * offline). The same loop as part-worker.js's parsePart; resolves to
 * {part, bytesRead, rows}.
 */
async function parsePartHere({ file, name, options, head, spec }, onProgress) {
  const start = Number(spec.start);
  const end = Number(spec.end);
  const size = file.size;
  const builder = new wasm.PartBuilder(name, options, head, spec);
  try {
    const read = (offset) => (offset < size ? file.slice(offset, Math.min(offset + CHUNK_BYTES, size)).arrayBuffer() : null);
    let offset = start;
    let pending = read(offset);
    while (pending) {
      const chunk = new Uint8Array(await pending);
      const next = offset + chunk.byteLength;
      pending = read(next);
      const done = builder.push(chunk);
      offset = next;
      onProgress?.(Math.max(0, Math.min(offset, end) - start), Number(builder.rowsRead()));
      if (done) break;
    }
    const bytesRead = Number(builder.bytesRead());
    const rows = Number(builder.rowsRead());
    return { part: builder.finish(), bytesRead, rows };
  } finally {
    // finish() leaves an empty builder behind: free it either way.
    try {
      builder.free();
    } catch {
      /* already freed */
    }
  }
}

/** The wasm exports stream mode needs, or an error saying which this build lacks. */
function requireStreamExports() {
  const missing = ['readHead', 'planParts', 'PartBuilder', 'PartMerger', 'checkParts'].filter((name) => typeof wasm[name] !== 'function');
  if (missing.length) throw new Error(`this build of the checker cannot stream big files (missing ${missing.join(', ')}); set stream to 'off'`);
}

/**
 * Stream mode: reads `file` as parts parsed in parallel by part workers and
 * merges them into a Profiler (not finished). Each part is merged as soon
 * as the parts before it are (PartMerger), while the others are still being
 * read. Resolves to {profiler, workerMemory, afterMerge, timings}: each part
 * worker's largest wasm memory, this worker's once merged, and the
 * read_parts (until every part is read: the merges done meanwhile
 * included), merge_parts (the merges and the profiler's making after that)
 * and merge_parts_during_read milliseconds.
 */
async function readStreamed(file, options, settings, meter) {
  requireStreamExports();
  let opts = { ...profilerOptions(options), stream: 'on' };
  if (options?.streamAboveBytes !== undefined && options?.streamAboveBytes !== null && options?.streamAboveBytes !== '') opts.streamAboveBytes = settings.above;
  const name = file.name;
  const started = performance.now();
  meter.update(0, 0, { mode: 'stream' }, true);
  const headBytes = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  let head;
  try {
    head = wasm.readHead(name, headBytes, file.size <= HEAD_BYTES, opts);
  } catch (err) {
    // A bad format or delimiter option is an OptionsError; a bad file is the file's error.
    throw err?.name === 'OptionsError' ? optionsError(err) : err;
  }
  const specs = Array.from(wasm.planParts(file.size, head, Math.max(settings.workers, Math.ceil(file.size / PART_BYTES))));
  if (specs.length === 0) throw new Error(`${name}: no parts were planned`);
  // The options are checked once here, before any part worker starts.
  try {
    new wasm.PartBuilder(name, opts, head, specs[0]).free();
  } catch (err) {
    throw optionsError(err);
  }
  // One part worker would only copy what this worker can do itself.
  const workerCount = Math.min(settings.workers, specs.length);
  const pool = workerCount > 1 ? new PartWorkers(workerCount, name) : null;
  let merger = null;
  try {
    const bytes = new Array(specs.length).fill(0);
    const rows = new Array(specs.length).fill(0);
    const sum = (list) => list.reduce((a, b) => a + b, 0);
    const report = (force = false) => meter.update(sum(bytes), sum(rows), { mode: 'stream', parts: specs.length, workers: Math.max(1, workerCount) }, force);
    const job = (spec) => ({ file, name, options: opts, head, spec });
    /** A part in worker `slot`, or here when that worker cannot load. */
    const runPart = async (slot, spec, onProgress) => {
      if (pool?.usable(slot)) {
        try {
          return await pool.run(slot, job(spec), onProgress);
        } catch (err) {
          if (!err.loadFailure) throw err;
        }
      }
      return parsePartHere(job(spec), onProgress);
    };
    const parts = new Array(specs.length).fill(null);
    merger = new wasm.PartMerger(name);
    // The last merged part's first bytes: checkParts reads only a part's
    // fixed header, and the merged parts' bytes are let go.
    let lastMergedHead = null;
    let mergedDuringRead = 0;
    // Merges the parts that are in and follow the merged ones, in file
    // order; stops at a part that does not begin where the one before
    // stopped (a speculative cut inside a quoted field: read again below).
    const mergeInOrder = () => {
      const first = performance.now();
      let merged = merger.parts();
      while (merged < parts.length && parts[merged]) {
        if (lastMergedHead && wasm.checkParts([lastMergedHead, parts[merged]])) break;
        merger.add(parts[merged]);
        lastMergedHead = parts[merged].slice(0, 256);
        parts[merged] = null;
        merged++;
      }
      return performance.now() - first;
    };
    // Each worker (slot) takes the next unread part until none is left.
    let nextPart = 0;
    const lane = async (slot) => {
      while (nextPart < specs.length) {
        const i = nextPart++;
        const parsed = await runPart(slot, specs[i], (b, r) => {
          bytes[i] = b;
          rows[i] = r;
          report();
        });
        parts[i] = parsed.part;
        rows[i] = Number(parsed.rows) || 0;
        mergedDuringRead += mergeInOrder();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workerCount) }, (_, slot) => lane(slot)));
    // Every byte is read (the head's too, which no part counts).
    const readAll = (data) => meter.update(file.size, sum(rows), { mode: 'stream', parts: specs.length, workers: Math.max(1, workerCount), ...data }, true);
    readAll();
    // A part that started inside a quoted field (a speculative cut) is
    // parsed again from the record boundary its neighbour found. Each
    // re-parse starts at a true boundary, so the chain ends within one pass.
    let reparsed = 0;
    const unmerged = () => [...(lastMergedHead ? [lastMergedHead] : []), ...parts.filter((p) => p)];
    for (let fix = wasm.checkParts(unmerged()); fix; fix = wasm.checkParts(unmerged())) {
      const index = Number(fix.index);
      if (!(index >= merger.parts() && index < specs.length) || reparsed >= specs.length) {
        throw new Error(`${name}: the parts do not join at record boundaries (part ${index} from byte ${fix.start})`);
      }
      reparsed++;
      specs[index] = { ...specs[index], start: Number(fix.start), atRecordBoundary: true };
      progress({ stage: 'reparse', fraction: reparsed / specs.length, bytes: meter.bytes, totalBytes: meter.totalBytes, rows: meter.rows, part: index, start: Number(fix.start), ...meter.extra }, true);
      const again = await runPart(index % Math.max(1, workerCount), specs[index]);
      parts[index] = again.part;
      rows[index] = Number(again.rows) || 0;
      readAll({ reparsed });
    }
    // The part workers that ran (none when this worker parsed every part).
    const workerMemory = pool ? pool.memory.filter((_, i) => pool.usable(i)) : [];
    pool?.terminate();
    progress({ stage: 'merge', fraction: 0, bytes: meter.bytes, totalBytes: meter.totalBytes, rows: meter.rows, parts: specs.length, reparsed, ...meter.extra }, true);
    const mergeStarted = performance.now();
    let profiler;
    try {
      mergeInOrder();
      if (merger.parts() < parts.length) throw new Error(`${name}: part ${merger.parts()} does not join the part before it at a record boundary`);
      profiler = merger.finish(opts, head, file.size);
    } finally {
      parts.length = 0;
    }
    const timings = { read_parts: round(mergeStarted - started), merge_parts: round(performance.now() - mergeStarted), merge_parts_during_read: round(mergedDuringRead) };
    return { profiler, workerMemory, afterMerge: memoryBytes(), timings };
  } finally {
    pool?.terminate();
    try {
      merger?.free();
    } catch {
      /* already freed */
    }
  }
}

function compareThresholds(thresholds) {
  const out = {};
  for (const key of ['ks', 'alpha', 'psi', 'psiBins', 'js', 'missingChange', 'datasetDrift', 'leakageShare']) {
    const value = Number(thresholds?.[key]);
    if (thresholds?.[key] !== undefined && thresholds?.[key] !== '' && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

/** Reads one file of a compare into a profiler (streamed or exact): {profiler, workerMemory}. */
async function readForCompare(file, options, settings, meter) {
  if (streams(file, settings)) return readStreamed(file, options, settings, meter);
  const profiler = newProfiler(file.name, options);
  try {
    await pushFile(profiler, file, meter);
  } catch (err) {
    freeProfiler(profiler);
    throw err;
  }
  return { profiler, workerMemory: [] };
}

/** Reads both files (reference first) into two profilers and compares them. */
async function compare(reference, candidate, options, thresholds) {
  await ready;
  reference = await gunzipped(reference);
  candidate = await gunzipped(candidate);
  // The kept table of a single-file run is not needed while comparing; free its memory.
  dropKept();
  await ensureModel(options);
  const settings = streamSettings(options);
  const totalBytes = reference.size + candidate.size;
  const meter = new ReadMeter(totalBytes);
  const profilers = [];
  try {
    meter.startFile({ file: 'reference', fileName: reference.name });
    const r = await readForCompare(reference, options, settings, meter);
    profilers.push(r.profiler);
    meter.startFile({ file: 'candidate', fileName: candidate.name });
    const c = await readForCompare(candidate, options, settings, meter);
    profilers.push(c.profiler);
    meter.done();
    const result = await wasm.compare(r.profiler, c.profiler, compareThresholds(thresholds), onStage(totalBytes, meter.rows));
    const report = result.report;
    if (report?.reference) addComputeFacts(report.reference, r);
    if (report?.candidate) addComputeFacts(report.candidate, c);
    return report;
  } finally {
    for (const p of profilers) freeProfiler(p);
  }
}

self.onmessage = async (event) => {
  const { id, type, data } = event.data ?? {};
  if (type !== 'check-rules' && type !== 'html') knnHelperMemory = [];
  if (type === 'check-rules') {
    // The wasm parser's verdict on a rules file, before any run uses it.
    try {
      await ready;
      self.postMessage({ id, type: 'rules-checked', data: { summary: String(wasm.checkRules(data?.rules, data?.fileName ?? '')) } });
    } catch (err) {
      self.postMessage({ id, type: 'rules-checked', data: { error: errorMessage(err) } });
    }
    return;
  }
  if (type === 'html') {
    // Stateless: any loaded worker can write it, while a run goes on or not.
    try {
      await ready;
      const html = String(wasm.reportHtml(data?.report, { includeRows: data?.includeRows === true }));
      self.postMessage({ id, type: 'html', data: { html } });
    } catch (err) {
      self.postMessage({ id, type: 'html', data: { error: errorMessage(err) } });
    }
    return;
  }
  if (type === 'compare') {
    try {
      const report = await compare(data.reference, data.candidate, data.options, data.thresholds);
      const reportBytes = new TextEncoder().encode(JSON.stringify(report));
      self.postMessage({ id, type: 'result', data: { report: reportBytes, kind: 'compare' } }, [reportBytes.buffer]);
    } catch (err) {
      self.postMessage({ id, type: 'error', data: { message: errorMessage(err), name: err?.name ?? 'Error' } });
    }
    return;
  }
  if (type !== 'profile' && type !== 'relabel' && type !== 'rerun') {
    self.postMessage({ id, type: 'error', data: { message: `unknown request type: ${String(type)}` } });
    return;
  }
  try {
    const wantRows = data?.rows !== false;
    const { report, rowsCsvParts, reviewCsv } =
      type === 'relabel'
        ? await relabel(data?.label, wantRows)
        : type === 'rerun'
          ? await rerun(data?.options, wantRows)
          : await profile(data.file, data.options, wantRows);
    const encoder = new TextEncoder();
    const reportBytes = encoder.encode(JSON.stringify(report));
    const result = { report: reportBytes };
    const transfer = [reportBytes.buffer];
    if (rowsCsvParts) {
      // The wasm module's pieces, each in a buffer of its own: sent as they are.
      result.rows = rowsCsvParts;
      transfer.push(...rowsCsvParts.map((part) => part.buffer));
    }
    if (typeof reviewCsv === 'string') {
      result.review = encoder.encode(reviewCsv);
      transfer.push(result.review.buffer);
    }
    self.postMessage({ id, type: 'result', data: result }, transfer);
  } catch (err) {
    self.postMessage({ id, type: 'error', data: { message: errorMessage(err), name: err?.name ?? 'Error' } });
  }
};
