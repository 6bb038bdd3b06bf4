//! all-MiniLM-L6-v2 on the GPU: the network of [`super::cpu`] as WGSL
//! compute shaders through wgpu (WebGPU in the browser, Vulkan, Metal or
//! DX12 natively), the same answer within float rounding.
//!
//! Kernels (`shaders/minilm_*.wgsl`, one family per file):
//! - `minilm_rows.wgsl`: `embed` (word + token type 0 + position, then the
//!   embeddings' layer norm), `layer_norm`, `mean_pool` (mean over the
//!   sentence's tokens, then L2 normalisation);
//! - `minilm_matmul.wgsl`: `linear`, a matrix product tiled in workgroup
//!   memory (64 x 64 output tile per workgroup of 16 x 16 invocations, 4 x 4
//!   each, depth steps of 16) with the bias and a fused epilogue: GELU
//!   (FFN in) or the residual add (attention output, FFN out);
//! - `minilm_attention.wgsl`: `attention`, one workgroup per (32 queries,
//!   head, sentence), softmax computed online over tiles of 32 keys.
//!
//! Weights stay fp16 on the GPU (two halves per `u32`, unpacked exactly in
//! the shaders with integer operations: no `shader-f16` feature needed,
//! which SwiftShader lacks, and not `unpack2x16float`, for which naga wants
//! a capability that not every validator grants): 45 MB for the whole model, uploaded once by
//! [`MiniLmGpu::new`]. The word and position tables are fp16, as are the
//! linear layers' matrices; biases and layer-norm parameters are f32, and
//! so are all activations. The model's values came from an fp16 file, so
//! packing them again is exact.
//!
//! Batching policy ([`plan_batches`]): the sentences of a call are sorted
//! by length (ties by position) and cut into batches of consecutive
//! sentences holding at most [`MiniLmGpu::max_batch_tokens`] tokens
//! (default [`DEFAULT_MAX_BATCH_TOKENS`]) and [`MAX_BATCH_SENTENCES`]
//! sentences. A batch's tokens are packed sentence after sentence into one
//! `tokens x 384` matrix with no padding at all, so the linear layers (90%
//! of the work) never compute a padding row; the attention mask is then
//! each sentence's bounds (a query sees exactly its own sentence's keys,
//! which is what BERT's additive mask does to padded keys). Sorting keeps
//! the sentences of a batch of similar length, so that few attention
//! workgroups (a grid of the batch's longest sentence) find nothing to do.
//! Empty sentences (no token) get the zero vector, as sentence-transformers'
//! pooling gives them.
//!
//! A call reads back once per [`MAX_OUTPUT_SENTENCES`] sentences (usually
//! once): every batch's pooled vectors go to one output buffer, each batch
//! in its own submissions (one per layer, short enough for GPU watchdogs),
//! queued back to back. Buffers for the activations are kept between calls
//! and grown when a call needs more.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::weights::{pack_f16_pairs, Linear, MiniLm};
use crate::error::{Error, ErrorKind, Result};
use crate::gpu::GpuContext;

/// Width of the hidden states and of the output vectors.
pub const HIDDEN: usize = 384;
/// Attention heads (of `HIDDEN / HEADS` = 32 values each).
pub const HEADS: usize = 12;
/// Width of the feed-forward layer.
pub const FFN: usize = 1536;
/// Tokens of one batch unless [`MiniLmGpu::set_max_batch_tokens`] says
/// otherwise: large enough to keep a big GPU busy (the FFN-in product is
/// then 128 x 24 workgroups), small enough that one layer's submission
/// stays far below GPU watchdogs on small ones.
pub const DEFAULT_MAX_BATCH_TOKENS: usize = 8192;
/// Most sentences in one batch.
pub const MAX_BATCH_SENTENCES: usize = 8192;
/// Most sentences read back at once (25 MB of vectors).
pub const MAX_OUTPUT_SENTENCES: usize = 16_384;

/// Columns of the fused query, key and value projection.
const QKV: usize = 3 * HIDDEN;
/// Output tile of the `linear` kernel (rows and columns).
const TILE: usize = 64;
/// Queries per workgroup of the `attention` kernel.
const QUERY_BLOCK: usize = 32;
/// Rows per workgroup of the row kernels.
const ROWS_PER_GROUP: usize = 4;
/// Size of the kernels' `Params` uniform.
const PARAMS_BYTES: u64 = 32;

/// The kernels' `Params` (the same struct in every `minilm_*.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    depth: u32,
    epilogue: u32,
    sequences: u32,
    output_row: u32,
    pad: [u32; 2],
}

/// What the `linear` kernel does after adding the bias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Epilogue<'a> {
    /// Nothing: `x . W^T + b`.
    Bias,
    /// BERT's GELU (erf form): `gelu(x . W^T + b)`.
    Gelu,
    /// The residual connection: `x . W^T + b + residual`, residual rows x out.
    Residual(&'a [f32]),
}

impl Epilogue<'_> {
    fn code(&self) -> u32 {
        match self {
            Epilogue::Bias => 0,
            Epilogue::Gelu => 1,
            Epilogue::Residual(_) => 2,
        }
    }
}

fn gpu_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Gpu, message)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOption, message)
}

/// The order in which the sentences of lengths `lengths` are embedded and
/// the batches they form: returns `(order, batches)`, `order` the indices
/// of the non-empty sentences sorted by (length, index), each batch a range
/// of `order` with at most `max_tokens` tokens (a single sentence longer
/// than that forms a batch alone) and at most `max_sentences` sentences.
pub fn plan_batches(
    lengths: &[usize],
    max_tokens: usize,
    max_sentences: usize,
) -> (Vec<usize>, Vec<Range<usize>>) {
    let mut order: Vec<usize> = (0..lengths.len()).filter(|&i| lengths[i] > 0).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let mut batches = Vec::new();
    let mut start = 0;
    let mut tokens = 0;
    for (at, &i) in order.iter().enumerate() {
        let full =
            at > start && (tokens + lengths[i] > max_tokens || at - start >= max_sentences.max(1));
        if full {
            batches.push(start..at);
            start = at;
            tokens = 0;
        }
        tokens += lengths[i];
    }
    if start < order.len() {
        batches.push(start..order.len());
    }
    (order, batches)
}

