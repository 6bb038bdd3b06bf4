//! The only `#[wasm_bindgen]` code: a thin layer that converts options in,
//! and reports and errors out, for the page's worker and the embedding API.

use crate::{Backend, Options};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Version of the crate.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Options as the page passes them: `{label, backend, k, maxKnnRows,
/// outlierIqrFactor, nearDuplicateFactor, normalize, textColumns,
/// textThreshold, rules, annotators, verified, reviewPerClass,
/// reviewFraction, reviewSeed, reviewEnrich, probaColumns, embed, stream,
/// streamAboveBytes, sampleRows}`, all optional.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsOptions {
    label: Option<String>,
    backend: Option<String>,
    k: Option<usize>,
    max_knn_rows: Option<usize>,
    outlier_iqr_factor: Option<f64>,
    near_duplicate_factor: Option<f64>,
    /// Normalise values before comparing rows (duplicates, conflicting labels).
    normalize: Option<bool>,
    /// Free-text columns for text duplicates (default: those profiled as text).
    text_columns: Option<Vec<String>>,
    /// Jaccard threshold of text near duplicates, in (0, 1].
    text_threshold: Option<f64>,
    /// A rules file's parsed JSON (`checks::rules`; the page's "Rules file",
    /// the JS API's `rules`).
    rules: Option<serde_json::Value>,
    /// Annotator columns (the label column counts as one); empty: detect.
    annotators: Option<Vec<String>>,
    /// The verified-labels column; "": detect.
    verified: Option<String>,
    /// Review sample: rows per class.
    review_per_class: Option<usize>,
    /// Review sample: share of each class (used without reviewPerClass).
    review_fraction: Option<f64>,
    /// Review sample: seed of the shuffle.
    review_seed: Option<u64>,
    /// Review sample: rows with the highest label issue scores added.
    review_enrich: Option<usize>,
    /// Columns of a model's predicted class probabilities
    /// (`checks::predictions`); empty: detect.
    proba_columns: Option<Vec<String>>,
    /// How a text column becomes vectors: "hashed" (default) or "semantic"
    /// (the model given to `setModel` first).
    embed: Option<String>,
    /// "auto" (default), "on" or "off": whether the page streams the file
    /// in parts (`stream::StreamMode`).
    stream: Option<String>,
    /// "auto" streams files larger than this many bytes (64 MiB).
    stream_above_bytes: Option<f64>,
    /// Rows of the uniform sample a streamed run's row-level checks see.
    sample_rows: Option<usize>,
    /// "csv", "tsv" or "jsonl": the file's format, over what its name says
    /// (the CLI's `--format`).
    format: Option<String>,
    /// One ASCII character (or "tab"): the CSV delimiter, over the
    /// sniffer's (the CLI's `--delimiter`).
    delimiter: Option<String>,
}

thread_local! {
    /// The semantic model `setModel` loaded: one per worker, shared by its runs.
    static SEMANTIC_MODEL: RefCell<Option<crate::semantic::SemanticModel>> = const { RefCell::new(None) };
}

/// `setModel(bytes)`: loads the semantic model from the bytes of its weights
/// file (`models/all-MiniLM-L6-v2.pfm`, which the worker fetches or takes
/// from its cache), for the runs with `embed: "semantic"`. Throws an `Error`
/// when the bytes are not a model file.
#[wasm_bindgen(js_name = setModel)]
pub fn set_model(bytes: &[u8]) -> Result<(), JsValue> {
    let model = crate::semantic::SemanticModel::from_bytes(bytes).map_err(|e| js_error(format!("the semantic model: {e}")))?;
    SEMANTIC_MODEL.with(|m| *m.borrow_mut() = Some(model));
    Ok(())
}

/// `hasModel()`: whether `setModel` has loaded the semantic model here.
#[wasm_bindgen(js_name = hasModel)]
pub fn has_model() -> bool {
    SEMANTIC_MODEL.with(|m| m.borrow().is_some())
}

/// `embedTexts(texts, backend)`: the sentence embeddings of `texts` (an
/// array of strings) with the model of `setModel`, on `backend` ("auto",
/// "gpu" or "cpu", as the checks' option). A promise of `{vectors, backend,
/// adapter, note, truncated, tokens}`: `vectors` a `Float32Array` of
/// `texts.length x 384` values, row by row, each row L2-normalised;
/// `backend` "gpu" or "cpu" (where it ran); `adapter` the GPU's name or
/// null; `note` why the CPU ran when the GPU was allowed, or null;
/// `truncated` the texts cut at 256 tokens; `tokens` the tokens run
/// (each distinct text once). Throws an `Error` when no model is set, the
/// texts are not strings or the backend is unknown; the promise rejects
/// with an `Error` when the network fails (backend "gpu": no adapter too).
#[wasm_bindgen(js_name = embedTexts)]
pub fn embed_texts(texts: JsValue, backend: &str) -> Result<js_sys::Promise, JsValue> {
    let model = SEMANTIC_MODEL
        .with(|m| m.borrow().clone())
        .ok_or_else(|| js_error("embedTexts needs the model: call setModel(bytes) first"))?;
    let texts: Vec<String> =
        serde_wasm_bindgen::from_value(texts).map_err(|e| js_error(format!("embedTexts takes an array of strings: {e}")))?;
    let backend = backend.parse::<Backend>().map_err(js_error)?;
    Ok(wasm_bindgen_futures::future_to_promise(async move {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let found = crate::semantic::embed_texts(&model, &refs, backend, &mut |_| {}).await.map_err(js_error)?;
        let out = js_sys::Object::new();
        let nullable = |text: Option<String>| text.map_or(JsValue::NULL, |t| JsValue::from_str(&t));
        js_sys::Reflect::set(&out, &"vectors".into(), &js_sys::Float32Array::from(found.vectors.as_slice()))?;
        js_sys::Reflect::set(&out, &"backend".into(), &JsValue::from_str(&found.backend))?;
        js_sys::Reflect::set(&out, &"adapter".into(), &nullable(found.adapter))?;
        js_sys::Reflect::set(&out, &"note".into(), &nullable(found.note))?;
        js_sys::Reflect::set(&out, &"truncated".into(), &JsValue::from_f64(found.truncated as f64))?;
        js_sys::Reflect::set(&out, &"tokens".into(), &JsValue::from_f64(found.tokens as f64))?;
        Ok(out.into())
    }))
}

