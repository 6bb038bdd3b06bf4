// preflight's page: UI only. The worker (worker.js) owns the wasm module and
// the GPU; this file picks files, relays them, shows progress and renders the
// report. Nothing here touches the network except the sample button, which
// fetches this site's own sample file when clicked, and the text embedding
// choice, which asks this site how large the semantic model is (a HEAD
// request) when it is first touched.

import { el, formatBytes, formatInt, renderCompareReport, renderReport } from './render.js';
import { ReadingRate, STAGE_NAMES as API_STAGE_NAMES } from './preflight.js';
import { describeModel } from './model-cache.js';

const $ = (id) => document.getElementById(id);
const ui = {
  engine: $('engine-status'),
  version: $('version'),
  dropzone: $('dropzone'),
  fileInput: $('file-input'),
  sampleButton: $('sample-button'),
  labelInput: $('label-input'),
  normalizeInput: $('normalize-input'),
  backendSelect: $('backend-select'),
  embedSelect: $('embed-select'),
  embedSemantic: $('embed-semantic'),
  embedStatus: $('embed-status'),
  streamSelect: $('stream-select'),
  workersInput: $('workers-input'),
  sampleRowsInput: $('sample-rows-input'),
  rulesInput: $('rules-input'),
  rulesClear: $('rules-clear'),
  rulesStatus: $('rules-status'),
  progress: $('progress'),
  progressBar: $('progress-bar'),
  progressStage: $('progress-stage'),
  cancelButton: $('cancel-button'),
  status: $('status'),
  error: $('error'),
  downloads: $('downloads'),
  downloadJson: $('download-json'),
  downloadRows: $('download-rows'),
  downloadHtml: $('download-html'),
  includeRowsInput: $('include-rows-input'),
  downloadReview: $('download-review'),
  downloadCompareJson: $('download-compare-json'),
  compareZone: $('compare-zone'),
  compareInput: $('compare-input'),
  compareReference: $('compare-reference'),
  report: $('report'),
};

// The API module's stage names, plus the page's own compare stage.
const STAGE_NAMES = { ...API_STAGE_NAMES, compare: 'Comparing the two files' };

// ---------------------------------------------------------------- worker

/**
 * One worker running plus one spare, already loaded: Cancel terminates the
 * running one and promotes the spare, so cancelling is instant and needs no
 * fetch (the page keeps working offline).
 */
let worker = null;
let spare = null;
let nextJobId = 1;
let job = null; // {id, file, startedAt, kind: 'profile' | 'relabel' | 'compare', options, reference}
let lastResult = null; // {report, rowsCsv (the per-row CSV: its UTF-8 pieces), fileName, file, options, kind}
// The reference of "compare with…": the file of the last single-file check.
let referenceFile = null;
// The rules file chosen in the options panel: {name, value, check, summary, error};
// null: the default rules. `value` is its parsed JSON, passed as options.rules.
let rulesFile = null;
let nextRulesCheck = 1;
// The rules status as the page was served (no rules file), restored by "Remove".
const rulesStatusNone = [...ui.rulesStatus.childNodes].map((node) => node.cloneNode(true));

function spawnWorker() {
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'preflight' });
  // hasTable: the worker keeps the parsed table of its last finished file (for 'relabel').
  const entry = { worker: w, ready: false, fatal: null, version: null, webgpu: null, hasTable: false };
  w.onmessage = (event) => onWorkerMessage(entry, event.data);
  w.onerror = (event) => {
    event.preventDefault?.();
    const message = event.message || 'the worker script failed to load';
    entry.fatal = message;
    if (entry === worker) onWorkerFatal(message);
  };
  w.onmessageerror = () => {
    if (entry === worker && job) failJob(job.id, 'A message from the worker could not be read.');
  };
  return entry;
}

function startWorkers() {
  worker = spawnWorker();
  spare = spawnWorker();
}