/// The future of a pipeline build's error scopes (Send natively, where
/// wgpu's futures are).
#[cfg(not(target_arch = "wasm32"))]
type ScopeFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;
#[cfg(target_arch = "wasm32")]
type ScopeFuture = Pin<Box<dyn Future<Output = Option<String>>>>;

/// The outcome of building pipelines or uploading weights, known at once
/// natively and only after a round trip on the web (where [`MiniLmGpu::new`]
/// cannot wait): the first GPU call awaits it and every call after a
/// failure fails.
struct Deferred {
    pending: Mutex<Option<ScopeFuture>>,
    failure: Mutex<Option<String>>,
}

impl Deferred {
    /// Pops `scopes` (innermost first) and keeps their first error.
    fn new(what: &'static str, scopes: Vec<wgpu::ErrorScopeGuard>) -> Result<Deferred> {
        let futures: Vec<_> = scopes.into_iter().rev().map(|scope| scope.pop()).collect();
        let mut future: ScopeFuture = Box::pin(async move {
            let mut first = None;
            for future in futures {
                if let Some(error) = future.await {
                    first.get_or_insert_with(|| format!("{what}: {error}"));
                }
            }
            first
        });
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(Some(message)) => Err(gpu_error(message)),
            Poll::Ready(None) => Ok(Deferred {
                pending: Mutex::new(None),
                failure: Mutex::new(None),
            }),
            Poll::Pending => Ok(Deferred {
                pending: Mutex::new(Some(future)),
                failure: Mutex::new(None),
            }),
        }
    }

    async fn check(&self) -> Result<()> {
        let pending = self.pending.lock().ok().and_then(|mut slot| slot.take());
        if let Some(future) = pending {
            if let Some(message) = future.await {
                if let Ok(mut slot) = self.failure.lock() {
                    *slot = Some(message);
                }
            }
        }
        match self.failure.lock().ok().and_then(|slot| slot.clone()) {
            Some(message) => Err(gpu_error(message)),
            None => Ok(()),
        }
    }
}

const READ_ONLY: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: true };
const READ_WRITE: wgpu::BufferBindingType = wgpu::BufferBindingType::Storage { read_only: false };

/// One entry point with its bind-group layout: binding 0 is the params
/// uniform (dynamic offset), then `bindings` in the order callers pass
/// their buffers; the last one is the output.
struct Pipeline {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    bindings: &'static [u32],
    label: &'static str,
}

impl Pipeline {
    fn new(
        device: &wgpu::Device,
        module: &wgpu::ShaderModule,
        entry_point: &'static str,
        bindings: &'static [u32],
    ) -> Pipeline {
        let mut entries = vec![layout_entry(0, wgpu::BufferBindingType::Uniform)];
        for (i, &binding) in bindings.iter().enumerate() {
            let ty = if i + 1 == bindings.len() {
                READ_WRITE
            } else {
                READ_ONLY
            };
            entries.push(layout_entry(binding, ty));
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(entry_point),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(entry_point),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry_point),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(entry_point),
            compilation_options: Default::default(),
            cache: None,
        });
        Pipeline {
            pipeline,
            layout,
            bindings,
            label: entry_point,
        }
    }

    /// A bind group of `params` (at dynamic offsets) and `buffers`, one per
    /// binding in order.
    fn bind(
        &self,
        device: &wgpu::Device,
        params: &wgpu::Buffer,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        debug_assert_eq!(buffers.len(), self.bindings.len(), "{}", self.label);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: params,
                offset: 0,
                size: wgpu::BufferSize::new(PARAMS_BYTES),
            }),
        }];
        for (&binding, buffer) in self.bindings.iter().zip(buffers) {
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            });
        }
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.label),
            layout: &self.layout,
            entries: &entries,
        })
    }
}

fn layout_entry(binding: u32, ty: wgpu::BufferBindingType) -> wgpu::BindGroupLayoutEntry {
    let uniform = ty == wgpu::BufferBindingType::Uniform;
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: uniform,
            min_binding_size: if uniform {
                wgpu::BufferSize::new(PARAMS_BYTES)
            } else {
                None
            },
        },
        count: None,
    }
}

/// Records one dispatch of `pipeline` with `group` at params offset `offset`.
fn dispatch(
    pass: &mut wgpu::ComputePass<'_>,
    pipeline: &Pipeline,
    group: &wgpu::BindGroup,
    offset: u64,
    grid: [usize; 3],
) {
    pass.set_pipeline(&pipeline.pipeline);
    pass.set_bind_group(0, group, &[offset as u32]);
    pass.dispatch_workgroups(grid[0] as u32, grid[1] as u32, grid[2] as u32);
}

/// Grids of the kernels.
fn linear_grid(rows: usize, cols: usize) -> [usize; 3] {
    [cols.div_ceil(TILE), rows.div_ceil(TILE), 1]
}
fn rows_grid(rows: usize) -> [usize; 3] {
    [rows.div_ceil(ROWS_PER_GROUP), 1, 1]
}
fn attention_grid(longest: usize, sentences: usize) -> [usize; 3] {
    [longest.div_ceil(QUERY_BLOCK), HEADS, sentences]
}

/// The MiniLM compute pipelines on one device, and each kernel on its own
/// over host data ([`Kernels::linear`], ...): for tests against the CPU
/// reference and for tuning. [`MiniLmGpu`] runs them back to back with
/// every activation staying on the GPU.
pub struct Kernels {
    linear: Pipeline,
    attention: Pipeline,
    embed: Pipeline,
    layer_norm: Pipeline,
    mean_pool: Pipeline,
    built: Deferred,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels").finish_non_exhaustive()
    }
}