/// Applies `embed` ("hashed" or "semantic"); semantic takes the model of
/// `setModel` when there is one (a part worker parses without it; a
/// profiler needs it: [`require_model`]).
fn apply_embed_option(js: &JsOptions, opts: &mut Options) -> Result<(), JsValue> {
    if let Some(mode) = &js.embed {
        opts.embed = mode.parse::<crate::EmbedMode>().map_err(js_error)?;
    }
    if opts.embed == crate::EmbedMode::Semantic {
        opts.semantic_model = SEMANTIC_MODEL.with(|m| m.borrow().clone());
    }
    Ok(())
}

/// Refuses `embed: "semantic"` before a run when `setModel` has not loaded the model.
fn require_model(opts: &Options) -> Result<(), JsValue> {
    if opts.embed == crate::EmbedMode::Semantic && opts.semantic_model.is_none() {
        return Err(js_error("embed \"semantic\" needs the model: call setModel(bytes) first"));
    }
    Ok(())
}

/// Applies the options a re-run may change (the label audits: `label`,
/// `annotators`, `verified`, `review*`, `probaColumns`): those given replace the current
/// ones, those absent stay.
fn apply_audit_options(js: &JsOptions, opts: &mut Options) -> Result<(), JsValue> {
    if let Some(label) = &js.label {
        opts.label = Some(label.trim().to_string()).filter(|l| !l.is_empty());
    }
    if let Some(columns) = &js.annotators {
        opts.annotators = columns.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    }
    if let Some(verified) = &js.verified {
        opts.verified_column = Some(verified.trim().to_string()).filter(|v| !v.is_empty());
    }
    if js.review_per_class.is_some() || js.review_fraction.is_some() {
        opts.review.per_class = js.review_per_class.filter(|&n| n > 0);
        opts.review.fraction = if opts.review.per_class.is_some() { None } else { js.review_fraction };
    }
    if let Some(seed) = js.review_seed {
        opts.review.seed = seed;
    }
    if let Some(enrich) = js.review_enrich {
        opts.review.enrich = enrich;
    }
    if let Some(columns) = &js.proba_columns {
        opts.proba_columns = columns.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    }
    opts.review.validate().map_err(js_error)
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

/// `checkRules(rules, fileName)`: checks a rules file's parsed JSON before
/// a run. Returns a one-line summary ("3 rules; the default rules apply
/// too"); throws an `Error` naming `fileName`, the rule (its index) and the
/// field at fault.
#[wasm_bindgen(js_name = checkRules)]
pub fn check_rules(rules: JsValue, file_name: Option<String>) -> Result<String, JsValue> {
    let name = file_name.filter(|n| !n.is_empty()).unwrap_or_else(|| "rules".into());
    let value: serde_json::Value =
        serde_wasm_bindgen::from_value(rules).map_err(|e| js_error(format!("{name}: not a JSON value: {e}")))?;
    let set = crate::checks::rules::RuleSet::from_value(&value, &name).map_err(js_error)?;
    let count = set.rules.len();
    Ok(format!(
        "{count} rule{}; {}",
        if count == 1 { "" } else { "s" },
        if set.defaults { "the default rules apply too" } else { "the default rules are off (\"defaults\": false)" }
    ))
}

/// The options a page passes (`JsOptions`, absent ones default) as the
/// core's [`Options`].
fn options_from_js(options: JsValue) -> Result<Options, JsValue> {
    options_from(js_options(options)?)
}

/// The page's options object, parsed.
fn js_options(options: JsValue) -> Result<JsOptions, JsValue> {
    if options.is_undefined() || options.is_null() {
        Ok(JsOptions::default())
    } else {
        serde_wasm_bindgen::from_value(options).map_err(|e| js_error(format!("invalid options: {e}")))
    }
}

/// [`options_from_js`] on parsed options.
fn options_from(js: JsOptions) -> Result<Options, JsValue> {
    // The label and the label audits' options, as a re-run applies them.
    let mut opts = Options { input_format: format_of(&js)?, ..Options::default() };
    apply_audit_options(&js, &mut opts)?;
    apply_embed_option(&js, &mut opts)?;
    if let Some(b) = js.backend {
        opts.backend = b.parse::<Backend>().map_err(js_error)?;
    }
    if let Some(k) = js.k {
        opts.k = k.max(1);
    }
    if let Some(m) = js.max_knn_rows {
        opts.max_knn_rows = m;
    }
    if let Some(f) = js.outlier_iqr_factor.filter(|f| f.is_finite() && *f >= 0.0) {
        opts.outlier_iqr_factor = f;
    }
    if let Some(f) = js.near_duplicate_factor.filter(|f| f.is_finite() && *f >= 0.0) {
        opts.near_duplicate_factor = f;
    }
    opts.normalize = js.normalize.unwrap_or(false);
    if let Some(columns) = js.text_columns {
        opts.text_columns = columns.into_iter().filter(|c| !c.is_empty()).collect();
    }
    if let Some(t) = js.text_threshold {
        if !(t > 0.0 && t <= 1.0) {
            return Err(js_error(format!("textThreshold must be above 0 and at most 1, not {t}")));
        }
        opts.text_threshold = t;
    }
    if let Some(rules) = js.rules.filter(|r| !r.is_null()) {
        opts.rules = Some(crate::checks::rules::RuleSet::from_value(&rules, "options.rules").map_err(js_error)?);
    }
    if let Some(mode) = &js.stream {
        opts.stream = mode.parse::<crate::stream::StreamMode>().map_err(js_error)?;
    }
    if let Some(bytes) = js.stream_above_bytes.filter(|b| b.is_finite() && *b >= 0.0) {
        opts.stream_above_bytes = bytes as u64;
    }
    if let Some(rows) = js.sample_rows {
        opts.sample_rows = rows.max(1);
    }
    Ok(opts)
}

/// The `format` and `delimiter` options, as the CLI's `--format` and
/// `--delimiter` read them.
fn format_of(js: &JsOptions) -> Result<Option<(crate::ingest::Format, Option<u8>)>, JsValue> {
    crate::ingest::sniff::format_override(js.format.as_deref(), js.delimiter.as_deref()).map_err(js_error)
}

/// Profiles one file pushed in chunks.
#[wasm_bindgen]
pub struct Profiler {
    /// The core profiler: out of its cell while a run is in flight, and
    /// back in it afterwards with the parsed table, for `relabel`.
    inner: Rc<RefCell<Option<crate::Profiler>>>,
    /// Whether `finish` was called: no more bytes are taken.
    finished: bool,
    /// Whether runs write the per-row CSV into their result
    /// (`setRowsWanted`).
    rows_wanted: bool,
}

#[wasm_bindgen]
impl Profiler {
    /// `new Profiler(fileName, options)`.
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, options: JsValue) -> Result<Profiler, JsValue> {
        let opts = options_from_js(options)?;
        require_model(&opts)?;
        Ok(Profiler { inner: Rc::new(RefCell::new(Some(crate::Profiler::new(name, opts)))), finished: false, rows_wanted: true })
    }

    /// Feeds the next chunk of the file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        if self.finished {
            return Err(js_error("this profiler has finished"));
        }
        let mut inner = self.inner.borrow_mut();
        inner.as_mut().ok_or_else(|| js_error("this profiler is busy"))?.push(chunk).map_err(js_error)
    }

    /// Bytes pushed so far.
    #[wasm_bindgen(js_name = bytesRead)]
    pub fn bytes_read(&self) -> f64 {
        self.inner.borrow().as_ref().map_or(0.0, |p| p.bytes_read() as f64)
    }

    /// Data rows read so far.
    #[wasm_bindgen(js_name = rowsRead)]
    pub fn rows_read(&self) -> f64 {
        self.inner.borrow().as_ref().map_or(0.0, |p| p.rows_read() as f64)
    }

    /// Whether the runs of this profiler write the per-row CSV (default
    /// true): `rowsCsvParts` in their results, left out when false (a
    /// caller that wants the report only saves writing a line per row).
    #[wasm_bindgen(js_name = setRowsWanted)]
    pub fn set_rows_wanted(&mut self, wanted: bool) {
        self.rows_wanted = wanted;
    }

    /// Ends the input and runs the checks: a promise of `{report,
    /// rowsCsvParts}` (see [`rows_csv_parts`]; `reviewCsv` too when a review
    /// sample was asked for). `on_stage(stage, fraction)` is called as
    /// stages start. The parsed
    /// table is kept (until `free()`) for [`Profiler::relabel`].
    pub fn finish(&mut self, on_stage: Option<js_sys::Function>) -> Result<js_sys::Promise, JsValue> {
        if self.finished {
            return Err(js_error("this profiler has finished"));
        }
        self.finished = true;
        self.run(on_stage, None)
    }

    /// After `finish`: runs the checks again on the parsed table with
    /// another label column (`undefined`, `null` or "": detect it), without
    /// reading the file again. A promise of `{report, rowsCsvParts}`.
    pub fn relabel(&mut self, label: Option<String>, on_stage: Option<js_sys::Function>) -> Result<js_sys::Promise, JsValue> {
        if !self.finished {
            return Err(js_error("relabel comes after finish"));
        }
        self.run(on_stage, Some(label.filter(|l| !l.trim().is_empty())))
    }

    /// After `finish`: runs the checks again on the parsed table with some
    /// options changed: `{label, annotators, verified, reviewPerClass,
    /// reviewFraction, reviewSeed, reviewEnrich}` (those given replace the
    /// current ones; `label: ""` detects it). A promise of `{report,
    /// rowsCsvParts, reviewCsv}`.
    pub fn rerun(&mut self, options: JsValue, on_stage: Option<js_sys::Function>) -> Result<js_sys::Promise, JsValue> {
        if !self.finished {
            return Err(js_error("rerun comes after finish"));
        }
        let js: JsOptions = if options.is_undefined() || options.is_null() {
            JsOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| js_error(format!("invalid options: {e}")))?
        };
        {
            let mut inner = self.inner.borrow_mut();
            let profiler = inner.as_mut().ok_or_else(|| js_error("this profiler is busy with a run"))?;
            let mut opts = profiler.options().clone();
            apply_audit_options(&js, &mut opts)?;
            *profiler.options_mut() = opts;
        }
        self.run(on_stage, None)
    }

    /// Runs the checks; `label`, when given, replaces the label option first.
    fn run(&mut self, on_stage: Option<js_sys::Function>, label: Option<Option<String>>) -> Result<js_sys::Promise, JsValue> {
        let mut profiler = self.inner.borrow_mut().take().ok_or_else(|| js_error("this profiler is busy with a run"))?;
        if let Some(label) = label {
            profiler.set_label(label);
        }
        let cell = self.inner.clone();
        let rows_wanted = self.rows_wanted;
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let mut progress = |stage: &str, fraction: f64| {
                if let Some(f) = &on_stage {
                    let _ = f.call2(&JsValue::NULL, &JsValue::from_str(stage), &JsValue::from_f64(fraction));
                }
            };
            let result = profiler.analyse(&mut progress).await;
            // Back in its cell, parsed table and all, for the next relabel.
            *cell.borrow_mut() = Some(profiler);
            let analysis = result.map_err(js_error)?;
            let serializer = serde_wasm_bindgen::Serializer::json_compatible();
            let report = serde::Serialize::serialize(&analysis.report, &serializer).map_err(js_error)?;
            let out = js_sys::Object::new();
            js_sys::Reflect::set(&out, &"report".into(), &report)?;
            if rows_wanted {
                js_sys::Reflect::set(&out, &"rowsCsvParts".into(), &rows_csv_parts(&analysis.rows)?)?;
            }
            if let Some(sample) = &analysis.review_sample {
                js_sys::Reflect::set(&out, &"reviewCsv".into(), &JsValue::from_str(&sample.to_csv().map_err(js_error)?))?;
            }
            Ok(out.into())
        }))
    }
}

