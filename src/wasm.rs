//! The only `#[wasm_bindgen]` code: a thin layer that converts options in,
//! and reports and errors out, for the page's worker and the embedding API.

use crate::{Backend, Options};
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
/// outlierIqrFactor, nearDuplicateFactor}`, all optional.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsOptions {
    label: Option<String>,
    backend: Option<String>,
    k: Option<usize>,
    max_knn_rows: Option<usize>,
    outlier_iqr_factor: Option<f64>,
    near_duplicate_factor: Option<f64>,
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

/// Profiles one file pushed in chunks.
#[wasm_bindgen]
pub struct Profiler {
    inner: Option<crate::Profiler>,
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
        Ok(Profiler { inner: Some(crate::Profiler::new(name, opts)) })
    }

    fn inner(&mut self) -> Result<&mut crate::Profiler, JsValue> {
        self.inner.as_mut().ok_or_else(|| js_error("this profiler has finished"))
    }

    /// Feeds the next chunk of the file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        self.inner()?.push(chunk).map_err(js_error)
    }

    /// Bytes pushed so far.
    #[wasm_bindgen(js_name = bytesRead)]
    pub fn bytes_read(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |p| p.bytes_read() as f64)
    }

    /// Data rows read so far.
    #[wasm_bindgen(js_name = rowsRead)]
    pub fn rows_read(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |p| p.rows_read() as f64)
    }

    /// Ends the input and runs the checks: a promise of `{report, rowsCsv}`.
    /// `on_stage(stage, fraction)` is called as stages start.
    pub fn finish(&mut self, on_stage: Option<js_sys::Function>) -> Result<js_sys::Promise, JsValue> {
        let profiler = self.inner.take().ok_or_else(|| js_error("this profiler has finished"))?;
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let mut progress = |stage: &str, fraction: f64| {
                if let Some(f) = &on_stage {
                    let _ = f.call2(&JsValue::NULL, &JsValue::from_str(stage), &JsValue::from_f64(fraction));
                }
            };
            let analysis = profiler.finish(&mut progress).await.map_err(js_error)?;
            let serializer = serde_wasm_bindgen::Serializer::json_compatible();
            let report = serde::Serialize::serialize(&analysis.report, &serializer).map_err(js_error)?;
            let out = js_sys::Object::new();
            js_sys::Reflect::set(&out, &"report".into(), &report)?;
            js_sys::Reflect::set(&out, &"rowsCsv".into(), &JsValue::from_str(&analysis.rows.to_csv().map_err(js_error)?))?;
            Ok(out.into())
        }))
    }
}