impl Kernels {
    /// Builds the pipelines of `shaders/minilm_*.wgsl` on the context's
    /// device. Natively a shader or pipeline error is returned here; on the
    /// web it is known only later and the first kernel call returns it.
    pub fn new(context: &GpuContext) -> Result<Kernels> {
        context.check_health()?;
        let device = context.device();
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = |label: &str, source: &'static str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
        };
        let matmul = module(
            "minilm_matmul.wgsl",
            include_str!("../../shaders/minilm_matmul.wgsl"),
        );
        let attention = module(
            "minilm_attention.wgsl",
            include_str!("../../shaders/minilm_attention.wgsl"),
        );
        let rows = module(
            "minilm_rows.wgsl",
            include_str!("../../shaders/minilm_rows.wgsl"),
        );
        let kernels = Kernels {
            // a, weight, bias, residual, out
            linear: Pipeline::new(device, &matmul, "linear", &[1, 2, 3, 4, 5]),
            // qkv, offsets, out
            attention: Pipeline::new(device, &attention, "attention", &[1, 2, 3]),
            // ids, positions, word, position table, norm, out
            embed: Pipeline::new(device, &rows, "embed", &[1, 2, 3, 4, 5, 7]),
            // norm, x, out
            layer_norm: Pipeline::new(device, &rows, "layer_norm", &[5, 6, 7]),
            // x, offsets, out (binding 8 is declared after 7 but bound before
            // it here: the output is always last)
            mean_pool: Pipeline::new(device, &rows, "mean_pool", &[6, 8, 7]),
            built: Deferred::new("cannot build the MiniLM pipelines", vec![scope])?,
        };
        Ok(kernels)
    }

    /// Runs `pipeline` once on host data: `inputs` uploaded in binding order,
    /// the output (`out_values` f32) read back.
    async fn run_once(
        &self,
        context: &GpuContext,
        pipeline: &Pipeline,
        params: Params,
        inputs: &[&[u8]],
        out_values: usize,
        grid: [usize; 3],
    ) -> Result<Vec<f32>> {
        context.check_health()?;
        self.built.check().await?;
        let limits = context.limits();
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let out_bytes = (out_values * 4) as u64;
        if inputs
            .iter()
            .any(|bytes| bytes.len() as u64 > binding_limit)
            || out_bytes > binding_limit
        {
            return Err(gpu_error(format!(
                "{}: the data exceeds the GPU's binding limit of {binding_limit} bytes",
                pipeline.label
            )));
        }
        let max_groups = limits.max_compute_workgroups_per_dimension as usize;
        if grid.iter().any(|&g| g > max_groups) {
            return Err(gpu_error(format!(
                "{}: {grid:?} workgroups exceed the GPU's {max_groups} per dimension",
                pipeline.label
            )));
        }
        let device = context.device();
        let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let params_buffer = context.upload(
            "minilm params",
            bytemuck::bytes_of(&params),
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let mut buffers: Vec<wgpu::Buffer> = inputs
            .iter()
            .map(|bytes| context.upload(pipeline.label, bytes, storage))
            .collect();
        buffers.push(context.buffer(
            pipeline.label,
            out_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        ));
        let readback = context.buffer(
            "minilm readback",
            out_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let refs: Vec<&wgpu::Buffer> = buffers.iter().collect();
        let group = pipeline.bind(device, &params_buffer, &refs);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some(pipeline.label),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(pipeline.label),
                timestamp_writes: None,
            });
            dispatch(&mut pass, pipeline, &group, 0, grid);
        }
        encoder.copy_buffer_to_buffer(
            &buffers[buffers.len() - 1],
            0,
            &readback,
            0,
            out_bytes.next_multiple_of(4).max(4),
        );
        context.queue().submit([encoder.finish()]);
        let validation_error = validation.pop().await;
        let out_of_memory_error = out_of_memory.pop().await;
        if let Some(error) = validation_error.or(out_of_memory_error) {
            return Err(gpu_error(format!(
                "{} on the GPU failed: {error}",
                pipeline.label
            )));
        }
        let bytes = context.read_back(&readback).await?;
        context.check_health()?;
        Ok(bytemuck::pod_collect_to_vec(&bytes[..out_values * 4]))
    }

    /// The `linear` kernel on its own: `epilogue(x . W^T + bias)` for `rows`
    /// rows of `x` (row-major, `inp` wide), `weight` `out x inp` row-major
    /// (PyTorch's layout) and rounded to fp16 as the model's are. `inp` must
    /// be a multiple of 4.
    #[allow(clippy::too_many_arguments)]
    pub async fn linear(
        &self,
        context: &GpuContext,
        x: &[f32],
        rows: usize,
        weight: &[f32],
        bias: &[f32],
        out: usize,
        inp: usize,
        epilogue: Epilogue<'_>,
    ) -> Result<Vec<f32>> {
        if !inp.is_multiple_of(4) || inp == 0 || out == 0 || rows == 0 {
            return Err(invalid(format!("linear: {rows} x {inp} by {out} x {inp}: sizes must be positive, {inp} a multiple of 4")));
        }
        if x.len() != rows * inp || weight.len() != out * inp || bias.len() != out {
            return Err(invalid(format!(
                "linear: {} inputs, {} weights, {} biases for {rows} x {inp} by {out} x {inp}",
                x.len(),
                weight.len(),
                bias.len()
            )));
        }
        let residual: &[f32] = match epilogue {
            Epilogue::Residual(r) if r.len() != rows * out => {
                return Err(invalid(format!(
                    "linear: residual of {} values for {rows} x {out}",
                    r.len()
                )));
            }
            Epilogue::Residual(r) => r,
            _ => bias, // unread; a binding cannot be empty
        };
        let params = Params {
            rows: rows as u32,
            cols: out as u32,
            depth: inp as u32,
            epilogue: epilogue.code(),
            ..Params::default()
        };
        let packed = pack_f16_pairs(weight);
        let inputs: [&[u8]; 4] = [
            bytemuck::cast_slice(x),
            bytemuck::cast_slice(&packed),
            bytemuck::cast_slice(bias),
            bytemuck::cast_slice(residual),
        ];
        self.run_once(
            context,
            &self.linear,
            params,
            &inputs,
            rows * out,
            linear_grid(rows, out),
        )
        .await
    }

    /// The `layer_norm` kernel on its own: every row of `x` (`HIDDEN` wide)
    /// normalised (eps 1e-12) and scaled by `gamma`, shifted by `beta`.
    pub async fn layer_norm(
        &self,
        context: &GpuContext,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
    ) -> Result<Vec<f32>> {
        let rows = x.len() / HIDDEN;
        if rows == 0
            || !x.len().is_multiple_of(HIDDEN)
            || gamma.len() != HIDDEN
            || beta.len() != HIDDEN
        {
            return Err(invalid(format!(
                "layer norm: {} values (rows of {HIDDEN}), {} and {} parameters",
                x.len(),
                gamma.len(),
                beta.len()
            )));
        }
        let norm = [gamma, beta].concat();
        let params = Params {
            rows: rows as u32,
            ..Params::default()
        };
        let inputs: [&[u8]; 2] = [bytemuck::cast_slice(&norm), bytemuck::cast_slice(x)];
        self.run_once(
            context,
            &self.layer_norm,
            params,
            &inputs,
            rows * HIDDEN,
            rows_grid(rows),
        )
        .await
    }

    /// The `embed` kernel on its own: for every token of every sentence
    /// (token `t` of a sentence at position `t`), `word[id] + token_type +
    /// position[t]` layer-normalised with `gamma`, `beta`; the sentences'
    /// rows one after the other. `word` (vocabulary x `HIDDEN`) and
    /// `position` (positions x `HIDDEN`) are rounded to fp16 as the model's
    /// are; `token_type` is the row of token type 0.
    #[allow(clippy::too_many_arguments)]
    pub async fn embeddings(
        &self,
        context: &GpuContext,
        sentences: &[Vec<u32>],
        word: &[f32],
        position: &[f32],
        token_type: &[f32],
        gamma: &[f32],
        beta: &[f32],
    ) -> Result<Vec<f32>> {
        let vocabulary = word.len() / HIDDEN;
        let positions = position.len() / HIDDEN;
        if !word.len().is_multiple_of(HIDDEN)
            || !position.len().is_multiple_of(HIDDEN)
            || token_type.len() != HIDDEN
            || gamma.len() != HIDDEN
            || beta.len() != HIDDEN
        {
            return Err(invalid("embeddings: tables must be rows of 384 values"));
        }
        check_ids(sentences, vocabulary, positions)?;
        let ids: Vec<u32> = sentences.iter().flatten().copied().collect();
        let rows = ids.len();
        if rows == 0 {
            return Ok(Vec::new());
        }
        let position_ids: Vec<u32> = sentences.iter().flat_map(|s| 0..s.len() as u32).collect();
        let norm = [gamma, beta, token_type].concat();
        let (word, position) = (pack_f16_pairs(word), pack_f16_pairs(position));
        let params = Params {
            rows: rows as u32,
            ..Params::default()
        };
        let inputs: [&[u8]; 5] = [
            bytemuck::cast_slice(&ids),
            bytemuck::cast_slice(&position_ids),
            bytemuck::cast_slice(&word),
            bytemuck::cast_slice(&position),
            bytemuck::cast_slice(&norm),
        ];
        self.run_once(
            context,
            &self.embed,
            params,
            &inputs,
            rows * HIDDEN,
            rows_grid(rows),
        )
        .await
    }

    /// The `attention` kernel on its own: `qkv` holds the fused projections
    /// of the sentences' tokens (rows of `3 x HIDDEN`: queries, keys,
    /// values), sentence after sentence, of `lengths` tokens each; returns
    /// the attention output, rows of `HIDDEN` (heads side by side), every
    /// query attending to the keys of its own sentence only.
    pub async fn attention(
        &self,
        context: &GpuContext,
        qkv: &[f32],
        lengths: &[usize],
    ) -> Result<Vec<f32>> {
        let rows: usize = lengths.iter().sum();
        if qkv.len() != rows * QKV {
            return Err(invalid(format!(
                "attention: {} values for {rows} tokens of {QKV}",
                qkv.len()
            )));
        }
        if rows == 0 {
            return Ok(Vec::new());
        }
        let offsets = offsets(lengths.iter().copied());
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let params = Params {
            rows: rows as u32,
            sequences: lengths.len() as u32,
            ..Params::default()
        };
        let inputs: [&[u8]; 2] = [bytemuck::cast_slice(qkv), bytemuck::cast_slice(&offsets)];
        self.run_once(
            context,
            &self.attention,
            params,
            &inputs,
            rows * HIDDEN,
            attention_grid(longest, lengths.len()),
        )
        .await
    }

    /// The `mean_pool` kernel on its own: for each sentence (`lengths`
    /// tokens, rows of `hidden` one after the other) the mean of its rows,
    /// L2-normalised; the zero vector for an empty sentence.
    pub async fn mean_pool(
        &self,
        context: &GpuContext,
        hidden: &[f32],
        lengths: &[usize],
    ) -> Result<Vec<f32>> {
        let rows: usize = lengths.iter().sum();
        if hidden.len() != rows * HIDDEN {
            return Err(invalid(format!(
                "mean pool: {} values for {rows} tokens of {HIDDEN}",
                hidden.len()
            )));
        }
        if lengths.is_empty() {
            return Ok(Vec::new());
        }
        let offsets = offsets(lengths.iter().copied());
        let params = Params {
            rows: rows as u32,
            sequences: lengths.len() as u32,
            ..Params::default()
        };
        // A binding cannot be empty: all-empty sentences still bind a row.
        let padded;
        let hidden = if hidden.is_empty() {
            padded = vec![0.0f32; HIDDEN];
            &padded[..]
        } else {
            hidden
        };
        let inputs: [&[u8]; 2] = [bytemuck::cast_slice(hidden), bytemuck::cast_slice(&offsets)];
        self.run_once(
            context,
            &self.mean_pool,
            params,
            &inputs,
            lengths.len() * HIDDEN,
            rows_grid(lengths.len()),
        )
        .await
    }
}