/// Rows of the per-row CSV written per piece by [`rows_csv_parts`].
const ROWS_CSV_PIECE: u64 = 50_000;

/// The per-row CSV as an array of `Uint8Array`s (UTF-8; every field is a
/// number, a boolean, PII kind names or empty, so ASCII), one per
/// [`ROWS_CSV_PIECE`] rows, the header in the first: a streamed run's CSV
/// (a line per row of a big file) never sits whole in wasm memory, and the
/// pieces go to a `Blob` or another thread as they are, with no text
/// conversion.
fn rows_csv_parts(rows: &crate::RowFindings) -> Result<JsValue, JsValue> {
    let total = rows.row_count();
    let parts = js_sys::Array::new();
    let mut buffer = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + ROWS_CSV_PIECE).min(total);
        buffer.clear();
        rows.write_csv_rows(&mut buffer, start..end, start == 0).map_err(|e| js_error(format!("writing the rows CSV: {e}")))?;
        parts.push(&js_sys::Uint8Array::from(&buffer[..]));
        if end >= total {
            return Ok(parts.into());
        }
        start = end;
    }
}

/// Thresholds of `compare` as the page passes them: `{ks, alpha, psi,
/// psiBins, js, missingChange, datasetDrift, leakageShare}`, all optional.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsThresholds {
    ks: Option<f64>,
    alpha: Option<f64>,
    psi: Option<f64>,
    psi_bins: Option<usize>,
    js: Option<f64>,
    missing_change: Option<f64>,
    dataset_drift: Option<f64>,
    leakage_share: Option<f64>,
}

