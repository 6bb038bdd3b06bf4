//! Semantic text embeddings: all-MiniLM-L6-v2 (sentence-transformers), run
//! on the GPU through wgpu or on the CPU, for the neighbour checks of a text
//! column (`Options::embed` = [`crate::EmbedMode::Semantic`]).
//!
//! The pieces: the BERT uncased WordPiece tokenizer (`tokenizer`), the
//! weights file and the CPU network (`weights`, `cpu`), the WGSL network
//! (`gpu`); this module ties them together: [`SemanticModel`] holds the
//! weights and the tokenizer built once from one file, and [`embed_texts`]
//! tokenizes the distinct texts (truncated at [`MAX_TOKENS`], counted), orders them by
//! length into chunks of nearly equal lengths (little padding), runs each
//! chunk on the backend the options allow, with the same fallback rules as
//! the kNN graph, and returns one L2-normalised vector per text, in the
//! order given.

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod tokenizer;
pub mod weights;

use crate::{Backend, Error, ErrorKind, Result};
use std::ops::Range;
use std::sync::Arc;

/// The model's name, as the report gives it.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// The model and the precision of its weights file, as the report's
/// `embedding.model` gives it.
pub const MODEL_LABEL: &str = "all-MiniLM-L6-v2 fp16";
/// The weights file the site serves and the CLI reads by default.
pub const MODEL_FILE: &str = "all-MiniLM-L6-v2.pfm";
/// Most tokens per text, [CLS] and [SEP] included (sentence-transformers'
/// `max_seq_length` of this model): longer texts are truncated and counted.
pub const MAX_TOKENS: usize = 256;
/// Dimension of the embedding vectors.
pub const DIMENSION: usize = 384;
/// Most sequences in one call of the network.
pub const CHUNK_SEQUENCES: usize = 1024;
/// Most tokens in one call of the network (the GPU network's default
/// batch): progress is reported after each call.
pub const CHUNK_TOKENS: usize = 8192;

/// The model, loaded once from a weights file: the network's weights and
/// the tokenizer built from the vocabulary inside the file. Cheap to clone
/// (shared); two values are equal when they share one load.
#[derive(Clone)]
pub struct SemanticModel {
    inner: Arc<Loaded>,
}

struct Loaded {
    model: weights::MiniLm,
    tokenizer: tokenizer::WordPiece,
    file_bytes: usize,
}

impl SemanticModel {
    /// Loads the model from the bytes of a weights file
    /// (`www/models/all-MiniLM-L6-v2.pfm`, written by `scripts/fetch-model`).
    pub fn from_bytes(bytes: &[u8]) -> Result<SemanticModel> {
        let model = weights::MiniLm::from_bytes(bytes)?;
        let tokenizer = tokenizer::WordPiece::from_vocab(&model.vocab)?;
        Ok(SemanticModel { inner: Arc::new(Loaded { model, tokenizer, file_bytes: bytes.len() }) })
    }

    /// The network's weights.
    pub fn model(&self) -> &weights::MiniLm {
        &self.inner.model
    }

    /// The tokenizer of the model's vocabulary.
    pub fn tokenizer(&self) -> &tokenizer::WordPiece {
        &self.inner.tokenizer
    }

    /// Size of the file it was loaded from, in bytes.
    pub fn file_bytes(&self) -> usize {
        self.inner.file_bytes
    }
}

impl PartialEq for SemanticModel {
    fn eq(&self, other: &SemanticModel) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl std::fmt::Debug for SemanticModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the weights: tens of millions of numbers.
        write!(f, "SemanticModel({MODEL_NAME}, {} bytes)", self.inner.file_bytes)
    }
}

/// The order in which to run sequences of these `lengths` (shortest first,
/// ties by position: the same input gives the same chunks) and the chunks:
/// ranges of that order holding at most `max_sequences` sequences and at
/// most `max_tokens` tokens (a longer sequence goes alone). Both networks
/// pack a chunk's sequences without padding; chunks bound the memory of one
/// call and set how often progress is reported.
pub fn plan_chunks(lengths: &[usize], max_sequences: usize, max_tokens: usize) -> (Vec<usize>, Vec<Range<usize>>) {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let mut chunks = Vec::new();
    let (mut start, mut tokens) = (0, 0);
    for (at, &i) in order.iter().enumerate() {
        if at > start && (tokens + lengths[i] > max_tokens || at - start >= max_sequences.max(1)) {
            chunks.push(start..at);
            (start, tokens) = (at, 0);
        }
        tokens += lengths[i];
    }
    if start < order.len() {
        chunks.push(start..order.len());
    }
    (order, chunks)
}