function replaceWorker() {
  worker?.worker.terminate();
  // A spare that failed to load (say, the page went offline) is replaced.
  if (spare?.fatal) spare.worker.terminate();
  worker = spare && !spare.fatal ? spare : spawnWorker();
  spare = spawnWorker();
  if (worker.fatal) onWorkerFatal(worker.fatal);
  else if (worker.ready) showEngineReady(worker);
}

function onWorkerMessage(entry, message) {
  const { id, type, data } = message ?? {};
  if (type === 'ready') {
    entry.ready = true;
    entry.version = data?.version ?? null;
    entry.webgpu = Boolean(data?.webgpu);
    if (entry === worker) showEngineReady(entry);
    return;
  }
  if (type === 'fatal') {
    entry.fatal = data?.message ?? 'the checker failed to load';
    if (entry === worker) onWorkerFatal(entry.fatal);
    return;
  }
  if (type === 'rules-checked') {
    // Checks go to the spare (idle while a run goes on); any worker may answer.
    if (rulesFile && id === rulesFile.check) showRulesChecked(data);
    return;
  }
  if (type === 'html') {
    // Asked of the spare when it is loaded (idle while a run goes on); any worker may answer.
    const pending = htmlRequests.get(id);
    htmlRequests.delete(id);
    if (!pending) return;
    if (typeof data?.html === 'string') pending.resolve(data.html);
    else pending.reject(new Error(data?.error ?? 'the HTML report could not be made'));
    return;
  }
  if (entry !== worker) return; // a spare says nothing else
  if (type === 'progress') {
    if (job) showProgress(data);
    return;
  }
  if (!job || id !== job.id) return; // a cancelled job's late message
  if (type === 'result') {
    if (job.kind === 'compare') {
      // The worker freed its kept table to compare: a label change reads the file again.
      entry.hasTable = false;
      finishCompare(job.id, data);
      return;
    }
    entry.hasTable = true;
    finishJob(job.id, data);
  } else if (type === 'error') {
    if (job.kind === 'relabel' && data?.name === 'NoTable') {
      // The worker lost the table (it was replaced): read the file again.
      const { file, options: runOptions } = job;
      endJob();
      startRun(file, runOptions);
      return;
    }
    if (job.kind === 'profile' || job.kind === 'compare') entry.hasTable = false;
    failJob(job.id, data?.message ?? 'unknown error');
  }
}

function showEngineReady(entry) {
  ui.engine.textContent = `Ready. WebGPU ${entry.webgpu ? 'is available in this browser' : 'is not available here; the CPU will do the work'}.`;
  ui.engine.dataset.state = 'ready';
  ui.engine.dataset.webgpu = String(entry.webgpu);
  if (entry.version) ui.version.textContent = entry.version;
}

function onWorkerFatal(message) {
  ui.engine.textContent = 'The checker could not be loaded.';
  ui.engine.dataset.state = 'failed';
  if (job) failJob(job.id, message);
  else showError(message);
}

// ---------------------------------------------------------------- runs

/** The compare limits filled in the options panel (empty ones keep the CLI's defaults). */
function thresholds() {
  const out = {};
  for (const input of document.querySelectorAll('[data-threshold]')) {
    const raw = input.value.trim();
    if (raw === '') continue;
    const value = Number(raw);
    if (Number.isFinite(value)) out[input.dataset.threshold] = value;
  }
  return out;
}

function options() {
  const out = { label: ui.labelInput.value.trim(), backend: ui.backendSelect.value || 'auto', normalize: ui.normalizeInput.checked };
  if (rulesFile && !rulesFile.error) out.rules = rulesFile.value;
  out.embed = ui.embedSelect.value === 'semantic' ? 'semantic' : 'hashed';
  // Big files: stream mode, part workers, sample size (empty: the defaults).
  out.stream = ui.streamSelect.value || 'auto';
  for (const [key, input] of [['workers', ui.workersInput], ['sampleRows', ui.sampleRowsInput]]) {
    const raw = input.value.trim();
    if (raw !== '') out[key] = Number(raw);
  }
  return out;
}