/// Compares two profilers that hold their whole files (pushed, not
/// finished): `compare(reference, candidate, thresholds, onStage)`, a promise
/// of `{report}` where `report` is the comparison report (both single-file
/// reports inside). Both profilers are finished by it.
#[wasm_bindgen]
pub fn compare(
    reference: &mut Profiler,
    candidate: &mut Profiler,
    thresholds: JsValue,
    on_stage: Option<js_sys::Function>,
) -> Result<js_sys::Promise, JsValue> {
    let js: JsThresholds = if thresholds.is_undefined() || thresholds.is_null() {
        JsThresholds::default()
    } else {
        serde_wasm_bindgen::from_value(thresholds).map_err(|e| js_error(format!("invalid thresholds: {e}")))?
    };
    let mut t = crate::report::CompareThresholds::default();
    t.ks = js.ks.unwrap_or(t.ks);
    t.alpha = js.alpha.unwrap_or(t.alpha);
    t.psi = js.psi.unwrap_or(t.psi);
    t.psi_bins = js.psi_bins.unwrap_or(t.psi_bins).max(2);
    t.js = js.js.unwrap_or(t.js);
    t.missing_change = js.missing_change.unwrap_or(t.missing_change);
    t.dataset_drift = js.dataset_drift.unwrap_or(t.dataset_drift);
    t.leakage_share = js.leakage_share.unwrap_or(t.leakage_share);
    if reference.finished || candidate.finished {
        return Err(js_error("compare takes two profilers that have not finished"));
    }
    let mut r = reference.inner.borrow_mut().take().ok_or_else(|| js_error("the reference profiler is busy"))?;
    let mut c = match candidate.inner.borrow_mut().take() {
        Some(c) => c,
        None => {
            *reference.inner.borrow_mut() = Some(r);
            return Err(js_error("the candidate profiler is busy"));
        }
    };
    reference.finished = true;
    candidate.finished = true;
    let (r_cell, c_cell) = (reference.inner.clone(), candidate.inner.clone());
    Ok(wasm_bindgen_futures::future_to_promise(async move {
        let mut progress = |stage: &str, fraction: f64| {
            if let Some(f) = &on_stage {
                let _ = f.call2(&JsValue::NULL, &JsValue::from_str(stage), &JsValue::from_f64(fraction));
            }
        };
        let result = crate::compare(&mut r, &mut c, &t, &mut progress).await;
        *r_cell.borrow_mut() = Some(r);
        *c_cell.borrow_mut() = Some(c);
        let analysis = result.map_err(js_error)?;
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let report = serde::Serialize::serialize(&analysis.report, &serializer).map_err(js_error)?;
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"report".into(), &report)?;
        Ok(out.into())
    }))
}

/// Options of `reportHtml` as the page passes them: `{includeRows}`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsHtmlOptions {
    /// Quote values from data rows in the HTML (off by default).
    include_rows: bool,
}