/// Token offsets of sentences of `lengths`: lengths + 1 entries from 0.
fn offsets(lengths: impl Iterator<Item = usize>) -> Vec<u32> {
    let mut offsets = vec![0u32];
    let mut total = 0u32;
    for length in lengths {
        total += length as u32;
        offsets.push(total);
    }
    offsets
}

/// Fails with [`ErrorKind::InvalidOption`] naming the sentence and token
/// when an id is outside the vocabulary or a sentence longer than the
/// position table.
fn check_ids(sentences: &[Vec<u32>], vocabulary: usize, positions: usize) -> Result<()> {
    for (s, ids) in sentences.iter().enumerate() {
        if ids.len() > positions {
            return Err(invalid(format!(
                "sentence {s}: {} tokens, the model takes at most {positions}",
                ids.len()
            )));
        }
        if let Some((t, id)) = ids
            .iter()
            .enumerate()
            .find(|(_, &id)| id as usize >= vocabulary)
        {
            return Err(invalid(format!(
                "sentence {s}, token {t}: id {id} is outside the vocabulary of {vocabulary}"
            )));
        }
    }
    Ok(())
}

/// One encoder layer's weights on the GPU.
struct LayerWeights {
    /// Fused q, k, v projection: `3 x HIDDEN` rows (q, then k, then v).
    qkv: (wgpu::Buffer, wgpu::Buffer),
    attention_out: (wgpu::Buffer, wgpu::Buffer),
    /// gamma then beta (f32).
    ln1: wgpu::Buffer,
    ffn_in: (wgpu::Buffer, wgpu::Buffer),
    ffn_out: (wgpu::Buffer, wgpu::Buffer),
    ln2: wgpu::Buffer,
}

