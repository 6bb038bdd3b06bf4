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
/// textThreshold}`, all optional.
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
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

/// Profiles one file pushed in chunks.
#[wasm_bindgen]
pub struct Profiler {
    /// The core profiler: out of its cell while a run is in flight, and
    /// back in it afterwards with the parsed table, for `relabel`.
    inner: Rc<RefCell<Option<crate::Profiler>>>,
    /// Whether `finish` was called: no more bytes are taken.
    finished: bool,
}

#[wasm_bindgen]
impl Profiler {
    /// `new Profiler(fileName, options)`.
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str, options: JsValue) -> Result<Profiler, JsValue> {
        let js: JsOptions = if options.is_undefined() || options.is_null() {
            JsOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| js_error(format!("invalid options: {e}")))?
        };
        let mut opts = Options { label: js.label.filter(|l| !l.is_empty()), ..Options::default() };
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
        Ok(Profiler { inner: Rc::new(RefCell::new(Some(crate::Profiler::new(name, opts)))), finished: false })
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

    /// Ends the input and runs the checks: a promise of `{report, rowsCsv}`.
    /// `on_stage(stage, fraction)` is called as stages start. The parsed
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
    /// reading the file again. A promise of `{report, rowsCsv}`.
    pub fn relabel(&mut self, label: Option<String>, on_stage: Option<js_sys::Function>) -> Result<js_sys::Promise, JsValue> {
        if !self.finished {
            return Err(js_error("relabel comes after finish"));
        }
        self.run(on_stage, Some(label.filter(|l| !l.trim().is_empty())))
    }

    /// Runs the checks; `label`, when given, replaces the label option first.
    fn run(&mut self, on_stage: Option<js_sys::Function>, label: Option<Option<String>>) -> Result<js_sys::Promise, JsValue> {
        let mut profiler = self.inner.borrow_mut().take().ok_or_else(|| js_error("this profiler is busy with a run"))?;
        if let Some(label) = label {
            profiler.set_label(label);
        }
        let cell = self.inner.clone();
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
            js_sys::Reflect::set(&out, &"rowsCsv".into(), &JsValue::from_str(&analysis.rows.to_csv().map_err(js_error)?))?;
            Ok(out.into())
        }))
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
