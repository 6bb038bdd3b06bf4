// <preflight-check>: a custom element that checks a file in the browser
// before a host page uploads it, shows a compact verdict, and expands to the
// full report. Import this module once; then use the element:
//
//   <input type="file" id="dataset-file">
//   <preflight-check for="dataset-file" rules="rules.json"></preflight-check>
//
// Attributes:
//   for      id of a file input in the same document: each file chosen there
//            is checked (the file the user is about to upload). A file
//            dropped on the element is put into that input. Without `for`,
//            the element shows its own file input.
//   rules    URL of a rules file (JSON, www/rules.schema.json), resolved
//            against the host page and fetched from its own origin when the
//            attribute is set, before any file is chosen.
//   label    the label column (absent: detected).
//   backend  auto (default), gpu or cpu.
// Changing rules, label or backend checks the current file again.
//
// Events (bubbling, composed; detail as listed):
//   preflight-start     {file}: a check began; no verdict holds until it ends
//   preflight-progress  {file, stage, fraction, bytesRead, totalBytes, rowsRead}
//   preflight-report    {file, report, passed, failures, warnings, failedRules}
//                       failures / warnings: the verdict's messages;
//                       failedRules: the failed error-level rules
//                       ({rule, message, value, limit, ...} from report.verdict.rules)
//   preflight-error     {file, message, error}: the file or the rules could not be checked
//   preflight-reset     {reason: 'cleared' | 'cancelled'}: no file, no verdict
//   preflight-state     {state, passed}: `state` changed; a host gating an upload
//                       needs only this one: upload.disabled = !check.passed
//
// Properties: `report` (the last report, or null), `passed` (true only when
// the current file's check finished and passed), `file`, `state` (also the
// host's data-state attribute: idle, checking, passed, failed, error).
// Methods: `check(file)` resolves to the preflight-report detail (rejects
// with the error, or an AbortError when another check or a cancel ended it);
// `cancel()`; `clear()`.
//
// The element renders into an open shadow root with the site's style sheet
// (style.css) and its own (preflight-check.css), both next to this module:
// the host's styles do not reach inside and these do not leak out. A host
// may theme it through the custom properties of style.css (--accent, --ok,
// --bad, ...) set on the element.

import { ReadingRate, STAGE_NAMES, fetchRules, preload, profile, release } from './preflight.js';
import { el, formatBytes, formatInt, renderReport } from './render.js';

const STYLE_SHEETS = [new URL('./style.css', import.meta.url).href, new URL('./preflight-check.css', import.meta.url).href];

/** The failed error-level rules of a report's verdict. */
function failedErrorRules(report) {
  return (report?.verdict?.rules ?? []).filter((r) => !r.passed && r.severity === 'error');
}

function failedWarningRules(report) {
  return (report?.verdict?.rules ?? []).filter((r) => !r.passed && r.severity !== 'error');
}

export class PreflightCheck extends HTMLElement {
  static get observedAttributes() {
    return ['for', 'rules', 'label', 'backend'];
  }

  #ui;
  #file = null;
  #report = null;
  #rate = null; // ReadingRate of the running check
  #state = 'idle';
  #run = null; // {controller, file, promise}
  #rules = null; // {url, promise}
  #input = null; // the `for` input we listen to
  #onInputChange = () => this.#fromInput();
  #recheckQueued = false;
  #connected = false;
  #interrupted = false; // a check was ended by a disconnect: run it again on connect

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    for (const href of STYLE_SHEETS) root.append(el('link', { rel: 'stylesheet', href }));
    const fileInput = el('input', { type: 'file', class: 'pf-input', testid: 'preflight-input', accept: '.csv,.tsv,.txt,.jsonl,.ndjson,.json,.gz,text/csv,text/plain,application/json' });
    const ownPicker = el('label', { class: 'file-label pf-own-picker' }, 'choose a file', fileInput);
    const dropText = el('span', { class: 'pf-drop-text' });
    const drop = el('div', { class: 'pf-drop', testid: 'preflight-drop', part: 'drop' }, dropText, ownPicker);
    const bar = el('progress', { max: '1', value: '0', testid: 'preflight-progress-bar' });
    const stage = el('span', { class: 'pf-stage', testid: 'preflight-stage' });
    const cancel = el('button', { type: 'button', class: 'secondary pf-cancel', testid: 'preflight-cancel' }, 'Cancel');
    const progress = el('div', { class: 'pf-progress', testid: 'preflight-progress', part: 'progress', hidden: '' }, bar, stage, cancel);
    const summary = el('div', { class: 'pf-summary', testid: 'preflight-summary', part: 'summary', role: 'status', 'aria-live': 'polite', hidden: '' });
    const reportBox = el('div', { class: 'report pf-report', testid: 'preflight-report' });
    const details = el('details', { class: 'pf-full', testid: 'preflight-full', part: 'details', hidden: '' }, el('summary', {}, 'Full report'), reportBox);
    root.append(el('div', { class: 'pf-root' }, drop, progress, summary, details));
    this.#ui = { fileInput, ownPicker, dropText, drop, bar, stage, cancel, progress, summary, reportBox, details };