/// `reportHtml(report, options)`: the shareable, self-contained HTML report
/// (`crate::html`) of a report object as `finish` or `compare` gave it (a
/// comparison report is told apart by its `comparison` field). `options`:
/// `{includeRows}`. Throws an `Error` when the object is not a report.
#[wasm_bindgen(js_name = reportHtml)]
pub fn report_html(report: JsValue, options: JsValue) -> Result<String, JsValue> {
    let js: JsHtmlOptions = if options.is_undefined() || options.is_null() {
        JsHtmlOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options).map_err(|e| js_error(format!("invalid HTML options: {e}")))?
    };
    let options = crate::html::HtmlOptions { include_rows: js.include_rows };
    if !report.is_object() {
        return Err(js_error("reportHtml needs a report object"));
    }
    if js_sys::Reflect::has(&report, &"comparison".into())? {
        let report: crate::report::CompareReport =
            serde_wasm_bindgen::from_value(report).map_err(|e| js_error(format!("not a comparison report: {e}")))?;
        Ok(crate::html::compare_html(&report, &options))
    } else {
        let report: crate::report::Report =
            serde_wasm_bindgen::from_value(report).map_err(|e| js_error(format!("not a preflight report: {e}")))?;
        Ok(crate::html::report_html(&report, &options))
    }
}

// --- Stream mode (issue 7): parts read by workers, merged by the coordinator ---

/// The json-compatible serializer (plain objects, numbers) for values
/// handed to the page.
fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_error)
}

/// `readHead(name, bytes, complete, options)`: the head of a file (format,
/// header, where data starts) from its first 64 KiB (`complete`: the bytes
/// are the whole file), the options' `format` and `delimiter` over the
/// name's hint. A plain object: pass it back as it is. Throws an `Error`
/// for an empty or binary file, or when the header record is longer than
/// the bytes given (give more); one named "OptionsError" for a bad format
/// or delimiter.
#[wasm_bindgen(js_name = readHead)]
pub fn read_head(name: &str, bytes: &[u8], complete: bool, options: JsValue) -> Result<JsValue, JsValue> {
    // An error in the options is an `Error` named "OptionsError", apart
    // from the file's own.
    let options_error = |e: JsValue| {
        let error = js_sys::Error::from(e);
        error.set_name("OptionsError");
        JsValue::from(error)
    };
    let input_format = format_of(&js_options(options).map_err(options_error)?).map_err(options_error)?;
    let hint = Options { input_format, ..Options::default() }.format_hint(name);
    let head = crate::stream::read_head_hinted(hint, bytes, complete).map_err(|e| js_error(format!("{name}: {e}")))?;
    to_js(&head)
}

fn head_from_js(head: JsValue) -> Result<crate::stream::Head, JsValue> {
    serde_wasm_bindgen::from_value(head).map_err(|e| js_error(format!("not a head from readHead: {e}")))
}

/// `planParts(fileBytes, head, parts)`: the byte ranges of at most `parts`
/// parts, `[{index, start, end, atRecordBoundary, fileBytes}]` in file
/// order (`fileBytes` bounds each part's sample: README "Big files").
#[wasm_bindgen(js_name = planParts)]
pub fn plan_parts(file_bytes: f64, head: JsValue, parts: usize) -> Result<JsValue, JsValue> {
    let head = head_from_js(head)?;
    if !(file_bytes.is_finite() && file_bytes >= 0.0) {
        return Err(js_error(format!("fileBytes must be a size in bytes, not {file_bytes}")));
    }
    to_js(&crate::stream::plan_parts(file_bytes as u64, &head, parts))
}

/// Reads one part of a file in a worker: `new PartBuilder(name, options,
/// head, spec)`, then `push(bytes)` the file's bytes from `spec.start` on
/// until it returns true (or the file ends), then `finish()`.
#[wasm_bindgen]
pub struct PartBuilder {
    inner: Option<crate::stream::PartBuilder>,
}

#[wasm_bindgen]
impl PartBuilder {
    /// `new PartBuilder(name, options, head, spec)`: `spec` is one of
    /// `planParts`' ranges, or `{index, start, end, atRecordBoundary: true,
    /// fileBytes}` to read a part again from where `checkParts` says (without
    /// `fileBytes`, the part keeps its own bottom k for the sample).
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, options: JsValue, head: JsValue, spec: JsValue) -> Result<PartBuilder, JsValue> {
        // A part worker needs no semantic model: what a part accumulates
        // does not depend on the embedding.
        let mut js = js_options(options)?;
        js.embed = None;
        let options = options_from(js)?;
        let head = head_from_js(head)?;
        let spec: crate::stream::PartSpec =
            serde_wasm_bindgen::from_value(spec).map_err(|e| js_error(format!("not a part spec: {e}")))?;
        let inner = crate::stream::PartBuilder::new(name, &options, &head, &spec).map_err(js_error)?;
        Ok(PartBuilder { inner: Some(inner) })
    }

    /// Feeds the next bytes; true once the part needs no more.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, JsValue> {
        self.inner.as_mut().ok_or_else(|| js_error("this part has finished"))?.push(chunk).map_err(js_error)
    }

    /// Bytes of the part's range read so far (the parts' add up to the file).
    #[wasm_bindgen(js_name = bytesRead)]
    pub fn bytes_read(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |p| p.bytes_read() as f64)
    }

    /// Data rows read so far.
    #[wasm_bindgen(js_name = rowsRead)]
    pub fn rows_read(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |p| p.rows_read() as f64)
    }

    /// Ends the part: its bytes (a `Uint8Array`; transfer its buffer to
    /// the coordinator). The builder takes no more bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let builder = self.inner.take().ok_or_else(|| js_error("this part has finished"))?;
        Ok(builder.finish().map_err(js_error)?.to_bytes())
    }
}

/// The parts' bytes from a JS array of `Uint8Array`s, one at a time.
fn each_part(parts: &js_sys::Array) -> impl Iterator<Item = Result<Vec<u8>, JsValue>> + '_ {
    parts.iter().enumerate().map(|(i, value)| {
        value
            .dyn_into::<js_sys::Uint8Array>()
            .map(|bytes| bytes.to_vec())
            .map_err(|_| js_error(format!("parts[{i}] is not a Uint8Array")))
    })
}

