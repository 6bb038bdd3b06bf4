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
  reading: 'Reading the file',
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
  return (await profileWithRows(fileOrBlob, options)).report;
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
 * - `onProgress({stage, fraction, bytesRead, totalBytes, rowsRead})`:
 *   called as the file is read and as each stage starts (`STAGE_NAMES`).
 * - `signal`: an AbortSignal; aborting ends the worker at once and rejects
 *   with the signal's reason (a DOMException named "AbortError" unless the
 *   caller gave another), as fetch does. An already aborted signal rejects
 *   before anything starts.
 * - `name`: the file name the report shows when `fileOrBlob` is a Blob
 *   without one (default "data"; the format is sniffed when it has no
 *   known extension).
 * - `options`: more checker options: `{backend: 'auto' | 'gpu' | 'cpu',
 *   normalize: boolean}`.
 *
 * Each call runs in a worker of its own (the one `preload` readied, else a
 * new one) and ends that worker when it settles, so nothing stays behind.
 * Rejects with an Error whose message names the file when the file cannot
 * be checked (empty, binary, unreadable), and with one naming the rules
 * when they are invalid.
 */
export async function profileWithRows(fileOrBlob, { label, rules, onProgress, signal, name, options = {} } = {}) {
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

  const workerOptions = { backend, normalize: options?.normalize === true };
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
        const { stage, fraction, bytesRead, totalBytes, rowsRead } = data ?? {};
        try {
          onProgress({ stage: String(stage), fraction: Number(fraction), bytesRead: Number(bytesRead), totalBytes: Number(totalBytes), rowsRead: Number(rowsRead) });
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
          const rowsCsv = decoder.decode(data.rows);
          finish(resolve, { report, rowsCsv });
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
    worker.postMessage({ id, type: 'profile', data: { file, options: workerOptions } });
  });
}