    fileInput.addEventListener('change', () => {
      const file = fileInput.files?.[0];
      if (file) this.#start(file);
      else this.clear();
    });
    cancel.addEventListener('click', () => this.cancel());
    // The full report is built when first opened: most hosts only need the summary.
    details.addEventListener('toggle', () => {
      if (details.open && this.#report && !reportBox.hasChildNodes()) this.#renderFull();
    });
    drop.addEventListener('dragover', (event) => {
      if (!event.dataTransfer?.types?.includes('Files')) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      drop.classList.add('dragover');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('dragover'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.classList.remove('dragover');
      const files = event.dataTransfer?.files;
      if (files?.length) this.#fromDrop(files);
    });
  }

  connectedCallback() {
    this.#connected = true;
    this.#setState(this.#state);
    this.#bindInput();
    this.#loadRules();
    // Load the checker now, so choosing a file starts the check at once and fetches nothing.
    preload().catch((err) => this.#showError(null, err));
    // Moved in the document while checking (a disconnect, then a connect):
    // the check the disconnect ended runs again, instead of "checking" forever.
    if (this.#interrupted) {
      this.#interrupted = false;
      if (!this.#run) this.#queueRecheck();
    }
  }

  disconnectedCallback() {
    this.#connected = false;
    this.#unbindInput();
    if (this.#run) {
      this.#run.controller.abort();
      this.#run = null;
      this.#interrupted = true;
    }
    release();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.#connected) return;
    if (name === 'for') {
      this.#bindInput();
      return;
    }
    if (name === 'rules') this.#loadRules();
    this.#queueRecheck();
  }

  /** The last finished report, or null. */
  get report() {
    return this.#report;
  }

  /** True only when the current file's check finished and its verdict passed. */
  get passed() {
    return this.#state === 'passed';
  }

  /** The file being checked or last checked, or null. */
  get file() {
    return this.#file;
  }

  /** idle, checking, passed, failed or error. */
  get state() {
    return this.#state;
  }

  /**
   * Checks `file`; resolves to the detail of the preflight-report event.
   * A check already running is cancelled first.
   */
  check(file) {
    if (!(file instanceof Blob)) return Promise.reject(new TypeError('check: expected a File or Blob'));
    return this.#start(file);
  }

  /** Cancels the running check, if any: no verdict, event preflight-reset. */
  cancel() {
    if (!this.#run) return;
    this.#run.controller.abort();
    this.#run = null;
    this.#reset('cancelled');
  }

  /** Forgets the file and its verdict (event preflight-reset). */
  clear() {
    this.#run?.controller.abort();
    this.#run = null;
    this.#file = null;
    this.#reset('cleared');
  }

  // ------------------------------------------------------------ internals

  #bindInput() {
    this.#unbindInput();
    const id = this.getAttribute('for');
    this.#ui.ownPicker.hidden = Boolean(id);
    this.#ui.dropText.textContent = id ? 'Drop the file here to check it, or choose it above.' : 'Drop a CSV or JSON Lines file here to check it, or ';
    if (!id) return;
    const root = this.getRootNode();
    const input = root.getElementById?.(id) ?? document.getElementById(id);
    if (!(input instanceof HTMLInputElement) || input.type !== 'file') {
      this.#showError(null, new Error(`<preflight-check for="${id}">: no file input with id "${id}" in this document`));
      return;
    }
    this.#input = input;
    input.addEventListener('change', this.#onInputChange);
    // A file chosen before the element was connected is checked now.
    if (input.files?.length && input.files[0] !== this.#file) this.#fromInput();
  }

  #unbindInput() {
    this.#input?.removeEventListener('change', this.#onInputChange);
    this.#input = null;
  }

  #fromInput() {
    const file = this.#input?.files?.[0];
    if (file) this.#start(file).catch(() => {});
    else this.clear();
  }

  #fromDrop(files) {
    if (this.#input) {
      // The dropped file becomes the host's chosen file, so the file uploaded is the file checked.
      const transfer = new DataTransfer();
      transfer.items.add(files[0]);
      this.#input.files = transfer.files;
      this.#input.dispatchEvent(new Event('input', { bubbles: true }));
      this.#input.dispatchEvent(new Event('change', { bubbles: true }));
    } else {
      this.#start(files[0]).catch(() => {});
    }
  }

  #loadRules() {
    const url = this.getAttribute('rules');
    if (!url) {
      this.#rules = null;
      return;
    }
    const promise = fetchRules(url);
    promise.catch(() => {}); // reported by the check that needs them
    this.#rules = { url, promise };
  }

  #queueRecheck() {
    if (this.#recheckQueued) return;
    this.#recheckQueued = true;
    queueMicrotask(() => {
      this.#recheckQueued = false;
      if (this.#file && this.#connected) this.#start(this.#file).catch(() => {});
    });
  }

  #options() {
    const backend = this.getAttribute('backend') || 'auto';
    return { label: this.getAttribute('label') ?? undefined, options: { backend } };
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #setState(state) {
    const changed = state !== this.#state;
    this.#state = state;
    if (!this.#connected) return;
    this.dataset.state = state;
    if (changed) this.#emit('preflight-state', { state, passed: state === 'passed' });
  }

  #reset(reason) {
    this.#report = null;
    this.#setState('idle');
    this.#ui.progress.hidden = true;
    this.#ui.summary.hidden = true;
    this.#ui.summary.replaceChildren();
    this.#ui.details.hidden = true;
    this.#ui.details.open = false;
    this.#ui.reportBox.replaceChildren();
    this.#emit('preflight-reset', { reason });
  }

  async #start(file) {
    this.#run?.controller.abort();
    const controller = new AbortController();
    const run = { controller, file };
    this.#run = run;
    this.#file = file;
    this.#report = null;
    this.#setState('checking');
    const ui = this.#ui;
    ui.summary.hidden = true;
    ui.summary.replaceChildren();
    ui.details.hidden = true;
    ui.details.open = false;
    ui.reportBox.replaceChildren();
    ui.progress.hidden = false;
    ui.bar.value = 0;
    this.#rate = new ReadingRate();
    ui.stage.textContent = `${STAGE_NAMES.reading}…`;
    this.#emit('preflight-start', { file });
    const current = () => this.#run === run;
    try {
      let rules;
      if (this.#rules) rules = await this.#rules.promise;
      if (controller.signal.aborted) throw controller.signal.reason;
      const report = await profile(file, {
        ...this.#options(),
        rules,
        signal: controller.signal,
        onProgress: (p) => {
          if (!current()) return;
          this.#showProgress(p);
          this.#emit('preflight-progress', { file, ...p });
        },
      });
      if (!current()) throw new DOMException('Another check replaced this one.', 'AbortError');
      this.#run = null;
      return this.#showReport(file, report);
    } catch (err) {
      if (current() && err?.name !== 'AbortError') {
        this.#run = null;
        this.#showError(file, err);
      }
      throw err;
    } finally {
      // The next check needs a loaded worker: this one has ended.
      if (this.#connected && !this.#run) preload().catch(() => {});
    }
  }

  #showProgress(p) {
    const fraction = Math.min(1, Math.max(0, Number(p.fraction) || 0));
    this.#ui.bar.value = fraction;
    let text = STAGE_NAMES[p.stage] ?? p.stage;
    if (p.stage === 'reading') {
      // "12 MB of 1.0 GB · 85 MB/s · 790 k rows/s · 11 s left" once rates are measurable.
      const rates = this.#rate?.update(p);
      text += rates ? `: ${this.#rate.text()}` : `: ${formatBytes(p.bytesRead ?? 0)} of ${formatBytes(p.totalBytes)}`;
      if (!rates && p.rowsRead) text += `, ${formatInt(p.rowsRead)} rows`;
    } else {
      text += ` (${Math.round(fraction * 100)}%)`;
    }
    this.#ui.stage.textContent = text;
  }

  #showReport(file, report) {
    const verdict = report.verdict ?? { passed: false, failures: [], warnings: [], rules: [] };
    const passed = Boolean(verdict.passed);
    const failedRules = failedErrorRules(report);
    const detail = {
      file,
      report,
      passed,
      failures: [...(verdict.failures ?? [])],
      warnings: [...(verdict.warnings ?? [])],
      failedRules,
    };
    this.#report = report;
    const ui = this.#ui;
    ui.progress.hidden = true;
    const source = report.source ?? {};
    const counts = `${formatInt(source.rows)} rows × ${formatInt(source.columns)} columns`;
    const tally = `${detail.failures.length} ${detail.failures.length === 1 ? 'failure' : 'failures'}, ${detail.warnings.length} ${detail.warnings.length === 1 ? 'warning' : 'warnings'}`;
    const list = (rules, messages, className, testid) => {
      // One line per failed rule, named; messages without a rule entry are kept too
      // (the verdict's messages read "rule: message").
      const items = rules.map((r) => el('li', { dataset: { rule: r.rule, severity: r.severity } }, el('code', {}, r.rule), ' ', r.message));
      const covered = new Set(rules.flatMap((r) => [r.message, `${r.rule}: ${r.message}`]));
      for (const message of messages) if (!covered.has(message)) items.push(el('li', {}, message));
      return items.length ? el('ul', { class: className, testid }, items) : null;
    };
    ui.summary.dataset.passed = String(passed);
    ui.summary.className = `pf-summary verdict ${passed ? 'passed' : 'failed'}`;
    const headline = el(
      'p',
      { class: 'pf-headline' },
      el('strong', { testid: 'preflight-verdict' }, passed ? 'Passed' : 'Failed'),
      ` · ${source.name ?? file.name} · ${counts} · ${tally}`,
    );
    const lists = [
      list(failedRules, detail.failures, 'failures pf-failures', 'preflight-failures'),
      list(failedWarningRules(report), detail.warnings, 'warnings pf-warnings', 'preflight-warnings'),
    ];
    ui.summary.replaceChildren(headline, ...lists.filter(Boolean));
    ui.summary.hidden = false;
    ui.details.hidden = false;
    if (ui.details.open) this.#renderFull();
    this.#setState(passed ? 'passed' : 'failed');
    this.#emit('preflight-report', detail);
    return detail;
  }