/// `checkParts(parts)`: `null` when each part began where the part before
/// it stopped; else `{index, start}`: read part `index` again from byte
/// `start` with `atRecordBoundary: true` (its `end` as planned), then
/// check again. Reads only the parts' headers.
#[wasm_bindgen(js_name = checkParts)]
pub fn check_parts(parts: js_sys::Array) -> Result<JsValue, JsValue> {
    let mut bounds = Vec::new();
    for (i, value) in parts.iter().enumerate() {
        let bytes = value.dyn_into::<js_sys::Uint8Array>().map_err(|_| js_error(format!("parts[{i}] is not a Uint8Array")))?;
        // The fixed header only: no need to copy the whole part.
        let head_len = (crate::stream::part::PART_HEADER_BYTES as u32).min(bytes.length());
        let header = bytes.subarray(0, head_len).to_vec();
        bounds.push(crate::stream::Part::header_from_bytes(&header).map_err(js_error)?.0);
    }
    match crate::stream::check_bounds(&bounds) {
        Ok(()) => Ok(JsValue::NULL),
        Err(reparse) => to_js(&serde_json::json!({ "index": reparse.index, "start": reparse.start })),
    }
}

#[wasm_bindgen]
impl Profiler {
    /// `Profiler.fromParts(name, options, head, parts, fileBytes)`: the
    /// profiler of a streamed file from its parts' bytes (in file order,
    /// after `checkParts` said null); then `finish(onStage)` as for a
    /// pushed file. Each part is decoded just before it is merged
    /// (`PartMerger` does the same a part at a time, as they come).
    #[wasm_bindgen(js_name = fromParts)]
    pub fn from_parts(name: &str, options: JsValue, head: JsValue, parts: js_sys::Array, file_bytes: f64) -> Result<Profiler, JsValue> {
        let mut merger = PartMerger::new(name);
        for bytes in each_part(&parts) {
            merger.add(&bytes?)?;
        }
        merger.finish(options, head, file_bytes)
    }
}

/// `new PartMerger(name)`: merges the parts of a streamed file one at a
/// time while the others are still being read. `add(bytes)` takes the next
/// part in file order (after `checkParts` said null for it and the part
/// before), `finish(options, head, fileBytes)` returns the `Profiler`, as
/// `Profiler.fromParts` would for all the parts at once.
#[wasm_bindgen]
pub struct PartMerger {
    inner: Option<crate::stream::PartMerger>,
}

#[wasm_bindgen]
impl PartMerger {
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> PartMerger {
        PartMerger { inner: Some(crate::stream::PartMerger::new(name)) }
    }

    /// Decodes the next part's bytes and merges them into the parts before.
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        let merger = self.inner.as_mut().ok_or_else(|| js_error("this merger has finished"))?;
        let part = crate::stream::Part::from_bytes(bytes).map_err(js_error)?;
        merger.add(part).map_err(js_error)
    }

    /// Parts merged so far.
    pub fn parts(&self) -> u32 {
        self.inner.as_ref().map_or(0, crate::stream::PartMerger::parts)
    }

    /// Ends the merge (the parts must reach `fileBytes`): the profiler,
    /// not finished. The merger takes no more parts.
    pub fn finish(&mut self, options: JsValue, head: JsValue, file_bytes: f64) -> Result<Profiler, JsValue> {
        let opts = options_from_js(options)?;
        require_model(&opts)?;
        let head = head_from_js(head)?;
        let merger = self.inner.take().ok_or_else(|| js_error("this merger has finished"))?;
        let profiler = merger.finish(&opts, &head, file_bytes as u64).map_err(js_error)?;
        Ok(Profiler { inner: Rc::new(RefCell::new(Some(profiler))), finished: false, rows_wanted: true })
    }
}

/// `wasmMemoryBytes()`: the size of this instance's `WebAssembly.Memory`
/// now (it only grows: the peak so far).
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map_or(0.0, |memory| memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64)
}

