// preflight's worker: owns the wasm module and, through it, the GPU.
//
// Protocol (DESIGN section 2): every message is {id, type, data}.
//   page -> worker  {id, type: 'profile', data: {file, options: {label, backend, normalize, rules}}}
//                                                          rules: a rules file's parsed JSON (optional)
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
//   worker -> page  {type: 'ready', data: {version, webgpu}}          (no id)
//                   {type: 'fatal', data: {message}}                  (no id: the module failed to load)
//                   {type: 'progress', data: {stage, fraction, bytesRead, totalBytes, rowsRead}} (no id)
//                   {id, type: 'result', data: {report, rows, review}}  report, rows, review (the review
//                                                          sample CSV, absent without a label): UTF-8 bytes (transferred)
//                   {id, type: 'result', data: {report, kind: 'compare'}}   the comparison (UTF-8 bytes)
//                   progress of a compare also carries {file: 'reference' | 'candidate'} while reading
//                   {id, type: 'rules-checked', data: {summary} | {error}}   answer to 'check-rules'
//                   {id, type: 'html', data: {html} | {error}}          answer to 'html': the document text
//                   {id, type: 'error', data: {message, name}}          name 'OptionsError': the options
//                                                          (or rules) were refused
// The page cancels a run by terminating this worker and starting a new one.

const CHUNK_BYTES = 4 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 50;

let wasm = null;