/// The vectors of [`embed_texts`] and how they were made.
#[derive(Debug, Clone, PartialEq)]
pub struct TextEmbeddings {
    /// `texts.len() x DIMENSION` values, row-major, each row L2-normalised.
    pub vectors: Vec<f32>,
    /// Texts cut at [`MAX_TOKENS`] tokens.
    pub truncated: u64,
    /// Tokens run through the network, [CLS] and [SEP] included (each
    /// distinct text once).
    pub tokens: u64,
    /// "gpu" or "cpu".
    pub backend: String,
    /// The GPU adapter's name when the GPU ran.
    pub adapter: Option<String>,
    /// Why the CPU ran when the GPU was allowed.
    pub note: Option<String>,
}

/// Where the network runs.
enum Engine {
    Cpu,
    #[cfg(feature = "gpu")]
    Gpu { context: std::rc::Rc<crate::gpu::GpuContext>, network: std::rc::Rc<gpu::MiniLmGpu>, adapter: String },
}

/// Embeds `texts` with the model on the backend `backend` allows: `Cpu`
/// runs the CPU network; `Gpu` the WGSL network or an error; `Auto` the GPU
/// when a hardware adapter exists, else (no adapter, a software adapter, a
/// failure or an invalid result on the GPU) the CPU, saying why in `note`.
/// Identical texts go through the network once. `progress` receives the
/// fraction of tokens done after each chunk.
pub async fn embed_texts(
    model: &SemanticModel,
    texts: &[&str],
    backend: Backend,
    progress: &mut dyn FnMut(f64),
) -> Result<TextEmbeddings> {
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut unique: Vec<&str> = Vec::new();
    let slots: Vec<usize> = texts
        .iter()
        .map(|&text| {
            *first.entry(text).or_insert_with(|| {
                unique.push(text);
                unique.len() - 1
            })
        })
        .collect();
    let mut truncated = 0;
    let mut ids = Vec::with_capacity(unique.len());
    let mut cut = vec![false; unique.len()];
    for (u, text) in unique.iter().enumerate() {
        let encoded = model.tokenizer().encode(text, MAX_TOKENS);
        cut[u] = encoded.truncated;
        ids.push(encoded.ids);
    }
    for &slot in &slots {
        truncated += u64::from(cut[slot]);
    }
    let mut found = embed_ids(model, ids, backend, progress).await?;
    found.truncated = truncated;
    if unique.len() < texts.len() {
        let mut vectors = vec![0.0; texts.len() * DIMENSION];
        scatter_back(&found.vectors, &slots, &mut vectors);
        found.vectors = vectors;
    }
    Ok(found)
}

/// `vectors[slot]` to row `i` of `out`, for each `slots[i]`.
fn scatter_back(vectors: &[f32], slots: &[usize], out: &mut [f32]) {
    for (row, &slot) in slots.iter().enumerate() {
        out[row * DIMENSION..(row + 1) * DIMENSION].copy_from_slice(&vectors[slot * DIMENSION..(slot + 1) * DIMENSION]);
    }
}

/// [`embed_texts`] of token id sequences: one vector per sequence, in order.
async fn embed_ids(
    model: &SemanticModel,
    mut ids: Vec<Vec<u32>>,
    backend: Backend,
    progress: &mut dyn FnMut(f64),
) -> Result<TextEmbeddings> {
    let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
    let total_tokens: usize = lengths.iter().sum();
    let (order, chunks) = plan_chunks(&lengths, CHUNK_SEQUENCES, CHUNK_TOKENS);
    let mut out = TextEmbeddings {
        vectors: vec![0.0; ids.len() * DIMENSION],
        truncated: 0,
        tokens: total_tokens as u64,
        backend: "cpu".into(),
        adapter: None,
        note: None,
    };
    if ids.is_empty() {
        return Ok(out);
    }
    let engine = match backend {
        Backend::Cpu => Engine::Cpu,
        _ => match gpu_engine(model, backend).await {
            Ok(engine) => engine,
            Err(err) if backend == Backend::Gpu => return Err(err),
            Err(err) => {
                out.note = Some(format!("GPU not used, the CPU ran instead: {}", err.message()));
                Engine::Cpu
            }
        },
    };
    progress(0.0);
    let mut done_tokens = 0;
    for (at, chunk) in chunks.iter().enumerate() {
        if matches!(engine, Engine::Cpu) {
            run_cpu(model, &mut ids, &order, &chunks[at..], &mut out.vectors, total_tokens, done_tokens, progress).await;
            return Ok(out);
        }
        let batch: Vec<Vec<u32>> = order[chunk.clone()].iter().map(|&i| std::mem::take(&mut ids[i])).collect();
        match run_gpu(&engine, &batch).await {
            Ok(vectors) => scatter(&vectors, &order[chunk.clone()], &mut out.vectors),
            Err(err) if backend == Backend::Gpu => return Err(err),
            Err(err) => {
                // Auto: this chunk and the rest on the CPU, saying why.
                out.note = Some(format!("GPU not used, the CPU ran instead: {}", err.message()));
                for (&i, sequence) in order[chunk.clone()].iter().zip(batch) {
                    ids[i] = sequence;
                }
                run_cpu(model, &mut ids, &order, &chunks[at..], &mut out.vectors, total_tokens, done_tokens, progress).await;
                return Ok(out);
            }
        }
        done_tokens += batch.iter().map(Vec::len).sum::<usize>();
        progress(done_tokens as f64 / total_tokens.max(1) as f64);
    }
    #[cfg(feature = "gpu")]
    if let Engine::Gpu { adapter, .. } = &engine {
        out.backend = "gpu".into();
        out.adapter = Some(adapter.clone());
    }
    Ok(out)
}