/// The activations of the batches of a call, and the bind groups over
/// them, kept between calls and grown when a call needs more.
struct Workspace {
    /// Tokens of the largest batch it takes.
    tokens: usize,
    /// Sentences of the largest batch it takes.
    sentences: usize,
    /// Sentences its output (and readback) buffer holds.
    output_rows: usize,
    params: wgpu::Buffer,
    ids: wgpu::Buffer,
    positions: wgpu::Buffer,
    offsets: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
    embed: wgpu::BindGroup,
    /// Per layer: qkv, attention, attention out, ln1, ffn in, ffn out, ln2.
    layers: Vec<[wgpu::BindGroup; 7]>,
    pool: wgpu::BindGroup,
}

/// Params slots of a batch (each at its own aligned offset).
const SLOT_ROWS: usize = 0; // embed, attention, layer norms, pool
const SLOT_QKV: usize = 1;
const SLOT_ATTENTION_OUT: usize = 2;
const SLOT_FFN_IN: usize = 3;
const SLOT_FFN_OUT: usize = 4;
const SLOTS: usize = 5;

/// all-MiniLM-L6-v2 on a GPU: pipelines and fp16 weights uploaded once by
/// [`MiniLmGpu::new`]; [`MiniLmGpu::embed`] turns token-id sentences into
/// L2-normalised 384-dimensional vectors, as [`super::cpu::embed_cpu`] does.
pub struct MiniLmGpu {
    kernels: Kernels,
    word: wgpu::Buffer,
    position: wgpu::Buffer,
    /// gamma, beta, token type 0 (f32).
    embed_norm: wgpu::Buffer,
    layers: Vec<LayerWeights>,
    vocabulary: usize,
    positions: usize,
    /// `[UNK]`, which stands in for an id past the vocabulary.
    unk: u32,
    max_batch_tokens: usize,
    uploaded: Deferred,
    workspace: Mutex<Option<Workspace>>,
}

impl std::fmt::Debug for MiniLmGpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmGpu")
            .field("layers", &self.layers.len())
            .field("vocabulary", &self.vocabulary)
            .field("max_batch_tokens", &self.max_batch_tokens)
            .finish_non_exhaustive()
    }
}

impl MiniLmGpu {
    /// Builds the pipelines and uploads the model's weights (fp16 matrices
    /// and tables, 45 MB) to the context's device.
    ///
    /// Fails with [`ErrorKind::InvalidOption`] when the model is not shaped
    /// as all-MiniLM-L6-v2 (hidden 384, 12 heads, FFN 1536), and with
    /// [`ErrorKind::Gpu`] when a table exceeds the device's binding limit or
    /// the device fails (natively at once; on the web an upload error shows
    /// at the first [`MiniLmGpu::embed`]).
    pub fn new(context: &GpuContext, model: &MiniLm) -> Result<MiniLmGpu> {
        check_shape(model)?;
        let kernels = Kernels::new(context)?;
        let limits = context.limits();
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if (model.word.len() * 2) as u64 > binding_limit {
            return Err(gpu_error(format!(
                "the word embeddings ({} MB in fp16) exceed the GPU's binding limit of {binding_limit} bytes",
                model.word.len() * 2 / 1_000_000
            )));
        }
        let device = context.device();
        let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let halves = |label: &str, values: &[f32]| {
            context.upload(
                label,
                bytemuck::cast_slice(&pack_f16_pairs(values)),
                storage,
            )
        };
        let floats = |label: &str, values: &[f32]| {
            context.upload(label, bytemuck::cast_slice(values), storage)
        };
        let linear = |label: &str, parts: &[&Linear]| {
            let weight: Vec<f32> = parts
                .iter()
                .flat_map(|l| l.weight.iter().copied())
                .collect();
            let bias: Vec<f32> = parts.iter().flat_map(|l| l.bias.iter().copied()).collect();
            (halves(label, &weight), floats(label, &bias))
        };
        let norm = |label: &str, (gamma, beta): &(Vec<f32>, Vec<f32>)| {
            floats(label, &[&gamma[..], &beta[..]].concat())
        };
        let word = halves("minilm word embeddings", &model.word);
        let position = halves("minilm position embeddings", &model.position);
        let embed_norm = floats(
            "minilm embeddings norm",
            &[
                &model.emb_ln.0[..],
                &model.emb_ln.1[..],
                &model.token_type[..HIDDEN],
            ]
            .concat(),
        );
        let layers = model
            .layers
            .iter()
            .map(|layer| LayerWeights {
                qkv: linear("minilm qkv", &[&layer.q, &layer.k, &layer.v]),
                attention_out: linear("minilm attention out", &[&layer.o]),
                ln1: norm("minilm ln1", &layer.ln1),
                ffn_in: linear("minilm ffn in", &[&layer.ffn_in]),
                ffn_out: linear("minilm ffn out", &[&layer.ffn_out]),
                ln2: norm("minilm ln2", &layer.ln2),
            })
            .collect();
        Ok(MiniLmGpu {
            kernels,
            word,
            position,
            embed_norm,
            layers,
            vocabulary: model.word.len() / HIDDEN,
            positions: model.position.len() / HIDDEN,
            unk: model
                .unk_id
                .min((model.word.len() / HIDDEN).saturating_sub(1) as u32),
            max_batch_tokens: DEFAULT_MAX_BATCH_TOKENS,
            uploaded: Deferred::new(
                "cannot upload the MiniLM weights",
                vec![out_of_memory, validation],
            )?,
            workspace: Mutex::new(None),
        })
    }