/** The error of a chosen rules file that cannot be used, or null. */
function rulesError() {
  return rulesFile?.error ? `The rules file ${rulesFile.name} cannot be used: ${rulesFile.error}` : null;
}

function setRulesStatus(state, text) {
  ui.rulesStatus.dataset.state = state;
  if (state === 'none') ui.rulesStatus.replaceChildren(...rulesStatusNone.map((node) => node.cloneNode(true)));
  else ui.rulesStatus.textContent = text;
  ui.rulesClear.hidden = state === 'none';
}

/** A rules file chosen: parsed here, then checked by the wasm parser in a worker. */
async function chooseRules(file) {
  const check = `rules-${nextRulesCheck++}`;
  rulesFile = { name: file.name, value: null, check, summary: null, error: null };
  setRulesStatus('checking', `${file.name}: checking…`);
  let value;
  try {
    value = JSON.parse(await file.text());
  } catch (err) {
    if (rulesFile?.check !== check) return; // another file was chosen meanwhile
    rulesFile.error = `not valid JSON: ${err.message}`;
    setRulesStatus('invalid', `${file.name}: ${rulesFile.error}`);
    return;
  }
  if (rulesFile?.check !== check) return;
  rulesFile.value = value;
  const target = spare && !spare.fatal ? spare : worker;
  target.worker.postMessage({ id: check, type: 'check-rules', data: { rules: value, fileName: file.name } });
}

function showRulesChecked(data) {
  if (data?.error) {
    // The worker's message names the file, the rule and the field.
    rulesFile.error = String(data.error);
    setRulesStatus('invalid', rulesFile.error);
  } else {
    rulesFile.summary = String(data?.summary ?? '');
    setRulesStatus('valid', `${rulesFile.name}: ${rulesFile.summary}`);
  }
}

function clearRules() {
  rulesFile = null;
  setRulesStatus('none');
}

function clearReport() {
  ui.report.replaceChildren();
  ui.downloads.hidden = true;
  for (const button of [ui.downloadJson, ui.downloadRows]) button.hidden = false;
  ui.downloadCompareJson.hidden = true;
  ui.downloadReview.hidden = true;
  document.querySelectorAll('[data-testid="report-ready"]').forEach((n) => n.remove());
  lastResult = null;
}

function showError(message, fileName, runId) {
  ui.error.dataset.run = runId === undefined ? '' : String(runId);
  ui.error.replaceChildren(
    el('strong', {}, fileName ? `Could not check ${fileName}: ` : 'Error: '),
    el('span', { class: 'error-message', 'data-testid': 'error-message' }, message),
  );
  ui.error.hidden = false;
}

function clearError() {
  ui.error.replaceChildren();
  ui.error.hidden = true;
}

function setStatus(text) {
  ui.status.textContent = text;
}

/** Runs the checks on `file`; `runOptions` replaces the options panel's (a re-run of a label change). */
function startRun(file, runOptions = options()) {
  if (!file) return;
  if (job) cancelRun({ quiet: true });
  clearReport();
  clearError();
  const id = nextJobId++;
  // Tests wait for the element of this run: report-ready or error with data-run = id.
  document.body.dataset.run = String(id);
  if (worker.fatal) {
    showError(worker.fatal, file.name, id);
    return;
  }
  if (rulesError()) {
    showError(rulesError(), file.name, id);
    return;
  }
  job = { id, file, startedAt: performance.now(), kind: 'profile', options: runOptions, rate: new ReadingRate() };
  setReference(file);
  showProgressStart('reading');
  setStatus(`Checking ${file.name} (${formatBytes(file.size)})…`);
  // The File is a handle: cloning it into the worker copies no bytes.
  worker.worker.postMessage({ id, type: 'profile', data: { file, options: runOptions } });
}

function setReference(file) {
  referenceFile = file;
  ui.compareZone.dataset.reference = file ? file.name : '';
  ui.compareReference.textContent = file
    ? `Reference: ${file.name} (${formatBytes(file.size)}), the file checked last.`
    : 'Check a file above first: it becomes the reference (train set, last month).';
}