thread_local! {
    /// The page's kNN helper (`setKnnHelper`).
    static KNN_HELPER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// `setKnnHelper(helper)`: when the CPU builds a kNN graph, this worker
/// calls `helper(data, n, d, k, metric)` (`data`: a `Float32Array` of `n`
/// rows of `d` values; `metric`: "cosine" or "euclidean") and awaits what it
/// returns: `null` to build the graph here, or `{workers, lists}`: `lists`
/// an array of `{indices, distances}` (a `Uint32Array` and a
/// `Float32Array` of `n * min(k, n - 1)` values, row after row), the
/// top-k lists other workers filled with `KnnSearch.searchPairs` over
/// ranges of block pairs that together cover `0..knnBlockPairs(n, d)` once;
/// this worker merges them. `null` or `undefined` removes it.
#[wasm_bindgen(js_name = setKnnHelper)]
pub fn set_knn_helper(helper: JsValue) -> Result<(), JsValue> {
    let helper = if helper.is_null() || helper.is_undefined() {
        None
    } else {
        Some(helper.dyn_into::<js_sys::Function>().map_err(|_| js_error("setKnnHelper takes a function or null"))?)
    };
    KNN_HELPER.with(|h| *h.borrow_mut() = helper);
    Ok(())
}

/// `new KnnSearch(data, n, d, k, metric)`: `n` rows of `d` values (a
/// `Float32Array`; `metric`: "cosine" or "euclidean") prepared for the kNN
/// graph, searched a piece at a time: `searchPairs(first, count)` takes
/// block pairs `first..first + count` of the symmetric search (each pair's
/// distance computed once, offered to both rows; `pairs` of them in all,
/// `pairsPerCall` a short call's worth) into this object's top-k lists of
/// all `n` rows, which `takeLists()` returns (`{k, indices: Uint32Array,
/// distances: Float32Array}`, `n * k` values each, `k = min(k, n - 1)`)
/// and empties; lists covering all the pairs between them merge into the
/// graph (what the page runs). `rows(first, count)` is the one-way search
/// of those query rows against all `n` rows (`count * k` values; the same
/// graph; `bench/wasm_knn_pairs.mjs` times both).
///
/// Short calls, with the event loop turning between them, let the browser
/// swap in optimised code (it does so only between calls into wasm).
#[wasm_bindgen(js_name = KnnSearch)]
pub struct JsKnnSearch {
    inner: crate::gpu::KnnSearch,
    lists: Option<crate::gpu::KnnLists>,
}

#[wasm_bindgen(js_class = KnnSearch)]
impl JsKnnSearch {
    #[wasm_bindgen(constructor)]
    pub fn new(data: &[f32], n: usize, d: usize, k: usize, metric: &str) -> Result<JsKnnSearch, JsValue> {
        let metric = metric_from_name(metric).map_err(js_error)?;
        if data.len() != n.saturating_mul(d) || u32::try_from(n).is_err() {
            return Err(js_error(format!("KnnSearch: data holds {} values, expected n * d = {n} * {d}", data.len())));
        }
        Ok(JsKnnSearch { inner: crate::gpu::KnnSearch::new(data, n, d, k, metric), lists: None })
    }

    /// Neighbours a row: `min(k, n - 1)`.
    #[wasm_bindgen(getter)]
    pub fn k(&self) -> usize {
        self.inner.k()
    }

    pub fn rows(&self, first: usize, count: usize) -> Result<JsValue, JsValue> {
        let n = self.inner.n();
        let end = first.checked_add(count).filter(|&end| end <= n).ok_or_else(|| js_error(format!("KnnSearch.rows: rows {first}..+{count} outside 0..{n}")))?;
        let (indices, distances) = self.inner.rows(first..end);
        self.lists_object(&indices, &distances)
    }

    /// Block pairs of the symmetric search.
    #[wasm_bindgen(getter)]
    pub fn pairs(&self) -> usize {
        self.inner.block_pairs()
    }

    /// Block pairs per call of about 0.05-0.1 s of work.
    #[wasm_bindgen(getter, js_name = pairsPerCall)]
    pub fn pairs_per_call(&self) -> usize {
        knn_piece_pairs(self.inner.d(), self.inner.block_rows())
    }

    #[wasm_bindgen(js_name = searchPairs)]
    pub fn search_pairs(&mut self, first: usize, count: usize) -> Result<(), JsValue> {
        let pairs = self.inner.block_pairs();
        let end = first.checked_add(count).filter(|&end| end <= pairs).ok_or_else(|| js_error(format!("KnnSearch.searchPairs: pairs {first}..+{count} outside 0..{pairs}")))?;
        let inner = &self.inner;
        let lists = self.lists.get_or_insert_with(|| inner.empty_lists());
        inner.search_pairs(first..end, lists);
        Ok(())
    }

    #[wasm_bindgen(js_name = takeLists)]
    pub fn take_lists(&mut self) -> Result<JsValue, JsValue> {
        let lists = self.lists.take().unwrap_or_else(|| self.inner.empty_lists());
        self.lists_object(&lists.indices, &lists.distances)
    }
}

impl JsKnnSearch {
    /// `{k, indices: Uint32Array, distances: Float32Array}`.
    fn lists_object(&self, indices: &[u32], distances: &[f32]) -> Result<JsValue, JsValue> {
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"k".into(), &JsValue::from(self.inner.k() as u32))?;
        js_sys::Reflect::set(&out, &"indices".into(), &js_sys::Uint32Array::from(indices))?;
        js_sys::Reflect::set(&out, &"distances".into(), &js_sys::Float32Array::from(distances))?;
        Ok(out.into())
    }
}

/// `knnBlockPairs(n, d)`: block pairs of the symmetric kNN search over `n`
/// rows of `d` values (`KnnSearch.pairs`, without preparing the rows), for
/// sharing them among workers.
#[wasm_bindgen(js_name = knnBlockPairs)]
pub fn knn_block_pairs(n: usize, d: usize) -> usize {
    crate::gpu::knn_block_pairs(n, d)
}

/// Block pairs per call of about 0.05-0.1 s of work (0.4 G
/// pair-dimensions), at least one.
fn knn_piece_pairs(d: usize, block_rows: usize) -> usize {
    (400_000_000 / block_rows.saturating_mul(block_rows).saturating_mul(d.max(1)).max(1)).max(1)
}