/// Copies chunk vectors (in chunk order) to their texts' rows.
fn scatter(vectors: &[f32], rows: &[usize], out: &mut [f32]) {
    for (k, &row) in rows.iter().enumerate() {
        out[row * DIMENSION..(row + 1) * DIMENSION].copy_from_slice(&vectors[k * DIMENSION..(k + 1) * DIMENSION]);
    }
}

/// Runs `chunks` of `order` on the CPU, into `out`; `progress` receives the
/// fraction of all `total_tokens` done (`done_before` of them by earlier
/// chunks). Natively a chunk is shared among the machine's cores; in a
/// browser's worker it runs on the worker's one thread, and the event loop
/// turns between chunks (the browser swaps optimised wasm code in only
/// between calls into wasm: one long call would run baseline code).
#[allow(clippy::too_many_arguments)]
async fn run_cpu(
    model: &SemanticModel,
    ids: &mut [Vec<u32>],
    order: &[usize],
    chunks: &[Range<usize>],
    out: &mut [f32],
    total_tokens: usize,
    done_before: usize,
    progress: &mut dyn FnMut(f64),
) {
    #[cfg(not(target_arch = "wasm32"))]
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut done = done_before;
    for chunk in chunks {
        let batch: Vec<Vec<u32>> = order[chunk.clone()].iter().map(|&i| std::mem::take(&mut ids[i])).collect();
        #[cfg(not(target_arch = "wasm32"))]
        let vectors = cpu::embed_cpu_threads(model.model(), &batch, threads);
        #[cfg(target_arch = "wasm32")]
        let vectors = embed_cpu_yielding(model, &batch).await;
        scatter(&vectors, &order[chunk.clone()], out);
        done += batch.iter().map(Vec::len).sum::<usize>();
        progress(done as f64 / total_tokens.max(1) as f64);
    }
}

/// Tokens per call of the CPU network in a browser (about a second of work
/// on one core at most).
#[cfg(target_arch = "wasm32")]
const WASM_CPU_CALL_TOKENS: usize = 1024;

/// [`cpu::embed_cpu`] of `batch` in calls of at most
/// [`WASM_CPU_CALL_TOKENS`] tokens (the same rows, bit for bit: each
/// sequence is computed on its own), the event loop turning between them.
#[cfg(target_arch = "wasm32")]
async fn embed_cpu_yielding(model: &SemanticModel, batch: &[Vec<u32>]) -> Vec<f32> {
    let mut out = Vec::with_capacity(batch.len() * DIMENSION);
    let mut start = 0;
    while start < batch.len() {
        let mut end = start;
        let mut tokens = 0;
        while end < batch.len() && (end == start || tokens + batch[end].len() <= WASM_CPU_CALL_TOKENS) {
            tokens += batch[end].len();
            end += 1;
        }
        out.extend_from_slice(&cpu::embed_cpu(model.model(), &batch[start..end]));
        start = end;
        crate::wasm::yield_to_event_loop().await;
    }
    out
}

/// Checks the network's output for one batch: the right size, finite, unit
/// length rows. A driver that drops a dispatch returns zeros: caught here.
fn validate(vectors: &[f32], sequences: usize) -> Result<()> {
    let bad = |what: String| Err(Error::new(ErrorKind::Gpu, format!("the GPU returned invalid embeddings: {what}")));
    if vectors.len() != sequences * DIMENSION {
        return bad(format!("{} values where {sequences} x {DIMENSION} were asked", vectors.len()));
    }
    for (row, v) in vectors.chunks_exact(DIMENSION).enumerate() {
        let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
        if !norm.is_finite() || (norm - 1.0).abs() > 1e-2 {
            return bad(format!("sequence {row} has length {norm} (not 1)"));
        }
    }
    Ok(())
}