/**
 * "Compare with…": reads the reference (the last file checked) and
 * `candidate` in the worker and shows what differs: schema, leakage, drift.
 */
function startCompare(candidate, runOptions = options()) {
  if (!candidate) return;
  const reference = referenceFile;
  if (job) cancelRun({ quiet: true });
  clearReport();
  clearError();
  const id = nextJobId++;
  document.body.dataset.run = String(id);
  if (!reference) {
    showError('Check a file first (drop it or choose it above): it becomes the reference that the second file is compared with.', candidate.name, id);
    return;
  }
  if (worker.fatal) {
    showError(worker.fatal, candidate.name, id);
    return;
  }
  if (rulesError()) {
    showError(rulesError(), candidate.name, id);
    return;
  }
  job = { id, file: candidate, reference, startedAt: performance.now(), kind: 'compare', options: runOptions, rate: new ReadingRate() };
  showProgressStart('reading');
  setStatus(`Comparing ${candidate.name} (${formatBytes(candidate.size)}) with ${reference.name} (${formatBytes(reference.size)})…`);
  worker.worker.postMessage({ id, type: 'compare', data: { reference, candidate, options: runOptions, thresholds: thresholds() } });
}

/**
 * Another label column chosen in the report: the worker re-runs the checks
 * on the table it already parsed (no second read of the file); a worker that
 * no longer holds it (after a cancel) reads the file again.
 */
function relabelRun(label) {
  rerunWith({ label }, `label column ${label === '' ? '(detected)' : JSON.stringify(label)}`);
}

/**
 * Like relabelRun, for any options a re-run may change (`changes`: label,
 * annotators, verified, reviewPerClass, reviewFraction, reviewSeed,
 * reviewEnrich); `what` says what changed, in the status line.
 */
function rerunWith(changes, what) {
  if (!lastResult) return;
  const { file } = lastResult;
  const runOptions = { ...lastResult.options, ...changes };
  if (job) cancelRun({ quiet: true });
  if (!worker.hasTable || worker.fatal) {
    startRun(file, runOptions);
    return;
  }
  clearReport();
  clearError();
  const id = nextJobId++;
  document.body.dataset.run = String(id);
  job = { id, file, startedAt: performance.now(), kind: 'relabel', options: runOptions, rate: new ReadingRate() };
  showProgressStart('parse');
  setStatus(`Checking ${file.name} again with ${what}…`);
  worker.worker.postMessage({ id, type: 'rerun', data: { options: runOptions } });
}

/** The label audit view's controls: annotators, verified column, review sample settings. */
function wireAuditControls() {
  const find = (testid) => ui.report.querySelector(`[data-testid="${testid}"]`);
  find('annotator-apply')?.addEventListener('click', () => {
    const annotators = [...(find('annotator-select')?.selectedOptions ?? [])].map((option) => option.value);
    rerunWith({ annotators }, annotators.length ? `annotator columns ${annotators.map((a) => JSON.stringify(a)).join(', ')}` : 'annotator columns detected');
  });
  find('verified-select')?.addEventListener('change', (event) => {
    const verified = event.target.value;
    rerunWith({ verified }, `verified column ${verified === '' ? '(detected)' : JSON.stringify(verified)}`);
  });
  find('review-redraw')?.addEventListener('click', () => {
    const value = (testid) => find(testid)?.value.trim() ?? '';
    const perClass = value('review-per-class');
    const fraction = value('review-fraction');
    // Rows per class wins when both are filled; an empty field keeps the default.
    const changes = {
      reviewPerClass: perClass === '' ? (fraction === '' ? 20 : 0) : Number(perClass),
      reviewFraction: perClass === '' && fraction !== '' ? Number(fraction) : null,
      reviewSeed: value('review-seed') === '' ? 42 : Number(value('review-seed')),
      reviewEnrich: value('review-enrich') === '' ? 0 : Number(value('review-enrich')),
    };
    rerunWith(changes, 'another review sample');
  });
}