    /// The pipelines, to run one kernel on its own.
    pub fn kernels(&self) -> &Kernels {
        &self.kernels
    }

    /// Most tokens of one batch (see the module's batching policy).
    pub fn max_batch_tokens(&self) -> usize {
        self.max_batch_tokens
    }

    /// Sets the most tokens of one batch: lower for a small GPU (less
    /// memory, shorter submissions), higher for a big one. Never below the
    /// longest sentence the model takes (512 tokens).
    pub fn set_max_batch_tokens(&mut self, tokens: usize) {
        self.max_batch_tokens = tokens.max(self.positions).max(1);
    }

    /// Embeds sentences of token ids ([CLS] ... [SEP], as the tokenizer
    /// writes them): `batch.len() x 384` values, sentence after sentence in
    /// the caller's order, each L2-normalised. As
    /// [`super::cpu::embed_cpu`]: a sentence longer than the model's 512
    /// positions is cut to them, an id past the vocabulary counts as
    /// `[UNK]`, an empty sentence gives zeros.
    ///
    /// Fails with [`ErrorKind::Gpu`] when the GPU fails (the caller then
    /// runs [`super::cpu::embed_cpu`]).
    pub async fn embed(&self, context: &GpuContext, batch: &[Vec<u32>]) -> Result<Vec<f32>> {
        context.check_health()?;
        self.kernels.built.check().await?;
        self.uploaded.check().await?;
        let mut result = vec![0.0f32; batch.len() * HIDDEN];
        let lengths: Vec<usize> = batch.iter().map(|s| s.len().min(self.positions)).collect();
        let limits = context.limits();
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size) as usize;
        let max_groups = limits.max_compute_workgroups_per_dimension as usize;
        // The widest activation (tokens x FFN f32) fits one binding; no grid
        // dimension exceeds the device's (row kernels: tokens / 4).
        let max_tokens = self
            .max_batch_tokens
            .min(binding_limit / (FFN * 4))
            .min(max_groups * ROWS_PER_GROUP);
        let output_cap = MAX_OUTPUT_SENTENCES
            .min(binding_limit / (HIDDEN * 4))
            .max(1);
        let max_sentences = MAX_BATCH_SENTENCES.min(max_groups).min(output_cap);
        if max_tokens < self.positions {
            return Err(gpu_error(format!(
                "the GPU's limits allow batches of {max_tokens} tokens, below one sentence of {}",
                self.positions
            )));
        }
        let (order, batches) = plan_batches(&lengths, max_tokens, max_sentences);
        if batches.is_empty() {
            return Ok(result);
        }

        // Every batch fits the output (max_sentences <= output_cap).
        let output_rows = order.len().min(output_cap);
        let need_tokens = batches
            .iter()
            .map(|b| b.clone().map(|i| lengths[order[i]]).sum::<usize>())
            .max()
            .unwrap_or(0);
        let need_sentences = batches.iter().map(|b| b.len()).max().unwrap_or(0);
        let taken = self.workspace.lock().ok().and_then(|mut slot| slot.take());
        let workspace = match taken {
            Some(w)
                if w.tokens >= need_tokens
                    && w.sentences >= need_sentences
                    && w.output_rows >= output_rows =>
            {
                w
            }
            previous => {
                // Grown, never shrunk: a call after a bigger one reuses it.
                let (tokens, sentences, outputs) = previous
                    .as_ref()
                    .map_or((0, 0, 0), |w| (w.tokens, w.sentences, w.output_rows));
                drop(previous);
                let device = context.device();
                let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
                let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
                let workspace = self.workspace(
                    context,
                    need_tokens.max(tokens),
                    need_sentences.max(sentences),
                    output_rows.max(outputs),
                );
                let validation_error = validation.pop().await;
                let out_of_memory_error = out_of_memory.pop().await;
                if let Some(error) = validation_error.or(out_of_memory_error) {
                    return Err(gpu_error(format!(
                        "cannot allocate the MiniLM activations: {error}"
                    )));
                }
                workspace
            }
        };