/// Gives the event loop a turn: the browser installs optimised wasm code
/// only between calls into wasm. A message to a fresh `MessageChannel`'s
/// port, not a zero-delay timer: timers set from timers five deep wait at
/// least 4 ms each (HTML), which between a stage's 20-50 ms calls left its
/// core idle a tenth of the time. `setTimeout(0)` where there is no
/// `MessageChannel`; at once where there is neither.
pub(crate) async fn yield_to_event_loop() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let get = |target: &JsValue, name: &str| js_sys::Reflect::get(target, &name.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
        let function = |target: &JsValue, name: &str| get(target, name).and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let by_message = || -> Option<()> {
            let channel = js_sys::Reflect::construct(&function(&global, "MessageChannel")?, &js_sys::Array::new()).ok()?;
            let (receiver, sender) = (get(&channel, "port1")?, get(&channel, "port2")?);
            // The port is closed once the message is in: an open port with
            // a listener would keep Node's event loop alive for ever.
            let close = function(&receiver, "close")?;
            let on_message = Closure::once_into_js({
                let (receiver, resolve) = (receiver.clone(), resolve.clone());
                move |_event: JsValue| {
                    let _ = close.call0(&receiver);
                    let _ = resolve.call0(&JsValue::NULL);
                }
            });
            js_sys::Reflect::set(&receiver, &"onmessage".into(), &on_message).ok()?;
            function(&sender, "postMessage")?.call1(&sender, &JsValue::NULL).ok().map(|_| ())
        };
        let by_timer = || function(&global, "setTimeout").is_some_and(|timer| timer.call2(&global, &resolve, &JsValue::from(0)).is_ok());
        if by_message().is_none() && !by_timer() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The kNN graph built here, in pieces with the event loop turning between
/// them (see [`yield_to_event_loop`]).
pub(crate) async fn knn_here_in_pieces(data: &[f32], n: usize, d: usize, k: usize, metric: crate::gpu::Metric) -> crate::gpu::KnnGraph {
    let search = crate::gpu::KnnSearch::new(data, n, d, k, metric);
    let k = search.k();
    let mut lists = search.empty_lists();
    let (pairs, piece) = (search.block_pairs(), knn_piece_pairs(d, search.block_rows()));
    let mut first = 0;
    while first < pairs {
        let end = (first + piece).min(pairs);
        search.search_pairs(first..end, &mut lists);
        first = end;
        if first < pairs {
            yield_to_event_loop().await;
        }
    }
    crate::gpu::KnnGraph { n, k, indices: lists.indices, distances: lists.distances }
}

fn metric_from_name(name: &str) -> Result<crate::gpu::Metric, String> {
    match name {
        "cosine" => Ok(crate::gpu::Metric::Cosine),
        "euclidean" => Ok(crate::gpu::Metric::SquaredEuclidean),
        other => Err(format!("unknown metric {other:?} (cosine or euclidean)")),
    }
}

/// Graphs of fewer rows are built by the page's coordinator alone (the
/// same rule as `KNN_SHARED_MIN_ROWS` in www/worker.js's helper).
const KNN_SHARED_MIN_ROWS: usize = 4096;

/// Whether the page's kNN helper (`setKnnHelper`) would share a CPU graph
/// of `rows` rows among workers rather than answer `null`: there is one,
/// the graph has enough rows and the browser says it has 2 cores or more.
pub(crate) fn knn_helpers_would_share(rows: usize) -> bool {
    let cores = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &"hardwareConcurrency".into()))
        .ok()
        .and_then(|cores| cores.as_f64())
        .unwrap_or(1.0);
    rows >= KNN_SHARED_MIN_ROWS && cores >= 2.0 && KNN_HELPER.with(|h| h.borrow().is_some())
}

thread_local! {
    /// Graphs handed to the page's kNN helper so far (`knn_dispatches`).
    static KNN_DISPATCHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Graphs handed to the page's kNN helper so far: what runs beside a graph
/// waits for the count to change before it takes this worker's core.
pub(crate) fn knn_dispatches() -> u64 {
    KNN_DISPATCHES.with(std::cell::Cell::get)
}

/// The kNN graph from the page's helper (`setKnnHelper`): `None` when there
/// is none or it answers `null` (build it here), else the graph and the
/// workers it ran on, or why it failed.
pub(crate) async fn knn_on_helpers(
    data: &[f32],
    n: usize,
    d: usize,
    k: usize,
    metric: crate::gpu::Metric,
) -> Option<crate::error::Result<(crate::gpu::KnnGraph, usize)>> {
    use crate::error::{Error, ErrorKind};
    let helper = KNN_HELPER.with(|h| h.borrow().clone())?;
    let fail = |what: String| Some(Err(Error::new(ErrorKind::Gpu, what)));
    let args = js_sys::Array::of5(
        &js_sys::Float32Array::from(data).into(),
        &JsValue::from(n as f64),
        &JsValue::from(d as f64),
        &JsValue::from(k as f64),
        &JsValue::from_str(metric.name()),
    );
    let answer = match helper.apply(&JsValue::NULL, &args) {
        Ok(answer) => answer,
        Err(err) => return fail(js_message(&err)),
    };
    KNN_DISPATCHES.with(|count| count.set(count.get() + 1));
    let answer = match wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&answer)).await {
        Ok(answer) => answer,
        Err(err) => return fail(js_message(&err)),
    };
    if answer.is_null() || answer.is_undefined() {
        return None;
    }
    let field = |of: &JsValue, name: &str| js_sys::Reflect::get(of, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let Ok(sets) = field(&answer, "lists").dyn_into::<js_sys::Array>() else {
        return fail("the helper's answer has no lists (an array)".into());
    };
    let k = k.min(n.saturating_sub(1));
    let mut lists = Vec::new();
    for set in sets.iter() {
        let (Ok(indices), Ok(distances)) = (field(&set, "indices").dyn_into::<js_sys::Uint32Array>(), field(&set, "distances").dyn_into::<js_sys::Float32Array>()) else {
            return fail("a list in the helper's answer has no indices (Uint32Array) and distances (Float32Array)".into());
        };
        if indices.length() as usize != n * k || distances.length() as usize != n * k {
            return fail(format!("a kNN helper returned {} values for {n} rows of {k}", indices.length()));
        }
        lists.push(crate::gpu::KnnLists { indices: indices.to_vec(), distances: distances.to_vec() });
    }
    if lists.is_empty() {
        return fail("the helper's answer holds no lists".into());
    }
    let workers = field(&answer, "workers").as_f64().map_or(1, |w| w.max(1.0) as usize);
    let (indices, distances) = crate::gpu::merge_lists(n, k, lists);
    Some(Ok((crate::gpu::KnnGraph { n, k, indices, distances }, workers)))
}

/// An error's message as the page threw it.
fn js_message(err: &JsValue) -> String {
    err.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| err.as_string()).unwrap_or_else(|| "unknown error".into())
}