// Load and instantiate the module now, at page load, so that nothing is
// fetched once the user has chosen a file.
const ready = (async () => {
  try {
    const module = await import('./pkg/preflight.js');
    await module.default();
    wasm = module;
    self.postMessage({ type: 'ready', data: { version: String(module.version()), webgpu: await hasWebGpuAdapter() } });
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
function progress(data, force = false) {
  const now = performance.now();
  if (!force && data.stage === lastStage && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
  lastProgressAt = now;
  lastStage = data.stage;
  self.postMessage({ type: 'progress', data });
}

function profilerOptions(options) {
  const backend = ['auto', 'gpu', 'cpu'].includes(options?.backend) ? options.backend : 'auto';
  const out = { backend };
  const label = typeof options?.label === 'string' ? options.label.trim() : '';
  if (label !== '') out.label = label;
  if (options?.normalize === true) out.normalize = true;
  // A rules file's parsed JSON (the embedding API, preflight.js): the wasm side validates it.
  if (options?.rules !== undefined && options?.rules !== null) out.rules = options.rules;
  return { ...out, ...auditOptions(options) };
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

/** A wasm Profiler for `name`; an error here is about the options (or rules), named OptionsError. */
function newProfiler(name, options) {
  try {
    return new wasm.Profiler(name, profilerOptions(options));
  } catch (err) {
    const wrapped = new Error(errorMessage(err));
    wrapped.name = 'OptionsError';
    throw wrapped;
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

function onStage(totalBytes, rowsRead) {
  return (stage, fraction) => {
    progress({ stage: String(stage), fraction: Number(fraction), bytesRead: totalBytes, totalBytes, rowsRead });
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
  const { profiler, totalBytes } = kept;
  return { profiler, totalBytes, rowsRead: Number(profiler.rowsRead()) };
}

async function relabel(label) {
  const { profiler, totalBytes, rowsRead } = await keptTable();
  const result = await profiler.relabel(typeof label === 'string' ? label : '', onStage(totalBytes, rowsRead));
  return { report: result.report, rowsCsv: result.rowsCsv, reviewCsv: result.reviewCsv };
}

/** Re-runs the checks of the kept file with some options changed (`label`, and those of auditOptions). */
async function rerun(options) {
  const { profiler, totalBytes, rowsRead } = await keptTable();
  const changed = auditOptions(options);
  if (typeof options?.label === 'string') changed.label = options.label.trim();
  let result;
  try {
    result = await profiler.rerun(changed, onStage(totalBytes, rowsRead));
  } catch (err) {
    const wrapped = new Error(errorMessage(err));
    wrapped.name = 'OptionsError';
    throw wrapped;
  }
  return { report: result.report, rowsCsv: result.rowsCsv, reviewCsv: result.reviewCsv };
}

async function profile(file, options) {
  await ready;
  dropKept();
  const totalBytes = file.size;
  const profiler = newProfiler(file.name, options);
  let keep = false;
  try {
    const rowsRead = await pushFile(profiler, file);
    const result = await profiler.finish(onStage(totalBytes, rowsRead));
    // Kept: a new label column re-runs the checks without reading the file again.
    kept = { profiler, totalBytes, free: () => profiler.free() };
    keep = true;
    // The wasm edge serialises the report JSON-compatibly: plain objects.
    return { report: result.report, rowsCsv: result.rowsCsv, reviewCsv: result.reviewCsv };
  } finally {
    if (!keep) {
      try {
        profiler.free?.();
      } catch {
        /* already freed */
      }
    }
  }
}

/** Pushes `file` into `profiler` in slices; `extra` goes into every progress message. */
async function pushFile(profiler, file, extra = {}) {
  const totalBytes = file.size;
  progress({ stage: 'reading', fraction: 0, bytesRead: 0, totalBytes, rowsRead: 0, ...extra }, true);
  for (let offset = 0; offset < totalBytes; offset += CHUNK_BYTES) {
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK_BYTES).arrayBuffer());
    profiler.push(chunk);
    const bytesRead = Math.min(offset + CHUNK_BYTES, totalBytes);
    progress({
      stage: 'reading',
      fraction: totalBytes > 0 ? bytesRead / totalBytes : 1,
      bytesRead,
      totalBytes,
      rowsRead: Number(profiler.rowsRead()),
      ...extra,
    });
  }
  const rowsRead = Number(profiler.rowsRead());
  progress({ stage: 'reading', fraction: 1, bytesRead: totalBytes, totalBytes, rowsRead, ...extra }, true);
  return rowsRead;
}

function compareThresholds(thresholds) {
  const out = {};
  for (const key of ['ks', 'alpha', 'psi', 'psiBins', 'js', 'missingChange', 'datasetDrift', 'leakageShare']) {
    const value = Number(thresholds?.[key]);
    if (thresholds?.[key] !== undefined && thresholds?.[key] !== '' && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

/** Reads both files (reference first) into two profilers and compares them. */
async function compare(reference, candidate, options, thresholds) {
  await ready;
  // The kept table of a single-file run is not needed while comparing; free its memory.
  dropKept();
  const opts = profilerOptions(options);
  const profilers = [];
  try {
    const r = new wasm.Profiler(reference.name, opts);
    profilers.push(r);
    const c = new wasm.Profiler(candidate.name, opts);
    profilers.push(c);
    await pushFile(r, reference, { file: 'reference', fileName: reference.name });
    await pushFile(c, candidate, { file: 'candidate', fileName: candidate.name });
    const totalBytes = reference.size + candidate.size;
    const rowsRead = Number(r.rowsRead()) + Number(c.rowsRead());
    const result = await wasm.compare(r, c, compareThresholds(thresholds), onStage(totalBytes, rowsRead));
    return result.report;
  } finally {
    for (const p of profilers) {
      try {
        p.free?.();
      } catch {
        /* already freed */
      }
    }
  }
}

self.onmessage = async (event) => {
  const { id, type, data } = event.data ?? {};
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
    const { report, rowsCsv, reviewCsv } =
      type === 'relabel' ? await relabel(data?.label) : type === 'rerun' ? await rerun(data?.options) : await profile(data.file, data.options);
    const encoder = new TextEncoder();
    const reportBytes = encoder.encode(JSON.stringify(report));
    const rowsBytes = encoder.encode(rowsCsv);
    const result = { report: reportBytes, rows: rowsBytes };
    const transfer = [reportBytes.buffer, rowsBytes.buffer];
    if (typeof reviewCsv === 'string') {
      result.review = encoder.encode(reviewCsv);
      transfer.push(result.review.buffer);
    }
    self.postMessage({ id, type: 'result', data: result }, transfer);
  } catch (err) {
    self.postMessage({ id, type: 'error', data: { message: errorMessage(err), name: err?.name ?? 'Error' } });
  }
};