/** Shows the progress bar (with its Cancel button) at the start of a run. */
function showProgressStart(stage) {
  ui.progress.hidden = false;
  ui.progressBar.value = 0;
  ui.progressStage.textContent = `${STAGE_NAMES[stage]}…`;
  ui.progress.dataset.stage = stage;
  for (const key of ['bytes', 'totalBytes', 'rows', 'mode', 'parts']) delete ui.progress.dataset[key];
}

/**
 * A progress message: the bar by bytes while reading (summed over the
 * parts parsed at once and, in a compare, over both files) with MB/s,
 * rows/s and time left; then each later stage with its share done.
 */
function showProgress(data) {
  const stage = String(data?.stage ?? '');
  const fraction = Math.min(1, Math.max(0, Number(data?.fraction) || 0));
  ui.progressBar.value = fraction;
  ui.progress.dataset.stage = stage;
  // Tests read where the run is from these.
  for (const key of ['bytes', 'totalBytes', 'rows']) {
    if (data?.[key] !== undefined) ui.progress.dataset[key] = String(data[key]);
  }
  if (data?.mode !== undefined) ui.progress.dataset.mode = String(data.mode);
  if (data?.parts !== undefined) ui.progress.dataset.parts = String(data.parts);
  // A comparison's stages are prefixed "reference: " or "candidate: ".
  const prefixed = stage.match(/^(reference|candidate): (.*)$/);
  let text = prefixed ? `${prefixed[1]}: ${STAGE_NAMES[prefixed[2]] ?? prefixed[2]}` : STAGE_NAMES[stage] ?? stage;
  if (stage === 'reading' && data.file) text = `${data.file} ${data.fileName ?? ''}: ${text}`;
  if (stage === 'reading' && data.totalBytes !== undefined) {
    job?.rate.update(data);
    text += `: ${job?.rate.text() ?? ''}`;
    if (data.mode === 'stream' && data.parts > 0) text += ` · ${data.parts} parts${data.workers > 0 ? `, ${data.workers} workers` : ''}`;
  } else {
    text += ` (${Math.round(fraction * 100)}%)`;
  }
  ui.progressStage.textContent = text;
}

function endJob() {
  job = null;
  ui.progress.hidden = true;
  ui.progress.dataset.stage = '';
}

function finishJob(id, data) {
  const { file, options: runOptions } = job;
  const seconds = (performance.now() - job.startedAt) / 1000;
  endJob();
  const decoder = new TextDecoder();
  let report;
  let reportText;
  let rowsCsv;
  let reviewCsv;
  try {
    reportText = decoder.decode(data.report);
    report = JSON.parse(reportText);
    // Kept as the worker's bytes: a Blob takes them as they are.
    rowsCsv = data.rows;
    reviewCsv = data.review ? decoder.decode(data.review) : null;
  } catch (err) {
    showError(`The report could not be read: ${err.message}`, file.name, id);
    return;
  }
  lastResult = { report, rowsCsv, reviewCsv, fileName: file.name, file, options: runOptions };
  try {
    ui.report.replaceChildren(renderReport(report));
    ui.report.querySelector('[data-testid="label-select"]')?.addEventListener('change', (event) => relabelRun(event.target.value));
    wireAuditControls();
  } catch (err) {
    showError(`The report could not be shown: ${err.message}`, file.name, id);
    return;
  }
  ui.downloads.hidden = false;
  ui.downloadReview.hidden = !reviewCsv;
  const ready = el(
    'p',
    { class: 'report-ready', 'data-testid': 'report-ready', dataset: { run: id, file: file.name, seconds: seconds.toFixed(3), passed: String(Boolean(report.verdict?.passed)) } },
    `Report ready for ${file.name}: ${formatInt(report.source?.rows)} rows checked in ${seconds.toFixed(2)} s.`,
  );
  ui.downloads.prepend(ready);
  setStatus('');
}