#[cfg(feature = "gpu")]
async fn run_gpu(engine: &Engine, batch: &[Vec<u32>]) -> Result<Vec<f32>> {
    match engine {
        Engine::Gpu { context, network, .. } => {
            let vectors = network.embed(context, batch).await?;
            validate(&vectors, batch.len())?;
            Ok(vectors)
        }
        Engine::Cpu => Err(Error::new(ErrorKind::Internal, "run_gpu called on the CPU engine")),
    }
}

#[cfg(not(feature = "gpu"))]
async fn run_gpu(_: &Engine, batch: &[Vec<u32>]) -> Result<Vec<f32>> {
    let _ = validate(&[], batch.len());
    Err(Error::new(ErrorKind::Internal, "run_gpu called in a build without GPU support"))
}

#[cfg(feature = "gpu")]
thread_local! {
    /// The GPU network of the last (context, model) pair on this thread:
    /// uploading the weights costs more than a small run, and the page's
    /// worker runs the checks again on a label change.
    static GPU_NETWORK: std::cell::RefCell<Option<(std::rc::Rc<crate::gpu::GpuContext>, SemanticModel, std::rc::Rc<gpu::MiniLmGpu>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Drops the GPU network kept for the next run (see [`crate::release_gpu`]).
#[cfg(feature = "gpu")]
pub(crate) fn release_gpu() {
    drop(GPU_NETWORK.with(|cell| cell.borrow_mut().take()));
}

/// The GPU engine, by the kNN graph's rule: `Auto` declines an adapter that
/// runs on the CPU (SwiftShader, llvmpipe).
#[cfg(feature = "gpu")]
async fn gpu_engine(model: &SemanticModel, backend: Backend) -> Result<Engine> {
    let context = crate::gpu_context_for(backend).await?;
    let adapter = crate::adapter_label(&context);
    let cached = GPU_NETWORK.with(|cell| {
        cell.borrow().as_ref().and_then(|(c, m, network)| {
            (std::rc::Rc::ptr_eq(c, &context) && m == model).then(|| network.clone())
        })
    });
    let network = match cached {
        Some(network) => network,
        None => {
            // Drop the old network's buffers before making new ones.
            GPU_NETWORK.with(|cell| *cell.borrow_mut() = None);
            let network = std::rc::Rc::new(gpu::MiniLmGpu::new(&context, model.model())?);
            GPU_NETWORK.with(|cell| *cell.borrow_mut() = Some((context.clone(), model.clone(), network.clone())));
            network
        }
    };
    Ok(Engine::Gpu { context, network, adapter })
}

#[cfg(not(feature = "gpu"))]
async fn gpu_engine(_: &SemanticModel, _: Backend) -> Result<Engine> {
    Err(Error::new(ErrorKind::Gpu, "this build has no GPU support (feature `gpu` off)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_sequence_once_shortest_first() {
        let lengths = [5, 3, 9, 3, 7, 2, 256, 4];
        let (order, chunks) = plan_chunks(&lengths, 3, 12);
        assert_eq!(order, [5, 1, 3, 7, 0, 4, 2, 6]);
        // 2+3+3; 4+5 (then +7 > 12); 7; 9; 256 alone (over the limit, but a
        // chunk holds at least one sequence).
        assert_eq!(chunks, [0..3, 3..5, 5..6, 6..7, 7..8]);
        let mut seen: Vec<usize> = chunks.iter().flat_map(|c| order[c.clone()].to_vec()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
        assert_eq!(plan_chunks(&[4, 4, 4, 4], 3, 100).1, [0..3, 3..4]);
        assert_eq!(plan_chunks(&[], 3, 20), (vec![], vec![]));
    }

    #[test]
    fn invalid_network_output_is_refused() {
        let mut good = vec![0f32; 2 * DIMENSION];
        good[0] = 1.0;
        good[DIMENSION + 5] = -1.0;
        assert!(validate(&good, 2).is_ok());
        assert!(validate(&good, 3).is_err());
        let zeros = vec![0f32; 2 * DIMENSION];
        assert_eq!(*validate(&zeros, 2).unwrap_err().kind(), ErrorKind::Gpu);
        let mut nan = good.clone();
        nan[7] = f32::NAN;
        assert!(validate(&nan, 2).is_err());
    }
}