  #renderFull() {
    const box = this.#ui.reportBox;
    try {
      box.replaceChildren(renderReport(this.#report));
    } catch (err) {
      box.replaceChildren(el('p', { class: 'error' }, `The full report could not be shown: ${err.message}`));
      return;
    }
    // Another label column from the report's select: check again with it.
    box.querySelector('[data-testid="label-select"]')?.addEventListener('change', (event) => {
      const label = event.target.value;
      if (label) this.setAttribute('label', label);
      else this.removeAttribute('label');
    });
  }

  #showError(file, err) {
    const message = err?.message ?? String(err);
    this.#report = null;
    this.#setState('error');
    const ui = this.#ui;
    ui.progress.hidden = true;
    ui.details.hidden = true;
    ui.summary.className = 'pf-summary error';
    ui.summary.dataset.passed = 'false';
    ui.summary.replaceChildren(
      el('p', { class: 'pf-headline' }, el('strong', { testid: 'preflight-verdict' }, file ? `Could not check ${file.name}` : 'The check cannot run'), ': ', el('span', { testid: 'preflight-error' }, message)),
    );
    ui.summary.hidden = false;
    this.#emit('preflight-error', { file, message, error: err });
  }
}

if (!customElements.get('preflight-check')) customElements.define('preflight-check', PreflightCheck);