function finishCompare(id, data) {
  const { file, reference, options: runOptions } = job;
  const seconds = (performance.now() - job.startedAt) / 1000;
  endJob();
  let report;
  try {
    report = JSON.parse(new TextDecoder().decode(data.report));
  } catch (err) {
    showError(`The comparison could not be read: ${err.message}`, file.name, id);
    return;
  }
  const fileName = `${baseName(reference.name)}-vs-${baseName(file.name)}`;
  lastResult = { kind: 'compare', report, rowsCsv: null, fileName, file, reference, options: runOptions };
  try {
    ui.report.replaceChildren(renderCompareReport(report));
  } catch (err) {
    showError(`The comparison could not be shown: ${err.message}`, file.name, id);
    return;
  }
  ui.downloadJson.hidden = true;
  ui.downloadRows.hidden = true;
  ui.downloadCompareJson.hidden = false;
  ui.downloads.hidden = false;
  const c = report.comparison ?? {};
  const ready = el(
    'p',
    {
      class: 'report-ready',
      'data-testid': 'report-ready',
      dataset: { run: id, kind: 'compare', file: file.name, reference: reference.name, seconds: seconds.toFixed(3), passed: String(Boolean(report.verdict?.passed)) },
    },
    `Comparison ready: ${reference.name} (${formatInt(c.reference_rows)} rows) with ${file.name} (${formatInt(c.candidate_rows)} rows) in ${seconds.toFixed(2)} s.`,
  );
  ui.downloads.prepend(ready);
  setStatus('');
}

function failJob(id, message) {
  const file = job?.file;
  endJob();
  setStatus('');
  showError(message, file?.name, id);
}

function cancelRun({ quiet = false } = {}) {
  if (!job) return;
  const name = job.file.name;
  endJob();
  replaceWorker();
  if (!quiet) setStatus(`Cancelled the check of ${name}.`);
}

// ---------------------------------------------------------------- downloads

function baseName(fileName) {
  const name = (fileName || 'data').replace(/\.(gz)$/i, '').replace(/\.[^.]+$/, '');
  return name.replace(/[^\w.-]+/g, '_') || 'data';
}