        // Readback chunks: consecutive batches whose sentences fill at most
        // `output_rows` rows.
        let mut chunk_start = 0;
        while chunk_start < batches.len() {
            let mut chunk_end = chunk_start;
            let mut rows = 0;
            while chunk_end < batches.len()
                && rows + batches[chunk_end].len() <= workspace.output_rows
            {
                rows += batches[chunk_end].len();
                chunk_end += 1;
            }
            let chunk = &batches[chunk_start..chunk_end];
            // On an error the workspace is dropped: it may be in a bad state.
            let vectors = self
                .run_chunk(context, &workspace, &order, &lengths, batch, chunk, rows)
                .await?;
            let first = chunk[0].start;
            for (row, &sentence) in order[first..first + rows].iter().enumerate() {
                result[sentence * HIDDEN..(sentence + 1) * HIDDEN]
                    .copy_from_slice(&vectors[row * HIDDEN..(row + 1) * HIDDEN]);
            }
            chunk_start = chunk_end;
        }
        if let Ok(mut slot) = self.workspace.lock() {
            *slot = Some(workspace);
        }
        Ok(result)
    }

    /// Runs the batches of one readback chunk and reads their `rows` pooled
    /// vectors back (in `order`).
    #[allow(clippy::too_many_arguments)]
    async fn run_chunk(
        &self,
        context: &GpuContext,
        workspace: &Workspace,
        order: &[usize],
        lengths: &[usize],
        sentences: &[Vec<u32>],
        chunk: &[Range<usize>],
        rows: usize,
    ) -> Result<Vec<f32>> {
        let device = context.device();
        let queue = context.queue();
        let stride = params_stride(context);
        let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut output_row = 0;
        for batch in chunk {
            let members = &order[batch.clone()];
            let vocabulary = self.vocabulary as u32;
            let ids: Vec<u32> = members
                .iter()
                .flat_map(|&s| {
                    sentences[s][..lengths[s]].iter().map(|&id| {
                        if id < vocabulary {
                            id
                        } else {
                            self.unk
                        }
                    })
                })
                .collect();
            let positions: Vec<u32> = members.iter().flat_map(|&s| 0..lengths[s] as u32).collect();
            let offsets = offsets(members.iter().map(|&s| lengths[s]));
            let tokens = ids.len();
            let longest = members.iter().map(|&s| lengths[s]).max().unwrap_or(0);
            queue.write_buffer(&workspace.ids, 0, bytemuck::cast_slice(&ids));
            queue.write_buffer(&workspace.positions, 0, bytemuck::cast_slice(&positions));
            queue.write_buffer(&workspace.offsets, 0, bytemuck::cast_slice(&offsets));
            let base = Params {
                rows: tokens as u32,
                sequences: members.len() as u32,
                output_row: output_row as u32,
                ..Params::default()
            };
            let linear = |cols: usize, depth: usize, epilogue: u32| Params {
                cols: cols as u32,
                depth: depth as u32,
                epilogue,
                ..base
            };
            let mut slots = [base; SLOTS];
            slots[SLOT_QKV] = linear(QKV, HIDDEN, 0);
            slots[SLOT_ATTENTION_OUT] = linear(HIDDEN, HIDDEN, 2);
            slots[SLOT_FFN_IN] = linear(FFN, HIDDEN, 1);
            slots[SLOT_FFN_OUT] = linear(HIDDEN, FFN, 2);
            let mut bytes = vec![0u8; stride as usize * SLOTS];
            for (i, slot) in slots.iter().enumerate() {
                let at = i * stride as usize;
                bytes[at..at + PARAMS_BYTES as usize].copy_from_slice(bytemuck::bytes_of(slot));
            }
            queue.write_buffer(&workspace.params, 0, &bytes);

            let offset = |slot: usize| slot as u64 * stride;
            let k = &self.kernels;
            let last = self.layers.len().saturating_sub(1);
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("minilm"),
            });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("minilm embed"),
                    timestamp_writes: None,
                });
                dispatch(
                    &mut pass,
                    &k.embed,
                    &workspace.embed,
                    offset(SLOT_ROWS),
                    rows_grid(tokens),
                );
            }
            // One submission per layer: short enough for GPU watchdogs.
            for (l, groups) in workspace.layers.iter().enumerate() {
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("minilm layer"),
                        timestamp_writes: None,
                    });
                    dispatch(
                        &mut pass,
                        &k.linear,
                        &groups[0],
                        offset(SLOT_QKV),
                        linear_grid(tokens, QKV),
                    );
                    dispatch(
                        &mut pass,
                        &k.attention,
                        &groups[1],
                        offset(SLOT_ROWS),
                        attention_grid(longest, members.len()),
                    );
                    dispatch(
                        &mut pass,
                        &k.linear,
                        &groups[2],
                        offset(SLOT_ATTENTION_OUT),
                        linear_grid(tokens, HIDDEN),
                    );
                    dispatch(
                        &mut pass,
                        &k.layer_norm,
                        &groups[3],
                        offset(SLOT_ROWS),
                        rows_grid(tokens),
                    );
                    dispatch(
                        &mut pass,
                        &k.linear,
                        &groups[4],
                        offset(SLOT_FFN_IN),
                        linear_grid(tokens, FFN),
                    );
                    dispatch(
                        &mut pass,
                        &k.linear,
                        &groups[5],
                        offset(SLOT_FFN_OUT),
                        linear_grid(tokens, HIDDEN),
                    );
                    dispatch(
                        &mut pass,
                        &k.layer_norm,
                        &groups[6],
                        offset(SLOT_ROWS),
                        rows_grid(tokens),
                    );
                    if l == last {
                        dispatch(
                            &mut pass,
                            &k.mean_pool,
                            &workspace.pool,
                            offset(SLOT_ROWS),
                            rows_grid(members.len()),
                        );
                    }
                }
                let done = std::mem::replace(
                    &mut encoder,
                    device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("minilm"),
                    }),
                );
                queue.submit([done.finish()]);
            }
            output_row += members.len();
            drop(encoder);
        }
        let bytes = (rows * HIDDEN * 4) as u64;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("minilm readback"),
        });
        encoder.copy_buffer_to_buffer(&workspace.output, 0, &workspace.readback, 0, bytes);
        queue.submit([encoder.finish()]);
        let validation_error = validation.pop().await;
        let out_of_memory_error = out_of_memory.pop().await;
        if let Some(error) = validation_error.or(out_of_memory_error) {
            return Err(gpu_error(format!("MiniLM on the GPU failed: {error}")));
        }
        let back = context.read_back(&workspace.readback).await?;
        context.check_health()?;
        Ok(bytemuck::pod_collect_to_vec(&back[..bytes as usize]))
    }

    /// Allocates the activations for batches of `tokens` tokens and
    /// `sentences` sentences and an output of `output_rows` vectors, and
    /// binds them.
    fn workspace(
        &self,
        context: &GpuContext,
        tokens: usize,
        sentences: usize,
        output_rows: usize,
    ) -> Workspace {
        let device = context.device();
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let f32s = |label: &str, values: usize| context.buffer(label, (values * 4) as u64, storage);
        let hidden = f32s("minilm hidden", tokens * HIDDEN);
        let sum = f32s("minilm sum", tokens * HIDDEN);
        let attended = f32s("minilm attention", tokens * HIDDEN);
        // The fused qkv projection and the FFN's inner activations are never
        // alive at once: one buffer.
        let wide = f32s("minilm qkv/ffn", tokens * FFN.max(QKV));
        let params = context.buffer(
            "minilm params",
            params_stride(context) * SLOTS as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let ids = f32s("minilm ids", tokens);
        let positions = f32s("minilm positions", tokens);
        let offsets = f32s("minilm offsets", sentences + 1);
        let output = context.buffer(
            "minilm output",
            (output_rows * HIDDEN * 4) as u64,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let readback = context.buffer(
            "minilm readback",
            (output_rows * HIDDEN * 4) as u64,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let k = &self.kernels;
        let embed = k.embed.bind(
            device,
            &params,
            &[
                &ids,
                &positions,
                &self.word,
                &self.position,
                &self.embed_norm,
                &hidden,
            ],
        );
        let layers = self
            .layers
            .iter()
            .map(|w| {
                [
                    k.linear.bind(
                        device,
                        &params,
                        &[&hidden, &w.qkv.0, &w.qkv.1, &w.qkv.1, &wide],
                    ),
                    k.attention
                        .bind(device, &params, &[&wide, &offsets, &attended]),
                    k.linear.bind(
                        device,
                        &params,
                        &[
                            &attended,
                            &w.attention_out.0,
                            &w.attention_out.1,
                            &hidden,
                            &sum,
                        ],
                    ),
                    k.layer_norm.bind(device, &params, &[&w.ln1, &sum, &hidden]),
                    k.linear.bind(
                        device,
                        &params,
                        &[&hidden, &w.ffn_in.0, &w.ffn_in.1, &w.ffn_in.1, &wide],
                    ),
                    k.linear.bind(
                        device,
                        &params,
                        &[&wide, &w.ffn_out.0, &w.ffn_out.1, &hidden, &sum],
                    ),
                    k.layer_norm.bind(device, &params, &[&w.ln2, &sum, &hidden]),
                ]
            })
            .collect();
        let pool = k
            .mean_pool
            .bind(device, &params, &[&hidden, &offsets, &output]);
        Workspace {
            tokens,
            sentences,
            output_rows,
            params,
            ids,
            positions,
            offsets,
            output,
            readback,
            embed,
            layers,
            pool,
        }
    }
}

/// Bytes between two params slots (the device's uniform offset alignment).
fn params_stride(context: &GpuContext) -> u64 {
    PARAMS_BYTES.next_multiple_of(u64::from(
        context.limits().min_uniform_buffer_offset_alignment,
    ))
}

/// Fails with [`ErrorKind::InvalidOption`] unless `model` has the shape the
/// kernels are written for.
fn check_shape(model: &MiniLm) -> Result<()> {
    let wrong = |what: String| {
        Err(invalid(format!(
            "the GPU kernels need all-MiniLM-L6-v2's shape: {what}"
        )))
    };
    if model.layers.is_empty() {
        return wrong("no encoder layer".into());
    }
    if model.word.is_empty()
        || !model.word.len().is_multiple_of(HIDDEN)
        || !model.position.len().is_multiple_of(HIDDEN)
        || model.position.is_empty()
    {
        return wrong(format!(
            "embedding tables of {} and {} values are not rows of {HIDDEN}",
            model.word.len(),
            model.position.len()
        ));
    }
    if model.token_type.len() < HIDDEN
        || model.emb_ln.0.len() != HIDDEN
        || model.emb_ln.1.len() != HIDDEN
    {
        return wrong("token type or embedding norm not of width 384".into());
    }
    for (l, layer) in model.layers.iter().enumerate() {
        let shapes = [
            ("q", &layer.q, HIDDEN, HIDDEN),
            ("k", &layer.k, HIDDEN, HIDDEN),
            ("v", &layer.v, HIDDEN, HIDDEN),
            ("o", &layer.o, HIDDEN, HIDDEN),
            ("ffn_in", &layer.ffn_in, FFN, HIDDEN),
            ("ffn_out", &layer.ffn_out, HIDDEN, FFN),
        ];
        for (name, linear, out, inp) in shapes {
            if linear.out != out
                || linear.inp != inp
                || linear.weight.len() != out * inp
                || linear.bias.len() != out
            {
                return wrong(format!(
                    "layer {l} {name} is {} x {}, not {out} x {inp}",
                    linear.out, linear.inp
                ));
            }
        }
        for (name, norm) in [("ln1", &layer.ln1), ("ln2", &layer.ln2)] {
            if norm.0.len() != HIDDEN || norm.1.len() != HIDDEN {
                return wrong(format!("layer {l} {name} is not of width {HIDDEN}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_sort_by_length_and_respect_budgets() {
        let lengths = [5, 0, 3, 9, 3, 7, 1, 512, 2];
        let (order, batches) = plan_batches(&lengths, 12, 3);
        assert_eq!(order, vec![6, 8, 2, 4, 0, 5, 3, 7]);
        assert_eq!(batches, vec![0..3, 3..5, 5..6, 6..7, 7..8]);
        for b in &batches {
            let tokens: usize = b.clone().map(|i| lengths[order[i]]).sum();
            assert!(b.len() <= 3 && (tokens <= 12 || b.len() == 1), "{b:?}");
        }
        let (order, batches) = plan_batches(&[0, 0], 100, 10);
        assert!(order.is_empty() && batches.is_empty());
        let lengths: Vec<usize> = (0..1000).map(|i| 2 + i % 61).collect();
        let (order, batches) = plan_batches(&lengths, 8192, 8192);
        assert_eq!(order.len(), 1000);
        assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 1000);
        assert!(order.windows(2).all(|w| lengths[w[0]] <= lengths[w[1]]));
    }
}