/** Saves `text` (a string, or an array of strings and byte arrays joined in order) as `fileName`. */
function download(text, fileName, type) {
  const url = URL.createObjectURL(new Blob(Array.isArray(text) ? text : [text], { type }));
  const a = el('a', { href: url, download: fileName, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// 'html' requests waiting for a worker's answer: id -> {resolve, reject}.
const htmlRequests = new Map();
let nextHtmlRequest = 1;

/**
 * The shareable HTML report of `report` (single-file or comparison), made by
 * the wasm module in a worker (src/html.rs): one self-contained file, no
 * script, nothing fetched; row values only when `includeRows`.
 */
function reportHtml(report, includeRows) {
  const id = `html-${nextHtmlRequest++}`;
  const target = spare && spare.ready && !spare.fatal ? spare : worker;
  if (target.fatal) return Promise.reject(new Error(target.fatal));
  return new Promise((resolve, reject) => {
    htmlRequests.set(id, { resolve, reject });
    target.worker.postMessage({ id, type: 'html', data: { report, includeRows } });
  });
}

// ---------------------------------------------------------------- input

function firstFile(list) {
  return list && list.length > 0 ? list[0] : null;
}

let describingModel = null;

/**
 * Puts the semantic model's size in its choice ("downloads 43.27 MiB once",
 * or that this browser has it cached, or that this server lacks it): asked
 * when the choice is touched, never before (see model-cache.js).
 */
function describeModelChoice() {
  describingModel ??= describeModel()
    .then(({ available, bytes, cached }) => {
      const size = bytes ? formatBytes(bytes) : null;
      let text;
      if (cached) text = `semantic (all-MiniLM-L6-v2, ${size ?? 'the model'} in this browser's cache: no download)`;
      else if (available) text = `semantic (all-MiniLM-L6-v2, downloads ${size ?? 'the model'} once)`;
      else text = 'semantic (all-MiniLM-L6-v2: not on this server; run scripts/fetch-model where the site is built)';
      ui.embedSemantic.textContent = text;
      ui.embedSemantic.disabled = !available;
      ui.embedSelect.dataset.model = cached ? 'cached' : available ? 'download' : 'missing';
      if (bytes) ui.embedSelect.dataset.modelBytes = String(bytes);
    })
    .catch(() => {})
    .finally(() => {
      describingModel = null;
    });
  return describingModel;
}

function wireInput() {
  const zone = ui.dropzone;
  for (const type of ['focus', 'pointerdown', 'change']) ui.embedSelect.addEventListener(type, describeModelChoice);
  wireDropTarget(zone, ui.fileInput, startRun);
  // A file dropped beside the zone must not make the browser open it.
  window.addEventListener('dragover', (event) => event.preventDefault());
  window.addEventListener('drop', (event) => {
    if (!zone.contains(event.target)) event.preventDefault();
  });
  wireDropTarget(ui.compareZone, ui.compareInput, startCompare);
  ui.sampleButton.addEventListener('click', async () => {
    clearError();
    try {
      const response = await fetch(new URL('./samples/penguins.csv', import.meta.url));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = await response.blob();
      startRun(new File([blob], 'penguins.csv', { type: 'text/csv' }));
    } catch (err) {
      showError(`The sample could not be loaded (${err.message}).`);
    }
  });
  ui.cancelButton.addEventListener('click', () => cancelRun());
  ui.rulesInput.addEventListener('change', () => {
    const file = firstFile(ui.rulesInput.files);
    if (file) chooseRules(file);
    ui.rulesInput.value = ''; // choosing the same file again (after editing it) reads it again
  });
  ui.rulesClear.addEventListener('click', clearRules);
  ui.downloadCompareJson.addEventListener('click', () => {
    if (lastResult?.kind !== 'compare') return;
    download(JSON.stringify(lastResult.report, null, 2) + '\n', `${lastResult.fileName}.preflight-compare.json`, 'application/json');
  });
  ui.downloadJson.addEventListener('click', () => {
    if (!lastResult || lastResult.kind === 'compare') return;
    download(JSON.stringify(lastResult.report, null, 2) + '\n', `${baseName(lastResult.fileName)}.preflight.json`, 'application/json');
  });
  ui.downloadRows.addEventListener('click', () => {
    if (!lastResult?.rowsCsv) return;
    download(lastResult.rowsCsv, `${baseName(lastResult.fileName)}.preflight-rows.csv`, 'text/csv');
  });
  ui.downloadReview.addEventListener('click', () => {
    if (!lastResult?.reviewCsv) return;
    download(lastResult.reviewCsv, `${baseName(lastResult.fileName)}.preflight-review.csv`, 'text/csv');
  });
  ui.downloadHtml.addEventListener('click', async () => {
    if (!lastResult) return;
    const { report, fileName, kind } = lastResult;
    const name = kind === 'compare' ? `${fileName}.preflight-compare.html` : `${baseName(fileName)}.preflight.html`;
    try {
      download(await reportHtml(report, ui.includeRowsInput.checked), name, 'text/html;charset=utf-8');
    } catch (err) {
      showError(`The HTML report could not be made: ${err.message}`);
    }
  });
}

/**
 * A drop zone and its file input: a dropped file, a chosen file, or Enter /
 * Space on the zone (which opens the chooser) goes to `onFile`.
 */
function wireDropTarget(zone, input, onFile) {
  const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (type === 'dragover') event.dataTransfer.dropEffect = 'copy';
      zone.classList.add('dragging');
    });
  }
  zone.addEventListener('dragleave', (event) => {
    if (event.target === zone) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const file = firstFile(event.dataTransfer?.files);
    if (file) onFile(file);
  });
  zone.addEventListener('keydown', (event) => {
    if (event.target !== zone) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      input.click();
    }
  });
  input.addEventListener('change', () => {
    const file = firstFile(input.files);
    if (file) onFile(file);
    input.value = ''; // choosing the same file again runs again
  });
}

startWorkers();
wireInput();
